"""Import indicator tables (INSEE and alike) into the knowledge base.

Two layouts are read, with ``;``, ``,``, tab or ``|`` separators (guessed from the header line
unless given) and decimal commas (``12,5``) or points:

**Long** — one value per line, with a header naming the columns (any case)::

    territory_code;indicator;period;value;unit
    35238;P_POP;2021;222485;habitants

``unit``, ``level`` (the territory's level, e.g. ``commune``) and ``label`` (the indicator's
label) are optional columns. ``period`` may be left out (or empty) when a default period is
given.

**Wide** — one line per territory and one column per indicator, as INSEE publishes its tables::

    CODGEO;LIBGEO;P21_POP;P15_POP;C21_ACT1564
    35238;Rennes;222485;216268;108000

The territory code column is found by name (``CODGEO``, ``CODE``, ``territory_code``,
``DEPCOM`` or ``COM``, any case) or given. INSEE's identifier and label columns (``LIBGEO``,
``REG``, ``DEP``, ``EPCI`` ... and every column whose name starts with ``LIB``) are not
indicators and are skipped; ``columns`` picks the indicator columns explicitly. Each column's
period comes from its name:

- ``P21_POP`` → indicator ``P_POP``, period ``2021`` (INSEE's letters, two-digit year, ``_``,
  variable; years after next year are read as 19xx, so ``D68_POP`` is 1968);
- ``POP_2021`` or ``POP2021`` → indicator ``POP``, period ``2021`` (a year up to next year);
- any other name (``MED21``, ``SUPERF``) is the indicator code as is, with the default period
  given by the caller (``--period``); without it, such a column is an error.

Empty cells of a wide file mean "no value" and are skipped.

**Territories**: a code is looked up at the level given (per line in a ``level`` column, or for
the whole file); otherwise at every level, and a code found at several levels takes the level of
lowest ``level.rank`` (``53`` is the département Mayenne before the région Bretagne): the report
counts such codes, pass the level to be explicit.

**Validation** happens before anything is written: unknown territory codes or levels, empty or
non-numeric values, duplicate (territory, indicator, period) keys and missing columns are all
collected and raised together as one :class:`~territoria.errors.ValidationError` carrying the
file line numbers (line 1 is the header; a quoted value spanning several lines counts as one).

**Replacement**: the values are staged in temporary tables, then swapped in one transaction
(see :mod:`territoria.sources._framework`), which also records the audit row
``import.indicators``. Importing again under the same source name
replaces every value of that source's previous import. A value of the same (territory,
indicator, period) already imported from *another* source is replaced too: the latest import of
a figure wins, and its ``source_id`` says where it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from territoria.errors import (
    EmptyKnowledgeBase,
    SourceError,
    UnknownLevel,
    ValidationError,
)
from territoria.kb.audit import record
from territoria.sources._csv import (
    _Dialect,
    _dialect,
    _find,
    _missing,
    _physical_lines,
    _read,
    check_file,
)
from territoria.sources._framework import (
    Progress,
    SourceRecord,
    Staging,
    StepTimer,
    Swap,
)

#: Names of the territory code column of a wide file, by preference (compared in lower case).
CODE_COLUMNS = ("codgeo", "code", "territory_code", "depcom", "com")
#: Identifier and label columns of INSEE wide files that are not indicators (lower case).
_LABELS = frozenset({"level", "libgeo", "libelle", "nom", "name"})
_GEOGRAPHY = frozenset({"reg", "dep", "arr", "cv", "epci", "nature_epci", "typ_epci"})
_ZONINGS = frozenset(
    {"ze2020", "uu2020", "aav2020", "cateaav2020", "tuu2017", "tduu2017", "bv2022"}
)
ID_COLUMNS = frozenset(CODE_COLUMNS) | _LABELS | _GEOGRAPHY | _ZONINGS
#: How many problems a validation error spells out (all are counted).
MAX_PROBLEMS = 20

_YEAR_IN_PREFIX = re.compile(r"^(?P<prefix>[A-Za-z]+)(?P<yy>\d{2})_(?P<rest>\w+)$")
_YEAR_SUFFIX = re.compile(r"^(?P<name>[A-Za-z]\w*?)_?(?P<year>(?:19|20)\d{2})$")
#: Prefix of the temporary tables (and the view ``ind_rows``) of an import, dropped when it ends.
_STAGING = "ind_"


@dataclass
class IndicatorReport:
    """What an indicator import loaded, and how long each step took."""

    source_id: int = 0
    source_name: str = ""
    dataset: str = ""
    rows: int = 0
    indicators: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)
    territories: int = 0
    levels: dict[str, int] = field(default_factory=dict)
    replaced_previous: int = 0
    replaced_other: int = 0
    skipped_empty: int = 0
    ambiguous_codes: int = 0
    ambiguous_examples: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-able data."""
        return {
            "source_id": self.source_id,
            "source_name": self.source_name,
            "dataset": self.dataset,
            "rows": self.rows,
            "indicators": self.indicators,
            "periods": self.periods,
            "territories": self.territories,
            "levels": self.levels,
            "replaced_previous": self.replaced_previous,
            "replaced_other": self.replaced_other,
            "skipped_empty": self.skipped_empty,
            "ambiguous_codes": self.ambiguous_codes,
            "ambiguous_examples": self.ambiguous_examples,
            "timings": self.timings,
        }


