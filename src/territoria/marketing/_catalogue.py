"""Reading and checking the catalogues of practices and assets (CSV or JSON), line by line.

A catalogue is a CSV file (UTF-8, comma or semicolon separated, a header line) or a JSON file
(a list of objects, or ``{"entries": [...]}``) whose columns are named as in
:data:`territoria.marketing.practices.COLUMNS` / :data:`territoria.marketing.assets.COLUMNS`.
Every problem found is reported with its line (CSV: the file's line, the header being line 1;
JSON: the entry's number and line), all at once, and nothing is written.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from territoria.errors import InvalidCatalogue, SourceError

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "Row",
    "check_territories",
    "parse_date",
    "raise_problems",
    "read_catalogue",
]

#: Levels a code without a level never resolves to (they share codes with communes: the
#: overseas cantons 97101 … are also communes).
_IMPLICIT_EXCLUDED = ("commune_deleguee", "commune_associee", "secteur_municipal", "canton")

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


@dataclass
class Row:
    """One entry of a catalogue: its fields (stripped strings) and where it is."""

    line: int
    where: str
    fields: dict[str, str]

    def get(self, name: str) -> str:
        """The field ``name`` ('' when absent)."""
        return self.fields.get(name, "")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(str(v).strip() for v in value)
    return str(value).strip()


def _read_csv(text: str, columns: Sequence[str]) -> list[Row]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("title", "name", "code") if c in columns and c not in header]
    if missing or not header:
        msg = (
            f"the catalogue's header line lacks the column(s) {', '.join(missing) or 'all'}: "
            f"expected {', '.join(columns)}"
        )
        raise SourceError(msg)
    rows = []
    for record in reader:
        line = reader.line_num
        values = {k.strip().lower(): _text(v) for k, v in record.items() if k is not None}
        rows.append(Row(line, f"line {line}", values))
    return rows


def _json_lines(text: str, count: int) -> list[int]:
    # the line where each top-level entry opens: a "{" at the start of an entry
    starts = [m.start() for m in re.finditer(r"(?m)^\s*\{", text)]
    if len(starts) < count:
        return [0] * count
    tail = starts[-count:]
    return [text.count("\n", 0, s) + 1 for s in tail]


def _read_json(text: str, path: Path) -> list[Row]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"{path.name}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        raise SourceError(msg) from None
    entries = data.get("entries") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        msg = f"{path.name}: expected a JSON list of entries (or {{'entries': [...]}})"
        raise SourceError(msg)
    lines = _json_lines(text, len(entries))
    rows = []
    for n, (entry, line) in enumerate(zip(entries, lines, strict=True), start=1):
        where = f"entry {n}" + (f" (line {line})" if line else "")
        if not isinstance(entry, dict):
            rows.append(Row(line, where, {"_error": "is not a JSON object"}))
            continue
        rows.append(Row(line, where, {str(k).lower(): _text(v) for k, v in entry.items()}))
    return rows


def read_catalogue(path: Path, columns: Sequence[str]) -> list[Row]:
    """Read the entries of a CSV or JSON catalogue (by its extension; ``.json`` or not)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        msg = f"no catalogue file at {str(path)!r}: check the path"
        raise SourceError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"{path.name} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        raise SourceError(msg) from None
    rows = _read_json(text, path) if path.suffix.lower() == ".json" else _read_csv(text, columns)
    if not rows:
        msg = f"{path.name} holds no entries: nothing to import"
        raise SourceError(msg)
    return rows


def parse_date(value: str) -> date | None:
    """``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY`` (first day); '' is None; ValueError otherwise."""
    if not value:
        return None
    match = _DATE.match(value)
    if not match:
        raise ValueError(value)
    year, month, day = match.groups()
    return date(int(year), int(month or 1), int(day or 1))


def check_territories(
    con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[str, str]]
) -> list[tuple[str, str] | str]:
    """Resolve (code, level) pairs in one query: each gives (level, code) or a problem text.

    An empty level is allowed when one level only holds the code (communes déléguées and
    associées left out: they share codes with communes); '53' is a département and a région.
    """
    rows = con.execute(
        "WITH q AS (SELECT unnest(?::VARCHAR[]) AS code, unnest(?::VARCHAR[]) AS level, "
        "generate_subscripts(?::VARCHAR[], 1) AS n), "
        "t AS (SELECT level AS tl, code AS tc FROM territory WHERE code IN (SELECT code FROM q)) "
        "SELECT q.n, list(DISTINCT t.tl ORDER BY t.tl) FILTER (WHERE t.tl IS NOT NULL) "
        "FROM q LEFT JOIN t ON t.tc = q.code AND (t.tl = q.level OR (q.level = '' "
        "AND NOT list_contains(?::VARCHAR[], t.tl))) GROUP BY q.n ORDER BY q.n",
        [
            [c for c, _ in pairs],
            [lv for _, lv in pairs],
            [c for c, _ in pairs],
            list(_IMPLICIT_EXCLUDED),
        ],
    ).fetchall()
    out: list[tuple[str, str] | str] = []
    for (code, level), (_n, levels) in zip(pairs, rows, strict=True):
        found = [lv for lv in levels or [] if lv is not None]
        if not code:
            out.append("has no territory code (column 'code')")
        elif not found:
            at = f" at level {level!r}" if level else ""
            out.append(f"unknown territory code {code!r}{at}: find it with 'territoria search'")
        elif len(found) > 1:
            out.append(
                f"territory code {code!r} is held by several levels ({', '.join(found)}): "
                "give the level column"
            )
        else:
            out.append((found[0], code))
    return out


def raise_problems(path: Path, problems: list[str]) -> None:
    """Raise :class:`InvalidCatalogue` with every problem (``problems``), when there are any."""
    if not problems:
        return
    n = len(problems)
    first = f"{problems[0]}" if n == 1 else f"first: {problems[0]}"
    msg = f"{path.name}: {n} malformed entr{'y' if n == 1 else 'ies'}, nothing imported ({first})"
    raise InvalidCatalogue(msg, problems)
