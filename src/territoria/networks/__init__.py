"""Road and other infrastructure networks: graphs, criticality, isolation, accessibility.

Networks are imported by :mod:`territoria.sources.osm` (``territoria import osm``) and
:mod:`territoria.sources.network_layers` (``territoria import network``); every function here
reads them from the knowledge base and names the network's source in its result.
"""

from __future__ import annotations

import duckdb

from territoria.networks.graph import NetworkInfo, RoadGraph, load_graph, network_info
from territoria.networks.graph import list_info as _list_info
from territoria.networks.isolation import IsolationResult, edges_cut_by, isolation

__all__ = [
    "IsolationResult",
    "NetworkInfo",
    "RoadGraph",
    "edges_cut_by",
    "isolation",
    "list_networks",
    "load_graph",
    "network_info",
]


def list_networks(con: duckdb.DuckDBPyConnection) -> list[NetworkInfo]:
    """Every network of the knowledge base, by id, with its source."""
    return _list_info(con)
