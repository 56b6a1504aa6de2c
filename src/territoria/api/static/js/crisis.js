/* Territoria — the crisis map: incidents and their layers, and a click-to-polygon tool that
   draws a new incident and posts it to /api/v1/incidents (no drawing plugin needed). */
"use strict";
(function () {
  const T = window.Territoria;
  const M = JSON.parse(document.getElementById("crisis-messages").textContent);
  const lang = document.documentElement.lang || "fr";
  const suffix = lang === "fr" ? "" : "?lang=" + lang;
  const map = L.map("crisis-map", { preferCanvas: false }).setView([46.6, 2.4], 6);
  const layers = L.layerGroup().addTo(map);

  async function background() {
    try {
      const data = await T.api("/api/v1/map/departement");
      L.geoJSON(data, { style: { color: "#8aa", weight: 0.8, fill: false }, interactive: false }).addTo(map);
    } catch (e) { /* the map still works without outlines */ }
  }

  function style(feature) {
    const p = feature.properties || {};
    if (p.layer === "zone") return { color: "#1f5fa8", weight: 2, fillOpacity: 0.25 };
    if (p.layer === "road") return { color: "#c0392b", weight: 4 };
    return { color: "#fff", weight: 0.6, fillColor: p.isolated ? "#f0a830" : "#9e9e9e", fillOpacity: 0.55 };
  }

  async function showIncident(id) {
    layers.clearLayers();
    const data = await T.api("/api/v1/crisis/incidents/" + id + "/layers");
    const layer = L.geoJSON(data, {
      style: style,
      onEachFeature: (f, lyr) => {
        const p = f.properties || {};
        if (p.layer === "commune") lyr.bindTooltip(p.name + (p.isolated ? " (" + M.isolated + ")" : "") + " · " + T.fmt(p.population) + " " + M.inhabitants);
      },
    }).addTo(layers);
    if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds(), { padding: [20, 20] });
    map.getContainer().dataset.incident = String(id);
  }

  async function listIncidents() {
    const list = document.getElementById("incident-list");
    let data;
    try { data = await T.api("/api/v1/incidents"); }
    catch (e) { list.replaceChildren(T.el("li", { class: "error", text: M.error + " : " + e.message })); return; }
    const items = Array.isArray(data) ? data : (data.incidents || data.items || []);
    if (!items.length) { list.replaceChildren(T.el("li", { class: "muted", text: M.none })); return; }
    list.replaceChildren(...items.map((inc) => {
      const li = T.el("li");
      const show = T.el("a", { href: "#", text: inc.title });
      show.addEventListener("click", (ev) => { ev.preventDefault(); showIncident(inc.id); });
      li.append(show, " · " + M.severity + " " + inc.severity + " ");
      if (inc.exercise) li.append(T.el("span", { class: "exercise-tag", text: M.exercise }), " ");
      li.append(T.el("a", { href: "/crise/incidents/" + inc.id + suffix, text: "→ " + M.open }));
      return li;
    }));
    const first = items.find((i) => !i.deleted) || items[0];
    if (first) await showIncident(first.id);
  }

  // ---------------------------------------------------------------- drawing
  const start = document.getElementById("draw-start");
  const form = document.getElementById("draw-form");
  let drawing = false;
  let points = [];
  let sketch = null;
  let zone = null;

  function status(text) { document.getElementById("draw-status").textContent = text; }
  function redraw() {
    if (sketch) map.removeLayer(sketch);
    sketch = points.length ? L.polygon(points, { color: "#b00020", dashArray: "4 4" }).addTo(map) : null;
    status(M.points.replace("{n}", String(points.length)));
  }
  function onClick(ev) { if (drawing) { points.push([ev.latlng.lat, ev.latlng.lng]); redraw(); } }

  if (start && form) {
    map.on("click", onClick);
    start.addEventListener("click", () => {
      drawing = true; points = []; zone = null; redraw();
      document.body.classList.add("drawing");
      document.getElementById("draw-finish").disabled = false;
      document.getElementById("incident-save").disabled = true;
    });
    document.getElementById("draw-finish").addEventListener("click", () => {
      if (points.length < 3) { status(M.need3); return; }
      drawing = false;
      document.body.classList.remove("drawing");
      const ring = points.map(([lat, lng]) => [Number(lng.toFixed(6)), Number(lat.toFixed(6))]);
      ring.push(ring[0]);
      zone = { type: "Polygon", coordinates: [ring] };
      map.getContainer().dataset.zone = JSON.stringify(zone);
      document.getElementById("incident-save").disabled = false;
      status(M.ready);
    });
    document.getElementById("draw-clear").addEventListener("click", () => {
      drawing = false; points = []; zone = null; redraw(); status("");
      document.getElementById("incident-save").disabled = true;
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const error = document.getElementById("draw-error");
      error.hidden = true;
      if (!zone) { status(M.need3); return; }
      const f = new FormData(form);
      const body = {
        title: f.get("title"), type: f.get("type"), severity: Number(f.get("severity")),
        start: f.get("start"), end: f.get("end") || null, exercise: f.get("exercise") === "on",
        geometry: zone,
      };
      if (f.get("network_id")) body.network_id = Number(f.get("network_id"));
      try {
        const made = await T.api("/api/v1/incidents", { method: "POST", json: body });
        window.location = "/crise/incidents/" + made.id + suffix;
      } catch (e) {
        error.textContent = M.error + " : " + e.message;
        error.hidden = false;
      }
    });
  }

  background();
  listIncidents().finally(() => { map.getContainer().dataset.ready = "1"; });
})();
