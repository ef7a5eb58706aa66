// Early-warning panel: the latest alert message, a chosen city's predicted intensity and the
// countdown to the S wave ("shaking_at" of the city's target in the alert message:
// products/alerts/message.py writes shaking_at = sent + warning_time_s, so the countdown stays
// right however late the message arrived).

import { t, localName, language } from "./i18n.js";

/** Intensity colours for degrees I..XII: tianshan.products.shakemap.mapplot.SHAKEMAP_COLOURS
 *  (USGS ShakeMap palette; a test checks that both lists agree). */
export const INTENSITY_COLOURS = ["#ffffff", "#bfccff", "#a0e6ff", "#80ffff", "#7aff93", "#ffff00", "#ffc800",
  "#ff9100", "#ff0000", "#c80000", "#a00000", "#800000"];

const ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"];

/** Degree of an instrumental intensity: half up, n - 0.5 <= I < n + 0.5, clipped to I..XII
 *  (GB/T 17742-2020 rounding, as tianshan.groundmotion.intensity.gbt17742.degree). */
export function degree(intensity) {
  return Math.min(12, Math.max(1, Math.floor(intensity + 0.5)));
}

export function roman(n) { return ROMAN[Math.min(12, Math.max(1, n)) - 1]; }

export function intensityColour(n) { return INTENSITY_COLOURS[Math.min(12, Math.max(1, n)) - 1]; }

/** Great-circle distance in km, haversine formula (Sinnott 1984, Sky & Telescope 68:159) on the
 *  IUGG mean Earth radius 6371.0088 km (Moritz 2000, Geodetic Reference System 1980). */
export function distanceKm(lat1, lon1, lat2, lon2) {
  const r = Math.PI / 180;
  const dlat = (lat2 - lat1) * r;
  const dlon = (lon2 - lon1) * r;
  const a = Math.sin(dlat / 2) ** 2 + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(dlon / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(a)));
}

