"""An event's ground-motion map: model predictions conditioned on station and macroseismic observations.

:class:`EventModel` -- the prior: a rupture, a ground-motion model
(:class:`tianshan.groundmotion.prediction.gmpe.GroundMotionModel`), Vs30 and optional generic
amplification; predictions of ``pga``, ``pgv``, ``psa<T>`` (ln SI units) and ``mmi`` (Worden et
al. 2012 applied to PGV, ShakeMap's virtual IPE).

:class:`ConditionedEvent` -- the prior plus :class:`.stations.StationObservation` s. For each
output IMT it assembles the observations as ShakeMap v4 does (``model.py``: "derive IMTs from
MMI", "derive MMI from IMTs", "nearest IMTs") and conditions with :class:`.mvn.Conditioner`:

* seismic stations, output IMT recorded there: the value itself (no extra error);
* seismic stations without the output IMT: the recorded IMTs whose pseudo-periods bracket it
  (the nearest below and above; one when all lie on one side), correlated through the
  correlation model (e.g. the 32 PGA-only Wenchuan stations inform PGV) -- but not when the
  station's own value of the output IMT was flagged (a bad value is not papered over);
* output MMI at seismic stations: MMI converted from the first available of PGV, PGA,
  PSA(1.0), PSA(0.3), PSA(3.0) (ShakeMap's preference) by Worden et al. (2012) with its distance
  and magnitude terms, extra error = the conversion's sigma (``sigma_mmi``);
* macroseismic observations: MMI itself for output MMI (extra error: the input's, else 0.3,
  ShakeMap's ``default_mmi_stddev``); for PGA, PGV and PSA(0.3, 1.0, 3.0) the motion converted
  from MMI by the inverse relation, only for MMI >= 4 (ShakeMap's ``min_mmi_convert``), extra
  error = the inverse conversion's sigma.

Distance: with ``Settings.max_distance_km`` stations farther (Rrup) are flagged
``beyond_max_distance`` and not used -- for models outside their range (NGA-West2 models are
fitted to about 300-400 km; at the Wenchuan stations 800-3000 km away BSSA14's mean residual is
+8 ln units and would drag the event term).

Outliers: recorded values with ``|ln obs - mu| > 3 sigma`` are flagged ``outlier`` and not
used, when the rupture is finite or M <= 6.5 (ShakeMap 4 ``modelspec.conf`` defaults
``outlier.max_deviation = 3``, ``outlier.max_mag = 6.5``).

Chinese intensity (:meth:`ConditionedEvent.chinese_intensity`): GB/T 17742-2020 Appendix A
(:func:`tianshan.groundmotion.intensity.gbt17742.instrumental_intensity`) applied to the
conditioned PGA and PGV medians. Caveat (as in :mod:`tianshan.groundmotion.intensity.mmi`): the
standard uses the 3-component vector-sum peaks, the map the larger horizontal; the vector sum is
larger, so this intensity is biased low by an amount not established here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from tianshan.core.errors import InputError
from tianshan.groundmotion.conditioning.correlation import default_correlation, pseudo_period
from tianshan.groundmotion.conditioning.mvn import Conditioner, Observations, outlier_mask
from tianshan.groundmotion.conditioning.stations import StationObservation
from tianshan.groundmotion.prediction.distances import Rupture, site_distances
from tianshan.groundmotion.prediction.gmpe import GroundMotionModel, Prediction, predict_mmi

__all__ = ["EventModel", "ConditionedEvent", "Settings", "MOTION_IMTS", "MMI_PREFERENCE", "StationRow"]

#: Intensity measures of station lists (and of Worden et al. 2012).
MOTION_IMTS = ("pga", "pgv", "psa0.3", "psa1.0", "psa3.0")
#: ShakeMap's order of preference for converting a station's motion to MMI.
MMI_PREFERENCE = ("pgv", "pga", "psa1.0", "psa0.3", "psa3.0")


@dataclass(frozen=True, slots=True)
class Settings:
    """Conditioning settings (module docstring); ``correlation`` None means Loth & Baker (2013).

    ``jitter``: observation-error floor, variance as a fraction of each observation's phi^2 (:mod:`.mvn`).
    """

    correlation: object = None
    max_distance_km: float | None = None
    outlier_max_deviation: float = 3.0
    outlier_max_magnitude: float = 6.5
    min_mmi_convert: float = 4.0
    jitter: float = 1e-3


class EventModel:
    """The prior of an event's map (module docstring). ``vs30``: a number or an object with ``vs30_at``."""

    def __init__(self, rupture: Rupture, gmm: GroundMotionModel | None = None, vs30=760.0, amplification=None,
                 long_axis_strike_deg: float | None = None) -> None:
        self.rupture = rupture
        self.gmm = gmm if gmm is not None else GroundMotionModel("BooreEtAl2014")
        self.vs30 = vs30
        self.amplification = amplification
        self.long_axis_strike_deg = long_axis_strike_deg

    def _vs30(self, lat, lon):
        import numpy as np

        if hasattr(self.vs30, "vs30_at"):
            return np.asarray(self.vs30.vs30_at(lat, lon), dtype=np.float64)
        return np.full(np.shape(lat), float(self.vs30))

    def predict(self, latitude_deg, longitude_deg, imts, distances=None) -> dict[str, Prediction]:
        """Predictions at sites for IMT keys (``mmi`` through PGV; module docstring)."""
        import numpy as np

        lat = np.atleast_1d(np.asarray(latitude_deg, dtype=np.float64)).ravel()
        lon = np.atleast_1d(np.asarray(longitude_deg, dtype=np.float64)).ravel()
        keys = [str(k).lower() for k in imts]
        if distances is None:
            distances = site_distances(self.rupture, lat, lon)
        need = sorted({k for k in keys if k != "mmi"} | ({"pgv"} if "mmi" in keys else set()))
        pred = self.gmm.predict(self.rupture, lat, lon, need, vs30=self._vs30(lat, lon), distances=distances,
                                long_axis_strike_deg=self.long_axis_strike_deg) if need else {}
        if self.amplification is not None:
            amp = self.amplification.ln_factor(lat, lon)
            pred = {k: Prediction(k, p.mean_ln + amp, p.tau, p.phi) for k, p in pred.items()}
        out = {k: pred[k] for k in keys if k != "mmi"}
        if "mmi" in keys:
            out["mmi"] = predict_mmi(pred["pgv"], distances.rrup_m, self.rupture.magnitude)
        return out

    def grid_model(self, imt: str):
        """``model(lat, lon) -> (mean, tau, phi)`` for :func:`.grid.condition_grid`."""
        def model(lat, lon):
            p = self.predict(lat, lon, [imt])[imt]
            return p.mean_ln, p.tau, p.phi
        return model


