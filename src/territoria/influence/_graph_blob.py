"""The built influence graph as one NumPy file, so that a new process loads it in a blink.

Loading the cached graph from the knowledge base's ``influence_node`` / ``influence_edge``
tables means reading 1.5 million rows through Arrow, turning strings into Python lists and
sorting the edges twice into the forward and reverse CSR arrays (about 1.1 s for France). The
same arrays, written once by :func:`write` as an uncompressed ``.npz`` file named after the
graph's fingerprint, load in about a tenth of that: a one-shot CLI plan benefits most.

The file is a derived cache (under ``$TERRITORIA_CACHE_DIR/graphs``): its name is the
fingerprint of the graph's inputs, so it is never stale, two copies of one knowledge base share
it, and deleting it only costs the next load the slower path. The few most recent files are
kept.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import cast

import numpy as np

from territoria.influence.graph import InfluenceGraph

__all__ = ["path_for", "read", "write"]

_ARRAYS = ("indptr", "indices", "prob", "rindptr", "rindices", "rprob", "redge")
_SEP = "\x00"
_NONE = "\x01"  # a missing name or kind
# graphs of other fingerprints kept (other knowledge bases, or a previous state)
KEEP = 8


def path_for(cache_dir: Path, fingerprint: str) -> Path:
    """Where the graph of ``fingerprint`` is stored."""
    return cache_dir / "graphs" / f"{fingerprint}.npz"


def _pack(values: list[str | None]) -> np.ndarray:
    text = _SEP.join(_NONE if v is None else v for v in values)
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8)


def _unpack(data: np.ndarray, count: int) -> list[str | None]:
    if count == 0:
        return []
    text = data.tobytes().decode("utf-8")
    values: list[str | None] = text.split(_SEP)  # type: ignore[assignment]
    if len(values) != count:
        msg = f"expected {count} strings, found {len(values)}"
        raise ValueError(msg)
    if _NONE in text:
        values = [None if v == _NONE else v for v in values]
    return values


def write(path: Path, graph: InfluenceGraph, kinds: list[str]) -> None:
    """Store ``graph`` and its node kinds at ``path`` (atomically; errors are the caller's)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: getattr(graph, name) for name in _ARRAYS}
    if graph.types is not None:
        arrays["types"] = graph.types
    names: list[str | None] = list(graph.names) if graph.names is not None else []
    arrays["ids"] = _pack(list(graph.ids))
    arrays["names"] = _pack(names)
    # a few distinct kinds: store codes (rebuilding 550,000 strings costs more than indexing)
    kind_names, kind_codes = np.unique(
        np.array([_NONE if k is None else k for k in kinds], dtype=object), return_inverse=True
    )
    arrays["kinds"] = _pack(kind_names.tolist())
    arrays["kind_codes"] = kind_codes.astype(np.int32)
    arrays["type_names"] = _pack(list(graph.type_names))
    arrays["counts"] = np.array([graph.n_nodes, len(names), len(graph.type_names), len(kind_names)])
    partial = path.with_name(f".{path.stem}.{os.getpid()}.partial.npz")
    np.savez(partial, **arrays)
    partial.replace(path)
    older = sorted(path.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in older[KEEP:]:
        stale.unlink(missing_ok=True)


def read(path: Path) -> tuple[InfluenceGraph, list[str]] | None:
    """Return the graph and node kinds stored at ``path``, or None if it is absent or bad."""
    try:
        with np.load(path, allow_pickle=False) as data:
            n, n_names, n_types, n_kinds = (int(x) for x in data["counts"])
            ids = _unpack(data["ids"], n)
            names = _unpack(data["names"], n_names)
            kind_names = np.array(_unpack(data["kinds"], n_kinds), dtype=object)
            kinds = kind_names[data["kind_codes"]].tolist() if n else []
            type_names = _unpack(data["type_names"], n_types)
            arrays = {name: data[name] for name in _ARRAYS}
            types = data["types"] if "types" in data.files else None
    except (OSError, KeyError, ValueError, IndexError, zipfile.BadZipFile):
        return None
    m = arrays["indices"].shape[0]
    if arrays["indptr"].shape != (n + 1,) or arrays["rindptr"].shape != (n + 1,):
        return None
    if any(arrays[a].shape != (m,) for a in ("prob", "rindices", "rprob", "redge")):
        return None
    graph = InfluenceGraph(
        ids=cast(list[str], ids),
        indptr=arrays["indptr"],
        indices=arrays["indices"],
        prob=arrays["prob"],
        rindptr=arrays["rindptr"],
        rindices=arrays["rindices"],
        rprob=arrays["rprob"],
        redge=arrays["redge"],
        types=types,
        type_names=tuple(str(t) for t in type_names),
        names=cast(list[str], names) if n_names else None,
    )
    return graph, cast(list[str], kinds)
