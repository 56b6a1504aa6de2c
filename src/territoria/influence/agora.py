"""The HATVP register of interest representatives (AGORA): its vocabulary, its scope since the
loi 3DS, the exercise's figures, and the annual activity report built from the actions log.

Sources of the lists below (labels kept exactly as the register writes them, accents included,
so that a report can be pasted into the register or compared with its open data):

- the open data of the register, ``https://www.hatvp.fr/agora/opendata/agora_repertoire_opendata.json``
  and its CSV views ``https://www.hatvp.fr/agora/opendata/csv/Vues_Separees_CSV.zip`` (Licence
  Ouverte): fields ``exercices[].publicationCourante`` (``dateDebut``, ``dateFin``,
  ``montantDepense``, ``nombreSalaries``, ``chiffreAffaire``, ``nombreActivite``,
  ``activites[].publicationCourante`` with ``identifiantFiche``, ``objet``,
  ``domainesIntervention`` and ``actionsRepresentationInteret[]``: ``reponsablesPublics`` (sic),
  ``decisionsConcernees``, ``actionsMenees``, ``tiers``, ``observation``) and ``clients[]``
  (``denomination``, ``identifiantNational``), as public repositories reading that file use them;
- décret n° 2017-867 du 9 mai 2017 relatif au répertoire numérique des représentants d'intérêts
  (Légifrance JORFTEXT000034633293): the information declared per exercise;
- article 18-2 of loi n° 2013-907 du 11 octobre 2013 as amended by loi n° 2022-217 du 21 février
  2022 (3DS), in force since 1 July 2022: the local officials covered are the présidents,
  vice-présidents and conseillers délégués of régions and départements (and of the collectivities
  that exercise their competences), and the maires, adjoints and conseillers délégués of communes,
  the présidents, vice-présidents and conseillers délégués of EPCI à fiscalité propre, of more than
  100,000 inhabitants, and their cabinets (HATVP, "les responsables publics et les décisions
  publiques"; commentary of the extension, Seban Avocats, 12 July 2022).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

import duckdb

__all__ = [
    "ACTION_TYPES",
    "ACTION_TYPE_ALIASES",
    "CATEGORIES",
    "DECISION_TYPES",
    "DECISION_TYPE_ALIASES",
    "LOCAL_SCOPE_START",
    "POPULATION_THRESHOLD",
    "RULES",
    "SPEND_BRACKETS",
    "TURNOVER_BRACKETS",
    "Coverage",
    "coverage",
    "coverage_pairs",
    "spend_bracket",
    "turnover_bracket",
]

#: The register's "actions menées" (open data, field ``actionsMenees``).
ACTION_TYPES: dict[str, str] = {
    "meeting": "Organiser des discussions informelles ou des réunions en tête-à-tête",
    "third_party_meeting": (
        "Convenir pour un tiers d'une entrevue avec le titulaire d'une charge publique"
    ),
    "event": (
        "Inviter ou organiser des évènements, des rencontres ou des activités promotionnelles"
    ),
    "correspondence": "Etablir une correspondance régulière (par courriel, par courrier…)",
    "petition": "Envoyer des pétitions, lettres ouvertes, tracts",
    "public_campaign": (
        "Organiser des débats publics, des marches, des stratégies d'influence sur internet"
    ),
    "hearing": (
        "Organiser des auditions, des consultations formelles sur des actes législatifs ou "
        "d'autres consultations ouvertes"
    ),
    "information": (
        "Transmettre aux décideurs publics des informations, expertises dans un objectif de "
        "conviction"
    ),
    "drafting": (
        "Transmettre des suggestions afin d'influencer la rédaction d'une décision publique"
    ),
    "other": "Autres : à préciser",
}
#: Types of the log before the register's vocabulary: the official type each is recorded as,
#: and the words kept as the action's ``type_detail`` (migration 0011 does the same).
ACTION_TYPE_ALIASES: dict[str, tuple[str, str]] = {
    "call": ("meeting", "Téléphoner"),
    "email": ("correspondence", "Courriel"),
    "letter": ("correspondence", "Lettre"),
    "consultation": ("information", "Répondre à une consultation publique"),
}
#: The register's "décisions concernées" (open data, field ``decisionsConcernees``; the
#: contracts are those of décret n° 2017-867).
DECISION_TYPES: dict[str, str] = {
    "law": "Lois, y compris constitutionnelles",
    "ordinance": "Ordonnances de l'article 38 de la Constitution",
    "regulatory": "Actes réglementaires",
    "individual": "Décisions d'espèce",
    "public_procurement": "Marchés publics d'une valeur supérieure aux seuils européens",
    "concession": "Contrats de concession d'une valeur supérieure aux seuils européens",
    "state_property_sale": (
        "Contrats de cession d'un bien du domaine privé de l'État ou de ses établissements publics"
    ),
    "long_lease": "Baux emphytéotiques administratifs",
    "public_domain_occupation": (
        "Contrats valant autorisation temporaire d'occupation du domaine public"
    ),
    "sem": "Délibérations approuvant la constitution d’une société d’économie mixte",
    "other": "Autres décisions publiques",
}
DECISION_TYPE_ALIASES: dict[str, str] = {"legislative": "law", "contract": "public_procurement"}

#: The register's categories of public officials ("responsables publics"), as its CSV views of
#: 2026 write them. Deputies and senators are one category.
CATEGORIES: dict[str, str] = {
    "parliament": (
        "Député, sénateur, collaborateur du Président de l'Assemblée nationale ou du Président du "
        "Sénat, d'un député, d'un sénateur ou d'un groupe parlementaire, agents des services des "
        "assemblées parlementaires"
    ),
    "government": "Membre du Gouvernement ou membre de cabinet ministériel",
    "president": "Collaborateur du Président de la République",
    "government_appointee": "Titulaire d'un emploi à la décision du Gouvernement",
    "independent_authority": (
        "Directeur ou secrétaire général, ou leur adjoint, ou membre du collège ou d'une "
        "commission des sanctions d'une autorité administrative ou publique indépendante"
    ),
    "state_agent": "Agent de l'État",
    "local_elected": "Élu ou membre de cabinet d'une collectivité territoriale",
    "local_agent": "Agent d'une collectivité territoriale",
    "hospital_agent": "Agent d'un centre hospitalier",
}

#: Local officials are covered for the actions from this day on (loi 3DS, art. 117).
LOCAL_SCOPE_START = date(2022, 7, 1)
#: Communes and EPCI are covered above this population ("plus de 100 000 habitants").
POPULATION_THRESHOLD = 100_000

# The State's services of the influence graph (organisation kinds of part B): préfets, recteurs
# and directeurs généraux d'ARS are appointed in the Council of Ministers (emplois à la décision
# du Gouvernement, art. 18-2 4°); the directors of DREAL, agences de l'eau, ADEME and ANCT are
# State agents, covered for the posts the décret under art. 25 nonies of loi n° 83-634 lists (7°).
_STATE_KINDS: dict[str, str] = {
    "prefecture": "government_appointee",
    "prefecture_region": "government_appointee",
    "rectorat": "government_appointee",
    "ars": "government_appointee",
    "dreal": "state_agent",
    "agence_eau": "state_agent",
    "ademe": "state_agent",
    "anct": "state_agent",
}
_OUT_OF_REGISTER: dict[str, str] = {
    "parlement_europeen": (
        "député européen : hors du répertoire français (registre de transparence de l'Union "
        "européenne)"
    ),
    "commission_europeenne": (
        "institution de l'Union européenne : hors du répertoire français (registre de "
        "transparence de l'Union européenne)"
    ),
    "bpifrance": "Bpifrance est une société anonyme : ses salariés ne sont pas des responsables "
    "publics au sens de l'article 18-2",
    "sncf_reseau": "SNCF Réseau est une société anonyme : ses dirigeants ne figurent pas parmi "
    "les responsables publics de l'article 18-2",
    "idfm": "Île-de-France Mobilités : rencontrer l'élue ou l'élu qui la préside (présidence de "
    "la région), non l'établissement",
}


def _fmt(amount: int) -> str:
    """12500000 → '12 500 000' (the register's thousands separator is a plain space)."""
    return f"{amount:,}".replace(",", " ")


def _brackets(bounds: Iterable[tuple[int, int]], top: int) -> list[tuple[int, str]]:
    first = next(iter(bounds))
    return (
        [(0, f"< {_fmt(first[0])} euros")]
        + [(low, f"> = {_fmt(low)} euros et < {_fmt(high)} euros") for low, high in bounds]
        + [(top, f"> = {_fmt(top)} euros")]
    )


#: Open-data labels of the spend brackets ("montantDepense"), lower bound inclusive, euros.
SPEND_BRACKETS = _brackets(
    [(10_000, 25_000), (25_000, 50_000), (50_000, 75_000), (75_000, 100_000)]
    + [(n * 100_000, (n + 1) * 100_000) for n in range(1, 10)]
    + [(n * 250_000, (n + 1) * 250_000) for n in range(4, 40)],
    10_000_000,
)
#: Open-data labels of the turnover brackets ("chiffreAffaire").
TURNOVER_BRACKETS = _brackets([(100_000, 500_000), (500_000, 1_000_000)], 1_000_000)


def _bracket(brackets: list[tuple[int, str]], amount: float) -> str:
    label = brackets[0][1]
    for low, text in brackets:
        if amount >= low:
            label = text
    return label


def spend_bracket(amount: float) -> str:
    """The register's spend bracket of an amount in euros (``montantDepense``)."""
    return _bracket(SPEND_BRACKETS, amount)


def turnover_bracket(amount: float) -> str:
    """The register's turnover bracket of an amount in euros (``chiffreAffaire``)."""
    return _bracket(TURNOVER_BRACKETS, amount)


@dataclass(frozen=True)
class Coverage:
    """Whether meeting an actor is declared in the register, under which category, and why."""

    actor: str
    category: str | None
    #: why, for this actor ("maire (Conseil municipal de Bruz) : commune de 18 266 habitants …")
    reason: str
    #: the general rule that leaves it out, the same for every actor it applies to
    rule: str = ""

    @property
    def covered(self) -> bool:
        """Whether the action is declared."""
        return self.category is not None


_NOT_OFFICIAL = "pas un responsable public (acteur du réseau, entreprise, association)"
RULES = {
    "small": "maire, adjoint, président ou vice-président d'une commune ou d'une "
    "intercommunalité de 100 000 habitants ou moins : hors du champ du répertoire (loi 3DS)",
    "before": "élu local rencontré avant le 1er juillet 2022 (entrée des élus locaux dans le "
    "répertoire)",
    "plain": "élu sans fonction exécutive dans la source (seuls les exécutifs et les élus "
    "titulaires d'une délégation sont des responsables publics)",
    "none": "aucun mandat en cours à la date de l'action dans la source",
    "population": "population de la commune ou de l'intercommunalité inconnue",
}
_LOCAL_FUNCTIONS = {"PRE": "président", "VPE": "vice-président"}
_COMMUNE_FUNCTIONS = {"MAI": "maire", "ADJ": "adjoint", "MDA": "maire délégué"}


def coverage(con: duckdb.DuckDBPyConnection, actors: list[str], *, on: date) -> dict[str, Coverage]:
    """The register's treatment of meeting each of ``actors`` on day ``on``.

    A person is covered by the first of her mandates in force that day which the register
    covers: deputy or senator; président or vice-président of a région, a département or a
    collectivity exercising their competences (Métropole de Lyon, CeA, Corse, CTM, CTG,
    Mayotte); maire, adjoint or maire délégué of a commune, président or vice-président of an
    EPCI, above 100,000 inhabitants (``territory.population``, of the census year
    ``territory.population_year``); local officials only from 1 July 2022. A council or a State
    service met as such is covered as its executive or director is. Plain councillors are not
    (the source does not tell the conseillers délégués, who are covered, from the others);
    MEPs and the European Commission are outside the French register.
    """
    found = coverage_pairs(con, [(actor, on) for actor in actors])
    return {actor: found[(actor, on)] for actor in actors}


def coverage_pairs(
    con: duckdb.DuckDBPyConnection, pairs: Iterable[tuple[str, date]]
) -> dict[tuple[str, date], Coverage]:
    """:func:`coverage` of many (actor, day) pairs at once (four queries in all)."""
    wanted = set(pairs)
    actors = sorted({actor for actor, _ in wanted})
    found = _persons(con, actors, wanted)
    persons = {actor for actor, _ in found}
    bodies = _bodies(con, [a for a in actors if a not in persons])
    for actor, day in wanted:
        if (actor, day) in found:
            continue
        body = bodies.get(actor)
        if body is None:
            found[(actor, day)] = Coverage(actor, None, _NOT_OFFICIAL, _NOT_OFFICIAL)
        else:
            found[(actor, day)] = body(day)
    return found


_MANDATES = """
SELECT m.person_id, m.start_date, m.end_date, m.role, m.function_code, o.kind, o.name,
       t.population, t.population_year, o.level
FROM mandate m JOIN organisation o ON o.id = m.organisation_id
LEFT JOIN territory t ON t.level = o.level AND t.code = o.code
WHERE m.person_id IN (SELECT unnest(?::VARCHAR[]))
ORDER BY m.person_id, m.id
"""


def _persons(
    con: duckdb.DuckDBPyConnection, actors: list[str], wanted: set[tuple[str, date]]
) -> dict[tuple[str, date], Coverage]:
    first = dict(
        con.execute(
            "SELECT p.id, min(m.start_date) FROM person p LEFT JOIN mandate m "
            "ON m.person_id = p.id WHERE p.id IN (SELECT unnest(?::VARCHAR[])) GROUP BY p.id",
            [actors],
        ).fetchall()
    )
    mandates: dict[str, list[tuple[Any, ...]]] = {}
    for row in con.execute(_MANDATES, [sorted(first)]).fetchall():
        mandates.setdefault(str(row[0]), []).append(row)
    result: dict[tuple[str, date], Coverage] = {}
    for person, on in wanted:
        if person in first:
            result[(person, on)] = _person_on(person, mandates.get(person, []), first[person], on)
    return result


def _person_on(
    person: str, mandates: list[tuple[Any, ...]], first: date | None, on: date
) -> Coverage:
    options = [
        _mandate_coverage(person, str(role), function, str(kind), str(body), pop, year, level, on)
        for _, start, end, role, function, kind, body, pop, year, level in mandates
        if (start is None or start <= on) and (end is None or end >= on)
    ]
    covered = [c for c in options if c.covered]
    if covered:
        return covered[0]
    if options:
        # say why the most relevant mandate is left out: an executive one before a seat
        return min(options, key=lambda c: c.rule == RULES["plain"])
    since = f" (ses mandats dans la source commencent le {first:%d/%m/%Y})" if first else ""
    reason = f"aucun mandat en cours le {on:%d/%m/%Y} dans la source{since}"
    return Coverage(person, None, reason, RULES["none"])


def _mandate_coverage(
    person: str,
    role: str,
    function: str | None,
    kind: str,
    body: str,
    population: int | None,
    year: int | None,
    level: str | None,
    on: date,
) -> Coverage:
    if role in ("député", "sénateur"):
        return Coverage(person, CATEGORIES["parliament"], f"{role} ({body})")
    if role == "député européen":
        out = _OUT_OF_REGISTER["parlement_europeen"]
        return Coverage(person, None, out, out)
    if kind in ("conseil_regional", "conseil_departemental") and function in _LOCAL_FUNCTIONS:
        return _local(person, f"{_LOCAL_FUNCTIONS[function]} ({body})", on)
    functions = _COMMUNE_FUNCTIONS if kind == "conseil_municipal" else _LOCAL_FUNCTIONS
    if kind in ("conseil_municipal", "conseil_communautaire") and function in functions:
        what = f"{functions[function]} ({body})"
        return _sized(person, what, population, year, level, on)
    return Coverage(person, None, f"{role} sans fonction exécutive ({body})", RULES["plain"])


def _local(actor: str, what: str, on: date) -> Coverage:
    if on < LOCAL_SCOPE_START:
        return Coverage(actor, None, f"{what}, rencontré le {on:%d/%m/%Y}", RULES["before"])
    return Coverage(actor, CATEGORIES["local_elected"], what)


def _sized(
    actor: str, what: str, population: int | None, year: int | None, level: str | None, on: date
) -> Coverage:
    place = "commune" if level == "commune" else "intercommunalité"
    if population is None:
        return Coverage(actor, None, f"{what} : population inconnue", RULES["population"])
    count = f"{_fmt(int(population))} habitants" + (f" (population {year})" if year else "")
    if population <= POPULATION_THRESHOLD:
        return Coverage(actor, None, f"{what} : {place} de {count}", RULES["small"])
    return _local(actor, f"{what}, {count}", on)


def _bodies(
    con: duckdb.DuckDBPyConnection, actors: list[str]
) -> dict[str, Callable[[date], Coverage]]:
    """For each organisation among ``actors``, its coverage as a function of the day."""
    rows = con.execute(
        "SELECT o.id, o.kind, o.name, t.population, t.population_year, o.level "
        "FROM organisation o LEFT JOIN territory t ON t.level = o.level AND t.code = o.code "
        "WHERE o.id IN (SELECT unnest(?::VARCHAR[]))",
        [actors],
    ).fetchall()
    return {
        str(oid): partial(_body_coverage, str(oid), str(kind), str(name), population, year, level)
        for oid, kind, name, population, year, level in rows
    }


def _body_coverage(
    oid: str,
    kind: str,
    name: str,
    population: int | None,
    year: int | None,
    level: str | None,
    on: date,
) -> Coverage:
    if kind in ("assemblee_nationale", "senat"):
        return Coverage(oid, CATEGORIES["parliament"], name)
    if kind in _OUT_OF_REGISTER:
        return Coverage(oid, None, _OUT_OF_REGISTER[kind], _OUT_OF_REGISTER[kind])
    if kind in _STATE_KINDS:
        return Coverage(oid, CATEGORIES[_STATE_KINDS[kind]], name)
    if kind in ("conseil_regional", "conseil_departemental"):
        return _local(oid, name, on)
    if kind in ("conseil_municipal", "conseil_communautaire"):
        return _sized(oid, name, population, year, level, on)
    return Coverage(oid, None, f"{name} ({kind})", _NOT_OFFICIAL)
