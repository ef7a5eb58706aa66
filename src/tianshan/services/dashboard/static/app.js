// Tianshan dashboard: event list and map, event page, intensity overlay, EEW panel, live updates.
// Talks to the REST API (/api/v1, see services/api) and its WebSocket /api/v1/live.

import { applyStrings, initialLanguage, language, localName, onLanguageChange, setLanguage, t } from "./i18n.js";
import { BaseMap, featureBounds } from "./map.js";
import { EEWPanel, INTENSITY_COLOURS, degree, roman } from "./eew.js";

// API root: ?api=URL, else ../api/v1/ relative to the page (the dashboard is served at /dashboard/).
const API = new URL(new URLSearchParams(location.search).get("api") || "../api/v1/", location.href);

const state = {
  events: new Map(), // id -> list row
  order: [], // ids in list order
  selected: null, // event detail JSON
  stations: [],
  basemap: null,
  fullBounds: null,
  overlay: null, // contours FeatureCollection shown
  ws: null,
  wsRetry: 1,
  filters: {},
};
window.__tianshan = state; // for debugging in the browser console

const $ = (id) => document.getElementById(id);
const map = new BaseMap($("map"));
const eew = new EEWPanel($("eew-city"), $("eew-body"), drawAlertMarkers);

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function fmtTime(iso, digits = 0) {
  if (!iso) return "–";
  const s = String(iso).replace("T", " ").replace("Z", "");
  return digits ? s.slice(0, 20 + digits) : s.slice(0, 19);
}

function num(x, d = 1) { return x === null || x === undefined || Number.isNaN(Number(x)) ? "–" : Number(x).toFixed(d); }

async function api(path, params = null) {
  const url = new URL(path, API);
  if (params) for (const [k, v] of Object.entries(params)) if (v !== "" && v !== null && v !== undefined) url.searchParams.set(k, v);
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  if (!r.ok) {
    let msg = `${r.status}`;
    try { msg = (await r.json()).error?.message || msg; } catch (_) { /* not JSON */ }
    throw new Error(`${url.pathname}: ${msg}`);
  }
  return r.json();
}

function toast(text, ms = 4000) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, ms);
}

// ------------------------------------------------------------------ base map

function drawBasemap(fc) {
  const feats = fc.features || [];
  const of = (layer) => feats.filter((f) => f.properties?.layer === layer);
  const isPoint = (f) => f.geometry?.type === "Point";
  // counties: boundary polygons when the region has them; county seats (points) join the towns
  map.setLayer("county", of("county").filter((f) => !isPoint(f)), { order: 0, style: (f) => ({ title: localName(f.properties) }) });
  map.setLayer("fault", of("fault"), { order: 2, style: (f) => ({ title: localName(f.properties) || f.properties?.slip_type }) });
  const towns = [...of("county").filter(isPoint), ...of("town").filter(isPoint)];
  const maxPop = Math.max(1, ...towns.map((f) => f.properties.population || 0));
  map.setMarkers("town", towns.map((f) => ({
    id: f.properties.name, lon: f.geometry.coordinates[0], lat: f.geometry.coordinates[1],
    r: 1.6 + 2.4 * Math.sqrt((f.properties.population || 0) / maxPop),
    label: localName(f.properties), labelPriority: f.properties.population || 0,
    title: `${localName(f.properties)}${f.properties.population ? ` · ${t("population")} ${f.properties.population}` : ""}`,
  })), { order: 0 });
}

// ------------------------------------------------------------------ stations

/** Marker colour class of a station row: QC first (fail/excluded, warn), then data latency. */
export function stationClass(s) {
  if (s.excluded || s.qc === "fail") return "fail";
  if (s.qc === "warn") return "warn";
  if (s.latency_s === null || s.latency_s === undefined) return s.qc === "ok" ? "ok" : "unknown";
  if (s.latency_s < 10) return "ok";
  if (s.latency_s <= 60) return "slow";
  return "late";
}

const STATION_FILL = { ok: "#2e9d4a", slow: "#e3c300", late: "#8a8f96", warn: "#f08a00", fail: "#d12a2a", unknown: "#ffffff" };

function drawStations() {
  map.setMarkers("stations", state.stations.map((s) => {
    const cls = stationClass(s);
    const lat = s.latency_s === null || s.latency_s === undefined ? "–" : `${Number(s.latency_s).toFixed(1)} s`;
    return {
      id: `${s.network}.${s.station}`, lon: s.longitude, lat: s.latitude, r: 5, shape: "triangle",
      class: `marker st-${cls}${s.excluded ? " excluded" : ""}`, fill: STATION_FILL[cls],
      title: `${s.network}.${s.station} · latency ${lat} · QC ${s.qc ?? "–"}${s.excluded ? " · excluded" : ""}`,
      data: { status: cls },
    };
  }), { order: 1 });
}

