"""Derive the small @etalab/decoupage-administratif fixtures from two real editions.

Each fixture is an npm tarball in the exact layout of the package (``package/package.json``,
``package/README.md``, ``package/LICENSE``, ``package/data/*.json``) holding, from the real
edition:

- ``communes.json``: every entry (communes, communes déléguées and associées) of the région
  Bretagne (53), plus Paris (75056) and its 1st and 2nd arrondissements, and Mamoudzou
  (97611): units outside the mini knowledge base, which the import must count, not drop;
- ``epci.json``: the EPCI with at least one member commune in Bretagne, with all their
  members (Redon Agglomération also has communes in Loire-Atlantique, so its sum is
  incomplete in the fixture and must be skipped);
- ``departements.json`` and ``regions.json``: the départements and région of those communes.

Editions 6.0.0 (populations légales 2023) and 4.0.0 (2021) are kept. Run it from the project
root, with the editions' tarballs or nothing (they are then downloaded from the npm registry)::

    python tests/data/make_decoupage_mini.py [PATH/TO/etalab-decoupage-administratif-6.0.0.tgz ...]
"""

from __future__ import annotations

import io
import json
import sys
import tarfile
import tempfile
from pathlib import Path

from territoria.sources._npm import download_tarball, read_tarball, tarball_name

VERSIONS = ("6.0.0", "4.0.0")
REGION = "53"
EXTRA = {"75056", "75101", "75102", "97611"}
OUT = Path(__file__).parent / "decoupage_mini"
KEEP = ("LICENSE", "README.md", "package.json")
DATA = ("communes", "epci", "departements", "regions")


def _keep(path: Path) -> dict[str, bytes]:
    tarball = read_tarball(path, tuple(f"data/{name}.json" for name in DATA))
    communes = [
        c
        for c in tarball.data["data/communes.json"]
        if c.get("region") == REGION or c["code"] in EXTRA
    ]
    codes = {c["code"] for c in communes if c.get("region") == REGION}
    epci = [
        e for e in tarball.data["data/epci.json"] if any(m["code"] in codes for m in e["membres"])
    ]
    deps = {c.get("departement") for c in communes}
    regions = {c.get("region") for c in communes}
    files = {
        "data/communes.json": communes,
        "data/epci.json": epci,
        "data/departements.json": [
            d for d in tarball.data["data/departements.json"] if d["code"] in deps
        ],
        "data/regions.json": [r for r in tarball.data["data/regions.json"] if r["code"] in regions],
    }
    out = {name: json.dumps(rows, ensure_ascii=False).encode() for name, rows in files.items()}
    with tarfile.open(path) as archive:
        for name in KEEP:
            handle = archive.extractfile(f"package/{name}")
            assert handle is not None
            out[name] = handle.read()
    return out


def _write(target: Path, files: dict[str, bytes]) -> None:
    with tarfile.open(target, "w:gz") as archive:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))


def main(paths: list[str]) -> None:
    given = {read_tarball(Path(p), ()).version: Path(p) for p in paths}
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as cache:
        for version in VERSIONS:
            path = given.get(version) or download_tarball(version, Path(cache))
            target = OUT / tarball_name(version)
            _write(target, _keep(path))
            print(f"{target}: {target.stat().st_size:,} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
