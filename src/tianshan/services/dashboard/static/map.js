// SVG map of GeoJSON layers with pan and zoom, no external library.
//
// Projection: equidistant cylindrical (equirectangular) with standard parallel phi0 at the
// centre of the first fitted extent: x = (lon - lon0) * cos(phi0), y = -lat (degrees as
// units), Snyder (1987) "Map Projections - A Working Manual", USGS Prof. Paper 1395, p. 90-91,
// eq. 12-1 and 12-2. Distances are true along phi0 and along meridians; for a region a few
// hundred km across (the Xinjiang network) the scale error is a few per cent.
//
// Two SVG groups: "world" holds polygons and lines in projected units under one transform
// (pan/zoom change only that transform; strokes keep their width with
// vector-effect: non-scaling-stroke), "screen" holds markers and labels placed in pixels and
// re-placed after every view change (a few hundred elements).

const SVG_NS = "http://www.w3.org/2000/svg";

function el(name, attrs = {}, parent = null) {
  const e = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (parent) parent.appendChild(e);
  return e;
}

export class BaseMap {
  /** @param {SVGSVGElement} svg an empty <svg> element sized by CSS */
  constructor(svg) {
    this.svg = svg;
    this.lon0 = 0;
    this.cosPhi0 = 1;
    this.k = 1; // pixels per projected unit
    this.tx = 0;
    this.ty = 0;
    this.world = el("g", { class: "world" }, svg);
    this.screen = el("g", { class: "screen" }, svg);
    this.layers = new Map(); // name -> {group, kind}
    this.markerSets = new Map(); // name -> {items, group, options}
    this.viewListeners = [];
    this._pending = false;
    this._installHandlers();
  }

  // ----------------------------------------------------------------- projection

  setProjectionCentre(lon0, lat0) {
    this.lon0 = lon0;
    this.cosPhi0 = Math.cos((lat0 * Math.PI) / 180);
  }

  project(lon, lat) { return [(lon - this.lon0) * this.cosPhi0, -lat]; }

  toScreen(lon, lat) {
    const [x, y] = this.project(lon, lat);
    return [this.k * x + this.tx, this.k * y + this.ty];
  }

  fromScreen(px, py) {
    const x = (px - this.tx) / this.k;
    const y = (py - this.ty) / this.k;
    return [x / this.cosPhi0 + this.lon0, -y];
  }

  size() {
    const r = this.svg.getBoundingClientRect();
    return [Math.max(r.width, 1), Math.max(r.height, 1)];
  }

  /** [west, south, east, north] of what is visible now. */
  visibleBounds() {
    const [w, h] = this.size();
    const [west, north] = this.fromScreen(0, 0);
    const [east, south] = this.fromScreen(w, h);
    return [Math.max(-180, west), Math.max(-90, south), Math.min(180, east), Math.min(90, north)];
  }

  /** Fit [west, south, east, north] into the view (the first call also fixes the projection centre). */
  fitBounds(bounds, padding = 20, setCentre = false) {
    const [west, south, east, north] = bounds;
    if (setCentre || this._centreSet !== true) {
      this.setProjectionCentre((west + east) / 2, (south + north) / 2);
      this._centreSet = true;
      this.redrawWorld();
    }
    const [w, h] = this.size();
    const [x0, y0] = this.project(west, north);
    const [x1, y1] = this.project(east, south);
    const kx = (w - 2 * padding) / Math.max(x1 - x0, 1e-6);
    const ky = (h - 2 * padding) / Math.max(y1 - y0, 1e-6);
    this.k = Math.max(1e-3, Math.min(kx, ky));
    this.tx = w / 2 - (this.k * (x0 + x1)) / 2;
    this.ty = h / 2 - (this.k * (y0 + y1)) / 2;
    this.viewChanged();
  }

  // ----------------------------------------------------------------- layers

  _layer(name, order) {
    let entry = this.layers.get(name);
    if (!entry) {
      const group = el("g", { class: `layer layer-${name}`, "data-layer": name });
      entry = { group, order, features: [], style: null };
      this.layers.set(name, entry);
      const sorted = [...this.layers.values()].sort((a, b) => a.order - b.order);
      sorted.forEach((l) => this.world.appendChild(l.group));
    }
    return entry;
  }

