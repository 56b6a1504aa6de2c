/* Territoria — comparison page: the series of the compared territories (Vega-Lite). */
"use strict";
(function () {
  const box = document.getElementById("compare-chart");
  const raw = document.getElementById("compare-data");
  if (!box || !raw) return;
  const chart = JSON.parse(raw.textContent);
  const lang = document.documentElement.lang;
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 560, height: 220,
    data: { values: chart.points },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "period", type: "temporal", timeUnit: "utcyear", title: null, axis: { format: "%Y" } },
      y: { field: "value", type: "quantitative", title: chart.label, scale: { zero: false }, axis: { format: "~s" } },
      color: { field: "name", type: "nominal", title: null },
      tooltip: [
        { field: "name", type: "nominal", title: null },
        { field: "period", type: "temporal", timeUnit: "utcyear", title: box.dataset.year, format: "%Y" },
        { field: "value", type: "quantitative", title: chart.label, format: ",.0f" },
      ],
    },
  };
  const formatLocale = lang === "en" ? undefined : { decimal: ",", thousands: "\u202f", grouping: [3], currency: ["", " €"] };
  vegaEmbed(box, spec, { actions: false, renderer: "svg", formatLocale })
    .then(() => { box.dataset.ready = "1"; })
    .catch((e) => { box.append(document.createTextNode(e.message)); box.dataset.ready = "error"; });
})();
