// Chinese / English strings of the dashboard. Every visible text goes through t(key).
// Elements carrying data-i18n="key" get their textContent replaced on a language switch,
// data-i18n-placeholder / data-i18n-title set those attributes.

const STRINGS = {
  zh: {
    title: "天山地震监测",
    subtitle: "区域台网实时监测",
    lang_switch: "English",
    live_connected: "实时连接",
    live_connecting: "连接中…",
    live_offline: "离线",
    catalog: "目录检索",
    start: "开始时间",
    end: "结束时间",
    min_mag: "最小震级",
    max_mag: "最大震级",
    region_filter: "区域范围",
    region_all: "全部",
    region_view: "当前地图范围",
    search: "检索",
    events: "地震事件",
    no_events: "没有符合条件的事件",
    n_events: "{n} 个事件",
    map_layers: "图层",
    layer_counties: "县界",
    layer_faults: "断层",
    layer_towns: "城镇",
    layer_stations: "台站",
    layer_events: "地震",
    layer_intensity: "烈度图",
    stations_legend: "台站状态（延迟/质控）",
    st_ok: "正常（延迟 < 10 秒）",
    st_slow: "延迟 10–60 秒",
    st_late: "延迟 > 60 秒",
    st_warn: "质控警告",
    st_fail: "质控失败 / 剔除",
    st_unknown: "无状态",
    event: "事件",
    back: "返回列表",
    time_utc: "发震时刻 (UTC)",
    location: "位置",
    depth: "深度",
    magnitude: "震级",
    status: "状态",
    type: "类型",
    region: "地区",
    origins: "定位历史",
    magnitudes: "震级历史",
    picks: "震相",
    products: "产品",
    version: "版本",
    created: "生成时间",
    n_stations: "台站数",
    rms: "残差 RMS (秒)",
    herr: "水平误差 (公里)",
    station: "台站",
    phase: "震相",
    pick_time: "到时 (UTC)",
    probability: "概率",
    intensity_overlay: "显示烈度图",
    intensity_none: "该事件没有烈度图",
    intensity_legend: "烈度（GB/T 17742-2020）",
    report: "报告",
    map_image: "烈度图 (PNG)",
    no_report: "尚无报告",
    timeline: "时间线",
    reviews: "审核记录",
    eew: "地震预警",
    eew_city: "选择城市",
    eew_none: "暂无预警信息",
    eew_latest: "最新预警",
    eew_level: "级别",
    eew_intensity: "预估烈度",
    eew_countdown: "横波到达倒计时",
    eew_seconds: "秒",
    eew_arrived: "横波已于 {s} 秒前到达",
    eew_warning_time: "预警时间 {s} 秒",
    eew_not_target: "该城市不在本次预警的目标列表中（预估烈度低于发布阈值）",
    eew_distance: "震中距 {d} 公里",
    eew_replay: "回放倒计时",
    eew_cancelled: "预警已取消",
    eew_sent: "发布时间",
    degree: "{r}度",
    level_info: "信息",
    level_advisory: "提示",
    level_warning: "警告",
    level_severe: "严重",
    status_automatic: "自动",
    status_reviewed: "已审核",
    status_final: "正式",
    status_cancelled: "已取消",
    new_event: "新事件",
    "type_earthquake": "地震",
    "type_explosion": "爆破",
    "type_quarry blast": "采石场爆破",
    "type_not existing": "不存在",
    loading: "加载中…",
    error: "错误",
    km: "公里",
    population: "人口",
    close: "关闭",
  },
  en: {
    title: "Tianshan seismic monitor",
    subtitle: "regional network, live",
    lang_switch: "中文",
    live_connected: "live",
    live_connecting: "connecting…",
    live_offline: "offline",
    catalog: "Catalog search",
    start: "Start",
    end: "End",
    min_mag: "Min. magnitude",
    max_mag: "Max. magnitude",
    region_filter: "Region",
    region_all: "all",
    region_view: "current map view",
    search: "Search",
    events: "Events",
    no_events: "No event matches",
    n_events: "{n} events",
    map_layers: "Layers",
    layer_counties: "Counties",
    layer_faults: "Faults",
    layer_towns: "Towns",
    layer_stations: "Stations",
    layer_events: "Events",
    layer_intensity: "Intensity",
    stations_legend: "Stations (latency / QC)",
    st_ok: "ok (latency < 10 s)",
    st_slow: "latency 10–60 s",
    st_late: "latency > 60 s",
    st_warn: "QC warning",
    st_fail: "QC failed / excluded",
    st_unknown: "no status",
    event: "Event",
    back: "Back to list",
    time_utc: "Origin time (UTC)",
    location: "Location",
    depth: "Depth",
    magnitude: "Magnitude",
    status: "Status",
    type: "Type",
    region: "Region",
    origins: "Origin history",
    magnitudes: "Magnitude history",
    picks: "Picks",
    products: "Products",
    version: "Version",
    created: "Created",
    n_stations: "Stations",
    rms: "RMS (s)",
    herr: "Horiz. error (km)",
    station: "Station",
    phase: "Phase",
    pick_time: "Time (UTC)",
    probability: "Probability",
    intensity_overlay: "Show intensity map",
    intensity_none: "No intensity map for this event",
    intensity_legend: "Intensity (GB/T 17742-2020)",
    report: "Report",
    map_image: "Intensity map (PNG)",
    no_report: "No report yet",
    timeline: "Timeline",
    reviews: "Reviews",
    eew: "Earthquake early warning",
    eew_city: "Choose a city",
    eew_none: "No alert received",
    eew_latest: "Latest alert",
    eew_level: "Level",
    eew_intensity: "Predicted intensity",
    eew_countdown: "S wave arrives in",
    eew_seconds: "s",
    eew_arrived: "S wave arrived {s} s ago",
    eew_warning_time: "warning time {s} s",
    eew_not_target: "This city is not among the alert's targets (predicted intensity below the alert threshold)",
    eew_distance: "epicentral distance {d} km",
    eew_replay: "Replay countdown",
    eew_cancelled: "Alert cancelled",
    eew_sent: "Sent",
    degree: "{r}",
    level_info: "info",
    level_advisory: "advisory",
    level_warning: "warning",
    level_severe: "severe",
    status_automatic: "automatic",
    status_reviewed: "reviewed",
    status_final: "final",
    status_cancelled: "cancelled",
    new_event: "new event",
    "type_earthquake": "earthquake",
    "type_explosion": "explosion",
    "type_quarry blast": "quarry blast",
    "type_not existing": "not existing",
    loading: "loading…",
    error: "Error",
    km: "km",
    population: "population",
    close: "Close",
  },
};

