"""Access to the editions of the ``@etalab/decoupage-administratif`` npm package.

An edition is an npm tarball (``.tgz``: a gzip-compressed tar archive whose files sit under
``package/``). We fetch it from the npm registry over HTTPS into the cache folder, check it
against the SHA-512 digest the registry publishes for that version, and read its JSON data
files straight from the archive: nothing is installed and Node is not needed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from territoria.errors import SourceError

PACKAGE = "@etalab/decoupage-administratif"
#: The public npm registry (what ``npm pack`` uses by default).
REGISTRY = "https://registry.npmjs.org"
_TIMEOUT = 60
_VERSION = re.compile(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?")


def tarball_name(version: str) -> str:
    """The file name ``npm pack`` gives the edition ``version``."""
    return f"etalab-decoupage-administratif-{version}.tgz"


def tarball_url(version: str, *, registry: str = REGISTRY) -> str:
    """The registry address of the edition ``version``'s tarball."""
    return f"{registry.rstrip('/')}/{PACKAGE}/-/decoupage-administratif-{version}.tgz"


def _check_version(version: str) -> str:
    version = version.strip()
    if not _VERSION.fullmatch(version):
        msg = (
            f"{version!r} is not a version of {PACKAGE}: give one such as 6.0.0 "
            f"('npm view {PACKAGE} versions' lists them)"
        )
        raise SourceError(msg)
    return version


def _get(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "territoria"})
    with urllib.request.urlopen(request, timeout=_TIMEOUT) as answer:
        data: bytes = answer.read()
    return data


def _integrity(version: str, registry: str) -> str | None:
    """The ``sha512-…`` digest the registry publishes for ``version``, or ``None``."""
    url = f"{registry.rstrip('/')}/{PACKAGE.replace('/', '%2F')}/{version}"
    try:
        meta = json.loads(_get(url))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            msg = (
                f"{PACKAGE} has no version {version!r} on {registry}: "
                f"'npm view {PACKAGE} versions' lists them"
            )
            raise SourceError(msg) from exc
        raise
    dist = meta.get("dist") if isinstance(meta, dict) else None
    value = dist.get("integrity") if isinstance(dist, dict) else None
    return value if isinstance(value, str) and value.startswith("sha512-") else None


def download_tarball(version: str, cache_dir: Path, *, registry: str = REGISTRY) -> Path:
    """Fetch the edition ``version`` into ``cache_dir`` (once) and return its path.

    The download is checked against the registry's SHA-512 digest and written under a
    temporary name first, so that an interrupted download is never taken for an edition.

    Raises
    ------
    SourceError
        The version does not exist, the registry cannot be reached, or the file received is
        not the one the registry describes.
    """
    version = _check_version(version)
    path = cache_dir / tarball_name(version)
    if path.exists() and tarfile.is_tarfile(path):
        return path
    url = tarball_url(version, registry=registry)
    try:
        integrity = _integrity(version, registry)
        data = _get(url)
    except SourceError:
        raise
    # ValueError: the registry answered something that is not JSON
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        msg = (
            f"could not download {PACKAGE}@{version} from {url}: {reason}; fetch it elsewhere "
            f"('npm pack {PACKAGE}@{version}') and pass the .tgz with --from PATH"
        )
        raise SourceError(msg) from exc
    if integrity is not None:
        digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        if digest != integrity:
            msg = (
                f"the file downloaded from {url} does not match the registry's digest "
                f"({integrity[:20]}…): the download was altered or cut; try again"
            )
            raise SourceError(msg)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)
    return path


@dataclass(frozen=True)
class Tarball:
    """The files of one edition that the importer reads, parsed."""

    path: Path
    version: str
    package: dict[str, Any]
    readme: str
    data: dict[str, Any]

    def describe(self, member: str) -> str:
        """How error messages name a file of the edition: ``'x.tgz' (package/data/…)``."""
        return f"{self.path.name!r} (package/{member})"


def read_tarball(path: Path, members: tuple[str, ...]) -> Tarball:
    """Read ``package.json``, ``README.md`` and the JSON ``members`` of an edition.

    ``members`` are paths under ``package/`` such as ``data/communes.json``.

    Raises
    ------
    SourceError
        The file is missing, is not an npm tarball, is not this package, or lacks a member
        (or holds one that is not valid JSON); the message names the file and the member.
    """
    if not path.exists():
        msg = f"{str(path)!r} does not exist: pass a .tgz of {PACKAGE} or a folder of them"
        raise SourceError(msg)
    if not tarfile.is_tarfile(path):
        msg = (
            f"{path.name!r} is not an npm tarball (.tgz): it is truncated or not an edition "
            f"of {PACKAGE}; fetch it again ('npm pack {PACKAGE}@VERSION')"
        )
        raise SourceError(msg)
    wanted = ("package.json", "README.md", *members)
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for info in archive:
                name = info.name.removeprefix("./")
                if not name.startswith("package/") or not info.isfile():
                    continue
                short = name.removeprefix("package/")
                if short in wanted:
                    handle = archive.extractfile(info)
                    if handle is not None:
                        found[short] = handle.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        msg = f"{path.name!r} is a corrupt or truncated tarball ({exc}): fetch it again"
        raise SourceError(msg) from exc
    for member in wanted:
        if member not in found and member != "README.md":
            msg = (
                f"{path.name!r} has no 'package/{member}': it is not an edition of {PACKAGE} "
                "in the expected layout"
            )
            raise SourceError(msg)
    parsed: dict[str, Any] = {}
    for member in ("package.json", *members):
        try:
            parsed[member] = json.loads(found[member])
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            msg = f"{path.name!r} (package/{member}) is not valid JSON: {exc}; fetch it again"
            raise SourceError(msg) from exc
    package = parsed.pop("package.json")
    if not isinstance(package, dict) or package.get("name") != PACKAGE:
        other = package.get("name") if isinstance(package, dict) else None
        msg = f"{path.name!r} is the npm package {other!r}, not {PACKAGE!r}"
        raise SourceError(msg)
    version = str(package.get("version") or "")
    if not _VERSION.fullmatch(version):
        msg = f"{path.name!r} (package/package.json) has no valid 'version': got {version!r}"
        raise SourceError(msg)
    readme = found.get("README.md", b"").decode("utf-8", errors="replace")
    return Tarball(path=path, version=version, package=package, readme=readme, data=parsed)


def version_key(version: str) -> tuple[int, int, int, int, str]:
    """Sort key of a version: ``0.9.0-5`` before ``0.9.0`` before ``1.0.0``."""
    core, _, pre = version.partition("-")
    major, minor, patch = (int(p) for p in core.split("."))
    return (major, minor, patch, 0 if pre else 1, pre)
