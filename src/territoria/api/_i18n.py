"""Languages of the pages: French by default, English on request.

Messages are written in French in the templates (``{{ _("Carte") }}``); the English catalogue
``i18n/en.json`` maps each French message to its translation, and a message without one falls
back on French. Numbers and dates follow the language's conventions through Babel
(``66 501 649`` with narrow no-break spaces in French, ``66,501,649`` in English).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any, Final

from territoria import _formats

__all__ = ["LANGUAGES", "Translator", "translator"]

LANGUAGES: Final = ("fr", "en")
_LOCALES: Final = {"fr": "fr_FR", "en": "en_GB"}
#: Display names of levels, roles and statuses.
_LABELS: Final = {
    "fr": {
        "region": "Région",
        "departement": "Département",
        "epci": "EPCI",
        "commune": "Commune",
        "canton": "Canton",
        "circonscription": "Circonscription législative",
        "arrondissement_municipal": "Arrondissement municipal",
        "commune_deleguee": "Commune déléguée",
        "commune_associee": "Commune associée",
        "admin": "administrateur",
        "analyst": "analyste",
        "viewer": "lecteur",
        # action types, outcomes and decision types of the actions log
        "meeting": "Rencontre",
        "letter": "Courrier",
        "event": "Événement",
        "petition": "Pétition",
        "consultation": "Réponse à consultation",
        "call": "Appel",
        "email": "Courriel",
        "positive": "positif",
        "neutral": "neutre",
        "negative": "négatif",
        "unknown": "inconnu",
        "legislative": "législative",
        "regulatory": "réglementaire",
        "individual": "individuelle",
        "contract": "contrat",
        "other": "autre",
        # the register's (AGORA) types of action and decision, short (influence.agora)
        "third_party_meeting": "Entrevue pour un tiers",
        "correspondence": "Correspondance",
        "public_campaign": "Débat public, campagne",
        "hearing": "Audition, consultation formelle",
        "information": "Informations, expertise",
        "drafting": "Suggestions de rédaction",
        "law": "loi",
        "ordinance": "ordonnance",
        "public_procurement": "marché public",
        "concession": "concession",
        "state_property_sale": "cession du domaine privé de l'État",
        "long_lease": "bail emphytéotique administratif",
        "public_domain_occupation": "occupation du domaine public",
        "sem": "société d'économie mixte",
    },
    "en": {
        "region": "Region",
        "departement": "Département",
        "epci": "EPCI (inter-municipality)",
        "commune": "Municipality",
        "canton": "Canton",
        "circonscription": "Parliamentary constituency",
        "arrondissement_municipal": "Municipal arrondissement",
        "commune_deleguee": "Delegated commune",
        "commune_associee": "Associated commune",
        "admin": "administrator",
        "analyst": "analyst",
        "viewer": "viewer",
        "meeting": "Meeting",
        "letter": "Letter",
        "event": "Event",
        "petition": "Petition",
        "consultation": "Consultation response",
        "call": "Call",
        "email": "E-mail",
        "positive": "positive",
        "neutral": "neutral",
        "negative": "negative",
        "unknown": "unknown",
        "legislative": "legislative",
        "regulatory": "regulatory",
        "individual": "individual",
        "contract": "contract",
        "other": "other",
        "third_party_meeting": "Meeting arranged for a third party",
        "correspondence": "Correspondence",
        "public_campaign": "Public debate, campaign",
        "hearing": "Hearing, formal consultation",
        "information": "Information, expertise",
        "drafting": "Drafting suggestions",
        "law": "law",
        "ordinance": "ordinance",
        "public_procurement": "public procurement",
        "concession": "concession",
        "state_property_sale": "sale of State private property",
        "long_lease": "administrative long lease",
        "public_domain_occupation": "public domain occupation",
        "sem": "semi-public company",
    },
}
#: Display names of the kinds of territories as the source codes them (INSEE's TYPECOM,
#: BANATIC's nature juridique of EPCI, INSEE's TYPECT of cantons); empty when the level says it.
_KINDS: Final = {
    "fr": {
        "COM": "",
        "ARM": "",
        "COMD": "",
        "COMA": "",
        "SRM": "",
        "CC": "communauté de communes",
        "CA": "communauté d'agglomération",
        "CU": "communauté urbaine",
        "ME": "métropole",
        "METRO": "métropole",
        "MET69": "métropole",
        "C": "",
        "V": "canton-ville",
        "N": "canton fictif",
    },
    "en": {
        "COM": "",
        "ARM": "",
        "COMD": "",
        "COMA": "",
        "SRM": "",
        "CC": "communauté de communes (rural inter-municipality)",
        "CA": "communauté d'agglomération (urban inter-municipality)",
        "CU": "communauté urbaine (large urban inter-municipality)",
        "ME": "métropole (metropolitan authority)",
        "METRO": "métropole (metropolitan authority)",
        "MET69": "métropole (metropolitan authority)",
        "C": "",
        "V": "city canton",
        "N": "notional canton",
    },
}


@cache
def _catalogue(language: str) -> dict[str, str]:
    if language == "fr":
        return {}
    # {language}.json, then one file per capability ({language}.peers.json, …) merged over it.
    folder = resources.files("territoria.api") / "i18n"
    data: dict[str, str] = json.loads((folder / f"{language}.json").read_text(encoding="utf-8"))
    prefix = f"{language}."
    extra = sorted(
        (f for f in folder.iterdir() if f.name.startswith(prefix) and f.name.count(".") == 2),
        key=lambda f: f.name,
    )
    for part in extra:
        data.update(json.loads(part.read_text(encoding="utf-8")))
    return data


class Translator:
    """Translate messages and format numbers and dates for one language."""

    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "fr"
        self.locale = _LOCALES[self.language]
        self._messages = _catalogue(self.language)

    def gettext(self, message: str, **values: Any) -> str:
        """Return ``message`` in this language, with ``{name}`` placeholders filled in."""
        text = self._messages.get(message, message)
        return text.format(**values) if values else text

    def label(self, key: str) -> str:
        """Return the display name of a level, role or status key (the key if unknown)."""
        return _LABELS[self.language].get(key, key)

    def kind(self, key: str | None) -> str:
        """Return the display name of a territory's kind (``ME``: métropole), or ``""`` when
        its level already says it (``COM``) or the kind is unknown."""
        return _KINDS[self.language].get(key or "", "")

    def number(self, value: float | int | None, digits: int = 0) -> str:
        """Format a number: ``66 501 649`` in French; ``–`` when there is none."""
        return _formats.number(value, self.locale, digits)

    def date(self, value: date | datetime | str | None) -> str:
        """Format a date in full: ``27 novembre 2026``."""
        return _formats.long_date(value, self.locale)

    def messages_for_js(self, keys: list[str]) -> dict[str, str]:
        """Return the translations of ``keys`` for the page's scripts."""
        return {k: self.gettext(k) for k in keys}


@cache
def translator(language: str) -> Translator:
    """Return the (shared) translator of ``language``."""
    return Translator(language)
