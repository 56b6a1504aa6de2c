/* Territoria — map explorer: choropleth of any level by any indicator (Leaflet, canvas). */
"use strict";
(function () {
  const T = window.Territoria;
  const config = JSON.parse(document.getElementById("map-config").textContent);
  const mapEl = document.getElementById("map");
  const legend = document.getElementById("legend");
  const info = document.getElementById("hover-info");
  const status = document.getElementById("map-status");
  const controls = {
    level: document.getElementById("map-level"),
    parent: document.getElementById("map-parent"),
    indicator: document.getElementById("map-indicator"),
    method: document.getElementById("map-method"),
    classes: document.getElementById("map-classes"),
    osm: document.getElementById("map-osm"),
    poles: document.getElementById("map-poles"),
  };
  const polesLegend = document.getElementById("poles-legend");
  const renderer = L.canvas({ padding: 0.3, tolerance: 2 });
  const map = L.map(mapEl, { preferCanvas: true, renderer: renderer, zoomSnap: 0.25, attributionControl: true })
    .setView([46.6, 2.4], 6);
  map.attributionControl.setPrefix("Leaflet");
  const osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18, attribution: "© OpenStreetMap contributors",
  });
  let layer = null, current = null, hovered = null, seq = 0;
  // poles: SVG hulls in a pane above the choropleth, coloured by their European Cluster Observatory stars
  const POLE_COLOURS = { "3-star": "#5e3c99", "2-star": "#0571b0", "1-star": "#6a6a6a", emerging: "#1a9850", "0-star": "#4d4d4d" };
  const POLE_LABELS = { "3-star": "Pôle 3 étoiles", "2-star": "Pôle 2 étoiles", "1-star": "Pôle 1 étoile", emerging: "Pôle émergent", "0-star": "Pôle sans étoile" };
  map.createPane("poles").style.zIndex = 450;
  const poleRenderer = L.svg({ pane: "poles" });
  let poleLayer = null, polesKey = null, poleSeq = 0;

  function zoomFor(parentLevel) {
    return { region: 8, departement: 9, epci: 10, commune: 11 }[parentLevel] || 6;
  }

  function state() {
    const [parentLevel, parentCode] = (controls.parent.value || ":").split(":");
    return {
      level: controls.level.value, parentLevel: parentLevel || null, parentCode: parentCode || null,
      indicator: controls.indicator.value, method: controls.method.value, classes: controls.classes.value,
    };
  }

  function syncIndicators() {
    const level = controls.level.value;
    let firstOk = null;
    for (const opt of controls.indicator.options) {
      const ok = (opt.dataset.levels || "").split(",").includes(level);
      opt.disabled = !ok;
      if (ok && !firstOk) firstOk = opt;
    }
    if (controls.indicator.selectedOptions[0] && controls.indicator.selectedOptions[0].disabled && firstOk) {
      controls.indicator.value = firstOk.value;
    }
  }

  function styleWith(c, feature, canvas) {
    const k = feature.properties["class"];
    const fill = c && k !== null && k !== undefined ? c.colors[k] : "#d9d9d9";
    return { renderer: canvas, fillColor: fill, fillOpacity: 0.85, color: "#5b6770", weight: 0.4, opacity: 0.8 };
  }

  function style(feature) { return styleWith(current && current.classification, feature, renderer); }

  function bindFeature(feature, lyr, owner) {
    lyr.on("mouseover", () => {
      if (hovered && hovered.lyr !== lyr) hovered.owner().resetStyle(hovered.lyr);
      hovered = { lyr: lyr, owner: owner };
      lyr.setStyle({ weight: 2, color: "#111" });
      showInfo(feature.properties);
    });
    lyr.on("mouseout", () => { owner().resetStyle(lyr); });
    lyr.on("click", () => {
      window.location = "/territoires/" + encodeURIComponent(feature.properties.level) + "/" + encodeURIComponent(feature.properties.code);
    });
  }

  // Overseas insets (Guadeloupe, Martinique, Guyane, La Réunion, Mayotte): small maps fed by the
  // France-wide collection, in the same colour scale, clickable like the main map.
  const insetsEl = document.getElementById("insets");
  const insets = [];
  if (insetsEl) {
    for (const box of insetsEl.querySelectorAll(".inset")) {
      const b = JSON.parse(box.dataset.bbox);
      const bounds = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
      const canvas = L.canvas({ padding: 0.2, tolerance: 2 });
      const m = L.map(box.querySelector(".inset-map"), {
        attributionControl: false, zoomControl: false, dragging: false, scrollWheelZoom: false,
        doubleClickZoom: false, boxZoom: false, keyboard: false, touchZoom: false,
        preferCanvas: true, renderer: canvas, zoomSnap: 0.1,
      });
      m.fitBounds(bounds, { animate: false, padding: [3, 3] });
      insets.push({ box: box, map: m, bounds: bounds.pad(0.05), canvas: canvas, layer: null });
    }
  }

  function firstPoint(geometry) {
    if (!geometry || !geometry.coordinates) return null;
    let c = geometry.coordinates;
    while (Array.isArray(c[0])) c = c[0];
    return c.length >= 2 ? L.latLng(c[1], c[0]) : null;
  }

  function drawInsets(data, franceWide) {
    if (!insetsEl) return;
    insetsEl.hidden = !franceWide && !!state().parentCode;
    if (!franceWide) return;  // a closer view of the mainland keeps the insets as they are
    const c = data.classification;
    for (const inset of insets) {
      if (inset.layer) inset.map.removeLayer(inset.layer);
      const features = data.features.filter((f) => {
        const p = firstPoint(f.geometry);
        return p !== null && inset.bounds.contains(p);
      });
      const owner = () => inset.layer;
      inset.layer = L.geoJSON({ type: "FeatureCollection", features: features }, {
        style: (f) => styleWith(c, f, inset.canvas),
        onEachFeature: (f, lyr) => bindFeature(f, lyr, owner),
      }).addTo(inset.map);
      inset.box.dataset.features = String(features.length);
      inset.box.dataset.ready = "1";
    }
  }

  function showInfo(props) {
    const unit = current && current.indicator ? (current.indicator.unit || "") : "";
    const label = current && current.indicator ? current.indicator.label[document.documentElement.lang] || current.indicator.label.fr : "";
    info.replaceChildren(
      T.el("div", { class: "name", text: props.name + " (" + props.code + ")" }),
      T.el("div", { class: "value", text: label + " : " + (props.value === null || props.value === undefined ? T.t("Pas de donnée") : T.fmt(props.value) + " " + unit) }),
      T.el("div", { class: "muted small", text: T.t("Cliquer pour ouvrir la fiche") }),
    );
  }

  /** "Source : INSEE RP 2021 (base_cc…), 2021": the indicator's source and the year shown. */
  function sourceLine(ind) {
    const src = ind.source || {};
    const name = [src.name, src.version].filter(Boolean).join(" ") || T.t("source inconnue");
    const year = ind.period || src.reference_date || "";
    return T.t("Source") + " : " + name + (src.dataset ? " (" + src.dataset + ")" : "")
      + (src.publisher && !src.publisher.startsWith(src.name || "") ? " — " + src.publisher.split(",")[0] : "")
      + (year ? ", " + year : "") + (src.synthetic ? " — " + T.t("données synthétiques") : "");
  }

  function drawLegend(data) {
    legend.replaceChildren();
    const c = data.classification;
    if (!c || !c.breaks.length) { legend.append(T.el("p", { class: "muted", text: T.t("Pas de donnée") })); return; }
    const lang = document.documentElement.lang;
    const ind = data.indicator;
    legend.append(T.el("div", { class: "legend-title", text: (ind.label[lang] || ind.label.fr) + (ind.unit ? " (" + ind.unit + ")" : "") + (ind.period ? " — " + ind.period : "") }));
    const methodLabel = controls.method.selectedOptions[0].textContent;
    legend.append(T.el("div", { class: "muted small", text: methodLabel + " · " + T.fmt(data.count, 0) + " " + T.t("territoires") }));
    legend.append(T.el("div", { class: "legend-source muted small", text: sourceLine(ind) }));
    const list = T.el("ul", { class: "legend-classes" });
    c.colors.forEach((color, i) => {
      const swatch = T.el("span", { class: "swatch" });
      swatch.style.background = color;
      const text = T.fmt(c.breaks[i]) + " – " + T.fmt(c.breaks[i + 1]);
      list.append(T.el("li", { "data-class": String(i) }, [swatch, T.el("span", { class: "range", text: text }), T.el("span", { class: "count muted", text: " (" + T.fmt(c.counts[i], 0) + ")" })]));
    });
    if (c.missing) {
      const swatch = T.el("span", { class: "swatch" });
      swatch.style.background = "#d9d9d9";
      list.append(T.el("li", {}, [swatch, T.el("span", { text: T.t("Pas de donnée") + " (" + T.fmt(c.missing, 0) + ")" })]));
    }
    legend.append(list);
  }

  async function load(fit) {
    const s = state();
    const mine = ++seq;
    mapEl.dataset.ready = "0";
    status.hidden = false;
    const zoom = s.parentCode ? zoomFor(s.parentLevel) : Math.round(map.getZoom());
    const params = new URLSearchParams({ indicator: s.indicator, method: s.method, classes: s.classes, zoom: String(zoom) });
    if (s.parentCode) { params.set("parent", s.parentCode); params.set("parent_level", s.parentLevel); }
    else if (zoom >= 10) {
      const b = map.getBounds().pad(0.3);
      params.set("bbox", [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(4)).join(","));
    }
    const url = "/api/v1/map/" + encodeURIComponent(s.level) + "?" + params.toString();
    let data;
    try { data = await T.api(url); }
    catch (e) {
      status.hidden = true;
      legend.replaceChildren(T.el("p", { class: "error", text: T.t("Erreur") + " : " + e.message }));
      return;
    }
    if (mine !== seq) return;
    current = data;
    if (layer) map.removeLayer(layer);
    layer = L.geoJSON(data, {
      style: style,
      onEachFeature: (feature, lyr) => bindFeature(feature, lyr, () => layer),
    }).addTo(map);
    drawLegend(data);
    drawInsets(data, !s.parentCode && !params.has("bbox"));
    for (const fmt of ["csv", "xlsx", "gpkg"]) {
      const link = document.getElementById("export-level-" + fmt);
      if (link) link.href = "/api/v1/export/" + encodeURIComponent(s.level) + "?format=" + fmt + "&indicators=all";
    }
    if (fit && data.bbox && s.parentCode) {
      map.fitBounds([[data.bbox[1], data.bbox[0]], [data.bbox[3], data.bbox[2]]], { animate: false, padding: [10, 10] });
    }
    status.hidden = true;
    // drawn and interactive: canvas painted, events bound
    requestAnimationFrame(() => {
      mapEl.dataset.ready = "1";
      mapEl.dataset.features = String(data.count);
      window.territoriaMapReady = performance.now();
    });
    const url2 = new URL(window.location);
    url2.search = "";
    url2.searchParams.set("level", s.level);
    if (s.parentCode) { url2.searchParams.set("parent", s.parentCode); url2.searchParams.set("parent_level", s.parentLevel); }
    url2.searchParams.set("indicator", s.indicator);
    url2.searchParams.set("method", s.method);
    url2.searchParams.set("classes", s.classes);
    if (controls.poles && controls.poles.checked) url2.searchParams.set("poles", "1");
    history.replaceState(null, "", url2);
  }

  function showPoleInfo(props) {
    info.replaceChildren(
      T.el("div", { class: "name", text: props.name }),
      T.el("div", { class: "value", text: T.t(POLE_LABELS[props.category]) + (props.emerging && props.category !== "emerging" ? " · " + T.t("émergent") : "") }),
      T.el("div", { text: T.fmt(props.establishments, 0) + " " + T.t("établissements") + " · " + T.fmt(props.employment, 0) + " " + T.t("emplois") }),
      T.el("div", { class: "muted small", text: (props.synthetic ? T.t("données synthétiques") + " · " : "") + T.t("Cliquer pour ouvrir la fiche du pôle") }),
    );
  }

  function drawPoleLegend(data) {
    const counts = {};
    for (const f of data.features) counts[f.properties.category] = (counts[f.properties.category] || 0) + 1;
    const list = T.el("ul", { class: "legend-classes" });
    for (const key of ["3-star", "2-star", "1-star", "emerging", "0-star"]) {
      if (!counts[key]) continue;
      const swatch = T.el("span", { class: "swatch" });
      swatch.style.background = POLE_COLOURS[key];
      list.append(T.el("li", { "data-category": key }, [swatch, T.el("span", { text: T.t(POLE_LABELS[key]) }), T.el("span", { class: "count muted", text: " (" + T.fmt(counts[key], 0) + ")" })]));
    }
    const children = [T.el("div", { class: "legend-title", text: T.t("Pôles") })];
    if (!data.features.length) children.push(T.el("p", { class: "muted", text: T.t("Aucun pôle détecté") }));
    else children.push(list, T.el("div", { class: "muted small", text: T.t("Tirets : pôle émergent (croît plus vite que ses secteurs en France)") }));
    const sirene = (data.sources || []).find((x) => x.name === "sirene") || (data.sources || [])[0];
    if (sirene) children.push(T.el("div", { class: "legend-source muted small", text: sourceLine({ source: sirene, period: null }) }));
    if (data.synthetic) children.push(T.el("p", { class: "notice synthetic small", text: T.t("données synthétiques") }));
    polesLegend.replaceChildren(...children);
  }

  async function loadPoles() {
    if (!controls.poles) return;
    if (!controls.poles.checked) {
      poleSeq++;
      if (poleLayer) map.removeLayer(poleLayer);
      poleLayer = null; polesKey = null;
      polesLegend.hidden = true;
      mapEl.dataset.poles = "0";
      return;
    }
    const s = state();
    const scoped = s.parentLevel === "region" || s.parentLevel === "departement";
    const key = scoped ? s.parentLevel + ":" + s.parentCode : "FR";
    if (key === polesKey && poleLayer) return;
    const mine = ++poleSeq;
    mapEl.dataset.poles = "loading";
    polesLegend.hidden = false;
    polesLegend.replaceChildren(T.el("p", { class: "muted", text: T.t("Chargement…") }));
    const params = new URLSearchParams({ format: "geojson" });
    if (scoped) params.set(s.parentLevel, s.parentCode);
    let data;
    try { data = await T.api("/api/v1/poles?" + params.toString()); }
    catch (e) {
      if (mine !== poleSeq) return;
      polesLegend.replaceChildren(T.el("p", { class: "error", text: T.t("Erreur") + " : " + e.message }));
      mapEl.dataset.poles = "error";
      return;
    }
    if (mine !== poleSeq) return;
    if (poleLayer) map.removeLayer(poleLayer);
    poleLayer = L.geoJSON(data, {
      pane: "poles",
      renderer: poleRenderer,
      style: (f) => {
        const colour = POLE_COLOURS[f.properties.category] || "#7f8c8d";
        return { color: colour, fillColor: colour, fillOpacity: 0.3, weight: 2, dashArray: f.properties.emerging ? "6 4" : null, className: "pole-hull pole-" + f.properties.category };
      },
      onEachFeature: (feature, lyr) => {
        lyr.on("mouseover", () => { lyr.setStyle({ weight: 4 }); showPoleInfo(feature.properties); });
        lyr.on("mouseout", () => { poleLayer.resetStyle(lyr); });
        lyr.on("click", (ev) => {
          L.DomEvent.stop(ev);
          window.location = "/poles/" + encodeURIComponent(feature.properties.id);
        });
      },
    }).addTo(map);
    polesKey = key;
    drawPoleLegend(data);
    mapEl.dataset.poles = String(data.features.length);
  }

  function rememberPoles() {
    const url = new URL(window.location);
    if (controls.poles && controls.poles.checked) url.searchParams.set("poles", "1");
    else url.searchParams.delete("poles");
    history.replaceState(null, "", url);
  }

  syncIndicators();
  controls.level.addEventListener("change", () => { syncIndicators(); load(true); });
  controls.parent.addEventListener("change", () => {
    if (!controls.parent.value) map.setView([46.6, 2.4], 6, { animate: false });
    load(true);
    loadPoles();
  });
  if (controls.poles) controls.poles.addEventListener("change", () => { loadPoles(); rememberPoles(); });
  for (const k of ["indicator", "method", "classes"]) controls[k].addEventListener("change", () => load(false));
  controls.osm.addEventListener("change", () => { if (controls.osm.checked) osm.addTo(map); else map.removeLayer(osm); });
  document.getElementById("map-controls").addEventListener("submit", (ev) => { ev.preventDefault(); load(true); });
  // finer geometry when zooming in on a France-wide view
  let lastClass = null;
  map.on("moveend", () => {
    const z = map.getZoom();
    const cls = z <= 6 ? "low" : z <= 9 ? "mid" : "full";
    if (!state().parentCode && current && lastClass && (cls !== lastClass || cls === "full")) load(false);
    lastClass = cls;
  });
  load(true).then(() => { lastClass = current ? current.resolution : null; });
  loadPoles();
})();
