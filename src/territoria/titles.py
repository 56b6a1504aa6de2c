"""Titles of elected officials in the person's gender, as French administration writes them.

The knowledge base keeps neutral keys (``role = 'sénateur'``, ``function = 'président'``) that
code filters on, and the title to show in ``role_label`` / ``function_label``, chosen from the
sex the source gives (``sexe``: ``F`` or ``M``).
"""

from __future__ import annotations

#: Roles (mandates) and their feminine form.
ROLES_FEMININE: dict[str, str] = {
    "conseiller municipal": "conseillère municipale",
    "conseiller communautaire": "conseillère communautaire",
    "conseiller départemental": "conseillère départementale",
    "conseiller régional": "conseillère régionale",
    "conseiller de Paris": "conseillère de Paris",
    "conseiller d'Alsace": "conseillère d'Alsace",
    "conseiller métropolitain": "conseillère métropolitaine",
    "conseiller à l'Assemblée de Corse": "conseillère à l'Assemblée de Corse",
    "conseiller à l'Assemblée de Martinique": "conseillère à l'Assemblée de Martinique",
    "conseiller à l'Assemblée de Guyane": "conseillère à l'Assemblée de Guyane",
    "député": "députée",
    "sénateur": "sénatrice",
    "député européen": "députée européenne",
}

#: Functions inside a body and their feminine form.
FUNCTIONS_FEMININE: dict[str, str] = {
    "maire": "maire",
    "adjoint au maire": "adjointe au maire",
    "maire délégué": "maire déléguée",
    "président": "présidente",
    "vice-président": "vice-présidente",
    "président du conseil exécutif": "présidente du conseil exécutif",
    "conseiller exécutif": "conseillère exécutive",
    "président de l'assemblée": "présidente de l'assemblée",
}

_ALL = {**ROLES_FEMININE, **FUNCTIONS_FEMININE}


def gendered(label: str | None, sex: str | None) -> str | None:
    """Return ``label`` in the feminine when ``sex`` is ``'F'``, else unchanged.

    >>> gendered("vice-président", "F")
    'vice-présidente'
    >>> gendered("sénateur", "M")
    'sénateur'
    """
    if label is None or sex != "F":
        return label
    return _ALL.get(label, label)


def sql_case(column: str, sex: str, table: dict[str, str]) -> str:
    """A SQL ``CASE`` giving ``column`` in the feminine when ``sex`` is ``'F'``."""

    def quote(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    arms = " ".join(f"WHEN {quote(k)} THEN {quote(v)}" for k, v in table.items())
    return f"CASE WHEN {sex} = 'F' THEN CASE {column} {arms} ELSE {column} END ELSE {column} END"


__all__ = ["FUNCTIONS_FEMININE", "ROLES_FEMININE", "gendered", "sql_case"]
