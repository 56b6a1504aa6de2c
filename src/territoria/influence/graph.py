"""The influence graph: a compact directed graph with a probability on every edge.

Nodes are persons or organisations identified by strings; an edge ``u -> v`` carries the
probability that ``u``'s advocacy reaches and moves ``v``. The graph is stored twice in
compressed sparse row (CSR) form: forward (out-edges, used by forward simulation) and reverse
(in-edges, used by reverse-reachable sampling).
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from territoria.errors import EdgeListError, InvalidProbability, UnknownNode

__all__ = ["InfluenceGraph", "from_edges", "read_edge_list"]

# protect against floating-point drift when checking that linear-threshold weights sum to 1
LT_TOLERANCE = 1e-9


@dataclass(frozen=True, eq=False)
class InfluenceGraph:
    """A directed graph in CSR form with an influence probability on every edge.

    Build one with :func:`from_edges` or :func:`read_edge_list` rather than directly.

    Attributes
    ----------
    ids
        Node identifiers; node ``i`` of every array is ``ids[i]``.
    indptr, indices, prob
        Forward CSR: the out-edges of node ``u`` are ``indices[indptr[u]:indptr[u + 1]]``
        with probabilities ``prob[indptr[u]:indptr[u + 1]]``. ``NaN`` means "not set yet"
        (an edge list without a probability column); call :meth:`weighted_cascade`.
    rindptr, rindices, rprob
        Reverse CSR: the in-edges of node ``v`` come from ``rindices[rindptr[v]:rindptr[v+1]]``.
    redge
        For each reverse slot, the position of the same edge in the forward arrays.
    types, type_names
        Optional per-edge relation-type codes (forward order) and their names.
    names
        Optional display names of the nodes (defaults to the identifiers).
    """

    ids: list[str]
    indptr: NDArray[np.int64]
    indices: NDArray[np.int32]
    prob: NDArray[np.float64]
    rindptr: NDArray[np.int64]
    rindices: NDArray[np.int32]
    rprob: NDArray[np.float64]
    redge: NDArray[np.int64]
    types: NDArray[np.int16] | None = None
    type_names: tuple[str, ...] = ()
    names: list[str] | None = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.ids)

    @property
    def n_edges(self) -> int:
        """Number of directed edges (parallel edges count separately)."""
        return int(self.indices.shape[0])

    @property
    def has_probabilities(self) -> bool:
        """Whether every edge has a probability (none is ``NaN``)."""
        return not bool(np.isnan(self.prob).any())

    @cached_property
    def _index(self) -> dict[str, int]:
        return {node: i for i, node in enumerate(self.ids)}

    @property
    def positions(self) -> dict[str, int]:
        """Position of every node id, built once per graph (shared: do not modify it)."""
        return self._index

    def index(self, node_id: str) -> int:
        """Return the position of node ``node_id``.

        Raises
        ------
        UnknownNode
            If no node has this identifier.
        """
        try:
            return self._index[node_id]
        except KeyError:
            msg = (
                f"unknown node {node_id!r}: the graph has {self.n_nodes} nodes; "
                "check the identifier against graph.ids"
            )
            raise UnknownNode(msg) from None

    def name(self, i: int) -> str:
        """Return the display name of node ``i`` (its identifier when no name is set)."""
        return self.names[i] if self.names is not None else self.ids[i]

    def sources(self) -> NDArray[np.int32]:
        """Return the source node of every edge, in forward order."""
        counts = np.diff(self.indptr)
        return np.repeat(np.arange(self.n_nodes, dtype=np.int32), counts)

    def in_degree(self) -> NDArray[np.int64]:
        """Return the number of in-edges of every node."""
        return np.diff(self.rindptr)

    def out_degree(self) -> NDArray[np.int64]:
        """Return the number of out-edges of every node."""
        return np.diff(self.indptr)

    def in_weight_sums(self) -> NDArray[np.float64]:
        """Return, for every node, the sum of the probabilities of its in-edges."""
        sums = np.zeros(self.n_nodes, dtype=np.float64)
        np.add.at(sums, self.indices, self.prob)
        return sums

    def with_probabilities(self, prob: ArrayLike) -> InfluenceGraph:
        """Return a copy of the graph with new edge probabilities (forward edge order).

        Raises
        ------
        InvalidProbability
            If a probability is not a number in ``[0, 1]`` or the length is wrong.
        """
        p = _checked_probs(prob, self.n_edges, allow_nan=False)
        return InfluenceGraph(
            ids=self.ids,
            indptr=self.indptr,
            indices=self.indices,
            prob=p,
            rindptr=self.rindptr,
            rindices=self.rindices,
            rprob=p[self.redge],
            redge=self.redge,
            types=self.types,
            type_names=self.type_names,
            names=self.names,
        )

    def weighted_cascade(self) -> InfluenceGraph:
        """Return a copy with the weighted-cascade probabilities ``p(u -> v) = 1 / indeg(v)``.

        Parallel edges count in the in-degree, so the in-weights of every node with in-edges
        sum to exactly 1: the result is also valid for the linear-threshold model.
        """
        indeg = self.in_degree().astype(np.float64)
        return self.with_probabilities(1.0 / indeg[self.indices])

    def lt_normalised(self) -> InfluenceGraph:
        """Return a copy whose in-weights sum to at most 1 at every node.

        Nodes whose in-edge probabilities sum above 1 have them divided by the sum; other
        nodes are unchanged. Use it to turn an independent-cascade graph into a valid
        linear-threshold graph.
        """
        sums = self.in_weight_sums()
        scale = np.where(sums > 1.0, 1.0 / np.maximum(sums, 1.0), 1.0)
        return self.with_probabilities(np.minimum(self.prob * scale[self.indices], 1.0))

    def check_linear_threshold(self) -> None:
        """Check that the in-weights of every node sum to at most 1.

        Raises
        ------
        InvalidProbability
            Naming the first offending node, its weight sum and how to fix it.
        """
        sums = self.in_weight_sums()
        bad = np.flatnonzero(sums > 1.0 + LT_TOLERANCE)
        if bad.size:
            v = int(bad[0])
            msg = (
                f"linear-threshold weights into node {self.ids[v]!r} sum to {float(sums[v])!r}, "
                f"above 1 ({bad.size} node(s) affected): use graph.lt_normalised() to rescale "
                "them, or graph.weighted_cascade()"
            )
            raise InvalidProbability(msg)


def _checked_probs(prob: ArrayLike | None, m: int, *, allow_nan: bool) -> NDArray[np.float64]:
    """Return ``prob`` as a float64 array of length ``m`` after checking its values."""
    if prob is None:
        return np.full(m, np.nan, dtype=np.float64)
    try:
        p = np.asarray(prob, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"edge probabilities must be numbers in [0, 1]: {exc}"
        raise InvalidProbability(msg) from None
    if p.ndim == 0:
        p = np.full(m, float(p), dtype=np.float64)
    if p.shape != (m,):
        msg = f"expected {m} edge probabilities, got an array of shape {p.shape!r}"
        raise InvalidProbability(msg)
    nan = np.isnan(p)
    bad = ~nan & ~((p >= 0.0) & (p <= 1.0))
    if not allow_nan:
        bad |= nan
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        msg = (
            f"edge {e} has probability {float(p[e])!r}: edge probabilities must be numbers "
            "in [0, 1]; rescale them or use weighted_cascade()"
        )
        raise InvalidProbability(msg)
    return p.copy() if p is prob else p


def _resolve_nodes(
    sources: ArrayLike, targets: ArrayLike, ids: Sequence[str] | None
) -> tuple[NDArray[np.int64], NDArray[np.int64], list[str]]:
    """Map edge endpoints to node positions, returning sources, targets and identifiers."""
    src = np.asarray(sources)
    dst = np.asarray(targets)
    if src.shape != dst.shape or src.ndim != 1:
        msg = (
            f"sources and targets must be 1-D sequences of the same length, "
            f"got shapes {src.shape!r} and {dst.shape!r}"
        )
        raise ValueError(msg)
    if src.dtype.kind in "iu" and dst.dtype.kind in "iu":
        s = src.astype(np.int64)
        t = dst.astype(np.int64)
        n = len(ids) if ids is not None else int(max(s.max(initial=-1), t.max(initial=-1)) + 1)
        for arr in (s, t):
            bad = (arr < 0) | (arr >= n)
            if bad.any():
                value = int(arr[np.flatnonzero(bad)[0]])
                msg = f"node index {value!r} is outside 0..{n - 1}: pass ids= listing every node"
                raise UnknownNode(msg)
        names = list(ids) if ids is not None else [str(i) for i in range(n)]
        return s, t, names
    index: dict[str, int] = {}
    if ids is not None:
        index = {str(node): i for i, node in enumerate(ids)}
        if len(index) != len(ids):
            msg = "ids contains duplicate identifiers: every node must appear once"
            raise ValueError(msg)
        try:
            s = np.fromiter((index[str(x)] for x in src.tolist()), np.int64, src.size)
            t = np.fromiter((index[str(x)] for x in dst.tolist()), np.int64, dst.size)
        except KeyError as exc:
            msg = f"edge endpoint {exc.args[0]!r} is not in ids: add it to ids or drop the edge"
            raise UnknownNode(msg) from None
        return s, t, [str(node) for node in ids]
    pairs = np.empty(2 * src.size, dtype=np.int64)
    for j, x in enumerate(np.column_stack([src, dst]).ravel().tolist()):
        pairs[j] = index.setdefault(str(x), len(index))
    return pairs[0::2].copy(), pairs[1::2].copy(), list(index)


def from_edges(
    sources: ArrayLike,
    targets: ArrayLike,
    probs: ArrayLike | None,
    *,
    ids: Sequence[str] | None = None,
    types: ArrayLike | None = None,
    type_names: Sequence[str] = (),
    names: Sequence[str] | None = None,
) -> InfluenceGraph:
    """Build an :class:`InfluenceGraph` from parallel arrays of edges.

    Parameters
    ----------
    sources, targets
        Edge endpoints. Integer NumPy arrays are node positions (``0 .. n-1``, with
        ``n = len(ids)`` or one more than the largest position); anything else is node
        identifiers, converted with ``str``.
    probs
        One probability in ``[0, 1]`` per edge, a single number for every edge, or ``None``
        to leave probabilities unset (``NaN``) until :meth:`InfluenceGraph.weighted_cascade`.
    ids
        Every node identifier, in the order of the node positions. It fixes the node order
        and lets isolated nodes exist. Without it, nodes are numbered in order of appearance.
    types, type_names
        Optional relation-type code per edge (small non-negative integers) and their names.
    names
        Optional display name per node.

    Returns
    -------
    InfluenceGraph
        The graph, with edges grouped by source (forward) and by target (reverse).

    Raises
    ------
    InvalidProbability
        If a probability is outside ``[0, 1]``.
    UnknownNode
        If an endpoint is not in ``ids`` or a position is out of range.
    """
    s, t, node_ids = _resolve_nodes(sources, targets, ids)
    n = len(node_ids)
    m = int(s.shape[0])
    p = _checked_probs(probs, m, allow_nan=probs is None)
    if names is not None and len(names) != n:
        msg = f"names has {len(names)} entries but the graph has {n} nodes"
        raise ValueError(msg)
    order = np.argsort(s, kind="stable")
    indices = t[order].astype(np.int32)
    prob = p[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(s, minlength=n), out=indptr[1:])
    # reverse CSR, pointing back to forward positions (so types and probabilities stay in sync)
    rorder = np.argsort(indices, kind="stable")
    src_sorted = s[order]
    rindptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(indices, minlength=n), out=rindptr[1:])
    type_arr: NDArray[np.int16] | None = None
    if types is not None:
        raw = np.asarray(types)
        if raw.shape != (m,) or raw.dtype.kind not in "iu" or (m and raw.min() < 0):
            msg = f"types must hold one non-negative integer code per edge ({m} edges)"
            raise ValueError(msg)
        type_arr = raw[order].astype(np.int16)
    return InfluenceGraph(
        ids=node_ids,
        indptr=indptr,
        indices=indices,
        prob=prob,
        rindptr=rindptr,
        rindices=src_sorted[rorder].astype(np.int32),
        rprob=prob[rorder],
        redge=rorder.astype(np.int64),
        types=type_arr,
        type_names=tuple(type_names),
        names=list(names) if names is not None else None,
    )


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _content_lines(f: io.TextIOBase) -> Iterator[tuple[int, str]]:
    """Yield ``(line number, stripped line)`` for non-blank, non-comment lines."""
    for lineno, line in enumerate(f, start=1):
        text = line.strip()
        if text and not text.startswith("#"):
            yield lineno, text


def _parse_probability(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        msg = (
            f"{where}: probability {text!r} is not a number: the third column must be a "
            "probability in [0, 1], or leave it out and use weighted_cascade()"
        )
        raise EdgeListError(msg) from None
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        msg = (
            f"{where}: probability {text!r} is outside [0, 1]: edge probabilities must be "
            "between 0 and 1 (a weight or timestamp column must be removed or rescaled)"
        )
        raise EdgeListError(msg)
    return value


def _read_snap(
    path: Path, f: io.TextIOBase
) -> tuple[list[str], list[str], list[float] | None, list[str] | None]:
    src: list[str] = []
    dst: list[str] = []
    probs: list[float] = []
    ncols = 0
    for lineno, text in _content_lines(f):
        parts = text.split()
        where = f"{path}:{lineno}"
        if len(parts) not in (2, 3):
            msg = (
                f"{where}: expected 'source target [probability]' separated by whitespace, "
                f"got {text!r}: fix the line or comment it out with '#'"
            )
            raise EdgeListError(msg)
        if ncols == 0:
            ncols = len(parts)
        elif len(parts) != ncols:
            msg = (
                f"{where}: line {text!r} has {len(parts)} columns but earlier lines have "
                f"{ncols}: give every edge a probability, or none"
            )
            raise EdgeListError(msg)
        src.append(parts[0])
        dst.append(parts[1])
        if ncols == 3:
            probs.append(_parse_probability(parts[2], where))
    return src, dst, (probs if ncols == 3 else None), None


def _read_csv(
    path: Path, f: io.TextIOBase
) -> tuple[list[str], list[str], list[float] | None, list[str] | None]:
    rows = csv.reader(f)
    header: list[str] | None = None
    for row in rows:
        if row and any(cell.strip() for cell in row) and not row[0].lstrip().startswith("#"):
            header = [cell.strip().lower() for cell in row]
            break
    if header is None:
        return [], [], None, None
    if "source" not in header or "target" not in header:
        msg = (
            f"{path}:{rows.line_num}: CSV header {','.join(header)!r} lacks 'source' and "
            "'target': the first line must be 'source,target[,probability][,type]'"
        )
        raise EdgeListError(msg)
    i_src, i_dst = header.index("source"), header.index("target")
    i_p = header.index("probability") if "probability" in header else -1
    i_t = header.index("type") if "type" in header else -1
    width = len(header)
    src: list[str] = []
    dst: list[str] = []
    probs: list[float] = []
    types: list[str] = []
    for row in rows:
        if not row or not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        where = f"{path}:{rows.line_num}"
        if len(row) != width:
            msg = (
                f"{where}: row {','.join(row)!r} has {len(row)} fields but the header has "
                f"{width}: quote values that contain commas"
            )
            raise EdgeListError(msg)
        s, t = row[i_src].strip(), row[i_dst].strip()
        if not s or not t:
            msg = f"{where}: row {','.join(row)!r} has an empty source or target: fill it in"
            raise EdgeListError(msg)
        src.append(s)
        dst.append(t)
        if i_p >= 0:
            probs.append(_parse_probability(row[i_p].strip(), where))
        if i_t >= 0:
            types.append(row[i_t].strip())
    return src, dst, (probs if i_p >= 0 else None), (types if i_t >= 0 else None)


def read_edge_list(
    path: str | Path,
    *,
    format: Literal["auto", "snap", "csv"] = "auto",
    undirected: bool = False,
) -> InfluenceGraph:
    """Read an influence graph from an edge-list file.

    Two layouts are read (optionally gzip-compressed, ``.gz``):

    * SNAP style: one edge per line, ``source target [probability]`` separated by whitespace;
      lines starting with ``#`` are comments. Either every line has a probability or none.
    * CSV with a header: columns ``source``, ``target`` and optionally ``probability`` and
      ``type`` (relation type, any text); other columns are ignored.

    Parameters
    ----------
    path
        The file to read.
    format
        ``"auto"`` picks CSV when the name ends in ``.csv``/``.csv.gz`` or the first
        non-comment line contains a comma, SNAP otherwise.
    undirected
        Read every line as two directed edges (SNAP undirected graphs list each edge once).

    Returns
    -------
    InfluenceGraph
        Nodes are numbered in order of first appearance. Without a probability column the
        probabilities are unset (``NaN``): call :meth:`InfluenceGraph.weighted_cascade`.

    Raises
    ------
    EdgeListError
        On an empty file or a malformed line, with the line number and the bad value.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"edge list {str(p)!r} does not exist or is not a file: check the path"
        raise EdgeListError(msg)
    try:
        kind = format
        if kind == "auto":
            name = p.name.lower().removesuffix(".gz")
            if name.endswith(".csv"):
                kind = "csv"
            else:
                with _open_text(p) as f:
                    first = next(_content_lines(f), (0, ""))[1]
                kind = "csv" if "," in first else "snap"
        with _open_text(p) as f:
            reader = _read_csv if kind == "csv" else _read_snap
            src, dst, probs, types = reader(p, f)
    except UnicodeDecodeError as exc:
        msg = f"{p}: not UTF-8 text ({exc.reason}): re-save the file as UTF-8"
        raise EdgeListError(msg) from None
    except (OSError, EOFError) as exc:
        msg = f"{p}: cannot read the edge list ({exc}): check the file is complete"
        raise EdgeListError(msg) from None
    if not src:
        msg = (
            f"{p}: no edges found: the file is empty or holds only comments; expected lines "
            "'source target [probability]' or a CSV with a 'source,target' header"
        )
        raise EdgeListError(msg)
    codes: NDArray[np.int64] | None = None
    type_names: list[str] = []
    if types is not None:
        type_names = sorted(set(types))
        lookup = {name: i for i, name in enumerate(type_names)}
        codes = np.fromiter((lookup[x] for x in types), np.int64, len(types))
    if undirected:
        src, dst = src + dst, dst + src
        probs = probs + probs if probs is not None else None
        codes = np.concatenate([codes, codes]) if codes is not None else None
    return from_edges(
        np.array(src, dtype=object),
        np.array(dst, dtype=object),
        np.array(probs, dtype=np.float64) if probs is not None else None,
        types=codes,
        type_names=type_names,
    )