def period_from_column(name: str, *, this_year: int | None = None) -> tuple[str, str] | None:
    """Split a wide-file column name into (indicator, period), or ``None`` if it has no year.

    Parameters
    ----------
    name
        Column name such as ``P21_POP`` (→ ``("P_POP", "2021")``) or ``POP_2021``
        (→ ``("POP", "2021")``).
    this_year
        Two-digit years up to next year are read as 20xx, later ones as 19xx (default: the
        current year).

    Returns
    -------
    tuple of str or None
        The indicator code and the period, or ``None`` when the name carries no year.
    """
    name = name.strip()
    current = this_year or datetime.now(tz=UTC).year
    found = _YEAR_IN_PREFIX.match(name)
    if found:
        yy = int(found["yy"])
        year = 2000 + yy if 2000 + yy <= current + 1 else 1900 + yy
        return f"{found['prefix']}_{found['rest']}", str(year)
    found = _YEAR_SUFFIX.match(name)
    # a future "year" is rather an age band, as in ACT2064
    if found and int(found["year"]) <= current + 1:
        return found["name"], found["year"]
    return None


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str | None) -> str:
    """A SQL string literal (views take no parameters)."""
    return "NULL::VARCHAR" if value is None else "'" + value.replace("'", "''") + "'"


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] = ()) -> Any:
    row = con.execute(sql, list(params)).fetchone()
    return row[0] if row else None