function upsertStation(row) {
  const i = state.stations.findIndex((s) => s.network === row.network && s.station === row.station);
  if (i >= 0) state.stations[i] = { ...state.stations[i], ...row };
  else state.stations.push(row);
  drawStations();
}

// ------------------------------------------------------------------ events

function ageColour(iso) {
  const age = (Date.now() - Date.parse(iso)) / 3.6e6; // hours
  if (age < 1) return "#e8221a";
  if (age < 24) return "#ff9100";
  if (age < 24 * 7) return "#ffdd00";
  return "#f3efe6";
}

function eventRadius(m) { return Math.max(4, Math.min(22, 3 + 2.6 * (Number(m) || 0))); }

function matchesFilters(e) {
  const f = state.filters;
  if (f.starttime && Date.parse(e.time) < Date.parse(f.starttime)) return false;
  if (f.endtime && Date.parse(e.time) > Date.parse(f.endtime)) return false;
  if (f.minmagnitude !== undefined && (e.magnitude ?? -99) < f.minmagnitude) return false;
  if (f.maxmagnitude !== undefined && (e.magnitude ?? 99) > f.maxmagnitude) return false;
  if (f.minlatitude !== undefined && (e.latitude < f.minlatitude || e.latitude > f.maxlatitude
      || e.longitude < f.minlongitude || e.longitude > f.maxlongitude)) return false;
  return true;
}

function eventLabel(e) { return e.region_name || `${num(e.latitude, 2)}°N ${num(e.longitude, 2)}°E`; }

function renderEventList() {
  const list = $("event-list");
  list.replaceChildren();
  const rows = state.order.map((id) => state.events.get(id)).filter(Boolean);
  $("event-count").textContent = t("n_events", { n: rows.length });
  if (!rows.length) {
    const li = document.createElement("li");
    li.className = "empty muted";
    li.textContent = t("no_events");
    list.appendChild(li);
  }
  for (const e of rows) {
    const li = document.createElement("li");
    li.dataset.id = e.id;
    if (state.selected?.id === e.id) li.classList.add("selected");
    if (e._fresh) li.classList.add("fresh");
    li.innerHTML = `<span class="mag">${num(e.magnitude)}</span>
      <span class="where">${esc(eventLabel(e))}<span class="badge ${esc(e.status)}">${esc(t(`status_${e.status}`))}</span></span>
      <span class="when">${esc(fmtTime(e.time))} UTC · ${num(e.depth_km, 0)} ${esc(t("km"))}${e.magnitude_type ? ` · ${esc(e.magnitude_type)}` : ""}</span>`;
    li.addEventListener("click", () => { location.hash = `event=${encodeURIComponent(e.id)}`; });
    list.appendChild(li);
  }
  drawEventMarkers();
}

function drawEventMarkers() {
  const rows = state.order.map((id) => state.events.get(id)).filter(Boolean);
  // big events on top: draw small first
  rows.sort((a, b) => (a.magnitude ?? 0) - (b.magnitude ?? 0));
  map.setMarkers("events", rows.map((e) => ({
    id: e.id, lon: e.longitude, lat: e.latitude, r: eventRadius(e.magnitude), fill: ageColour(e.time),
    class: `marker${state.selected?.id === e.id ? " selected" : ""}`,
    label: (e.magnitude ?? null) !== null ? `M${num(e.magnitude)}` : "", labelPriority: 1e12 + (e.magnitude ?? 0),
    title: `${fmtTime(e.time)} UTC M${num(e.magnitude)} ${eventLabel(e)}`,
  })), { order: 3, onClick: (item) => { location.hash = `event=${encodeURIComponent(item.id)}`; } });
}

function upsertEvent(row, fresh = false) {
  const known = state.events.has(row.id);
  state.events.set(row.id, { ...(state.events.get(row.id) || {}), ...row, _fresh: fresh });
  if (!known) {
    if (!matchesFilters(row)) return;
    state.order.unshift(row.id);
    state.order.sort((a, b) => Date.parse(state.events.get(b).time) - Date.parse(state.events.get(a).time));
  }
  renderEventList();
  if (state.selected?.id === row.id) loadEvent(row.id, false);
}

