/* Territoria — territory page: small map with neighbours, Vega-Lite charts. */
"use strict";
(function () {
  const T = window.Territoria;
  const data = JSON.parse(document.getElementById("territory-data").textContent);
  const neighbours = JSON.parse(document.getElementById("neighbours-data").textContent);
  const lang = document.documentElement.lang;

  async function smallMap() {
    const el = document.getElementById("tmap");
    const map = L.map(el, { preferCanvas: true, zoomSnap: 0.25, scrollWheelZoom: false });
    map.attributionControl.setPrefix("Leaflet");
    let geo;
    try {
      geo = await T.api("/api/v1/territories/" + encodeURIComponent(data.code) + "/geometry?level=" + encodeURIComponent(data.level));
    } catch (e) {
      el.replaceChildren(T.el("p", { class: "muted", text: e.message }));
      return;
    }
    const layer = L.geoJSON(geo, {
      style: (f) => f.properties.role === "self"
        ? { fillColor: "#1d4e89", fillOpacity: 0.6, color: "#0b2545", weight: 2 }
        : { fillColor: "#c9d6df", fillOpacity: 0.5, color: "#6c7a89", weight: 1 },
      onEachFeature: (f, lyr) => {
        const tip = document.createElement("span");
        tip.textContent = f.properties.name;
        lyr.bindTooltip(tip, { sticky: true });
        if (f.properties.role !== "self") {
          lyr.on("click", () => { window.location = "/territoires/" + encodeURIComponent(f.properties.level) + "/" + encodeURIComponent(f.properties.code); });
        }
      },
    }).addTo(map);
    if (geo.bbox) map.fitBounds([[geo.bbox[1], geo.bbox[0]], [geo.bbox[3], geo.bbox[2]]], { animate: false });
    else map.setView([46.6, 2.4], 5);
    el.dataset.ready = geo.features.length ? "1" : "0";
    el.dataset.features = String(geo.features.length);
    return layer;
  }

  function charts() {
    const box = document.getElementById("charts");
    const specs = [];
    // imported indicators: one small chart per indicator (periods on x)
    const byIndicator = new Map();
    for (const item of data.indicators || []) {
      const key = item.indicator || item.code;
      if (!byIndicator.has(key)) byIndicator.set(key, []);
      byIndicator.get(key).push(item);
    }
    for (const [key, items] of byIndicator) {
      const title = (items[0].label || key) + (items[0].unit ? " (" + items[0].unit + ")" : "");
      const values = items.map((i) => ({ period: String(i.period), value: i.value, source: i.source || "", date: i.source_date || "" }));
      specs.push({
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: { text: title, subtitle: values[0].source ? values[0].source + " " + values[0].date : "" },
        width: 260, height: 140,
        data: { values },
        mark: values.length > 2 ? { type: "line", point: true } : { type: "bar" },
        encoding: {
          x: { field: "period", type: "ordinal", title: null },
          y: { field: "value", type: "quantitative", title: null, axis: { format: "~s" } },
          tooltip: [{ field: "period" }, { field: "value", format: ",.0f" }],
        },
      });
    }
    // population of the territory and its neighbours (always available)
    if (neighbours.length) {
      const values = neighbours.filter((n) => n.population !== null).map((n) => ({ name: n.name, population: n.population, self: false }));
      values.push({ name: data.name, population: data.population, self: true });
      specs.push({
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: lang === "en" ? "Population of neighbours" : "Population des voisins",
        width: 320, height: { step: 16 },
        data: { values: values.filter((v) => v.population) },
        mark: "bar",
        encoding: {
          y: { field: "name", type: "nominal", sort: "-x", title: null },
          x: { field: "population", type: "quantitative", title: null, axis: { format: "~s" } },
          color: { field: "self", type: "nominal", legend: null, scale: { domain: [false, true], range: ["#9fb3c8", "#1d4e89"] } },
          tooltip: [{ field: "name" }, { field: "population", format: ",.0f" }],
        },
      });
    }
    const formatLocale = lang === "en" ? undefined : { decimal: ",", thousands: "\u202f", grouping: [3], currency: ["", " €"] };
    specs.forEach((spec, i) => {
      const div = T.el("div", { class: "chart", id: "chart-" + i });
      box.append(div);
      vegaEmbed(div, spec, { actions: false, renderer: "svg", formatLocale }).catch((e) => div.append(T.el("p", { class: "error", text: e.message })));
    });
  }

  smallMap();
  charts();
})();
