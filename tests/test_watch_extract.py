"""Extraction of watch documents: text, title, date, author, language and canonical address of
real-looking French pages, a PDF, a text file and feed entries; French dates; addresses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territoria.errors import ExtractionError
from territoria.watch._dates import PARIS, parse_date, to_utc
from territoria.watch._model import Document
from territoria.watch.extract import canonical_url, extract

DATA = Path(__file__).parent / "data" / "watch" / "extract"
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _doc(name: str, content_type: str | None, url: str | None = None, **kw: object) -> Document:
    return Document(
        source_id=1,
        kind="article",
        url=url or f"https://exemple.fr/{name}",
        fetched_at=NOW,
        body=(DATA / name).read_bytes(),
        content_type=content_type,
        **kw,  # type: ignore[arg-type]
    )


def test_news_article() -> None:
    got = extract(_doc("ouest_rennes_metro.html", "text/html; charset=utf-8"))
    assert got.title == "Rennes Métropole : la ligne b du métro prolongée jusqu'à Cesson-Sévigné"
    assert got.published == datetime(2026, 12, 2, 6, 45, tzinfo=UTC)
    assert got.author == "Claire Le Goff"
    assert got.language == "fr"
    # rel=canonical wins over og:url, and loses its utm_* parameters
    assert got.canonical_url == (
        "https://www.echo-ille-et-vilaine.fr/rennes/metro-ligne-b-prolongement-cesson-sevigne-2026-12-02"
    )
    assert got.text.startswith("Le conseil métropolitain de Rennes Métropole a voté jeudi soir")
    assert "420 millions d'euros" in got.text
    # navigation, "à lire aussi" and footer are not the article
    assert "Stade rennais" not in got.text and "Mentions légales" not in got.text
    assert got.full_text.startswith(got.title + "\n\n")


def test_latin1_press_release_with_json_ld() -> None:
    got = extract(_doc("communique_region.html", "text/html"))  # charset only in <meta>
    assert got.title == "Un fonds régional de 30 millions d'euros pour l'industrie verte"
    assert got.published == datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    assert got.author == "Service presse de la Région"
    # og:url: host lower-cased, xtor and the fragment dropped, the query sorted
    assert got.canonical_url == (
        "https://www.bretagne-region.example/presse/2026/fonds-industrie-verte/?lang=fr&page=2"
    )
    assert "agroalimentaire, navale et numérique" in got.text


def test_page_with_a_date_in_its_text_only() -> None:
    url = "https://www.ville-bruz.example/actualites/budget-2027?utm_source=facebook&fbclid=AbC"
    got = extract(_doc("mairie_sans_date_meta.html", "text/html", url=url))
    assert got.title == "Conseil municipal du 1er décembre : le budget 2027 adopté"
    # "Mis à jour le mardi 2 déc. 2026": midnight in Paris
    assert got.published == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
    assert got.author is None
    assert got.canonical_url == "https://www.ville-bruz.example/actualites/budget-2027"
    assert got.text.startswith("Réuni lundi soir, le conseil municipal de Bruz")


def test_pdf() -> None:
    got = extract(_doc("deliberation_vitre.pdf", "application/pdf"))
    assert got.title == "Délibération n° 2026-118 : aide au pôle d'échanges de Vitré"
    assert got.author == "Conseil départemental d'Ille-et-Vilaine"
    assert got.published == datetime(2026, 11, 24, 15, 20, tzinfo=UTC)
    assert got.language == "fr"
    assert "subvention de 1,2 million" in got.text


def test_text_file_as_it_is() -> None:
    got = extract(_doc("compte_rendu.txt", None, url="/srv/veille/compte_rendu.txt"))
    assert got.title == "Compte rendu de la commission transports"
    assert got.text.startswith("La commission transports du conseil départemental")
    assert got.canonical_url == "/srv/veille/compte_rendu.txt"


def test_page_without_text_is_an_error_naming_it() -> None:
    with pytest.raises(ExtractionError, match=r"^https://exemple.fr/empty_page.html: no text"):
        extract(_doc("empty_page.html", "text/html"))


def test_undecodable_bytes_are_an_error() -> None:
    body = "Le conseil régional a voté.".encode("utf-16")[2:]
    document = Document(source_id=1, kind="document", url="https://x.fr/a.txt", fetched_at=NOW,
                        body=body, content_type="text/plain")  # fmt: skip
    with pytest.raises(ExtractionError, match="undecodable"):
        extract(document)


def test_feed_entry_full_content_preferred_to_page_and_summary() -> None:
    entry = {
        "title": "Saint-Malo : le TER vers Rennes renforcé",
        "summary": "<p>Résumé court.</p>",
        "content": [{"type": "text/html", "value": "<p>Texte intégral de la dépêche.</p>"
                     "<p>Deuxième paragraphe sur la ligne Rennes – Saint-Malo.</p>"}],
        "published_parsed": datetime(2026, 12, 1, 17, 5).timetuple(),
        "author": "Rédaction",
    }  # fmt: skip
    page = _doc("ouest_rennes_metro.html", "text/html", url="https://flux.example/a?xtor=RSS-3",
                entry=entry)  # fmt: skip
    got = extract(page)
    assert got.text == (
        "Texte intégral de la dépêche.\n\nDeuxième paragraphe sur la ligne Rennes – Saint-Malo."
    )
    assert got.title == "Saint-Malo : le TER vers Rennes renforcé"  # the entry's title
    assert got.published == datetime(2026, 12, 1, 17, 5, tzinfo=UTC)  # feedparser: UTC
    assert got.summary == "Résumé court."
    # the page fetched still gives its canonical address and author
    assert got.author == "Claire Le Goff"
    assert got.canonical_url.startswith("https://www.echo-ille-et-vilaine.fr/rennes/metro-")

    no_content = {k: v for k, v in entry.items() if k != "content"}
    got = extract(_doc("ouest_rennes_metro.html", "text/html", entry=no_content))
    assert got.text.startswith("Le conseil métropolitain")  # the page, not the summary
    only_summary = Document(source_id=1, kind="article", url="https://flux.example/b",
                            fetched_at=NOW, entry=no_content)  # fmt: skip
    assert extract(only_summary).text == "Résumé court."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 décembre 2026", datetime(2026, 12, 1, 23, 0, tzinfo=UTC)),
        ("1er mars 2026 à 14h30", datetime(2026, 3, 1, 13, 30, tzinfo=UTC)),
        ("02/12/2026", datetime(2026, 12, 1, 23, 0, tzinfo=UTC)),
        ("mardi 2 déc. 2026", datetime(2026, 12, 1, 23, 0, tzinfo=UTC)),
        ("Publié le 14 juillet 2026 à 9h05", datetime(2026, 7, 14, 7, 5, tzinfo=UTC)),
        ("le 3 sept. 2026, 18:45", datetime(2026, 9, 3, 16, 45, tzinfo=UTC)),
        ("Tue, 02 Dec 2026 08:30:00 +0100", datetime(2026, 12, 2, 7, 30, tzinfo=UTC)),
        ("Wed, 02 Dec 2026 08:30:00 GMT", datetime(2026, 12, 2, 8, 30, tzinfo=UTC)),
        ("2026-12-02T08:30:00+01:00", datetime(2026, 12, 2, 7, 30, tzinfo=UTC)),
        ("2026-12-02T08:30:00Z", datetime(2026, 12, 2, 8, 30, tzinfo=UTC)),
        ("2026-07-14T10:00:00", datetime(2026, 7, 14, 8, 0, tzinfo=UTC)),  # no zone: Paris
        ("31 février 2026", None),
        ("bientôt", None),
    ],
)
def test_french_dates(text: str, expected: datetime | None) -> None:
    assert parse_date(text) == expected


_MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"]  # fmt: skip
_ABBREVIATIONS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                  "oct.", "nov.", "déc."]  # fmt: skip
_moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31))


@given(_moments.map(lambda d: d.replace(second=0, microsecond=0)), st.integers(0, 3))
def test_date_parser_reads_every_french_form(moment: datetime, form: int) -> None:
    day = "1er" if moment.day == 1 else str(moment.day)
    text = [
        f"{day} {_MONTHS[moment.month - 1]} {moment.year} à {moment.hour}h{moment.minute:02d}",
        f"{moment.day:02d}/{moment.month:02d}/{moment.year} {moment.hour:02d}:{moment.minute:02d}",
        f"le {moment.day} {_ABBREVIATIONS[moment.month - 1]} {moment.year}, "
        f"{moment.hour:02d}:{moment.minute:02d}",
        moment.isoformat(),
    ][form]
    assert parse_date(text) == to_utc(moment, tz=PARIS)


@given(_moments, st.integers(-12 * 60, 14 * 60))
def test_date_parser_reads_zoned_feed_dates(moment: datetime, minutes: int) -> None:
    from datetime import timezone

    zoned = moment.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes)))
    assert parse_date(zoned.isoformat()) == zoned
    assert parse_date(format_datetime(zoned)) == zoned


_names = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8).filter(
    lambda k: (
        not k.startswith(("utm_", "pk_", "mtm_", "hsa_"))
        and k not in {"xtor", "fbclid", "gclid", "xts", "ito", "ocid"}
    )
)
_params = st.dictionaries(_names, st.text("abcdefghij0123456789-", max_size=6), max_size=5)
_hosts = st.from_regex(r"[a-z]{1,10}(\.[a-z]{1,8}){1,2}", fullmatch=True)
_paths = st.from_regex(r"(/[a-z0-9\-]{1,10}){0,4}/?", fullmatch=True)


@given(_hosts, _paths, _params, st.booleans())
def test_canonical_address_ignores_tracking_order_case_and_fragment(
    host: str, path: str, params: dict[str, str], https: bool
) -> None:
    scheme = "https" if https else "http"
    clean = canonical_url(f"{scheme}://{host}{path}?{urlencode(params)}")
    assert canonical_url(clean) == clean  # a fixed point
    shuffled = dict(reversed(list(params.items())))
    noisy = {
        **shuffled,
        "utm_source": "rss",
        "utm_medium": "feed",
        "fbclid": "IwAR0",
        "xtor": "RSS-1",
    }
    port = ":443" if https else ":80"
    messy = f"{scheme.upper()}://{host.upper()}{port}{path}?{urlencode(noisy)}#commentaires"
    assert canonical_url(messy) == clean
    assert "#" not in clean and "utm_" not in clean and "fbclid" not in clean


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=1500),
        st.text(max_size=1500).map(lambda t: ("<html><body><p>" + t).encode("utf-8", "replace")),
    ),
    st.sampled_from(
        [None, "text/html", "application/pdf", "text/plain", "text/html; charset=klingon"]
    ),
    st.sampled_from(["https://x.fr/a", "https://x.fr/a.pdf", "/srv/veille/a.txt"]),
)
def test_bad_bytes_give_a_text_or_an_extraction_error(
    body: bytes, content_type: str | None, url: str
) -> None:
    """Whatever a source sends, extraction keeps a text or says why not: never a crash."""
    document = Document(source_id=1, kind="document", url=url, fetched_at=NOW, body=body,
                        content_type=content_type)  # fmt: skip
    try:
        got = extract(document)
    except ExtractionError as exc:
        assert str(exc).startswith(url)
    else:
        assert got.text.strip()