def import_indicators(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    *,
    wide: bool = False,
    code_column: str | None = None,
    level: str | None = None,
    period: str | None = None,
    unit: str | None = None,
    columns: Sequence[str] | None = None,
    source_name: str,
    publisher: str,
    licence: str,
    version: str | None = None,
    reference_date: str | None = None,
    address: str | None = None,
    synthetic: bool = False,
    sep: str | None = None,
    encoding: str = "utf-8",
    progress: Progress | None = None,
) -> IndicatorReport:
    """Import an indicator table (long or wide CSV) in one transaction.

    Parameters
    ----------
    con
        Open, migrated knowledge base holding the territories.
    path
        CSV file (see the module documentation for the layouts).
    wide
        One column per indicator (INSEE layout) instead of one line per value.
    code_column
        Name of the territory code column (default: ``territory_code`` for the long layout,
        ``CODGEO``/``CODE``/... for the wide layout).
    level
        Level of every territory code (``commune``, ``epci``, ``departement`` ...); a
        ``level`` column of the file takes precedence line by line.
    period
        Default period: for long files without a ``period`` value, for wide columns whose name
        carries no year.
    unit
        Unit of values whose line has none (the only unit of a wide file).
    columns
        Wide layout: the indicator columns to import (default: every non-identifier column).
    source_name, publisher, licence, version, reference_date, address, synthetic
        Provenance recorded in the ``source`` row every value points to; ``address`` defaults
        to the file's path. Re-importing under the same ``source_name`` replaces its values.
    sep
        Field separator (default: guessed from the header line among ``; , tab |``).
    encoding
        Text encoding: ``utf-8`` (default), ``latin-1`` or ``utf-16``.
    progress
        Called with the name of each step as it starts.

    Returns
    -------
    IndicatorReport
        Counts of what was imported and replaced, and the time of each step.

    Raises
    ------
    ValidationError
        The file has missing columns, unknown territories, non-numeric values or duplicate
        keys; nothing was imported. ``problems`` lists the first offending lines.
    SourceError
        The file is missing or cannot be parsed, or ``source_name`` belongs to another importer.
    UnknownLevel
        ``level`` is not a level of the knowledge base.
    """
    path = Path(path)
    report = IndicatorReport(source_name=source_name, dataset=path.name)
    step = StepTimer(report, progress)
    check_file(path, "indicator file")
    source = SourceRecord(
        name=source_name,
        dataset=path.name,
        publisher=publisher,
        licence=licence,
        retrieved_at=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
        version=version,
        reference_date=reference_date,
        address=address or str(path.resolve()),
        synthetic=synthetic,
        note=f"indicator table ({'wide' if wide else 'long'} layout)",
    )
    if period is not None and not period.strip():
        msg = "an empty default period: give one such as 2021 (--period), or leave it out"
        raise SourceError(msg)
    _check_level(con, level)
    _previous_sources(con, source_name)
    with Staging(con, _STAGING) as staging:
        step("read")
        dialect = _dialect(path, sep=sep, encoding=encoding)
        header = _read(con, path, dialect)
        n_lines = int(_one(con, "SELECT count(*) FROM ind_raw"))
        if n_lines == 0:
            msg = f"{path.name!r} has a header but no data lines: nothing to import"
            raise ValidationError(msg, problems=["line 2: no data"], count=1)
        n_cells = 0
        if wide:
            problems, n_cells = _stage_wide(
                con,
                path,
                header,
                code_column=code_column,
                period=period,
                unit=unit,
                columns=columns,
            )
        else:
            problems = _stage_long(
                con, path, header, code_column=code_column, period=period, unit=unit
            )
        step("resolve")
        _resolve(con, level)
        if wide:
            report.skipped_empty = n_cells - int(_one(con, "SELECT count(*) FROM ind_values"))
        step("validate")
        _validate(con, path, dialect, problems, level)
        _ambiguous(con, report, level)
        step("write")
        report.source_id = _write(con, staging, source, report)
        step("")
    return report


# --------------------------------------------------------------------------- checks


def _check_level(con: duckdb.DuckDBPyConnection, level: str | None) -> None:
    if not _one(con, "SELECT count(*) FROM territory"):
        msg = "the knowledge base holds no territories: run 'territoria import france' first"
        raise EmptyKnowledgeBase(msg)
    if level is None:
        return
    known = [r[0] for r in con.execute("SELECT level FROM level ORDER BY rank").fetchall()]
    if level not in known:
        msg = f"unknown level {level!r}: use one of {', '.join(known)}"
        raise UnknownLevel(msg)


def _previous_sources(con: duckdb.DuckDBPyConnection, name: str) -> list[int]:
    """Ids of the earlier imports under ``name``; refuse a name another importer owns."""
    ids = [
        int(r[0]) for r in con.execute("SELECT id FROM source WHERE name = ?", [name]).fetchall()
    ]
    if not ids:
        return ids
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.columns WHERE column_name = 'source_id' "
            "AND table_schema = 'main' AND table_name NOT IN "
            "('indicator_value', 'indicator_definition') ORDER BY table_name"
        ).fetchall()
    ]
    marks = ", ".join("?" for _ in ids)
    for table in tables:
        used = con.execute(
            f"SELECT 1 FROM {_quote(table)} WHERE source_id IN ({marks}) LIMIT 1", ids
        ).fetchone()
        if used:
            msg = (
                f"source name {name!r} is already used by the rows of table {table!r} written "
                "by another importer: choose another --source-name"
            )
            raise SourceError(msg)
    return ids


