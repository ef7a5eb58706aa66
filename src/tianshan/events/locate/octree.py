"""Oct-tree importance sampling of a location posterior (Lomax & Curtis 2001).

Lomax & Curtis (2001, "Fast, probabilistic earthquake location in 3D models using
oct-tree importance sampling", Geophys. Res. Abstr. 3; used by NonLinLoc's ``LOCSEARCH
OCT``): start from a regular grid of cells over the search box and evaluate the posterior
density at each cell centre; then repeatedly take the cell with the largest probability
*mass* (density x volume) and divide it into 8 children, evaluated at their centres. The
sampling ends after ``max_evaluations`` evaluations or when every cell worth dividing is
smaller than ``min_cell_m``. The leaves then form a partition of the box with many small
cells where the probability is high, so posterior integrals (expectation, covariance)
are sums over leaves.

Several cells (``batch``) are divided per step so the density is evaluated on arrays;
with ``batch=1`` this is exactly the sequential algorithm.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["OctreeResult", "octree_search"]


@dataclass(frozen=True, eq=False)
class OctreeResult:
    """Leaves of the oct-tree: ``centres`` (L, 3) and ``sizes`` (L, 3) in metres, ``log_pdf`` (L,)."""

    centres: np.ndarray
    sizes: np.ndarray
    log_pdf: np.ndarray
    n_evaluations: int

    def weights(self) -> np.ndarray:
        """Normalised probability of each leaf (density x volume)."""
        lm = self.log_pdf + np.log(np.prod(self.sizes, axis=1))
        w = np.exp(lm - lm.max())
        return w / w.sum()

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior expectation (3,) and covariance (3, 3), each leaf uniform in its cell."""
        w = self.weights()
        mean = w @ self.centres
        d = self.centres - mean
        cov = (d * w[:, None]).T @ d + np.diag(w @ (self.sizes**2) / 12.0)
        return mean, cov

    def maximum(self) -> int:
        """Index of the leaf with the highest density."""
        return int(np.argmax(self.log_pdf))

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` points drawn from the piecewise-constant posterior, (n, 3)."""
        idx = rng.choice(self.log_pdf.size, size=n, p=self.weights())
        return self.centres[idx] + (rng.random((n, 3)) - 0.5) * self.sizes[idx]


def octree_search(log_pdf: Callable[[np.ndarray], np.ndarray], lower: np.ndarray, upper: np.ndarray,
                  initial_cells: tuple[int, int, int] = (10, 10, 5), max_evaluations: int = 6000,
                  min_cell_m: float = 50.0, batch: int = 16) -> OctreeResult:
    """Sample ``log_pdf`` (a function of (K, 3) points returning (K,) log densities) over the box
    ``lower``-``upper`` (metres) by oct-tree division (module docstring)."""
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    n = np.asarray(initial_cells, dtype=int)
    size0 = (upper - lower) / n
    grids = np.meshgrid(*[lower[k] + (np.arange(n[k]) + 0.5) * size0[k] for k in range(3)], indexing="ij")
    centres = np.stack([g.ravel() for g in grids], axis=1)
    sizes = np.tile(size0, (centres.shape[0], 1))
    logp = np.asarray(log_pdf(centres), dtype=float)
    n_eval = centres.shape[0]
    offsets = np.array([[i, j, k] for i in (-0.25, 0.25) for j in (-0.25, 0.25) for k in (-0.25, 0.25)])
    while n_eval < max_evaluations:
        mass = np.where(np.isfinite(logp), logp + np.log(np.prod(sizes, axis=1)), -np.inf)
        splittable = (sizes.max(axis=1) > min_cell_m) & np.isfinite(mass)
        if not splittable.any():
            break
        k = min(batch, int(splittable.sum()), max(1, (max_evaluations - n_eval) // 8))
        cand = np.flatnonzero(splittable)
        pick = cand[np.argpartition(-mass[cand], k - 1)[:k]] if k < cand.size else cand
        new_c = (centres[pick][:, None, :] + offsets[None, :, :] * sizes[pick][:, None, :]).reshape(-1, 3)
        new_s = np.repeat(sizes[pick] / 2.0, 8, axis=0)
        new_l = np.asarray(log_pdf(new_c), dtype=float)
        keep = np.ones(centres.shape[0], dtype=bool)
        keep[pick] = False
        centres = np.concatenate([centres[keep], new_c])
        sizes = np.concatenate([sizes[keep], new_s])
        logp = np.concatenate([logp[keep], new_l])
        n_eval += new_c.shape[0]
    return OctreeResult(centres, sizes, logp, n_eval)