  _pathData(geometry) {
    const ring = (coords, close) => {
      let d = "";
      coords.forEach(([lon, lat], i) => {
        const [x, y] = this.project(lon, lat);
        d += `${i ? "L" : "M"}${x.toFixed(4)},${y.toFixed(4)}`;
      });
      return close ? `${d}Z` : d;
    };
    switch (geometry?.type) {
      case "Polygon": return geometry.coordinates.map((r) => ring(r, true)).join("");
      case "MultiPolygon": return geometry.coordinates.map((p) => p.map((r) => ring(r, true)).join("")).join("");
      case "LineString": return ring(geometry.coordinates, false);
      case "MultiLineString": return geometry.coordinates.map((l) => ring(l, false)).join("");
      default: return "";
    }
  }

  /**
   * Draw polygon/line features of a layer in world units.
   * @param {string} name layer name (CSS class layer-<name>)
   * @param {object[]} features GeoJSON features (Polygon, MultiPolygon, LineString, MultiLineString)
   * @param {object} opts {order, style(feature) -> {fill, stroke, class, title}}
   */
  setLayer(name, features, opts = {}) {
    const entry = this._layer(name, opts.order ?? 0);
    entry.features = features;
    entry.style = opts.style || null;
    this._drawLayer(entry);
  }

  _drawLayer(entry) {
    entry.group.replaceChildren();
    for (const f of entry.features) {
      const d = this._pathData(f.geometry);
      if (!d) continue;
      const s = entry.style ? entry.style(f) : {};
      const p = el("path", { d, class: s.class || "feature", fill: s.fill, stroke: s.stroke,
        "fill-rule": "evenodd", "data-name": f.properties?.name ?? null }, entry.group);
      if (s.attrs) for (const [k, v] of Object.entries(s.attrs)) p.setAttribute(k, v);
      if (s.title) el("title", {}, p).textContent = s.title;
    }
  }

  clearLayer(name) {
    const entry = this.layers.get(name);
    if (entry) { entry.features = []; entry.group.replaceChildren(); }
  }

  setLayerVisible(name, visible) {
    const entry = this.layers.get(name);
    if (entry) entry.group.style.display = visible ? "" : "none";
    const ms = this.markerSets.get(name);
    if (ms) { ms.visible = visible; ms.group.style.display = visible ? "" : "none"; }
  }

  redrawWorld() { for (const entry of this.layers.values()) this._drawLayer(entry); this._applyTransform(); }

  /**
   * Point markers of a set, placed in screen pixels.
   * items: [{id, lon, lat, r, shape ("circle"|"triangle"|"star"|"square"), class, fill, stroke,
   *          title, label, labelPriority, data: {...}}]
   * opts: {order, onClick(item), labels: boolean}
   */
  setMarkers(name, items, opts = {}) {
    let ms = this.markerSets.get(name);
    if (!ms) {
      ms = { group: el("g", { class: `markers markers-${name}`, "data-markers": name }), visible: true, order: opts.order ?? 0 };
      this.markerSets.set(name, ms);
      const sorted = [...this.markerSets.values()].sort((a, b) => a.order - b.order);
      sorted.forEach((m) => this.screen.appendChild(m.group));
    }
    ms.items = items;
    ms.opts = opts;
    this._drawMarkers(ms);
    this._placeLabels();
  }

  _shape(item, x, y, parent) {
    const r = item.r ?? 4;
    const common = { class: item.class || "marker", fill: item.fill, stroke: item.stroke };
    let node;
    if (item.shape === "triangle") {
      const h = r * 1.8;
      node = el("polygon", { ...common, points: `${x},${y - h * 0.6} ${x - r},${y + h * 0.4} ${x + r},${y + h * 0.4}` }, parent);
    } else if (item.shape === "star") {
      const pts = [];
      for (let i = 0; i < 10; i++) {
        const a = (Math.PI / 5) * i - Math.PI / 2;
        const rr = i % 2 ? r * 0.45 : r;
        pts.push(`${(x + rr * Math.cos(a)).toFixed(1)},${(y + rr * Math.sin(a)).toFixed(1)}`);
      }
      node = el("polygon", { ...common, points: pts.join(" ") }, parent);
    } else if (item.shape === "square") {
      node = el("rect", { ...common, x: x - r, y: y - r, width: 2 * r, height: 2 * r }, parent);
    } else {
      node = el("circle", { ...common, cx: x, cy: y, r }, parent);
    }
    return node;
  }

