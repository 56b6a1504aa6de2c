"""Benchmark of ``territoria import naf2025`` on workbooks of the official size.

INSEE's files are not shipped (nor available offline), so the benchmark writes two workbooks in
their layout with MADE-UP codes of about the official counts: a structure sheet "NAF 2025" of
22 sections, 87 divisions and some 1,550 rows in all (724 sous-classes; INSEE's has 747), and a
correspondence of 1,223 (NAF rév. 2, NAF 2025) pairs covering the 732 NAF rév. 2 sous-classes.

Measured (wall, median of ``--repeat`` runs):

- :func:`territoria.sources.naf2025.import_naf2025` into a throw-away knowledge base: read both
  workbooks (openpyxl, read-only), check every code, stage, swap, source rows with sha256;
- the same from CSV exports of the two sheets;
- baseline: ``pandas.read_excel`` of the two workbooks (reading only: no check, no write).

Run: ``python benchmarks/bench_naf2025_import.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from territoria.kb import connect
from territoria.kb.naf import naf_codes
from territoria.kb.naf2025 import NACE21_SECTIONS
from territoria.sources.naf2025 import import_naf2025


def _structure() -> list[list[str]]:
    """Made-up codes of the official counts, in the order of the structure sheet."""
    divisions = [d for _, a, b in NACE21_SECTIONS for d in range(a, b + 1)][:87]
    rows = [[f"SECTION {s}", f"Section {s}"] for s, _, _ in NACE21_SECTIONS]
    subclasses: list[str] = []
    for i, d in enumerate(divisions):
        rows.append([f"{d:02d}", f"Division {d:02d}"])
        for g in range(1 + (i % 4 != 0) + (i % 3 == 0)):
            rows.append([f"{d:02d}.{g}", f"Groupe {d:02d}.{g}"])
            for c in range(3):
                rows.append([f"{d:02d}.{g}{c}", f"Classe {d:02d}.{g}{c}"])
                for letter in "YG"[: 1 + (len(subclasses) % 4 == 0)]:
                    code = f"{d:02d}.{g}{c}{letter}"
                    subclasses.append(code)
                    rows.append([code, f"Sous-classe {code}"])
    return rows


def _pairs(targets: list[str]) -> list[list[str]]:
    rev2 = sorted(c for c, n in naf_codes().items() if n.level == "subclass")
    pairs = [[old, targets[i % len(targets)]] for i, old in enumerate(rev2)]
    pairs += [[rev2[i], targets[(i * 7 + 3) % len(targets)]] for i in range(1223 - len(rev2))]
    return pairs


def _write(folder: Path) -> dict[str, Path]:
    structure = _structure()
    targets = [r[0] for r in structure if len(r[0]) == 6 and r[0][2] == "."]
    pairs = _pairs(targets)
    paths = {}
    for key, title, header, rows in (
        ("structure", "NAF 2025", ["Code", "Intitulé"], structure),
        ("correspondence", "Correspondances", ["NAFold-code", "NAFnew-code"], pairs),
    ):
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.title = title
        for row in [header, *rows]:
            sheet.append(row)
        paths[key] = folder / f"{key}.xlsx"
        book.save(paths[key])
        paths[f"{key}_csv"] = folder / f"{key}.csv"
        lines = [";".join(r) for r in [header, *rows]]
        paths[f"{key}_csv"].write_text("\n".join(lines), encoding="utf-8")
    print(f"{len(targets)} sous-classes, {len(structure)} structure rows, {len(pairs)} pairs")
    return paths


def _time(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = _write(Path(tmp))
        con = connect(Path(tmp) / "kb.duckdb")
        rows = [
            ("import naf2025 (xlsx: read, check, swap)", lambda: import_naf2025(
                con, structure=paths["structure"], correspondence=paths["correspondence"])),
            ("import naf2025 (CSV exports)", lambda: import_naf2025(
                con, structure=paths["structure_csv"],
                correspondence=paths["correspondence_csv"])),
            ("baseline: pandas.read_excel of both (no check)", lambda: (
                pd.read_excel(paths["structure"], dtype=str),
                pd.read_excel(paths["correspondence"], dtype=str))),
        ]  # fmt: skip
        print(f"{'what':<50} {'median s':>9}")
        for name, run in rows:
            print(f"{name:<50} {_time(run, args.repeat):>9.3f}")
        con.close()


if __name__ == "__main__":
    main()