# --------------------------------------------------------------------------- reading


def _stage_long(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    header: Sequence[str],
    *,
    code_column: str | None,
    period: str | None,
    unit: str | None,
) -> list[str]:
    code = _find(header, code_column or "territory_code")
    found = {
        "indicator": _find(header, "indicator"),
        "period": _find(header, "period"),
        "value": _find(header, "value"),
    }
    missing = [] if code else [code_column or "territory_code"]
    missing += [name for name, col in found.items() if col is None]
    if period is not None and "period" in missing:
        missing.remove("period")
    if missing:
        raise _missing(path, header, missing, "long")
    assert code is not None

    def text(column: str | None) -> str:
        return f"nullif(trim({_quote(column)}), '')" if column else "NULL::VARCHAR"

    lvl, label, unit_col = _find(header, "level"), _find(header, "label"), _find(header, "unit")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP VIEW ind_rows AS
        SELECT rowid + 2 AS line, NULL::VARCHAR AS col, {text(code)} AS code,
               coalesce(lower({text(lvl)}), '') AS lvl, {text(found["indicator"])} AS indicator,
               coalesce({text(found["period"])}, {_literal(period)}) AS period,
               {text(found["value"])} AS raw, coalesce({text(unit_col)}, {_literal(unit)}) AS unit,
               {text(label)} AS label
        FROM ind_raw
        """
    )
    return []


def _stage_wide(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    header: Sequence[str],
    *,
    code_column: str | None,
    period: str | None,
    unit: str | None,
    columns: Sequence[str] | None,
) -> tuple[list[str], int]:
    """Unpivot a wide table into ``ind_rows``; return header problems and the cell count."""
    code = _find(header, code_column) if code_column else _find(header, *CODE_COLUMNS)
    if code is None:
        raise _missing(path, header, [code_column or "CODGEO"], "wide")
    lvl = _find(header, "level")
    if columns:
        chosen = [_find(header, c) for c in columns]
        absent = [c for c, h in zip(columns, chosen, strict=True) if h is None]
        if absent:
            raise _missing(path, header, absent, "wide")
        picked = [h for h in chosen if h is not None]
    else:
        picked = [
            h
            for h in header
            if h not in (code, lvl)
            and h.strip().lower() not in ID_COLUMNS
            and not h.strip().lower().startswith("lib")
            and not h.startswith("_unnamed_")
        ]
    problems: list[str] = []
    mapping: list[tuple[str, str, str, str]] = []
    seen: dict[tuple[str, str], str] = {}
    for i, column in enumerate(picked):
        split = period_from_column(column)
        if split is None and period is None:
            problems.append(
                f"line 1 (header), column {column!r}: no year in the name (like P21_POP or "
                "POP_2021): pass --period for such columns, or --columns to leave it out"
            )
            continue
        indicator, when = split or (column.strip(), str(period))
        if (indicator, when) in seen:
            problems.append(
                f"line 1 (header), column {column!r}: same indicator {indicator!r} and period "
                f"{when!r} as column {seen[indicator, when]!r}"
            )
            continue
        seen[indicator, when] = column
        mapping.append((f"c{i}", column, indicator, when))
    if not mapping and not problems:
        msg = (
            f"{path.name!r} has no indicator column besides {code!r}: check the separator "
            "or pass --columns"
        )
        raise ValidationError(msg, problems=["line 1 (header): no indicator column"], count=1)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE ind_cols (name VARCHAR, col VARCHAR, indicator VARCHAR, "
        "period VARCHAR)"
    )
    if mapping:
        con.executemany("INSERT INTO ind_cols VALUES (?, ?, ?, ?)", mapping)
    lvl_sql = f"coalesce(lower(nullif(trim({_quote(lvl)}), '')), '')" if lvl else "''"
    if mapping:
        cells = ", ".join(f"{_quote(column)} AS {name}" for name, column, _, _ in mapping)
        names = ", ".join(name for name, _, _, _ in mapping)
        con.execute(
            f"""
            CREATE OR REPLACE TEMP VIEW ind_rows AS
            SELECT u.line, c.col, u.code, u.lvl, c.indicator, c.period,
                   nullif(trim(u.raw), '') AS raw, {_literal(unit)} AS unit, NULL::VARCHAR AS label
            FROM (
                UNPIVOT (
                    SELECT rowid + 2 AS line, nullif(trim({_quote(code)}), '') AS code,
                           {lvl_sql} AS lvl, {cells}
                    FROM ind_raw
                ) ON {names} INTO NAME name VALUE raw
            ) u JOIN ind_cols c ON c.name = u.name
            WHERE nullif(trim(u.raw), '') IS NOT NULL
            """
        )
    else:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW ind_rows AS SELECT NULL::BIGINT AS line, "
            "NULL::VARCHAR AS col, NULL::VARCHAR AS code, ''::VARCHAR AS lvl, "
            "NULL::VARCHAR AS indicator, NULL::VARCHAR AS period, NULL::VARCHAR AS raw, "
            "NULL::VARCHAR AS unit, NULL::VARCHAR AS label WHERE false"
        )
    n_lines = int(_one(con, "SELECT count(*) FROM ind_raw"))
    return problems, n_lines * len(mapping)


# --------------------------------------------------------------------------- resolving


def _resolve(con: duckdb.DuckDBPyConnection, level: str | None) -> None:
    """Resolve (code, level) to territories, and parse values into ``ind_values``."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ind_keys AS
        WITH k AS (SELECT DISTINCT code, lvl FROM ind_rows WHERE code IS NOT NULL),
        found AS (
            SELECT k.code, k.lvl, arg_min(t.level, l.rank) AS level, count(*) AS matches,
                   string_agg(t.level, ', ' ORDER BY l.rank) AS levels
            FROM k JOIN territory t ON t.code = k.code JOIN level l ON l.level = t.level
            WHERE t.level = coalesce(nullif(k.lvl, ''), ?, t.level)
            GROUP BY k.code, k.lvl
        )
        SELECT k.code, k.lvl, f.level, coalesce(f.matches, 0) AS matches, f.levels
        FROM k LEFT JOIN found f ON f.code = k.code AND f.lvl = k.lvl
        """,
        [level],
    )
    # A code that exists once a leading zero is put back was likely mangled by a spreadsheet.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ind_hint AS
        SELECT DISTINCT k.code, '0' || k.code AS hint
        FROM ind_keys k JOIN territory t ON t.code = '0' || k.code
        WHERE k.matches = 0
        """
    )
    # Decimal commas become points; spaces (also non-breaking) are thousands separators.
    con.execute(
        """
        CREATE OR REPLACE TEMP MACRO ind_number(s) AS TRY_CAST(
            CASE WHEN contains(s, ',') AND NOT contains(s, '.') THEN replace(s, ',', '.')
                 ELSE s END AS DOUBLE)
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP MACRO ind_unspace(s) AS
            CASE WHEN contains(s, ' ') OR contains(s, chr(160)) OR contains(s, chr(8239))
                 THEN replace(replace(replace(s, ' ', ''), chr(160), ''), chr(8239), '')
                 ELSE s END
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ind_values AS
        SELECT line, col, code, lvl, level, indicator, period, raw, unit, label,
               CASE WHEN isfinite(number) THEN number END AS value
        FROM (
            SELECT r.*, k.level, ind_number(ind_unspace(r.raw)) AS number
            FROM ind_rows r LEFT JOIN ind_keys k ON k.code = r.code AND k.lvl = r.lvl
        )
        """
    )


