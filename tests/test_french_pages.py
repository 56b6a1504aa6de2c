"""French pages show French: no raw codes (``COM``, ``ME``), keys (``done``, ``meeting``, theme
ids, ``region 53``) or English words in what a reader sees; and the FR/EN switch keeps the
page's address."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from territoria.influence.decision import themes as decision_themes
from territoria.kb.jobs import JobRunner
from test_api_helpers import add_synthetic_sirene, login, make_app, make_kb

#: Words and keys that must not appear in the visible text of a French page.
RAW_TOKENS = (
    # kinds of territories as the source codes them
    "COM", "ARM", "COMD", "COMA", "SRM", "CC", "CA", "CU", "ME", "METRO",
    # keys of statuses, action types and outcomes, levels
    "done", "queued", "running", "failed", "cancelled", "meeting", "letter", "positive",
    "negative", "neutral", "unknown", "region", "departement", "epci", "commune_deleguee",
    # English words
    "Loading", "None", "null", "undefined", "True", "False", "Search", "Export",
)  # fmt: skip
# a file name (epci.csv) is not a raw key
_WORDS = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, RAW_TOKENS)) + r")(?![\w-]|\.\w)")
#: Visible attributes (tooltips, placeholders, labels read aloud).
_VISIBLE_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")


class _Visible(HTMLParser):
    """The text a reader sees: text nodes outside scripts and styles, and visible attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if name in _VISIBLE_ATTRIBUTES and value:
                self.parts.append(value)
        if tag == "option":
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    return html.unescape(" ".join(parser.parts))


def raw_tokens(page: str) -> list[str]:
    """Raw keys, codes and English words in the visible text, and theme ids."""
    text = visible_text(page)
    found = _WORDS.findall(text)
    found += [t.id for t in decision_themes() if re.search(rf"(?<![\w-]){t.id}(?![\w-])", text)]
    found += re.findall(r"\b(?:region|departement|epci|commune) \d+", text)
    # snake_case keys (with_geometry), not file names (elus_municipaux.csv)
    found += re.findall(r"(?<![\w.-])[a-z]+(?:_[a-z0-9]+)+(?![\w-]|\.\w)", text)
    return found


@pytest.fixture(scope="module")
def client(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The web app on the mini knowledge base with a synthetic SIRENE région (poles, sector
    charts), a logged action and a finished plan."""
    folder = tmp_path_factory.mktemp("french")
    path = add_synthetic_sirene(make_kb(mini_db_path, folder), folder)
    web = make_app(path)
    with TestClient(web) as c:
        token = login(c, "admin")
        mayor = c.get("/api/v1/territories/35238/officials").json()["officials"][0]
        response = c.post(
            "/api/v1/actions",
            json={
                "date": "2026-03-02",
                "type": "meeting",
                "subject": "Train de nuit Rennes–Saint-Malo",
                "actors": [mayor["person_id"]],
                "outcome": "positive",
            },
            headers={"X-CSRF-Token": token},
        )
        assert response.status_code in (200, 201), response.text
        theme = decision_themes()[0].id
        response = c.post(
            "/api/v1/influence/plans",
            json={"code": "53", "level": "region", "theme": theme, "k": 2, "seed": 1},
            headers={"X-CSRF-Token": token},
        )
        assert response.status_code == 202, response.text
        _wait(web.state.territoria.jobs, response.json()["id"])
        yield c
    web.state.territoria.db.close()


def _wait(jobs: JobRunner, job_id: str) -> None:
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = jobs.get(job_id)
        if job is not None and job.status in ("done", "failed", "cancelled"):
            return
        time.sleep(0.2)
    pytest.fail("the plan did not finish in 2 minutes")


PAGES = (
    "/",
    "/carte",
    "/carte?level=epci&indicator=density",
    "/carte?level=commune&parent=35&parent_level=departement",
    "/territoires/commune/35238",
    "/territoires/epci/243500139",
    "/territoires/epci/243500634",
    "/territoires/departement/35",
    "/territoires/region/53",
    "/territoires/canton/3520",
    "/influence",
    "/influence?code=53&level=region",
    "/actions",
    "/admin/comptes",
    "/journal",
)


def test_pole_page_shows_no_raw_token(client: TestClient) -> None:
    pole = client.get("/api/v1/poles").json()[0]
    response = client.get(f"/poles/{pole['id']}")
    assert response.status_code == 200 and pole["name"] in visible_text(response.text)
    assert raw_tokens(response.text) == []


@pytest.mark.parametrize("url", PAGES)
def test_french_page_shows_no_raw_token(client: TestClient, url: str) -> None:
    response = client.get(url, params={"lang": "fr"} if "?" not in url else None)
    assert response.status_code == 200, response.text[:500]
    assert raw_tokens(response.text) == [], (url, raw_tokens(response.text))


def test_labels_instead_of_codes(client: TestClient) -> None:
    metropole = visible_text(client.get("/territoires/epci/243500139").text)
    assert "Métropole" in metropole
    communes = visible_text(client.get("/territoires/epci/243500634").text)
    assert "communauté de communes" in communes
    actions = visible_text(client.get("/actions").text)
    assert "Rencontre" in actions and "positif" in actions
    influence = visible_text(client.get("/influence?code=53&level=region").text)
    assert "Région Bretagne" in influence
    first_theme = decision_themes()[0]
    assert first_theme.label_fr in influence  # the recent plan, by its French label


def test_checker_finds_raw_tokens() -> None:
    page = (
        "<p>Rennes Métropole · ME</p><p>done</p><p title='meeting'>x</p>"
        f"<p>{decision_themes()[0].id}</p><p>region 53</p><script>const done = 1;</script>"
    )
    theme = decision_themes()[0].id
    assert raw_tokens(page) == ["ME", "done", "meeting", "region", theme, "region 53"]


def test_language_switch_keeps_the_address(client: TestClient) -> None:
    page = client.get("/carte", params={"level": "epci", "indicator": "density"}).text
    links = dict(re.findall(r'<a href="([^"]+)"[^>]*>(FR|EN)</a>', page)[::-1])
    switch = {label: html.unescape(href) for href, label in links.items()}
    assert switch["EN"] == "/carte?level=epci&indicator=density&lang=en"
    assert switch["FR"] == "/carte?level=epci&indicator=density&lang=fr"
    english = client.get(switch["EN"])
    assert english.status_code == 200 and 'lang="en"' in english.text
    back = re.search(r'<a href="([^"]+)"[^>]*>FR</a>', english.text)
    assert back and html.unescape(back.group(1)) == "/carte?level=epci&indicator=density&lang=fr"
    # the previous language parameter is replaced, not repeated
    territory = client.get("/territoires/commune/35238?lang=en").text
    found = re.search(r'<a href="([^"]+)"[^>]*>FR</a>', territory)
    assert found and html.unescape(found.group(1)) == "/territoires/commune/35238?lang=fr"


def test_english_pages_exist_for_every_page(client: TestClient) -> None:
    for url in PAGES:
        joined = url + ("&" if "?" in url else "?") + "lang=en"
        assert client.get(joined).status_code == 200, joined


def test_poles_layer_names_its_source(client: TestClient) -> None:
    layer = client.get("/api/v1/poles", params={"format": "geojson"}).json()
    sirene = next(s for s in layer["sources"] if s["name"] == "sirene")
    # the map's legend shows it: synthetic establishments are said to be so
    assert sirene["synthetic"] is True and sirene["reference_date"]