let current = "zh";
const listeners = [];

export const LANGUAGES = Object.keys(STRINGS);

/** Initial language: ?lang=, then the stored choice, then the browser's language. */
export function initialLanguage() {
  const q = new URLSearchParams(location.search).get("lang");
  if (q && STRINGS[q]) return q;
  try {
    const saved = localStorage.getItem("tianshan.lang");
    if (saved && STRINGS[saved]) return saved;
  } catch (_) { /* storage may be disabled */ }
  return (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function language() { return current; }

/** The string `key` in the current language, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  const table = STRINGS[current] || STRINGS.en;
  let s = table[key] ?? STRINGS.en[key] ?? key;
  for (const [k, v] of Object.entries(vars)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** Name of a place/feature in the current language (name_zh when Chinese and known). */
export function localName(obj) {
  if (!obj) return "";
  if (current === "zh" && obj.name_zh) return obj.name_zh;
  return obj.name || obj.name_zh || "";
}

/** Translate every element with data-i18n / data-i18n-placeholder / data-i18n-title under `root`. */
export function applyStrings(root = document) {
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => {
    el.setAttribute("placeholder", t(el.dataset.i18nPlaceholder));
  });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.setAttribute("title", t(el.dataset.i18nTitle)); });
  document.documentElement.lang = current === "zh" ? "zh-CN" : "en";
}

export function setLanguage(lang) {
  if (!STRINGS[lang]) throw new Error(`unknown language ${lang}`);
  current = lang;
  try { localStorage.setItem("tianshan.lang", lang); } catch (_) { /* ignore */ }
  applyStrings();
  listeners.forEach((fn) => fn(lang));
}

export function onLanguageChange(fn) { listeners.push(fn); }