function readFilters() {
  const f = {};
  const iso = (v) => (v ? `${v.length === 16 ? `${v}:00` : v}Z` : "");
  const s = iso($("f-start").value);
  const e = iso($("f-end").value);
  if (s) f.starttime = s;
  if (e) f.endtime = e;
  if ($("f-minmag").value !== "") f.minmagnitude = Number($("f-minmag").value);
  if ($("f-maxmag").value !== "") f.maxmagnitude = Number($("f-maxmag").value);
  if ($("f-region").value === "view") {
    const [w, so, ea, n] = map.visibleBounds();
    Object.assign(f, { minlatitude: so.toFixed(4), maxlatitude: n.toFixed(4), minlongitude: w.toFixed(4), maxlongitude: ea.toFixed(4) });
    ["minlatitude", "maxlatitude", "minlongitude", "maxlongitude"].forEach((k) => { f[k] = Number(f[k]); });
  }
  return f;
}

async function search() {
  state.filters = readFilters();
  try {
    const data = await api("events", { ...state.filters, limit: 500, orderby: "time" });
    state.order = data.events.map((e) => e.id);
    for (const e of data.events) state.events.set(e.id, { ...e, _fresh: false });
    renderEventList();
  } catch (err) {
    toast(`${t("error")}: ${err.message}`);
  }
}

// ------------------------------------------------------------------ event page

function productUrl(ev, p) {
  if (p.url) return new URL(p.url, location.href).href;
  return new URL(`events/${encodeURIComponent(ev.id)}/products/${p.name}`, API).href;
}

function newest(products, test) {
  const hits = products.filter(test);
  hits.sort((a, b) => (b.version ?? 0) - (a.version ?? 0) || Date.parse(b.created || 0) - Date.parse(a.created || 0));
  return hits[0] || null;
}

function table(el, head, rows) {
  el.innerHTML = `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
    <tbody>${rows.map((r) => `<tr class="${r.cls || ""}">${r.cells.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody>`;
}

function renderEvent() {
  const ev = state.selected;
  if (!ev) return;
  $("event-panel").hidden = false;
  $("ev-id").textContent = ev.id;
  const kv = [
    [t("time_utc"), fmtTime(ev.time, 2)],
    [t("location"), `${num(ev.latitude, 3)}°N ${num(ev.longitude, 3)}°E`],
    [t("depth"), `${num(ev.depth_km)} ${t("km")}`],
    [t("magnitude"), `${ev.magnitude_type || "M"} ${num(ev.magnitude)}`],
    [t("status"), t(`status_${ev.status}`)],
    [t("type"), ev.event_type ? (t(`type_${ev.event_type}`) === `type_${ev.event_type}` ? ev.event_type : t(`type_${ev.event_type}`)) : "–"],
    [t("region"), ev.region_name || "–"],
  ];
  $("ev-summary").innerHTML = kv.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join("");

  const origins = [...(ev.origins || [])].sort((a, b) => a.version - b.version);
  const lastO = origins.length ? origins[origins.length - 1].version : null;
  table($("origins-table"), [t("version"), t("time_utc"), "lat", "lon", t("depth"), t("n_stations"), t("rms"), t("herr")],
    origins.map((o) => ({ cls: (o.preferred ?? o.version === lastO) ? "preferred" : "", cells: [
      `v${o.version}`, fmtTime(o.time, 1).slice(11), num(o.latitude, 3), num(o.longitude, 3), num(o.depth_km),
      o.n_stations ?? "–", num(o.rms_s, 2), num(o.horizontal_error_km)] })));
  const mags = [...(ev.magnitudes || [])].sort((a, b) => a.version - b.version);
  const lastM = mags.length ? mags[mags.length - 1].version : null;
  table($("magnitudes-table"), [t("version"), t("magnitude"), t("n_stations"), t("created")],
    mags.map((m) => ({ cls: (m.preferred ?? m.version === lastM) ? "preferred" : "", cells: [
      `v${m.version}`, `${m.type} ${num(m.value, 2)}`, m.n_stations ?? "–", fmtTime(m.creation_time).slice(11)] })));
  const picks = [...(ev.picks || [])].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  $("pick-count").textContent = `(${picks.length})`;
  table($("picks-table"), [t("station"), t("phase"), t("pick_time"), t("probability")],
    picks.map((p) => ({ cells: [p.station, p.phase, fmtTime(p.time, 2).slice(11), num(p.probability, 2)] })));
  $("ev-timeline").innerHTML = Object.entries(ev.timeline || {})
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(fmtTime(v, 1))}</dd>`).join("") || `<dd class="muted">–</dd>`;

  // products: intensity contours (overlay), report(s), map image
  const products = ev.products || [];
  const contours = newest(products, (p) => /contours_cn\.geojson$/.test(p.name));
  const toggle = $("intensity-toggle");
  toggle.disabled = !contours;
  toggle.dataset.url = contours ? productUrl(ev, contours) : "";
  $("intensity-note").textContent = contours ? `v${contours.version ?? 1}` : t("intensity_none");
  const links = [];
  const reports = products.filter((p) => /report/i.test(p.name) && /\.(html?|pdf)$/i.test(p.name));
  const latestVersion = Math.max(0, ...reports.map((p) => p.version ?? 0));
  for (const p of reports.filter((r) => (r.version ?? 0) === latestVersion)) {
    links.push(`<a class="report-link" href="${esc(productUrl(ev, p))}" target="_blank" rel="noopener">${esc(t("report"))} (${esc(p.name.split("/").pop())})</a>`);
  }
  const png = newest(products, (p) => /(^|\/)map\.png$/.test(p.name));
  if (png) links.push(`<a class="map-link" href="${esc(productUrl(ev, png))}" target="_blank" rel="noopener">${esc(t("map_image"))}</a>`);
  $("ev-links").innerHTML = links.join("") || `<span class="muted">${esc(t("no_report"))}</span>`;
  drawOriginTrail();
}

