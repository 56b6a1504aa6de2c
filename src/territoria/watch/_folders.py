"""Folder sources: the HTML, PDF and text files of a folder (and its sub-folders).

A file is new, or changed, when the SHA-256 of its content differs from the one recorded the
last time (``watch_seen``); moving a file without changing it is a new path, hence new.
Hidden files and folders (``.git``) are skipped, and so are files larger than the size limit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CONTENT_TYPES", "FolderFile", "scan_folder"]

#: The files read, by suffix, with the content type handed to extraction.
CONTENT_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".xhtml": "application/xhtml+xml",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
    ".md": "text/plain",
}


@dataclass(frozen=True)
class FolderFile:
    """A new or changed file of a folder."""

    key: str  # path relative to the folder, with '/'
    path: Path
    sha256: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class FolderScan:
    """What a scan found: the new and changed files (at most ``limit``), the count of the
    unchanged ones, the files skipped (too large, unreadable) and the ones left for later."""

    files: list[FolderFile]
    unchanged: int
    skipped: list[str]
    postponed: int


def scan_folder(
    folder: Path, seen: dict[str, str | None], *, max_bytes: int, limit: int
) -> FolderScan:
    """Scan ``folder`` against ``seen`` (relative path → SHA-256 recorded).

    Raises
    ------
    FileNotFoundError
        The folder no longer exists.
    """
    if not folder.is_dir():
        msg = f"le dossier {str(folder)!r} n'existe plus (ou n'est pas un dossier)"
        raise FileNotFoundError(msg)
    files: list[FolderFile] = []
    skipped: list[str] = []
    unchanged = postponed = 0
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        kind = CONTENT_TYPES.get(path.suffix.lower())
        if kind is None or not path.is_file():
            continue
        key = relative.as_posix()
        try:
            size = path.stat().st_size
            if size > max_bytes:
                skipped.append(f"{key} : {size} octets, plus que les {max_bytes} permis")
                continue
            body = path.read_bytes()
        except OSError as exc:
            skipped.append(f"{key} : illisible ({exc.strerror or exc})")
            continue
        digest = hashlib.sha256(body).hexdigest()
        if seen.get(key) == digest:
            unchanged += 1
        elif len(files) >= limit:
            postponed += 1
        else:
            files.append(FolderFile(key, path, digest, body, kind))
    return FolderScan(files=files, unchanged=unchanged, skipped=skipped, postponed=postponed)