@dataclass(frozen=True, slots=True)
class StationRow:
    """One row of the station table: observed and predicted values, residuals, flags.

    ``observed``/``predicted``: IMT -> ln SI value (``mmi``: intensity); predictions are the
    prior model's at the station. ``used``: IMTs whose observation entered the conditioning.
    """

    station_id: str
    kind: str
    latitude_deg: float
    longitude_deg: float
    observed: dict
    predicted: dict
    flags: tuple[str, ...]
    used: tuple[str, ...]


class ConditionedEvent:
    """An :class:`EventModel` conditioned on station observations (module docstring)."""

    def __init__(self, model: EventModel, stations: Sequence[StationObservation], settings: Settings = Settings()):
        import numpy as np

        self.model = model
        self.settings = settings
        self.correlation = settings.correlation if settings.correlation is not None else default_correlation()
        self.all_stations = tuple(stations)
        self.beyond: set[int] = set()
        usable = [s for s in self.all_stations if s.usable]
        if settings.max_distance_km is not None and usable:
            d = site_distances(model.rupture, [s.latitude_deg for s in usable], [s.longitude_deg for s in usable])
            far = np.asarray(d.rrup_m) > 1000.0 * float(settings.max_distance_km)
            self.beyond = {id(s) for s, f in zip(usable, far) if f}
            usable = [s for s, f in zip(usable, far) if not f]
        self.stations = tuple(usable)
        self.lat = np.array([s.latitude_deg for s in self.stations], dtype=np.float64)
        self.lon = np.array([s.longitude_deg for s in self.stations], dtype=np.float64)
        self._conditioners: dict[str, Conditioner] = {}
        self.extra_flags: dict[int, list[str]] = {}
        if self.stations:
            self.distances = site_distances(model.rupture, self.lat, self.lon)
            imts = [k for k in MOTION_IMTS if model.gmm.supports(k)]
            imts += ["mmi"] if "pgv" in imts else []
            self.pred = model.predict(self.lat, self.lon, imts, distances=self.distances)
        else:
            self.distances, self.pred = None, {}
        self._flag_outliers()

    # -- observations -----------------------------------------------------------------------------

    def _flag_outliers(self) -> None:
        import numpy as np

        rup = self.model.rupture
        s = self.settings
        self.outliers: dict[int, set[str]] = {}
        if rup.is_point and rup.magnitude > s.outlier_max_magnitude:
            return
        for k in MOTION_IMTS:
            if k not in self.pred:
                continue
            idx = [i for i, st in enumerate(self.stations) if k in st.motions]
            if not idx:
                continue
            obs = np.log([self.stations[i].motions[k] for i in idx])
            mu = self.pred[k].mean_ln[idx]
            bad = outlier_mask(obs - mu, self.pred[k].sigma[idx], s.outlier_max_deviation)
            for i, b in zip(idx, bad):
                if b:
                    self.outliers.setdefault(i, set()).add(k)
                    self.extra_flags.setdefault(i, []).append(f"{k}:outlier")

    def usable_motions(self, i: int) -> dict[str, float]:
        """Station ``i``'s recorded values (SI) that the model covers and that are not outliers."""
        bad = self.outliers.get(i, set())
        return {k: v for k, v in self.stations[i].motions.items() if k not in bad and k in self.pred}

    def station_mmi(self, i: int) -> tuple[float, float, str] | None:
        """(MMI, extra sd, source IMT) of seismic station ``i`` from its motion (module docstring)."""
        from tianshan.groundmotion.intensity import mmi as wgrw

        mot = self.usable_motions(i)
        for k in MMI_PREFERENCE:
            if k in mot:
                v = wgrw.mmi_from_motion(mot[k], k, float(self.distances.rrup_m[i]), self.model.rupture.magnitude)
                return float(v), wgrw.sigma_mmi(k), k
        return None

    def _bracket(self, target: str, available) -> list[str]:
        tp = pseudo_period(target)
        below = sorted((k for k in available if pseudo_period(k) <= tp), key=lambda k: tp - pseudo_period(k))
        above = sorted((k for k in available if pseudo_period(k) > tp), key=lambda k: pseudo_period(k) - tp)
        return [x[0] for x in (below, above) if x]

    def observations(self, target: str, exclude: set[int] | None = None):
        """(Observations, station index per row) for output IMT ``target`` (module docstring)."""
        import numpy as np

        from tianshan.groundmotion.intensity import mmi as wgrw

        target = str(target).lower()
        exclude = exclude or set()
        rows: list[tuple] = []
        m = self.model.rupture.magnitude
        for i, st in enumerate(self.stations):
            if i in exclude:
                continue
            if st.kind == "macroseismic":
                if st.mmi is None:
                    continue
                if target == "mmi":
                    rows.append((i, "mmi", st.mmi - self.pred["mmi"].mean_ln[i], st.mmi_sd or 0.0))
                elif target in MOTION_IMTS and target in self.pred and st.mmi >= self.settings.min_mmi_convert:
                    v = wgrw.motion_from_mmi(st.mmi, target, float(self.distances.rrup_m[i]), m)
                    rows.append((i, target, math.log(v) - self.pred[target].mean_ln[i], wgrw.sigma_ln_motion(target)))
                continue
            if target == "mmi":
                got = self.station_mmi(i)
                if got is not None:
                    rows.append((i, "mmi", got[0] - self.pred["mmi"].mean_ln[i], got[1]))
                continue
            mot = self.usable_motions(i)
            if target not in mot and (target in st.imt_flags or target in self.outliers.get(i, ())):
                continue                  # a flagged value is not replaced by the station's other IMTs
            use = [target] if target in mot else self._bracket(target, mot)
            for k in use:
                rows.append((i, k, math.log(mot[k]) - self.pred[k].mean_ln[i], 0.0))
        if not rows:
            return Observations.empty(), np.zeros(0, dtype=np.int64)
        idx = np.array([r[0] for r in rows], dtype=np.int64)
        imts = tuple(r[1] for r in rows)
        obs = Observations(latitude_deg=self.lat[idx], longitude_deg=self.lon[idx], imt=imts,
                           period_s=[pseudo_period(k) for k in imts], residual=[r[2] for r in rows],
                           tau=[self.pred[k].tau[i] for i, k in zip(idx, imts)],
                           phi=[self.pred[k].phi[i] for i, k in zip(idx, imts)], extra_sd=[r[3] for r in rows],
                           site_id=idx)
        return obs, idx

    def conditioner(self, target: str) -> Conditioner:
        """The :class:`.mvn.Conditioner` of output IMT ``target`` (cached)."""
        target = str(target).lower()
        if target not in self._conditioners:
            if target != "mmi" and not self.model.gmm.supports(target):
                raise InputError(f"{self.model.gmm.name} does not define {target}", field="imt")
            obs, _ = self.observations(target)
            self._conditioners[target] = Conditioner(obs, target, self.correlation, pseudo_period(target),
                                                     jitter=self.settings.jitter)
        return self._conditioners[target]

    # -- outputs ----------------------------------------------------------------------------------

    def points(self, latitude_deg, longitude_deg, target: str):
        """(prior :class:`Prediction`, conditioned :class:`.mvn.ConditionedPoints`) at sites."""
        p = self.model.predict(latitude_deg, longitude_deg, [target])[str(target).lower()]
        return p, self.conditioner(target).predict(latitude_deg, longitude_deg, p.mean_ln, p.tau, p.phi)

    def grid(self, spec, target: str, eps: float = 1e-5, tile: int = 64, band_rows: int = 256):
        """Conditioned grids of ``target`` (:func:`.grid.condition_grid`)."""
        from tianshan.groundmotion.conditioning.grid import condition_grid

        return condition_grid(spec, self.conditioner(target), self.model.grid_model(target), eps=eps, tile=tile,
                              band_rows=band_rows)

    @staticmethod
    def chinese_intensity(ln_pga, ln_pgv):
        """GB/T 17742-2020 intensity (unrounded) from ln PGA (m/s^2) and ln PGV (m/s) (module docstring)."""
        import numpy as np

        from tianshan.groundmotion.intensity import gbt17742

        return gbt17742.instrumental_intensity(np.exp(np.asarray(ln_pga, dtype=np.float64)),
                                               np.exp(np.asarray(ln_pgv, dtype=np.float64)), rounded=False)

    def station_table(self) -> list[StationRow]:
        """Every input station (usable or not) with observed/predicted values and all flags."""
        import numpy as np

        index = {id(s): i for i, s in enumerate(self.stations)}
        used: dict[int, set[str]] = {}
        for t, c in self._conditioners.items():
            _, idx = self.observations(t)
            for i in set(int(v) for v in idx):
                used.setdefault(i, set()).add(t)
        rows = []
        for st in self.all_stations:
            i = index.get(id(st))
            observed: dict = {k: float(np.log(v)) for k, v in st.motions.items()}
            if st.mmi is not None:
                observed["mmi"] = st.mmi
            predicted: dict = {}
            if i is not None:
                predicted = {k: float(p.mean_ln[i]) for k, p in self.pred.items()}
                if st.kind == "seismic":
                    got = self.station_mmi(i)
                    if got is not None:
                        observed["mmi"] = got[0]
            flags = st.all_flags() + (tuple(self.extra_flags.get(i, ())) if i is not None else ())
            if id(st) in self.beyond:
                flags += ("beyond_max_distance",)
            rows.append(StationRow(station_id=st.station_id, kind=st.kind, latitude_deg=st.latitude_deg,
                                   longitude_deg=st.longitude_deg, observed=observed, predicted=predicted,
                                   flags=flags, used=tuple(sorted(used.get(i, ()))) if i is not None else ()))
        return rows
