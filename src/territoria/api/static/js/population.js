/* Territoria — territory page: the population series as a small Vega-Lite line chart. */
"use strict";
(function () {
  const box = document.getElementById("population-chart");
  const raw = document.getElementById("population-data");
  if (!box || !raw) return;
  const series = JSON.parse(raw.textContent);
  const lang = document.documentElement.lang;
  const values = series.map((p) => ({
    year: String(p.year),
    value: p.value,
    source: (p.source + " " + (p.version || "")).trim(),
  }));
  const spec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: box.dataset.title, subtitle: values[0].year + "–" + values[values.length - 1].year },
    width: 420, height: 160,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      // years as a time axis: the gaps between editions (2017 → 2019) keep their width
      x: { field: "year", type: "temporal", timeUnit: "utcyear", title: null, scale: { padding: 10 }, axis: { format: "%Y", tickCount: values.length } },
      y: { field: "value", type: "quantitative", title: null, scale: { zero: false }, axis: { format: "~s" } },
      tooltip: [
        { field: "year", type: "temporal", timeUnit: "utcyear", title: box.dataset.year, format: "%Y" },
        { field: "value", type: "quantitative", title: box.dataset.title, format: ",.0f" },
        { field: "source", type: "nominal", title: box.dataset.source },
      ],
    },
  };
  const formatLocale = lang === "en" ? undefined : { decimal: ",", thousands: "\u202f", grouping: [3], currency: ["", " €"] };
  vegaEmbed(box, spec, { actions: false, renderer: "svg", formatLocale })
    .then(() => { box.dataset.ready = "1"; })
    .catch((e) => { box.append(document.createTextNode(e.message)); box.dataset.ready = "error"; });
})();
