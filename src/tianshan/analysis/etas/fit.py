"""Maximum-likelihood fit of the space-time ETAS model with iterative stochastic declustering.

Algorithm (Zhuang, Ogata & Vere-Jones 2002, J. Am. Stat. Assoc. 97:369, sec. 3.3; R ETAS
``etas()``, Jalilian 2019, J. Stat. Softw. 88(c01)), for outer iteration k = 1, 2, ...:

1. with the current parameters, repeat ``max_iter + 1 - k`` declustering passes
   (:mod:`~tianshan.analysis.etas.declustering`), starting the very first from
   phi = 1 for every event (R's initial probabilities);
2. maximise the log-likelihood (:mod:`~tianshan.analysis.etas.model`) with the background
   u and ``integ0`` of the last pass held fixed;
3. stop when, relative to the previous iteration, the largest parameter change
   ``max((theta_k - theta_{k-1}) / theta_{k-1})``, the log-likelihood change
   ``|l_k / l_{k-1} - 1|`` and the largest background change ``max |du / u|`` are all below
   ``rel_tol`` (1e-3). As in R the parameter criterion is the signed maximum (a parameter
   that decreases does not hold up convergence); ``converged`` is False when ``max_iter``
   iterations did not meet it.

Maximisation: quasi-Newton BFGS (scipy) with the analytic gradient, in log parameters
(``log(p - 1)`` and ``log(q - 1)`` for the exponents, so the densities stay proper), each
outer iteration warm-started from the previous estimate and inverse Hessian. R uses a
Davidon-Fletcher-Powell search in square-root parameters; the maximiser is the same.

Standard errors: square roots of the diagonal of the inverse of the observed information,
the Hessian of minus the log-likelihood in the natural parameters at the estimate
(central differences of the analytic gradient), conditional on the background as in R.
(R reports ``(1/4) diag(1/sqrt(theta)) H diag(1/sqrt(theta))`` of its DFP inverse-Hessian
approximation H; the delta method for theta = s^2 gives ``4 diag(s) H diag(s)``, so R's
printed standard errors are not comparable.) ``beta`` and its error: :func:`model.beta_mle`.
AIC = -2 l + 2 * 8 (R counts the eight ETAS parameters, not beta).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tianshan.analysis.etas.data import EtasCatalog
from tianshan.analysis.etas.model import PARAM_NAMES, EtasParams, beta_mle

log = logging.getLogger(__name__)

#: Index of p and q in PARAM_NAMES: optimised as log(x - 1).
_SHIFTED = np.array([0, 0, 0, 0, 1, 0, 1, 0], float)


def default_param0(catalog: EtasCatalog) -> EtasParams:
    """Non-informative start: R ETAS's A = 0.01, c = 0.01, alpha = 1, p = 1.3, D = 0.01 (x 111^2 in
    km), q = 2, gamma = 1, but mu = 0.5.

    R starts from mu = N / (4 T |S|), a rate per unit area and day, whereas u here (as in R's
    current code) already carries those units, so mu is the background fraction's scale
    (0.55 for Iran). From R's value (~0.001 for Iran) the first declustering passes make every
    event triggered and the fit ends in the degenerate p -> 1 ridge (log-likelihood -4137
    against -3889); from mu = 0.5 it reaches R's estimate.
    """
    d0 = 0.01 * (111.0 ** 2 if catalog.dist_unit == "km" else 1.0)
    return EtasParams(mu=0.5, A=0.01, c=0.01, alpha=1.0, p=1.3, D=d0, q=2.0, gamma=1.0)


def _to_phi(theta: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(theta - _SHIFTED, 1e-12))


def _to_theta(phi: np.ndarray) -> np.ndarray:
    return np.exp(phi) + _SHIFTED


@dataclass(frozen=True)
class EtasFit:
    """Result of :func:`fit_etas` (R ETAS's ``etas`` object).

    ``stderr`` maps parameter names to standard errors (NaN where the observed information
    is not positive definite). ``background`` (u at each event), ``prob_background``
    (phi) and ``bandwidth`` are per event of ``catalog``; ``history`` holds
    ``(params dict, loglik)`` of every outer iteration.
    """

    params: EtasParams
    stderr: dict[str, float]
    beta: float
    beta_stderr: float
    loglik: float
    aic: float
    catalog: EtasCatalog
    iterations: int
    converged: bool
    background: np.ndarray
    prob_background: np.ndarray
    bandwidth: np.ndarray
    integ0: float
    runtime_s: float
    history: tuple[tuple[dict[str, float], float], ...] = field(default=())

    @property
    def n_target(self) -> int:
        return self.catalog.n_target

    @property
    def n_complementary(self) -> int:
        return self.catalog.n_complementary

    def as_dict(self) -> dict:
        """The JSON document of ``tianshan etas fit --json`` (issue 8); unknown errors are None."""
        params = {"beta": self.beta, **self.params.as_dict()}
        stderr = {k: (v if math.isfinite(v) else None) for k, v in {"beta": self.beta_stderr, **self.stderr}.items()}
        return {"params": params, "stderr": stderr, "loglik": self.loglik, "aic": self.aic,
                "n_target": self.n_target, "n_complementary": self.n_complementary,
                "runtime_s": self.runtime_s}


@dataclass
class _Problem:
    """The likelihood with the background held fixed, in the optimiser's variables."""

    catalog: EtasCatalog
    background: np.ndarray
    integ0: float
    quad: object
    n_eval: int = 0

    def natural(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        from tianshan.analysis.etas.model import neg_log_likelihood

        self.n_eval += 1
        return neg_log_likelihood(theta, self.catalog, self.background, self.integ0, self.quad)

    def __call__(self, phi: np.ndarray) -> tuple[float, np.ndarray]:
        if np.any(phi > 50.0):
            return math.inf, np.zeros_like(phi)
        theta = _to_theta(phi)
        f, g = self.natural(theta)
        if not math.isfinite(f) or not np.all(np.isfinite(g)):
            return math.inf, np.zeros_like(phi)
        return f, g * (theta - _SHIFTED)


def _maximise(problem: _Problem, theta0: np.ndarray, hess_inv0: np.ndarray | None, gtol: float):
    from scipy.optimize import minimize

    options = {"gtol": gtol, "maxiter": 1000}
    if hess_inv0 is not None:
        hess_inv0 = 0.5 * (hess_inv0 + hess_inv0.T)
        if np.all(np.isfinite(hess_inv0)) and np.linalg.eigvalsh(hess_inv0)[0] > 0.0:
            options["hess_inv0"] = hess_inv0
    res = minimize(problem, _to_phi(theta0), jac=True, method="BFGS", options=options)
    note = "" if res.success else f"; {res.message} (max |gradient| {float(np.max(np.abs(res.jac))):.2g})"
    return _to_theta(res.x), -float(res.fun), np.asarray(res.hess_inv), note


def observed_information(problem: _Problem, theta: np.ndarray, rel_step: float = 1e-4) -> np.ndarray:
    """Hessian of minus the log-likelihood in natural parameters (central differences of the gradient)."""
    n = theta.size
    hess = np.empty((n, n))
    for i in range(n):
        h = rel_step * max(abs(theta[i] - _SHIFTED[i]), 1e-8)
        tp, tm = theta.copy(), theta.copy()
        tp[i] += h
        tm[i] -= h
        hess[:, i] = (problem.natural(tp)[1] - problem.natural(tm)[1]) / (2.0 * h)
    return 0.5 * (hess + hess.T)


def standard_errors(information: np.ndarray) -> np.ndarray:
    """sqrt(diag(inverse)) of the observed information; NaN if it is not positive definite."""
    try:
        np.linalg.cholesky(information)
    except np.linalg.LinAlgError:
        return np.full(information.shape[0], math.nan)
    return np.sqrt(np.diag(np.linalg.inv(information)))


def fit_etas(catalog: EtasCatalog, param0: EtasParams | None = None, *, nnp: int = 5, bwm: float = 0.05,
             bandwidth: np.ndarray | None = None, ndiv: int = 1000, max_iter: int = 11, rel_tol: float = 1e-3,
             gtol: float = 1e-4, quadrature_order: int = 8,
             progress: Callable[[str], None] | None = None) -> EtasFit:
    """Fit the ETAS model to ``catalog`` as R ETAS ``etas()`` does (module docstring).

    ``param0``: start (default :func:`default_param0`; R warns that the result can depend on
    it, so give a sensible one where known); ``nnp``, ``bwm``: bandwidth rule
    (``bwm`` in degrees, converted for km maps) unless ``bandwidth`` (one per event) is
    given; ``ndiv``: pieces per polygon edge for the background integrals; ``max_iter``:
    outer iterations (R's ``no.itr``); ``progress``: called with one line per iteration.
    """
    from tianshan.analysis.etas import declustering as dc
    from tianshan.analysis.etas.model import polar_quadrature

    t_start = time.perf_counter()
    say = progress or (lambda line: log.info("%s", line))
    if param0 is None:
        param0 = default_param0(catalog)
    if bandwidth is None:
        floor = bwm * (dc.KM_PER_DEGREE if catalog.dist_unit == "km" else 1.0)
        bandwidth = dc.bandwidths(catalog.x, catalog.y, nnp=nnp, bwm=floor)
    bandwidth = np.ascontiguousarray(bandwidth, float)
    if bandwidth.shape != catalog.t.shape or not np.all(bandwidth > 0):
        raise ValueError("bandwidth must be positive, one per event")
    smoother = dc.BackgroundSmoother.build(catalog, bandwidth, ndiv=ndiv)
    quad = polar_quadrature(catalog.x, catalog.y, catalog.polygon_xy, order=quadrature_order)

    theta = param0.as_array()
    pb = np.ones(catalog.n_events)
    bk_prev = np.zeros(catalog.n_events)
    hess_inv = None
    history: list[tuple[dict[str, float], float]] = []
    loglik_prev = math.nan
    converged = False
    itr = 0
    problem = None
    for itr in range(1, max_iter + 1):
        trig = dc.trigger_at_events(theta, catalog)
        for _ in range(max_iter + 1 - itr):
            step = dc.decluster_pass(theta[0], trig, pb, smoother)
            pb = step.prob_background
        bk, integ0 = step.background, step.integ0
        with np.errstate(divide="ignore", invalid="ignore"):
            dbk = float(np.max(np.abs((bk_prev - bk) / bk)))
        bk_prev = bk
        problem = _Problem(catalog, bk, integ0, quad)
        theta_new, loglik, hess_inv, note = _maximise(problem, theta, hess_inv, gtol)
        history.append((dict(zip(PARAM_NAMES, theta_new.tolist())), loglik))
        say(f"iteration {itr}: loglik {loglik:.3f} ({problem.n_eval} evaluations{note}) "
            + " ".join(f"{k}={v:.4g}" for k, v in zip(PARAM_NAMES, theta_new)))
        if itr > 1:
            dtht = float(np.max((theta_new - theta) / theta))
            dll = abs(loglik / loglik_prev - 1.0)
            if dtht < rel_tol and dll < rel_tol and dbk < rel_tol:
                converged = True
        theta, loglik_prev = theta_new, loglik
        if converged:
            break

    se = standard_errors(observed_information(problem, theta))
    loglik = -problem.natural(theta)[0]
    beta, beta_se = beta_mle(catalog.m[catalog.flag == 1])
    return EtasFit(params=EtasParams.from_array(theta), stderr=dict(zip(PARAM_NAMES, se.tolist())), beta=beta,
                   beta_stderr=beta_se, loglik=loglik, aic=-2.0 * loglik + 2.0 * len(PARAM_NAMES), catalog=catalog,
                   iterations=itr, converged=converged, background=bk, prob_background=pb, bandwidth=bandwidth,
                   integ0=integ0, runtime_s=time.perf_counter() - t_start, history=tuple(history))
