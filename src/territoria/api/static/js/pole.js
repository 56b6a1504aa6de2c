/* Territoria — pole page: the pole's footprint (hull) and centre on a small map. */
"use strict";
(function () {
  const T = window.Territoria;
  const data = JSON.parse(document.getElementById("pole-data").textContent);
  const el = document.getElementById("pmap");
  const colours = { "3-star": "#5e3c99", "2-star": "#0571b0", "1-star": "#6a6a6a", "0-star": "#4d4d4d" };
  const colour = ["0-star", "1-star"].includes(data.label) && data.emerging ? "#1a9850" : colours[data.label] || "#4d4d4d";
  const map = L.map(el, { zoomSnap: 0.25, scrollWheelZoom: false });
  map.attributionControl.setPrefix("Leaflet");
  const hull = L.geoJSON(data.hull, {
    style: { color: colour, weight: 2, fillColor: colour, fillOpacity: 0.25, dashArray: data.emerging ? "6 4" : null, className: "pole-hull" },
  });
  // the view first: vector layers need it to be drawn
  const bounds = hull.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.3), { animate: false });
  else map.setView([data.centre.lat, data.centre.lon], 11);
  hull.addTo(map);
  const centre = L.circleMarker([data.centre.lat, data.centre.lon], { radius: 6, color: "#0b2545", fillColor: "#fff", fillOpacity: 1, weight: 2 }).addTo(map);
  const tip = document.createElement("span");
  tip.textContent = data.centre.name + (data.synthetic ? " — " + T.t("données synthétiques") : "");
  centre.bindTooltip(tip);
  el.dataset.ready = "1";
})();