function drawOriginTrail() {
  const ev = state.selected;
  const origins = ev ? [...(ev.origins || [])].sort((a, b) => a.version - b.version) : [];
  map.setLayer("origin-trail", origins.length > 1 ? [{ type: "Feature", properties: {},
    geometry: { type: "LineString", coordinates: origins.map((o) => [o.longitude, o.latitude]) } }] : [],
  { order: 4, style: () => ({ fill: "none", stroke: "#1f5fa8", attrs: { "stroke-width": 1.5, "stroke-dasharray": "3 2" } }) });
  map.setMarkers("origins", origins.slice(0, -1).map((o) => ({
    id: `v${o.version}`, lon: o.longitude, lat: o.latitude, r: 3, fill: "#ffffff", stroke: "#1f5fa8",
    title: `origin v${o.version}`,
  })), { order: 2 });
}

async function loadEvent(id, fit = true) {
  try {
    const ev = await api(`events/${encodeURIComponent(id)}`);
    const changed = state.selected?.id !== ev.id;
    state.selected = ev;
    if (changed) { $("intensity-toggle").checked = false; clearOverlay(); }
    renderEvent();
    renderEventList();
    if (fit && changed) map.centreOn(ev.longitude, ev.latitude);
    if ($("intensity-toggle").checked && changed === false) await showOverlay();
  } catch (err) {
    toast(`${t("error")}: ${err.message}`);
  }
}

function closeEvent() {
  state.selected = null;
  $("event-panel").hidden = true;
  $("intensity-toggle").checked = false;
  clearOverlay();
  map.setLayer("origin-trail", []);
  map.setMarkers("origins", []);
  renderEventList();
}

// ------------------------------------------------------------------ intensity overlay

function clearOverlay() {
  state.overlay = null;
  map.clearLayer("intensity");
  $("intensity-legend").hidden = true;
}

