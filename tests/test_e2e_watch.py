"""The watch end to end in headless Chromium: the demo feeds fetched into the mini knowledge
base, a real ``territoria serve``, a real browser. Signs in, opens the reader from the
navigation, filters on a topic, opens an item, sees its highlighted mentions (with their
scores), follows one to the person's page and finds the item in its "Veille" section.

Skipped only when ``/usr/bin/chromium`` is absent outside CI; in CI (``CI`` set) it must run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from territoria.kb import connect
from territoria.settings import Settings
from territoria.watch.demo import setup_demo
from test_api_helpers import make_kb
from test_e2e_browser import Journey, serve_kb, sign_in
from test_e2e_browser import browser as browser  # the module's Chromium (a fixture)
from test_e2e_browser import pytestmark as browser_marks

pytestmark = browser_marks

TITLE = "Rennes : Nathalie Appéré plaide pour un train toutes les demi-heures vers Saint-Malo"


@pytest.fixture(scope="module")
def server(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``territoria serve`` on the mini knowledge base after the watch's demo."""
    folder = tmp_path_factory.mktemp("e2e_watch")
    kb = make_kb(mini_db_path, folder)
    con = connect(kb)
    try:
        setup_demo(con, settings=Settings(watch_allow_private=False), port=0)
    finally:
        con.close()
    with serve_kb(kb, folder) as address:
        yield address


def test_reader_item_and_highlights(server: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(30_000)
    j = Journey(page, tmp_path)

    with j.step("login"):
        sign_in(page, server, "/veille", "viewer")

    with j.step("reader"):
        page.click("nav.mainnav >> text=Veille")
        page.wait_for_url(server + "/veille")
        assert "Ille-et-Vilaine" in page.inner_text("main")
        items = page.locator("#watch-items li.watch-item")
        assert items.count() == 30  # a page of the 64 items
        assert "doublon de" in page.inner_text("#watch-items")
        assert page.is_visible("#watch-older")
        page.select_option("select[name=topic]", label="Ligne Rennes–Saint-Malo")
        page.click("#watch-filters button[type=submit]")
        page.wait_for_url(re.compile(r".*topic=\d+.*"))
        assert "Ligne Rennes–Saint-Malo" in page.inner_text("#watch-filter-summary")
        assert page.locator(f"#watch-items h3 >> text={TITLE}").count() == 1

    with j.step("item"):
        page.click(f"#watch-items h3 >> text={TITLE}")
        page.wait_for_url(re.compile(r".*/veille/articles/\d+.*"))
        assert page.inner_text("h1") == TITLE
        person = page.locator("#watch-text mark.mention.person").first
        assert person.inner_text().startswith("Nathalie Appéré")
        assert re.search(r"score \d,\d\d", person.get_attribute("title") or "")
        assert page.locator("#watch-text mark.mention.territory >> text=Rennes").count() >= 1
        assert page.locator("#watch-links tbody tr").count() >= 3

    with j.step("person"):
        page.locator("#watch-text mark.mention.person a").first.click()
        page.wait_for_url(re.compile(r".*/personnes/p-f32e7ff2540601.*"))
        assert TITLE in page.inner_text("#veille")