function esc(s) {
  return String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

export class EEWPanel {
  /**
   * @param {HTMLSelectElement} select city chooser
   * @param {HTMLElement} body where the alert and countdown are drawn
   * @param {(alert, city) => void} onChange called when the shown alert or city changes (map markers)
   */
  constructor(select, body, onChange = () => {}) {
    this.select = select;
    this.body = body;
    this.onChange = onChange;
    this.cities = [];
    this.alerts = new Map(); // event_id -> newest message (highest sequence)
    this.replayStart = null;
    this.timer = null;
    this.userChose = false;
    select.addEventListener("change", () => {
      this.replayStart = null;
      this.userChose = true;
      try { localStorage.setItem("tianshan.city", select.value); } catch (_) { /* ignore */ }
      this.render();
    });
  }

  setCities(cities) {
    this.cities = [...cities].sort((a, b) => (b.population ?? 0) - (a.population ?? 0));
    let saved = null;
    try { saved = localStorage.getItem("tianshan.city"); } catch (_) { /* ignore */ }
    this.userChose = saved !== null;
    this.fillSelect(saved);
    this.render();
  }

  fillSelect(value = null) {
    const keep = value ?? this.select.value;
    this.select.replaceChildren();
    this.cities.forEach((c, i) => {
      const o = document.createElement("option");
      o.value = String(i);
      o.dataset.name = c.name;
      o.textContent = localName(c) + (c.population ? ` (${(c.population / 1e4).toFixed(1)}${language() === "zh" ? "万" : "0k"})` : "");
      this.select.appendChild(o);
    });
    if (keep !== null && keep !== "" && Number(keep) < this.cities.length) this.select.value = keep;
  }

  /** Add an alert message (list from /alerts or pushed live); older sequences are ignored. */
  addAlert(msg) {
    if (!msg || !msg.event_id) return false;
    const prev = this.alerts.get(msg.event_id);
    if (prev && prev.sequence >= msg.sequence) return false;
    this.alerts.set(msg.event_id, msg);
    this.replayStart = null;
    this.render();
    return true;
  }

  latest() {
    let best = null;
    for (const m of this.alerts.values()) if (!best || Date.parse(m.sent) > Date.parse(best.sent)) best = m;
    return best;
  }

  city() {
    const i = Number(this.select.value);
    return Number.isInteger(i) && i >= 0 ? this.cities[i] ?? null : null;
  }

  selectCityByName(name) {
    const i = this.cities.findIndex((c) => c.name === name || c.name_zh === name);
    if (i >= 0) { this.select.value = String(i); this.select.dispatchEvent(new Event("change")); }
  }

  /** The alert's target for `city`: same name (either language) or within 5 km. */
  targetFor(msg, city) {
    if (!msg || !city) return null;
    let best = null;
    for (const tg of msg.targets || []) {
      if (tg.place === city.name || (city.name_zh && tg.place === city.name_zh)) return tg;
      const d = distanceKm(tg.latitude_deg, tg.longitude_deg, city.latitude, city.longitude);
      if (d <= 5 && (!best || d < best.d)) best = { d, tg };
    }
    return best ? best.tg : null;
  }

  /** Until the user picks a city: the most populous city that is a target of the alert. */
  autoCity(msg) {
    if (this.userChose || !msg) return;
    const i = this.cities.findIndex((c) => this.targetFor(msg, c));
    if (i >= 0) this.select.value = String(i);
  }

  render() {
    const msg = this.latest();
    this.autoCity(msg);
    const city = this.city();
    this.onChange(msg, city);
    if (this.timer) { clearInterval(this.timer); this.timer = null; }
    if (!msg) {
      this.body.innerHTML = `<p class="muted">${esc(t("eew_none"))}</p>`;
      return;
    }
    const o = msg.origin;
    const text = language() === "zh" ? msg.text?.["zh-CN"] : msg.text?.["en-US"];
    const cancelled = msg.msg_type === "cancel";
    let html = `<div class="eew-alert level-${esc(msg.level)}${cancelled ? " cancelled" : ""}" data-event="${esc(msg.event_id)}" data-sequence="${esc(msg.sequence)}">
      <div class="eew-row"><strong>${esc(t("eew_latest"))} #${esc(msg.sequence)}</strong>
        <span>${esc(t("eew_level"))}: ${esc(t(`level_${msg.level}`))}</span></div>
      <div class="eew-row"><span>M ${Number(o.magnitude).toFixed(1)}</span>
        <span>${Number(o.latitude_deg).toFixed(2)}°N ${Number(o.longitude_deg).toFixed(2)}°E ${(o.depth_m / 1000).toFixed(0)} ${esc(t("km"))}</span></div>
      <div class="eew-row muted"><span>${esc(t("eew_sent"))}</span><span>${esc(msg.sent.replace("T", " ").slice(0, 21))}Z</span></div>`;
    if (cancelled) html += `<p><strong>${esc(t("eew_cancelled"))}</strong></p>`;
    html += "</div>";
    if (city && !cancelled) {
      const tg = this.targetFor(msg, city);
      const d = distanceKm(o.latitude_deg, o.longitude_deg, city.latitude, city.longitude);
      html += `<div class="eew-city" id="eew-city-box" data-city="${esc(city.name)}">
        <div><strong>${esc(localName(city))}</strong> <span class="muted">${esc(t("eew_distance", { d: d.toFixed(0) }))}</span></div>`;
      if (tg) {
        const n = degree(tg.intensity);
        html += `<div class="eew-row" style="justify-content:center;margin:6px 0">
            <span>${esc(t("eew_intensity"))}</span>
            <span class="eew-intensity" id="eew-intensity" data-degree="${n}" style="background:${intensityColour(n)}">${esc(t("degree", { r: roman(n) }))}</span></div>
          <div class="muted">${esc(t("eew_countdown"))}</div>
          <div class="countdown" id="eew-countdown" data-warning="${esc(tg.warning_time_s)}"></div>
          <div class="muted small">${esc(t("eew_warning_time", { s: Number(tg.warning_time_s).toFixed(1) }))}</div>
          <button type="button" class="replay" id="eew-replay">${esc(t("eew_replay"))}</button>`;
      } else {
        html += `<p class="muted" id="eew-not-target">${esc(t("eew_not_target"))}</p>`;
      }
      html += "</div>";
    }
    if (text) html += `<p class="eew-text">${esc(text)}</p>`;
    this.body.innerHTML = html;
    const tg = city && !cancelled ? this.targetFor(msg, city) : null;
    if (tg) {
      const replay = this.body.querySelector("#eew-replay");
      replay.addEventListener("click", () => { this.replayStart = Date.now(); this.tick(msg, tg); });
      this.tick(msg, tg);
      this.timer = setInterval(() => this.tick(msg, tg), 100);
    }
  }

  /** Seconds left before the S wave at the chosen city (negative: already arrived). */
  remaining(msg, tg, now = Date.now()) {
    if (this.replayStart !== null) return Number(tg.warning_time_s) - (now - this.replayStart) / 1000;
    const at = tg.shaking_at ? Date.parse(tg.shaking_at) : Date.parse(msg.sent) + 1000 * Number(tg.warning_time_s);
    return (at - now) / 1000;
  }

  tick(msg, tg) {
    const box = this.body.querySelector("#eew-countdown");
    if (!box) return;
    const left = this.remaining(msg, tg);
    box.dataset.remaining = left.toFixed(1);
    if (left > 0) {
      box.classList.remove("past");
      box.textContent = `${left.toFixed(1)} ${t("eew_seconds")}`;
    } else {
      box.classList.add("past");
      box.textContent = this.replayStart !== null ? `0.0 ${t("eew_seconds")}` : t("eew_arrived", { s: (-left).toFixed(0) });
    }
  }
}
