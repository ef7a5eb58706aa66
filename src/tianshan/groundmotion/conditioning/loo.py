"""Leave-one-out validation of a conditioned map: predict each station from all the others.

For a station ``s`` and an output IMT, every observation row of ``s`` (all its IMTs, native or
converted) is removed, the Engler et al. (2022) conditioning (:mod:`.mvn`) is redone on the
rest -- event terms included, so they are re-estimated without ``s`` -- and the conditional
mean at ``s`` is compared with what ``s`` observed. The "model alone" is the prior model's
median at ``s`` (no event term, no data).

Speed: one inverse for all stations. The Engler et al. conditional mean is the conditional
mean of the joint normal whose data covariance is the *total* covariance
``Sigma = T_D Sigma_HH T_D' + W_DD`` (event terms included). For the rows ``R`` of station
``s`` and the kept rows ``K``, with ``Q = Sigma^-1`` and ``b = Q r``,
``E(y_R | y_K) - mu_R = r_R - (Q_RR)^-1 b_R`` and ``Var(y_R | y_K) = (Q_RR)^-1`` (the
partitioned inverse; Rasmussen & Williams 2006, *Gaussian Processes for Machine Learning*,
eqs. A.11-A.12 and 5.12 for one row). The station's own row of ``target`` gives its LOO
mean; its sd is that variance less the row's extra (observation) variance. Real station lists
hold co-located stations without extra error (82 shared coordinates among the Wenchuan
stations), which make ``Sigma`` singular; the event's conditioning jitter
(:class:`.pipeline.Settings`, 1e-3 phi^2 per observation) keeps it invertible, so the result is
exactly the event's own :class:`.mvn.Conditioner` re-run without the station (tested). With a
jitter of 1e-6 the inverse was numerically useless on the Wenchuan list (errors of several ln
units): co-located pairs there disagree by up to a factor of 5. The sd is that of the latent
value (the row's extra and jitter variances removed).

Metrics (:func:`loo_metrics`): residual = observed - predicted; ``bias`` = mean residual,
``rms`` = root mean square residual, over the stations where both exist:

* ``ln_pga``: seismic stations with a usable PGA (ln m/s^2);
* ``mmi``: seismic stations' intensity from their motion (Worden et al. 2012, as ShakeMap) and
  macroseismic intensities (``mmi_seismic``/``mmi_macro`` split them);
* ``cn``: seismic stations with usable PGA and PGV: GB/T 17742-2020 intensity of the observed
  larger-horizontal PGA/PGV against that of the predicted medians.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError

__all__ = ["LooResult", "leave_one_out", "loo_metrics"]


@dataclass(frozen=True, slots=True)
class LooResult:
    """Per target IMT: station indices (into ``event.stations``), prior mean, LOO mean and sd there."""

    target: str
    station: object
    prior_mean: object
    loo_mean: object
    loo_sd: object


def leave_one_out(event, target: str, stations=None) -> LooResult:
    """LOO conditional mean/sd of ``target`` at each station (module docstring).

    ``event``: a :class:`.pipeline.ConditionedEvent`; ``stations``: indices into
    ``event.stations``, each of which must have an observation row of ``target`` (default:
    every such station).
    """
    import numpy as np

    target = str(target).lower()
    cond = event.conditioner(target)
    obs, idx = event.observations(target)
    pred = event.pred[target]
    own = {int(s): j for j, (s, k) in enumerate(zip(idx, obs.imt)) if k == target}
    if stations is None:
        stations = np.array(sorted(own), dtype=np.int64)
    stations = np.asarray(stations, dtype=np.int64)
    missing = [int(s) for s in stations if int(s) not in own]
    if missing:
        raise InputError(f"stations {missing[:5]} have no {target} observation to leave out", field="stations")
    if len(obs) == 0 or stations.size == 0:
        mean = pred.mean_ln[stations]
        return LooResult(target, stations, mean, mean.copy(), pred.sigma[stations])
    col = {m: j for j, m in enumerate(cond.imts)}
    hh = np.asarray(cond.correlation.rho(0.0, cond.periods[:, None], cond.periods[None, :]), dtype=np.float64)
    kk = np.array([col[m] for m in obs.imt])
    if not cond.jitter > 0:
        raise InputError("leave-one-out needs the event's conditioning jitter > 0 (Settings.jitter)", field="jitter")
    total = cond.within_covariance(obs) + np.outer(obs.tau, obs.tau) * hh[np.ix_(kk, kk)]
    q = np.linalg.inv(total)
    b = q @ obs.residual
    means, sds = np.empty(stations.size), np.empty(stations.size)
    for out_i, s in enumerate(stations):
        rows = np.flatnonzero(idx == s)
        q_rr = q[np.ix_(rows, rows)]
        cov_rr = np.linalg.inv(q_rr)                       # Var(y_R | y_K)
        cond_r = obs.residual[rows] - cov_rr @ b[rows]      # E(y_R | y_K) - mu_R
        j = int(np.flatnonzero(rows == own[int(s)])[0])
        means[out_i] = pred.mean_ln[s] + cond_r[j]
        noise = float(obs.extra_sd[own[int(s)]]) ** 2 + cond.jitter * float(obs.phi[own[int(s)]]) ** 2
        sds[out_i] = math.sqrt(max(float(cov_rr[j, j]) - noise, 0.0))
    return LooResult(target, stations, pred.mean_ln[stations], means, sds)


def _stats(res) -> dict:
    import numpy as np

    res = np.asarray(res, dtype=np.float64)
    if res.size == 0:
        return {"rms": math.nan, "bias": math.nan, "n": 0}
    return {"rms": float(np.sqrt(np.mean(res ** 2))), "bias": float(np.mean(res)), "n": int(res.size)}


def loo_metrics(event) -> dict:
    """``{"loo": {"conditioned": {...}, "model_only": {...}}}`` (module docstring; keys as the CLI's)."""
    import numpy as np

    st = event.stations
    seismic = [i for i, s in enumerate(st) if s.kind == "seismic"]
    macro = [i for i, s in enumerate(st) if s.kind == "macroseismic" and s.mmi is not None]
    usable = {i: event.usable_motions(i) for i in seismic}
    pga_st = [i for i in seismic if "pga" in usable[i]]
    cn_st = [i for i in seismic if "pga" in usable[i] and "pgv" in usable[i]]
    mmi_seis = [i for i in seismic if event.station_mmi(i) is not None]
    out = {"conditioned": {}, "model_only": {}}

    def put(name, obs, prior, loo):
        for key, pred in (("model_only", prior), ("conditioned", loo)):
            s = _stats(np.asarray(obs) - np.asarray(pred))
            out[key][f"rms_{name}"], out[key][f"bias_{name}"], out[key][f"n_{name}"] = s["rms"], s["bias"], s["n"]

    if pga_st:
        lp = leave_one_out(event, "pga", pga_st)
        put("ln_pga", [math.log(usable[i]["pga"]) for i in pga_st], lp.prior_mean, lp.loo_mean)
    if mmi_seis or macro:
        lm = leave_one_out(event, "mmi", mmi_seis + macro)
        obs_m = [event.station_mmi(i)[0] for i in mmi_seis] + [st[i].mmi for i in macro]
        put("mmi", obs_m, lm.prior_mean, lm.loo_mean)
        ns = len(mmi_seis)
        put("mmi_seismic", obs_m[:ns], lm.prior_mean[:ns], lm.loo_mean[:ns])
        put("mmi_macro", obs_m[ns:], lm.prior_mean[ns:], lm.loo_mean[ns:])
    if cn_st:
        a = leave_one_out(event, "pga", cn_st)
        v = leave_one_out(event, "pgv", cn_st)
        obs_cn = event.chinese_intensity([math.log(usable[i]["pga"]) for i in cn_st],
                                         [math.log(usable[i]["pgv"]) for i in cn_st])
        put("cn", obs_cn, event.chinese_intensity(a.prior_mean, v.prior_mean),
            event.chinese_intensity(a.loo_mean, v.loo_mean))
    out["conditioned"]["n"] = out["model_only"]["n"] = len(seismic) + len(macro)
    return {"loo": out}
