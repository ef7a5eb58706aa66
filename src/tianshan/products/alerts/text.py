"""Chinese and English text of an alert message.

Intensities are on the Chinese seismic intensity scale (GB/T 17742-2020, I-XII), written in
Roman numerals as the standard does; a predicted value is rounded half up to a whole degree.
The wording follows the pattern of public EEW messages in China (预警 + magnitude + place +
expected intensity + seconds to the S wave); the English text is a translation of the same
facts. Nothing here is free text from the publisher, so a message is never half Chinese,
half English.
"""

from __future__ import annotations

import math

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")
_LEVEL_ZH = {"info": "信息", "advisory": "提示", "warning": "预警", "severe": "紧急预警"}
_ACTION_ZH = {"info": "无需采取行动。", "advisory": "请注意震感。",
              "warning": "请立即就近避险。", "severe": "请立即就近避险，远离门窗和悬挂物。"}
_ACTION_EN = {"info": "No action needed.", "advisory": "Be aware of possible shaking.",
              "warning": "Drop, cover and hold on now.",
              "severe": "Drop, cover and hold on now; keep away from windows and hanging objects."}


def intensity_degree(intensity: float) -> int:
    """Whole intensity degree (1-12) of a predicted value, rounded half up."""
    return int(min(12, max(1, math.floor(float(intensity) + 0.5))))


def roman(intensity: float) -> str:
    """Roman numeral of the rounded intensity (GB/T 17742-2020 writes degrees as I-XII)."""
    return _ROMAN[intensity_degree(intensity) - 1]


def _latlon_en(lat: float, lon: float) -> str:
    return f"{abs(lat):.2f}°{'N' if lat >= 0 else 'S'}, {abs(lon):.2f}°{'E' if lon >= 0 else 'W'}"


def _latlon_zh(lat: float, lon: float) -> str:
    return f"{'北纬' if lat >= 0 else '南纬'}{abs(lat):.2f}度、{'东经' if lon >= 0 else '西经'}{abs(lon):.2f}度"


def _strongest(targets, n: int):
    return sorted(targets, key=lambda t: (-t.intensity, t.warning_time_s))[:n]


def alert_text(alert, msg_type: str, place_zh: str = "", place_en: str = "", max_targets: int = 3) -> tuple[str, str]:
    """``(zh, en)`` text for an :class:`~tianshan.core.alert.Alert` issued as ``msg_type``.

    ``msg_type`` is ``alert``, ``update`` or ``cancel``. ``place_*`` name the epicentral area
    (default: coordinates). At most ``max_targets`` targets (strongest first) are named.
    """
    where_zh = place_zh or _latlon_zh(alert.latitude_deg, alert.longitude_deg)
    where_en = place_en or _latlon_en(alert.latitude_deg, alert.longitude_deg)
    nth = alert.sequence
    test_zh, test_en = ("【演练】", "[TEST] ") if alert.test else ("", "")
    if msg_type == "cancel":
        zh = f"{test_zh}地震预警取消（第{nth}报）：此前发布的{where_zh}地震预警已取消，请勿惊慌。"
        en = (f"{test_en}Earthquake early warning CANCELLED (issue {nth}): the earlier warning for {where_en} "
              "is withdrawn.")
        return zh, en
    level = alert.level.value
    head_zh = "地震预警" if msg_type == "alert" else "地震预警更新"
    head_en = "Earthquake early warning" if msg_type == "alert" else "Earthquake early warning UPDATE"
    zh = f"{test_zh}{head_zh}（第{nth}报，{_LEVEL_ZH[level]}）：{where_zh}发生约{alert.magnitude:.1f}级地震。"
    en = f"{test_en}{head_en} (issue {nth}, {level}): magnitude {alert.magnitude:.1f} earthquake near {where_en}."
    parts_zh, parts_en = [], []
    for t in _strongest(alert.targets, max_targets):
        secs = max(0, int(round(t.warning_time_s)))
        parts_zh.append(f"{t.place}预计烈度{roman(t.intensity)}度，约{secs}秒后到达")
        parts_en.append(f"{t.place}: intensity {roman(t.intensity)} expected in about {secs} s")
    if parts_zh:
        zh += "；".join(parts_zh) + "。"
        en += " " + "; ".join(parts_en) + "."
    zh += _ACTION_ZH[level]
    en += " " + _ACTION_EN[level]
    return zh, en