def _validate(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    dialect: _Dialect,
    header_problems: list[str],
    level: str | None,
) -> None:
    """Collect every problem of the staged rows; raise them together, or return."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ind_problems AS
        SELECT DISTINCT line, NULL::VARCHAR AS col, 1 AS kind, NULL::VARCHAR AS value,
               NULL::VARCHAR AS extra, NULL::VARCHAR AS indicator, NULL::VARCHAR AS period
        FROM ind_values WHERE code IS NULL
        UNION ALL
        SELECT DISTINCT line, NULL, 2, lvl, NULL, NULL, NULL FROM ind_values
        WHERE lvl <> '' AND lvl NOT IN (SELECT level FROM level)
        UNION ALL
        SELECT DISTINCT v.line, NULL, 3, v.code, h.hint, coalesce(nullif(v.lvl, ''), ?), NULL
        FROM ind_values v JOIN ind_keys k ON k.code = v.code AND k.lvl = v.lvl
        LEFT JOIN ind_hint h ON h.code = v.code
        WHERE k.matches = 0 AND (v.lvl = '' OR v.lvl IN (SELECT level FROM level))
        UNION ALL
        SELECT line, col, 4, NULL, NULL, NULL, NULL FROM ind_values WHERE indicator IS NULL
        UNION ALL
        SELECT line, col, 5, NULL, NULL, NULL, NULL FROM ind_values WHERE period IS NULL
        UNION ALL
        SELECT line, col, 6, NULL, NULL, NULL, NULL FROM ind_values WHERE raw IS NULL
        UNION ALL
        SELECT line, col, 7, raw, NULL, NULL, NULL FROM ind_values
        WHERE raw IS NOT NULL AND value IS NULL
        UNION ALL
        SELECT v.line, NULL, 8, v.code, d.first_line::VARCHAR, min(v.indicator), min(v.period)
        FROM ind_values v
        JOIN (SELECT level, code, indicator, period, min(line) AS first_line FROM ind_values
              WHERE level IS NOT NULL AND indicator IS NOT NULL AND period IS NOT NULL
              GROUP BY ALL HAVING count(*) > 1) d
          USING (level, code, indicator, period)
        WHERE v.line > d.first_line
        GROUP BY v.line, v.code, d.first_line
        """,
        [level],
    )
    count = int(_one(con, "SELECT count(*) FROM ind_problems")) + len(header_problems)
    if not count:
        return
    rows = con.execute(
        "SELECT line, col, kind, value, extra, indicator, period FROM ind_problems "
        "ORDER BY line, kind, col LIMIT ?",
        [MAX_PROBLEMS],
    ).fetchall()
    levels = ", ".join(
        r[0] for r in con.execute("SELECT level FROM level ORDER BY rank").fetchall()
    )
    records = int(_one(con, "SELECT count(*) FROM ind_raw"))
    lines = _physical_lines(path, dialect, {int(row[0]) for row in rows}, records)
    problems = header_problems + [
        _describe(lines.get(int(row[0]), int(row[0])), *row[1:], levels=levels) for row in rows
    ]
    msg = (
        f"{path.name!r} has {count} problem(s); nothing was imported: fix the lines listed "
        "and import again"
    )
    raise ValidationError(msg, problems=problems[:MAX_PROBLEMS], count=count)


