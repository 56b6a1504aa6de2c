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
      if (item.indicator === "population") continue;  // its own chart, with a source per year (population.js)
      const key = item.indicator || item.code;
      if (!byIndicator.has(key)) byIndicator.set(key, []);
      byIndicator.get(key).push(item);
    }
    for (const [key, items] of byIndicator) {
      if (items.length < 2) continue;  // a single year is in the table of the page
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

  const formatLocale = lang === "en" ? undefined : { decimal: ",", thousands: "\u202f", grouping: [3], currency: ["", " €"] };

  function figure(label, value, sub) {
    return T.el("div", { class: "figure-card" }, [
      T.el("div", { class: "label", text: label }),
      T.el("div", { class: "value", text: value }),
      T.el("div", { class: "src", text: sub || "" }),
    ]);
  }

  // the reference the quotients really use: with one région imported, the "nation" is that région
  function referenceNotice(box, scope) {
    const old = document.getElementById("economy-reference");
    if (old) old.remove();
    if (!scope || scope.kind !== "nation") return;
    let text;
    if (scope.regions === 1) {
      text = T.t("Référence des quotients : la base ne contient les établissements que d'une région") + " (" + scope.name + ") " + T.t("— la « nation » est cette région, pas la France.");
    } else if (scope.regions < 18) {
      text = T.t("Référence des quotients : les établissements des régions importées") + " (" + T.fmt(scope.regions, 0) + ") " + T.t("— pas toute la France.");
    } else {
      return;
    }
    const p = T.el("p", { class: "notice", id: "economy-reference", text: text });
    box.insertBefore(p, document.getElementById("economy-figures"));
  }

  // economic fabric: specialisation (LQ by NAF division) and employment by NAF section
  async function economy() {
    const box = document.getElementById("economy");
    if (!box) return;
    const base = "/api/v1/economy/" + encodeURIComponent(data.code) + "?level=" + encodeURIComponent(data.level);
    let division, section;
    try {
      [division, section] = await Promise.all([
        T.api(base + "&sector_level=division&top=15"),
        T.api(base + "&sector_level=section&top=21"),
      ]);
    } catch (e) {
      document.getElementById("economy-charts").replaceChildren(T.el("p", { class: "muted", text: e.message }));
      box.dataset.ready = "error";
      return;
    }
    const synthetic = division.synthetic;
    const tag = synthetic ? T.t("données synthétiques") : "";
    document.getElementById("economy-synthetic").hidden = !synthetic;
    const source = "SIRENE (INSEE)" + (division.snapshot ? " " + division.snapshot : "") + " — " + (division.nomenclature === "2025" ? T.t("nomenclature NAF 2025") : T.t("nomenclature NAF rév. 2")) + (synthetic ? " — " + tag : "");
    referenceNotice(box, division.reference_scope);
    const charts = document.getElementById("economy-charts");
    if (!division.largest || !division.largest.length) {
      charts.replaceChildren(T.el("p", { class: "muted", text: T.t("Aucun établissement dans ce territoire") }));
      box.dataset.ready = "1";
      return;
    }
    const totals = division.totals, idx = division.indices;
    document.getElementById("economy-figures").replaceChildren(
      figure(T.t("Établissements actifs"), T.fmt(totals.establishments, 0), tag),
      figure(T.t("Emploi salarié estimé"), T.fmt(totals.value, 0), tag),
      figure(T.t("Indice de Krugman"), T.fmt(idx.krugman, 2), T.t("0 : même structure que la France")),
      figure(T.t("Gini de spécialisation"), T.fmt(idx.gini, 2), "Herfindahl " + T.fmt(idx.herfindahl, 3)),
      figure(T.t("Part des secteurs exportateurs"), T.fmt(100 * division.traded_share, 0) + " %", T.t("secteurs concentrés (traded)")),
    );
    const subtitle = source;
    const specs = [];
    const lq = division.specialised.map((e) => ({ sector: e.sector + " " + (e.label || ""), lq: e.lq, value: e.value, traded: e.traded }));
    specs.push({
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: { text: T.t("Spécialisation : quotients de localisation (divisions NAF)"), subtitle: [subtitle, T.t("Référence") + " : " + ((division.reference_scope && division.reference_scope.name) || "")] },
      width: 260, height: { step: 16 },
      data: { values: lq },
      layer: [
        {
          mark: "bar",
          encoding: {
            y: { field: "sector", type: "nominal", sort: "-x", title: null, axis: { labelLimit: 190 } },
            x: { field: "lq", type: "quantitative", title: T.t("Quotient de localisation") },
            color: { value: "#1d4e89" },
            tooltip: [{ field: "sector", title: "NAF" }, { field: "lq", format: ".2f", title: "LQ" }, { field: "value", format: ",.0f", title: T.t("Emploi estimé") }],
          },
        },
        { mark: { type: "rule", color: "#e63946" }, encoding: { x: { datum: 1 } } },
      ],
    });
    const sections = section.largest.filter((e) => e.value > 0).map((e) => ({ section: e.sector + " " + (e.label || ""), value: e.value, lq: e.lq }));
    specs.push({
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      title: { text: T.t("Emploi salarié estimé par section NAF"), subtitle: subtitle },
      width: 260, height: { step: 16 },
      data: { values: sections },
      mark: "bar",
      encoding: {
        y: { field: "section", type: "nominal", sort: "-x", title: null, axis: { labelLimit: 190 } },
        x: { field: "value", type: "quantitative", title: T.t("Emploi estimé"), axis: { format: "~s" } },
        color: { value: "#2a9d8f" },
        tooltip: [{ field: "section", title: "NAF" }, { field: "value", format: ",.0f", title: T.t("Emploi estimé") }, { field: "lq", format: ".2f", title: "LQ" }],
      },
    });
    charts.replaceChildren();
    await Promise.all(specs.map((spec, i) => {
      const div = T.el("div", { class: "chart", id: "economy-chart-" + i });
      charts.append(div);
      return vegaEmbed(div, spec, { actions: false, renderer: "svg", formatLocale }).catch((e) => div.append(T.el("p", { class: "error", text: e.message })));
    }));
    const shift = division.shift_share;
    if (shift) {
      const tt = shift.totals;
      const end = shift.end === "snapshot" ? (division.snapshot || "") : shift.end;
      document.getElementById("economy-shift").textContent = T.t("Évolution de l'emploi estimé (analyse structurelle-résiduelle)") + " " + shift.start + " → " + end + " : " + T.fmt(tt.change, 0) + " = " + T.t("effet national") + " " + T.fmt(tt.national, 0) + " + " + T.t("effet structurel") + " " + T.fmt(tt.industry_mix, 0) + " + " + T.t("effet local") + " " + T.fmt(tt.regional, 0) + (synthetic ? " (" + tag + ")" : "") + ". " + T.t("Emploi passé estimé avec les tranches d'effectif actuelles des établissements ouverts à cette date : SIRENE ne garde pas les effectifs passés.");
    }
    document.getElementById("economy-source").textContent = T.t("Source") + " : " + source;
    box.dataset.ready = "1";
  }

  smallMap();
  charts();
  economy();
})();
