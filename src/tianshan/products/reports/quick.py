"""The automatic quick report (自动速报) in Chinese and English, in the CENC style.

Structure, as in the China Earthquake Networks Center's published reports
(e.g. "中国地震台网正式测定：11月08日02时09分在新疆克孜勒苏州阿图什市（北纬40.47度，
东经77.72度）发生5.4级地震，震源深度10千米。"):

* issuer and status: ``中国地震台网自动测定`` for an automatic solution,
  ``中国地震台网正式测定`` for a reviewed one;
* origin time in **Beijing time** (UTC+8) as ``MM月DD日HH时MM分``;
* place: province short name + prefecture short name (``巴音郭楞州``: the
  autonomous-prefecture suffix ``...蒙古自治州`` shortened to ``州``, as CENC
  writes it) + county, with ``附近`` ("near") for an automatic solution whose
  epicentre lies within ``near_km`` of the county's representative point,
  else direction and distance from it (``轮台县东南85千米``; direction and
  distance are a Tianshan addition for epicentres far from any place);
* coordinates to 0.01 degree (``北纬``/``南纬``, ``东经``/``西经``);
* magnitude rounded to 0.1, with ``左右`` ("about") when automatic;
* focal depth in km (``千米``);
* suspected blasts and collapses flagged ``（疑爆）`` / ``（塌陷）``;
* automatic solutions end with ``最终结果以正式速报为准。`` (final result in the
  formal report).

Place names come from :class:`~tianshan.regions.model.Place` lists: census
counties carry Chinese names and prefectures (``name_zh``, ``admin``);
GeoNames towns carry English names only. Without any Chinese name (the
built-in demo region), the Chinese text uses the region name (``新疆``) and
the English town name, e.g. ``新疆Luntai附近``. The English text names the
nearest place with a Latin name (a GeoNames town) and the prefecture's
English name from :data:`PREFECTURE_EN`, else the region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence

from tianshan.core.errors import DomainError
from tianshan.core.event import Event, EventType
from tianshan.core.pick import EvaluationMode
from tianshan.regions.model import Place, haversine_m

BEIJING = timezone(timedelta(hours=8), "Beijing")

#: Official English names of Xinjiang's prefecture-level divisions (incl. XPCC cities).
PREFECTURE_EN = {
    "乌鲁木齐市": "Urumqi", "克拉玛依市": "Karamay", "吐鲁番市": "Turpan", "哈密市": "Hami",
    "昌吉回族自治州": "Changji", "博尔塔拉蒙古自治州": "Bortala", "巴音郭楞蒙古自治州": "Bayingolin",
    "阿克苏地区": "Aksu", "克孜勒苏柯尔克孜自治州": "Kizilsu", "喀什地区": "Kashgar", "和田地区": "Hotan",
    "伊犁哈萨克自治州": "Ili", "塔城地区": "Tacheng", "阿勒泰地区": "Altay", "石河子市": "Shihezi",
    "阿拉尔市": "Aral", "图木舒克市": "Tumxuk", "五家渠市": "Wujiaqu", "北屯市": "Beitun",
    "铁门关市": "Tiemenguan", "双河市": "Shuanghe", "可克达拉市": "Kokdala", "昆玉市": "Kunyu",
    "胡杨河市": "Huyanghe",
}
_ETHNIC = ("柯尔克孜", "哈萨克", "蒙古", "回族", "藏族", "彝族", "傣族", "景颇族", "白族", "苗族", "土家族",
           "布依族", "壮族", "侗族", "朝鲜族", "羌族", "哈尼族", "傈僳族")
_DIRS_ZH = ("北", "东北", "东", "东南", "南", "西南", "西", "西北")
_DIRS_EN = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def short_prefecture(name: str) -> str:
    """CENC short form of a prefecture name: ``巴音郭楞蒙古自治州`` -> ``巴音郭楞州``."""
    if name.endswith("自治州"):
        stem = name[:-3]
        for e in _ETHNIC:
            if stem.endswith(e) and len(stem) > len(e):
                stem = stem[: -len(e)]
                break
        return stem + "州"
    return name


def _is_latin(text: str) -> bool:
    return bool(text) and all(ord(c) < 0x250 for c in text)


def _bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def _octant(bearing: float) -> int:
    return int(((bearing + 22.5) % 360.0) // 45.0)


@dataclass(frozen=True, slots=True)
class QuickReport:
    """The quick report of one event.

    ``place_zh`` / ``place_en`` are the place phrases used in the texts,
    ``place_zh_full`` the full administrative name (``新疆维吾尔自治区巴音郭楞蒙古自治州轮台县``),
    ``nearest`` the place the Chinese name refers to and ``distance_km`` the
    epicentre's distance from it.
    """

    text_zh: str
    text_en: str
    automatic: bool
    time_beijing: datetime
    place_zh: str
    place_en: str
    place_zh_full: str = ""
    nearest: Place | None = None
    distance_km: float | None = None
    magnitude: float | None = None
    depth_km: float | None = None

    def as_dict(self) -> dict:
        return {"text_zh": self.text_zh, "text_en": self.text_en, "automatic": self.automatic,
                "time_beijing": self.time_beijing.isoformat(), "place_zh": self.place_zh,
                "place_en": self.place_en, "place_zh_full": self.place_zh_full,
                "nearest": None if self.nearest is None else self.nearest.name,
                "distance_km": None if self.distance_km is None else round(self.distance_km, 1),
                "magnitude": self.magnitude, "depth_km": self.depth_km}


def _nearest(places: Sequence[Place], lat: float, lon: float, want) -> tuple[Place | None, float | None]:
    best, dist = None, math.inf
    for p in places:
        if want(p):
            d = haversine_m(lat, lon, p.latitude_deg, p.longitude_deg)
            if d < dist:
                best, dist = p, d
    return best, (None if best is None else dist / 1000.0)


def _zh_place(place: Place | None, dist_km: float | None, lat: float, lon: float, automatic: bool,
              near_km: float, region_zh: str, region_full_zh: str) -> tuple[str, str]:
    if place is None:
        return region_zh, region_full_zh
    county = place.name_zh or place.name
    pref = place.admin if (place.name_zh and not _is_latin(place.admin)) else ""
    if pref and (pref == county or pref in (region_zh, region_full_zh)):
        pref = ""
    prefix = region_zh + short_prefecture(pref)
    full = region_full_zh + pref + county
    if dist_km is not None and dist_km > near_km:
        direction = _DIRS_ZH[_octant(_bearing_deg(place.latitude_deg, place.longitude_deg, lat, lon))]
        return f"{prefix}{county}{direction}{round(dist_km)}千米", full
    return prefix + county + ("附近" if automatic else ""), full


def _choose_zh(places: Sequence[Place], lat: float, lon: float, near_km: float):
    """The nearest place with a Chinese name when within ``near_km``, else the nearest place at all when
    within ``near_km``, else the nearest Chinese-named (or any) place, to be given with direction and distance."""
    zh, dzh = _nearest(places, lat, lon, lambda p: bool(p.name_zh))
    if zh is not None and dzh <= near_km:
        return zh, dzh
    anyp, dany = _nearest(places, lat, lon, lambda p: True)
    if anyp is not None and dany <= near_km:
        return anyp, dany
    return (zh, dzh) if zh is not None else (anyp, dany)


def _en_place(places: Sequence[Place], zh_place: Place | None, lat: float, lon: float, near_km: float,
              region_en: str) -> str:
    town, d = _nearest(places, lat, lon, lambda p: _is_latin(p.name))
    pref = ""
    if zh_place is not None and zh_place.name_zh:
        pref = PREFECTURE_EN.get(zh_place.admin, PREFECTURE_EN.get(zh_place.name_zh, ""))
    tail = ", ".join(x for x in (pref, region_en) if x)
    if town is None:
        return f"in {tail}" if tail else "in the region"
    if d is not None and d > near_km:
        octant = _octant(_bearing_deg(town.latitude_deg, town.longitude_deg, lat, lon))
        words = f"{round(d)} km {_DIRS_EN[octant]} of {town.name}"
    else:
        words = f"near {town.name}"
    return f"{words}, {tail}" if tail else words


def _coord_zh(lat: float, lon: float) -> str:
    ns = "北纬" if lat >= 0 else "南纬"
    ew = "东经" if lon >= 0 else "西经"
    return f"{ns}{abs(lat):.2f}度，{ew}{abs(lon):.2f}度"


def _coord_en(lat: float, lon: float) -> str:
    return f"{abs(lat):.2f}°{'N' if lat >= 0 else 'S'}, {abs(lon):.2f}°{'E' if lon >= 0 else 'W'}"


def quick_report(event: Event, places: Sequence[Place] = (), *, automatic: bool | None = None,
                 near_km: float = 50.0, region_zh: str = "新疆", region_full_zh: str = "新疆维吾尔自治区",
                 region_en: str = "Xinjiang") -> QuickReport:
    """The quick report of ``event``'s preferred origin and magnitude.

    ``automatic`` defaults to the origin's evaluation mode. The Chinese place is
    the nearest place with a Chinese name (a census county) or, when no place
    has one, the nearest place at all; "near" (附近) applies within ``near_km``,
    beyond it the text gives direction and distance. Raises
    :class:`~tianshan.core.DomainError` for an event without origin.
    """
    o = event.preferred_origin
    if o is None:
        raise DomainError(f"event {event.id}: no origin, no quick report")
    m = event.preferred_magnitude
    auto = (o.evaluation_mode is EvaluationMode.AUTOMATIC) if automatic is None else bool(automatic)
    lat, lon = o.latitude_deg, o.longitude_deg
    places = tuple(places)
    near, dist = _choose_zh(places, lat, lon, near_km)
    place_zh, full_zh = _zh_place(near, dist, lat, lon, auto, near_km, region_zh, region_full_zh)
    place_en = _en_place(places, near, lat, lon, near_km, region_en)

    t = (o.time + timedelta(seconds=30)).astimezone(BEIJING)  # to the nearest minute
    t = t.replace(second=0, microsecond=0)
    mag = None if m is None else round(m.value + 1e-9, 1)
    depth = max(0, round(o.depth_m / 1000.0))
    kind_zh = {EventType.EXPLOSION: "地震（疑爆）", EventType.QUARRY_BLAST: "地震（疑爆）",
               EventType.COLLAPSE: "地震（塌陷）"}.get(event.type, "地震")
    kind_en = {EventType.EXPLOSION: "seismic event (suspected explosion)",
               EventType.QUARRY_BLAST: "seismic event (suspected quarry blast)",
               EventType.COLLAPSE: "seismic event (collapse)"}.get(event.type, "earthquake")

    issuer = "中国地震台网自动测定" if auto else "中国地震台网正式测定"
    mag_zh = "" if mag is None else f"{mag:.1f}级" + ("左右" if auto else "")
    text_zh = (f"{issuer}：{t.month:02d}月{t.day:02d}日{t.hour:02d}时{t.minute:02d}分在{place_zh}"
               f"（{_coord_zh(lat, lon)}）发生{mag_zh}{kind_zh}，震源深度{depth}千米。")
    if auto:
        text_zh += "最终结果以正式速报为准。"

    issuer_en = "CENC automatic determination" if auto else "CENC official determination"
    size = "" if mag is None else f"M{mag:.1f}"
    article = "an" if size or kind_en[0] in "aeiou" else "a"  # "an M6.5" (em), "an earthquake"
    text_en = (f"{issuer_en}: {article} {size + ' ' if size else ''}{kind_en} struck {place_en} "
               f"({_coord_en(lat, lon)}) at {t.hour:02d}:{t.minute:02d} on {_MONTHS[t.month - 1]} {t.day} "
               f"(Beijing time); focal depth {depth} km.")
    if auto:
        text_en += " Automatic solution, subject to revision."
    return QuickReport(text_zh=text_zh, text_en=text_en, automatic=auto, time_beijing=t, place_zh=place_zh,
                       place_en=place_en, place_zh_full=full_zh, nearest=near, distance_km=dist,
                       magnitude=mag, depth_km=float(depth))