def _describe(
    line: int,
    col: str | None,
    kind: int,
    value: str | None,
    extra: str | None,
    indicator: str | None,
    period: str | None,
    *,
    levels: str,
) -> str:
    where = f"line {line}" + (f", column {col!r}" if col else "")
    if kind == 1:
        return f"{where}: empty territory code"
    if kind == 2:
        return f"{where}: unknown level {value!r}: use one of {levels}"
    if kind == 3:
        text = f"{where}: unknown territory code {value!r}"
        if indicator:
            text += f" at level {indicator!r}"
        if extra:
            text += f" (did you mean {extra!r}? a spreadsheet may have dropped a leading zero)"
        return text
    if kind == 4:
        return f"{where}: empty indicator"
    if kind == 5:
        return f"{where}: empty period: fill it in or pass --period"
    if kind == 6:
        return f"{where}: empty value: remove the line or give a number"
    if kind == 7:
        return f"{where}: value {value!r} is not a number"
    return (
        f"{where}: duplicate of line {extra} for territory {value!r}, indicator "
        f"{indicator!r}, period {period!r}"
    )


def _ambiguous(con: duckdb.DuckDBPyConnection, report: IndicatorReport, level: str | None) -> None:
    if level is not None:
        return
    report.ambiguous_codes = int(
        _one(con, "SELECT count(*) FROM ind_keys WHERE lvl = '' AND matches > 1")
    )
    report.ambiguous_examples = [
        f"{code} → {lvl} (also {rest})"
        for code, lvl, rest in con.execute(
            "SELECT code, level, replace(levels, level || ', ', '') FROM ind_keys "
            "WHERE lvl = '' AND matches > 1 ORDER BY code LIMIT 5"
        ).fetchall()
    ]


