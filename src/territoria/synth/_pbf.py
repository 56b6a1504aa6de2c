"""Write nodes and ways to an ``.osm.pbf`` file in the real format (pyosmium's SimpleWriter)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["write_pbf"]

Way = tuple[int, Sequence[int], Mapping[str, str]]


def write_pbf(
    path: Path,
    node_ids: npt.ArrayLike,
    lon: npt.ArrayLike,
    lat: npt.ArrayLike,
    ways: Iterable[Way],
    *,
    replication_timestamp: str | None = None,
) -> Path:
    """Write the nodes (ids and WGS84 coordinates) and ways (id, node ids, tags) to ``path``.

    ``replication_timestamp`` (``2026-11-30T21:00:00Z``) goes into the header as
    ``osmosis_replication_timestamp``, as Geofabrik's extracts carry it.
    """
    import osmium
    from osmium.osm.mutable import Node
    from osmium.osm.mutable import Way as MWay

    path = Path(path)
    path.unlink(missing_ok=True)
    header = osmium.io.Header()
    header.set("generator", "territoria")
    if replication_timestamp:
        header.set("osmosis_replication_timestamp", replication_timestamp)
    ids = np.asarray(node_ids, dtype=np.int64).tolist()
    xs = np.asarray(lon, dtype=np.float64).tolist()
    ys = np.asarray(lat, dtype=np.float64).tolist()
    writer = osmium.SimpleWriter(str(path), header=header)
    try:
        for i, x, y in zip(ids, xs, ys, strict=True):
            writer.add_node(Node(id=i, location=(x, y), version=1))
        for wid, refs, tags in ways:
            writer.add_way(MWay(id=wid, nodes=list(refs), tags=dict(tags), version=1))
    finally:
        writer.close()
    return path