async function showOverlay() {
  const url = $("intensity-toggle").dataset.url;
  if (!url) return;
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${r.status}`);
    const fc = await r.json();
    state.overlay = fc;
    const feats = [...(fc.features || [])].sort((a, b) => a.properties.degree - b.properties.degree);
    map.setLayer("intensity", feats, { order: 1, style: (f) => ({
      fill: INTENSITY_COLOURS[Math.min(12, f.properties.degree) - 1], class: `feature degree-${f.properties.degree}`,
      title: `${language() === "zh" ? f.properties.label_zh : f.properties.label_en} · ${f.properties.area_km2} km²`,
    }) });
    const sw = $("intensity-swatches");
    sw.replaceChildren();
    for (const f of feats) {
      const s = document.createElement("span");
      s.style.background = INTENSITY_COLOURS[Math.min(12, f.properties.degree) - 1];
      s.textContent = roman(f.properties.degree);
      sw.appendChild(s);
    }
    $("intensity-legend").hidden = feats.length === 0;
    const b = featureBounds(feats);
    if (b) map.fitBounds(b, 40);
  } catch (err) {
    toast(`${t("error")}: ${err.message}`);
  }
}

// ------------------------------------------------------------------ EEW markers

function drawAlertMarkers(msg, city) {
  const items = [];
  if (msg) items.push({ id: msg.event_id, lon: msg.origin.longitude_deg, lat: msg.origin.latitude_deg, r: 11,
    shape: "star", class: "marker alert-epicentre", fill: "#ff2b2b", stroke: "#000", title: `EEW M${num(msg.origin.magnitude)}` });
  map.setMarkers("alert", items, { order: 4 });
  map.setMarkers("city", city ? [{ id: city.name, lon: city.longitude, lat: city.latitude, r: 5, shape: "square",
    label: localName(city), labelPriority: 1e13 }] : [], { order: 5 });
}

// ------------------------------------------------------------------ live updates

function setLive(st) {
  const box = $("live-status");
  box.dataset.state = st;
  $("live-text").textContent = t(`live_${st}`);
  $("live-text").dataset.i18n = `live_${st}`;
}

function connectLive() {
  const url = new URL("live", API);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  setLive("connecting");
  let ws;
  try { ws = new WebSocket(url); } catch (_) { setLive("offline"); return; }
  state.ws = ws;
  ws.onopen = () => { state.wsRetry = 1; setLive("connected"); };
  ws.onmessage = (m) => {
    let msg;
    try { msg = JSON.parse(m.data); } catch (_) { return; }
    if (msg.type === "event" && msg.data?.id) {
      const isNew = !state.events.has(msg.data.id);
      upsertEvent(msg.data, isNew);
      if (isNew) toast(`${t("new_event")}: M${num(msg.data.magnitude)} ${eventLabel(msg.data)}`);
    } else if (msg.type === "alert" && msg.data) {
      eew.addAlert(msg.data);
    } else if (msg.type === "station" && msg.data) {
      upsertStation(msg.data);
    }
  };
  ws.onclose = () => {
    setLive("offline");
    const wait = Math.min(30, state.wsRetry);
    state.wsRetry = Math.min(30, state.wsRetry * 2);
    setTimeout(connectLive, wait * 1000);
  };
}

// ------------------------------------------------------------------ start

function route() {
  const m = /event=([^&]+)/.exec(location.hash);
  if (m) loadEvent(decodeURIComponent(m[1]));
  else if (state.selected) closeEvent();
}

function wire() {
  $("lang-btn").addEventListener("click", () => setLanguage(language() === "zh" ? "en" : "zh"));
  onLanguageChange(() => {
    renderEventList();
    if (state.basemap) drawBasemap(state.basemap);
    drawStations();
    if (state.selected) renderEvent();
    if (state.overlay) showOverlay();
    eew.fillSelect();
    eew.render();
  });
  $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); search(); });
  $("ev-close").addEventListener("click", () => { location.hash = ""; });
  $("intensity-toggle").addEventListener("change", (ev) => { if (ev.target.checked) showOverlay(); else clearOverlay(); });
  $("zoom-in").addEventListener("click", () => map.zoomBy(1.5));
  $("zoom-out").addEventListener("click", () => map.zoomBy(1 / 1.5));
  $("zoom-fit").addEventListener("click", () => state.fullBounds && map.fitBounds(state.fullBounds));
  document.querySelectorAll("#layer-box input[data-layer]").forEach((box) => {
    box.addEventListener("change", () => map.setLayerVisible(box.dataset.layer, box.checked));
  });
  window.addEventListener("hashchange", route);
  setInterval(() => { $("clock").textContent = `${new Date().toISOString().slice(0, 19).replace("T", " ")} UTC`; }, 1000);
}

async function start() {
  setLanguage(initialLanguage());
  applyStrings();
  wire();
  const [basemap, stations, cities, alerts] = await Promise.allSettled([
    api("region/basemap"), api("stations"), api("region/cities"), api("alerts", { limit: 50 })]);
  if (basemap.status === "fulfilled") {
    state.basemap = basemap.value;
    drawBasemap(basemap.value);
    state.fullBounds = basemap.value.bbox || featureBounds(basemap.value.features || []);
  }
  if (stations.status === "fulfilled") {
    state.stations = stations.value.stations || [];
    drawStations();
    if (!state.fullBounds && state.stations.length) {
      state.fullBounds = featureBounds(state.stations.map((s) => ({ geometry: { coordinates: [s.longitude, s.latitude] } })));
    }
  }
  map.fitBounds(state.fullBounds || [73, 34, 97, 50], 20, true);
  if (cities.status === "fulfilled") eew.setCities(cities.value.cities || []);
  if (alerts.status === "fulfilled") (alerts.value.alerts || []).forEach((a) => eew.addAlert(a));
  for (const r of [basemap, stations, cities, alerts]) if (r.status === "rejected") toast(`${t("error")}: ${r.reason.message}`);
  await search();
  route();
  connectLive();
  document.body.dataset.ready = "1";
}

start();
