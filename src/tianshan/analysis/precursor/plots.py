"""Figures of the precursor analysis (PNG, matplotlib's Agg backend, written atomically).

* :func:`plot_annual` -- the observation (daily, pre-processed), ANA and ONA, in the
  layout of EQSuite-EVA's ``破年变信息提取`` figure;
* :func:`plot_molchan` -- the Molchan diagram of a best index: envelope, random-guess
  diagonal, the 2.5 % significance curve, P1 (largest R) and P2 (nearest the origin).

Labels are English (the CJK fonts the Chinese labels need are not guaranteed on a
server); the report section (:mod:`.report`) carries the bilingual text.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tianshan.io.atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_annual(result, path: str | os.PathLike, title: str = "") -> Path:
    """Observation, ANA and ONA of an :class:`~.annual.AnnualResult` against date."""
    plt = _pyplot()
    days = np.array(result.days, dtype="datetime64[D]")
    obs = np.where(result.missing, np.nan, result.daily)
    lo, hi = result.params.annual_band_days
    clo, chi = result.params.compute_band_days
    fig, axes = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    for ax, y, label in ((axes[0], obs, "observation (00:00 daily)"),
                         (axes[1], result.ana_reported(), f"ANA (periods {lo:g}-{hi:g} d)"),
                         (axes[2], result.ona_reported(), f"ONA (periods {clo:g}-{chi:g} d, outside ANA)")):
        ax.plot(days, y, "k-", lw=0.8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("date")
    if title:
        axes[0].set_title(title)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path


def plot_molchan(best, path: str | os.PathLike, title: str = "", alpha: float = 0.025) -> Path:
    """Molchan diagram of a :class:`~tianshan.analysis.efficacy.alarms.BestIndex`."""
    from tianshan.analysis.efficacy.molchan import alpha_curve

    plt = _pyplot()
    curve = best.curve
    n = curve.n_targets
    tau = [p.alarm_fraction for p in curve.points]
    nu = [p.miss_rate for p in curve.points]
    at, an = alpha_curve(n, alpha, best.cell.score.method)
    p1, p2 = curve.best_r(), curve.closest()
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.plot([0, 1], [1, 0], "k--", lw=1.5, label="gain = 1 (random)")
    ax.plot(np.r_[0.0, at], np.r_[1.0, an], "r-.", lw=1.5, label=f"significance {alpha:.1%}")
    ax.plot([0.0] + tau, [1.0] + nu, "b-", lw=2, label="envelope")
    ax.plot(p1.alarm_fraction, p1.miss_rate, "o", color="m", ms=9, label=f"P1 max R (gain {p1.gain:.3f})")
    ax.plot(p2.alarm_fraction, p2.miss_rate, "o", color="g", ms=7, label=f"P2 nearest origin (gain {p2.gain:.3f})")
    ax.text(0.5, 0.5, f"area = {curve.area:.4f}\nASS = {curve.area_skill_score:.4f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("alarm time fraction tau")
    ax.set_ylabel("miss rate nu")
    c = best.cell
    ax.set_title(title or (f"M>={c.min_magnitude:g}, r<{c.max_radius_km:g} km, window {c.window_days} d: "
                           f"R={c.score.r:.4f}, R0={c.score.r0:.4f}"), fontsize=9)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return path