# --------------------------------------------------------------------------- writing


def _write(
    con: duckdb.DuckDBPyConnection,
    staging: Staging,
    source: SourceRecord,
    report: IndicatorReport,
) -> int:
    """Replace the previous import of the source in one short transaction."""
    source_id = staging.source(source)
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE ind_def AS
        SELECT indicator, arg_min(label, line) FILTER (WHERE label IS NOT NULL) AS label,
               CASE WHEN count(DISTINCT unit) = 1 AND count(unit) = count(*) THEN min(unit)
               END AS unit, ?::INTEGER AS source_id
        FROM ind_values GROUP BY indicator
        """,
        [source_id],
    )
    with staging.swap(names=[source.name], tables=["indicator_value"]) as swap:
        report.replaced_previous = swap.deleted["indicator_value"]
        # The join costs a scan of the new rows: skip it when no other source has them.
        if _one(
            con,
            "SELECT 1 FROM indicator_value WHERE indicator IN (SELECT indicator FROM ind_def) "
            "LIMIT 1",
        ):
            report.replaced_other = int(
                _one(
                    con,
                    """
                    DELETE FROM indicator_value v USING ind_values n
                    WHERE v.level = n.level AND v.code = n.code AND v.indicator = n.indicator
                      AND v.period = n.period
                    """,
                )
                or 0
            )
        con.execute(
            "INSERT INTO indicator_value SELECT level, code, indicator, period, value, unit, ? "
            "FROM ind_values",
            [source_id],
        )
        con.execute(
            """
            INSERT INTO indicator_definition SELECT indicator, label, unit, source_id FROM ind_def
            ON CONFLICT (indicator) DO UPDATE SET label = coalesce(excluded.label, label),
                unit = coalesce(excluded.unit, unit), source_id = excluded.source_id
            """
        )
        _repoint_definitions(con, swap)
        _summarise(con, report)
        record(
            con,
            "import.indicators",
            target=source.name,
            detail={
                "source_id": source_id,
                "file": source.dataset,
                "rows": report.rows,
                "indicators": len(report.indicators),
                "territories": report.territories,
                "replaced_previous": report.replaced_previous,
                "replaced_other": report.replaced_other,
            },
        )
    return source_id


def _repoint_definitions(con: duckdb.DuckDBPyConnection, swap: Swap) -> None:
    """Indicators the previous import defined and this one does not: point them at a source
    that still has values, or drop them (the previous source rows are about to go)."""
    if not swap.previous:
        return
    marks = ", ".join("?" for _ in swap.previous)
    con.execute(
        f"""
        UPDATE indicator_definition d SET source_id = (
            SELECT min(v.source_id) FROM indicator_value v WHERE v.indicator = d.indicator)
        WHERE d.source_id IN ({marks})
        """,
        swap.previous,
    )
    con.execute(
        "DELETE FROM indicator_definition WHERE source_id IS NULL "
        "AND indicator NOT IN (SELECT indicator FROM indicator_value)"
    )


def _summarise(con: duckdb.DuckDBPyConnection, report: IndicatorReport) -> None:
    report.rows = int(_one(con, "SELECT count(*) FROM ind_values"))
    report.indicators = [
        r[0] for r in con.execute("SELECT indicator FROM ind_def ORDER BY 1").fetchall()
    ]
    report.periods = [
        r[0] for r in con.execute("SELECT DISTINCT period FROM ind_values ORDER BY 1").fetchall()
    ]
    report.territories = int(
        _one(con, "SELECT count(*) FROM (SELECT DISTINCT level, code FROM ind_values)")
    )
    report.levels = {
        str(lvl): int(n)
        for lvl, n in con.execute(
            "SELECT level, count(*) FROM ind_values GROUP BY level ORDER BY count(*) DESC"
        ).fetchall()
    }
