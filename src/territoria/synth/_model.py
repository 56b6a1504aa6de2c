"""Parameters of the synthetic economy: sector weights, urbanity, sizes, planted themes.

The figures are rough orders of magnitude of the French register (share of establishments by
NAF division, which activities favour dense or sparse communes, which ones employ more people);
they make the synthetic file look plausible, nothing more. They are not statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Share (in %) of the establishments of each NAF division in the background economy; the
#: divisions not listed get 0.05.
DIVISION_WEIGHTS: dict[str, float] = {
    "01": 4.0,
    "02": 0.3,
    "03": 0.2,
    "10": 0.8,
    "11": 0.15,
    "13": 0.15,
    "14": 0.3,
    "16": 0.3,
    "18": 0.3,
    "20": 0.1,
    "22": 0.1,
    "23": 0.3,
    "25": 0.6,
    "26": 0.1,
    "27": 0.08,
    "28": 0.2,
    "31": 0.2,
    "32": 0.5,
    "33": 0.6,
    "35": 1.0,
    "38": 0.15,
    "41": 2.5,
    "42": 0.2,
    "43": 7.0,
    "45": 1.8,
    "46": 4.0,
    "47": 9.0,
    "49": 2.5,
    "52": 0.4,
    "53": 0.8,
    "55": 0.8,
    "56": 4.0,
    "58": 0.3,
    "59": 0.5,
    "61": 0.1,
    "62": 2.0,
    "63": 0.4,
    "64": 1.5,
    "65": 0.1,
    "66": 1.0,
    "68": 10.0,
    "69": 1.2,
    "70": 5.0,
    "71": 1.5,
    "72": 0.2,
    "73": 0.5,
    "74": 2.5,
    "75": 0.3,
    "77": 0.4,
    "78": 0.1,
    "79": 0.2,
    "80": 0.1,
    "81": 1.0,
    "82": 1.5,
    "84": 1.0,
    "85": 3.0,
    "86": 5.0,
    "87": 0.3,
    "88": 1.2,
    "90": 1.5,
    "91": 0.1,
    "93": 1.2,
    "94": 4.0,
    "95": 0.3,
    "96": 4.5,
    "97": 0.3,
}
DEFAULT_WEIGHT = 0.05

#: How much a division favours dense communes (+1) or sparse ones (-1); others 0.
URBANITY: dict[str, float] = {
    "01": -1.0,
    "02": -1.0,
    "03": -0.6,
    "10": -0.3,
    "16": -0.5,
    "35": -0.5,
    "55": -0.1,
    "58": 1.0,
    "59": 1.0,
    "60": 1.0,
    "61": 1.0,
    "62": 1.0,
    "63": 1.0,
    "64": 1.0,
    "66": 1.0,
    "69": 1.0,
    "70": 1.0,
    "73": 1.0,
    "71": 0.6,
    "72": 0.6,
    "74": 0.6,
    "68": 0.4,
    "49": 0.3,
    "86": 0.3,
    "47": 0.2,
    "56": 0.2,
    "85": 0.2,
    "90": 0.4,
    "93": 0.2,
}
#: Strength of the density effect: a division of urbanity 1 is exp(2 * BETA) = 2.7 times more
#: frequent in the densest communes than in the sparsest (standardised log-density in [-2, 2]).
BETA = 0.25

#: Head-count band codes, in SIRENE order.
BANDS = (
    "NN",
    "00",
    "01",
    "02",
    "03",
    "11",
    "12",
    "21",
    "22",
    "31",
    "32",
    "41",
    "42",
    "51",
    "52",
    "53",
)
#: Band distributions: of small-firm activities (retail, personal services, real estate ...),
#: of the others, of industry and public services, and of planted concentrations.
BAND_PROBABILITIES: dict[str, tuple[float, ...]] = {
    "small": (62, 12, 13, 6, 3, 2, 1.2, 0.4, 0.2, 0.05, 0.05, 0.02, 0.01, 0.005, 0.001, 0.0005),
    "medium": (50, 12, 15, 9, 5, 4, 3, 1, 0.6, 0.15, 0.15, 0.06, 0.03, 0.01, 0.002, 0.001),
    "large": (35, 10, 13, 10, 8, 8, 7, 4, 2.5, 0.8, 0.8, 0.4, 0.2, 0.1, 0.02, 0.005),
    "planted": (10, 4, 12, 15, 15, 15, 13, 7, 4, 1.5, 1.5, 0.8, 0.3, 0.1, 0.0, 0.0),
}
SMALL = {"01", "43", "47", "56", "68", "70", "86", "94", "96", "97", "90", "93", "41", "55"}
LARGE_SECTIONS = {"B", "C", "D", "E", "K", "O", "P"}


@dataclass(frozen=True)
class Theme:
    """A family of related activities that a planted concentration gathers."""

    key: str
    label: str
    sectors: tuple[str, ...]  # NAF rev. 2 sous-classes, each in a different NAF group


#: Themes of planted concentrations; no two themes share a NAF group (3-digit level).
THEMES: tuple[Theme, ...] = (
    Theme(
        "numerique",
        "Numérique et cybersécurité",
        ("62.01Z", "62.02A", "63.11Z", "26.11Z", "58.29C"),
    ),
    Theme(
        "agroalimentaire",
        "Agroalimentaire (viandes et lait)",
        ("10.11Z", "10.13A", "10.51A", "46.32A", "28.93Z"),
    ),
    Theme("naval", "Naval et nautisme", ("30.11Z", "30.12Z", "33.15Z", "50.20Z", "52.22Z")),
    Theme("sante", "Santé et biotechnologies", ("21.10Z", "21.20Z", "72.11Z", "32.50A", "46.46Z")),
    Theme(
        "automobile", "Automobile et mobilités", ("29.10Z", "29.32Z", "22.11Z", "25.50A", "45.31Z")
    ),
    Theme(
        "aeronautique",
        "Aéronautique et spatial",
        ("30.30Z", "25.62B", "26.51A", "71.12B", "24.42Z"),
    ),
    Theme("textile", "Textiles techniques", ("13.96Z", "13.20Z", "13.30Z", "14.13Z", "22.21Z")),
    Theme(
        "energies",
        "Énergies marines et renouvelables",
        ("27.11Z", "35.11Z", "42.22Z", "28.11Z", "74.90B"),
    ),
    Theme(
        "images",
        "Images, jeux vidéo et création",
        ("59.11A", "59.20Z", "60.20A", "90.01Z", "74.10Z"),
    ),
    Theme(
        "bois", "Bois et construction durable", ("16.10A", "16.23Z", "31.09B", "43.32A", "02.20Z")
    ),
)
#: Background weight of the themes' activities is cut to this share, so that the planted
#: concentrations stand out the way real clusters do.
THEME_BACKGROUND = 0.3

#: Legal forms of synthetic legal units (categorieJuridiqueUniteLegale) and their shares.
LEGAL_FORMS = (("5710", 0.35), ("5499", 0.25), ("1000", 0.25), ("9220", 0.08), ("6540", 0.07))
