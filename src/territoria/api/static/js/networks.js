// The territory page's road-network layer: critical links in red, others by delay, in Leaflet.
(function () {
  "use strict";
  var el = document.getElementById("network-map");
  var data = document.getElementById("network-geojson");
  if (!el || !data || typeof L === "undefined") { return; }
  var geo = JSON.parse(data.textContent);
  var map = L.map(el, { preferCanvas: true, scrollWheelZoom: false });  // offline: no tiles
  var layer = L.geoJSON(geo, {
    style: function (f) {
      var p = f.properties;
      if (p.is_bridge) { return { color: "#c0392b", weight: 5 }; }
      return { color: (p.delta_s || 0) > 10 ? "#e67e22" : "#7f8c8d", weight: 2 };
    },
    onEachFeature: function (f, l) {
      var p = f.properties;
      l.bindTooltip((p.name || "voie sans nom") + (p.is_bridge ? " — coupure isolante" : ""));
    }
  }).addTo(map);
  if (layer.getLayers().length) { map.fitBounds(layer.getBounds()); }
})();