  _drawMarkers(ms) {
    ms.group.replaceChildren();
    const [w, h] = this.size();
    for (const item of ms.items || []) {
      const [x, y] = this.toScreen(item.lon, item.lat);
      if (x < -50 || y < -50 || x > w + 50 || y > h + 50) continue;
      const g = el("g", { class: "marker-group", "data-id": item.id ?? null }, ms.group);
      const node = this._shape(item, x, y, g);
      if (item.data) for (const [k, v] of Object.entries(item.data)) g.dataset[k] = v;
      if (item.title) el("title", {}, g).textContent = item.title;
      if (ms.opts?.onClick) {
        g.style.cursor = "pointer";
        g.addEventListener("click", (ev) => { ev.stopPropagation(); ms.opts.onClick(item); });
      }
      if (item.label) {
        const text = el("text", { x: x + (item.r ?? 4) + 3, y: y + 4, class: "marker-label" }, g);
        text.textContent = item.label;
        text.dataset.priority = item.labelPriority ?? 0;
      }
      node.dataset.x = x;
    }
  }

  /** Hide labels that overlap a label of higher priority (greedy, by priority). */
  _placeLabels() {
    const labels = [...this.screen.querySelectorAll("text.marker-label")];
    labels.sort((a, b) => Number(b.dataset.priority) - Number(a.dataset.priority));
    const boxes = [];
    for (const t of labels) {
      if (t.closest("g.markers")?.style.display === "none") continue;
      const x = Number(t.getAttribute("x"));
      const y = Number(t.getAttribute("y"));
      const wd = (t.textContent.length || 1) * 7;
      const box = [x, y - 11, x + wd, y + 3];
      const hit = boxes.some((b) => box[0] < b[2] && box[2] > b[0] && box[1] < b[3] && box[3] > b[1]);
      t.style.display = hit ? "none" : "";
      if (!hit) boxes.push(box);
    }
  }

  // ----------------------------------------------------------------- view changes

  _applyTransform() {
    this.world.setAttribute("transform", `matrix(${this.k},0,0,${this.k},${this.tx},${this.ty})`);
  }

  viewChanged() {
    if (this._pending) return;
    this._pending = true;
    requestAnimationFrame(() => {
      this._pending = false;
      this._applyTransform();
      for (const ms of this.markerSets.values()) this._drawMarkers(ms);
      this._placeLabels();
      this.viewListeners.forEach((fn) => fn(this.visibleBounds()));
    });
  }

  onViewChange(fn) { this.viewListeners.push(fn); }

  /** Zoom by `factor` around screen point (px, py) (default: the centre). */
  zoomBy(factor, px = null, py = null) {
    const [w, h] = this.size();
    const cx = px ?? w / 2;
    const cy = py ?? h / 2;
    const k = Math.min(Math.max(this.k * factor, 0.5), 20000);
    const f = k / this.k;
    this.tx = cx - f * (cx - this.tx);
    this.ty = cy - f * (cy - this.ty);
    this.k = k;
    this.viewChanged();
  }

  /** Centre the view on (lon, lat), optionally with a new zoom (pixels per degree). */
  centreOn(lon, lat, k = null) {
    if (k) this.k = k;
    const [w, h] = this.size();
    const [x, y] = this.project(lon, lat);
    this.tx = w / 2 - this.k * x;
    this.ty = h / 2 - this.k * y;
    this.viewChanged();
  }

  _installHandlers() {
    let drag = null;
    this.svg.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      drag = { x: ev.clientX, y: ev.clientY, tx: this.tx, ty: this.ty, moved: false };
      this.svg.setPointerCapture?.(ev.pointerId);
    });
    this.svg.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const dx = ev.clientX - drag.x;
      const dy = ev.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (!drag.moved) return;
      this.tx = drag.tx + dx;
      this.ty = drag.ty + dy;
      this.viewChanged();
    });
    const end = (ev) => {
      if (drag) this.svg.releasePointerCapture?.(ev.pointerId);
      drag = null;
    };
    this.svg.addEventListener("pointerup", end);
    this.svg.addEventListener("pointercancel", end);
    this.svg.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(ev.deltaY < 0 ? 1.25 : 0.8, ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
    this.svg.addEventListener("dblclick", (ev) => {
      const r = this.svg.getBoundingClientRect();
      this.zoomBy(2, ev.clientX - r.left, ev.clientY - r.top);
    });
    window.addEventListener("resize", () => this.viewChanged());
  }
}

/** [west, south, east, north] of GeoJSON features (points, lines, polygons); null when empty. */
export function featureBounds(features) {
  let w = Infinity; let s = Infinity; let e = -Infinity; let n = -Infinity;
  const visit = (c) => {
    if (typeof c[0] === "number") {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(visit);
  };
  for (const f of features) if (f.geometry?.coordinates) visit(f.geometry.coordinates);
  return Number.isFinite(w) ? [w, s, e, n] : null;
}
