"""The crisis map end to end in headless Chromium: an analyst draws a zone over Rennes on the
crisis map (clicks on the Leaflet map), fills the form, saves the incident through the REST API
and lands on its situation report, which lists Rennes, the population touched and its mayor.

Skipped only when ``/usr/bin/chromium`` is absent outside CI; in CI (``CI`` set) it must run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_api_helpers import make_kb
from test_e2e_browser import Journey, serve_kb, sign_in
from test_e2e_browser import browser as browser  # the module's Chromium (a fixture)
from test_e2e_browser import pytestmark as browser_marks

pytestmark = browser_marks

RENNES = (48.111, -1.68)  # lat, lon of the town hall area


@pytest.fixture(scope="module")
def server(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("e2e_crisis")
    kb = make_kb(mini_db_path, folder)
    with serve_kb(kb, folder) as address:
        yield address


# Pixel of a (lat, lon) inside the crisis map, from Leaflet's own projection at the map's
# initial view (France, zoom 6): the map object itself is private to the page's script.
_PIXEL = """([lat, lon]) => {
  const el = document.getElementById("crisis-map");
  const box = el.getBoundingClientRect();
  const crs = L.CRS.EPSG3857, zoom = 6;
  const c = crs.latLngToPoint(L.latLng(46.6, 2.4), zoom);
  const p = crs.latLngToPoint(L.latLng(lat, lon), zoom);
  return [box.left + box.width / 2 + (p.x - c.x), box.top + box.height / 2 + (p.y - c.y)];
}"""


def test_draw_an_incident_and_read_its_report(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(30_000)
    j = Journey(page, tmp_path)

    with j.step("login"):
        sign_in(page, server, "/crise", "analyst")
        page.wait_for_selector("#crisis-map[data-ready='1']", state="attached")
        assert "Carte de crise" in page.inner_text("h1")
        assert "Aucun incident" in page.inner_text("#incident-list")

    with j.step("draw"):
        page.click("#draw-start")
        lat, lon = RENNES
        for dlat, dlon in ((0.25, -0.3), (0.25, 0.3), (-0.25, 0.3), (-0.25, -0.3)):
            x, y = page.evaluate(_PIXEL, [lat + dlat, lon + dlon])
            page.mouse.click(x, y)
        assert "4 sommet(s)" in page.inner_text("#draw-status")
        page.click("#draw-finish")
        zone = page.get_attribute("#crisis-map", "data-zone") or ""
        assert '"type":"Polygon"' in zone

    with j.step("save"):
        page.fill("#incident-title", "Crue de la Vilaine à Rennes (exercice)")
        page.select_option("#incident-type", "flood")
        page.fill("#incident-severity", "4")
        page.fill("#incident-start", "2026-12-02T06:00")
        page.check("#incident-exercise")
        page.click("#incident-save")
        page.wait_for_url(re.compile(r".*/crise/incidents/\d+.*"))

    with j.step("report"):
        text = page.inner_text("main")
        assert "EXERCICE" in text and "Crue de la Vilaine à Rennes (exercice)" in text
        assert "Rennes" in text and "Nathalie APPÉRÉ" in text
        assert "habitants dans la zone" in text
    assert not j.errors, j.errors
