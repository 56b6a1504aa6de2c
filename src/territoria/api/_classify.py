"""Classification of indicator values into colour classes for choropleth maps.

Three methods, as in cartography textbooks and mapclassify:

``quantiles``
    each class holds about the same number of territories;
``jenks``
    natural breaks (Fisher–Jenks): minimise the within-class variance; computed exactly on at
    most 1,000 values (evenly spaced quantiles of the data when there are more);
``equal``
    classes of equal width between the minimum and the maximum.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from territoria.errors import InvalidQuery

__all__ = ["METHODS", "classify", "jenks_breaks"]

METHODS: Final = ("quantiles", "jenks", "equal")
#: Sequential palettes (ColorBrewer YlOrRd) for 2 to 9 classes.
_PALETTE: Final = [
    "#ffffcc",
    "#ffeda0",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#bd0026",
    "#800026",
]
_JENKS_SAMPLE: Final = 1000


def palette(k: int) -> list[str]:
    """Return ``k`` colours from light to dark."""
    idx = np.linspace(0, len(_PALETTE) - 1, k).round().astype(int)
    return [_PALETTE[i] for i in idx]


def jenks_breaks(values: NDArray[np.float64], k: int) -> list[float]:
    """Return the ``k + 1`` class edges of the Fisher–Jenks natural breaks of ``values``.

    Exact dynamic programming in O(k n²) over the sorted values.
    """
    x = np.sort(values)
    n = len(x)
    if n <= k:
        return [float(v) for v in np.unique(x)]
    csum = np.concatenate([[0.0], np.cumsum(x)])
    csq = np.concatenate([[0.0], np.cumsum(x * x)])

    def ssd(i: NDArray[np.int64], j: int) -> NDArray[np.float64]:
        # sum of squared deviations of x[i:j] (vectorised over i)
        cnt = j - i
        s = csum[j] - csum[i]
        result: NDArray[np.float64] = (csq[j] - csq[i]) - s * s / cnt
        return result

    cost = np.full((k + 1, n + 1), np.inf)
    back = np.zeros((k + 1, n + 1), dtype=np.int64)
    cost[0, 0] = 0.0
    for c in range(1, k + 1):
        for j in range(c, n + 1):
            i = np.arange(c - 1, j)
            total = cost[c - 1, i] + ssd(i, j)
            best = int(np.argmin(total))
            cost[c, j] = total[best]
            back[c, j] = i[best]
    edges = [n]
    j = n
    for c in range(k, 0, -1):
        j = int(back[c, j])
        edges.append(j)
    edges.reverse()
    # edges are start indices of each class; convert to value bounds
    result = [float(x[0])] + [float(x[e - 1]) for e in edges[1:]]
    return result


def classify(
    values: Sequence[float | None], *, method: str = "quantiles", k: int = 5
) -> dict[str, Any]:
    """Return the classes of ``values`` for a choropleth legend.

    Parameters
    ----------
    values
        One value per territory (``None`` or NaN: no data, left out).
    method
        ``quantiles``, ``jenks`` or ``equal``.
    k
        Number of classes wanted (2 to 9); fewer when the data has fewer distinct values.

    Returns
    -------
    dict
        ``method``, ``breaks`` (class edges, ``len(colors) + 1`` values from the minimum to the
        maximum), ``colors`` and ``counts`` (territories per class), ``missing``.

    Raises
    ------
    InvalidQuery
        Unknown method or a number of classes outside 2–9.
    """
    if method not in METHODS:
        msg = f"unknown classification {method!r}: choose one of {', '.join(METHODS)}"
        raise InvalidQuery(msg)
    if not 2 <= k <= 9:
        msg = f"classes must be between 2 and 9, not {k!r}"
        raise InvalidQuery(msg)
    arr = np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)
    present = arr[np.isfinite(arr)]
    missing = int(len(arr) - len(present))
    if len(present) == 0:
        return {"method": method, "breaks": [], "colors": [], "counts": [], "missing": missing}
    lo, hi = float(present.min()), float(present.max())
    if method == "quantiles":
        edges = [float(v) for v in np.quantile(present, np.linspace(0, 1, k + 1))]
    elif method == "equal":
        edges = [float(v) for v in np.linspace(lo, hi, k + 1)]
    else:
        sample = present
        if len(sample) > _JENKS_SAMPLE:
            sample = np.quantile(present, np.linspace(0, 1, _JENKS_SAMPLE))
        edges = jenks_breaks(sample, k)
        edges[0], edges[-1] = lo, hi
    unique_edges: list[float] = []
    for e in edges:
        if not unique_edges or e > unique_edges[-1]:
            unique_edges.append(e)
    if len(unique_edges) == 1:
        unique_edges.append(unique_edges[0])
    n_classes = len(unique_edges) - 1
    inner = np.array(unique_edges[1:-1])
    classes = np.searchsorted(inner, present, side="left")
    counts = np.bincount(classes, minlength=n_classes)[:n_classes]
    return {
        "method": method,
        "breaks": unique_edges,
        "colors": palette(n_classes) if n_classes >= 2 else [_PALETTE[4]],
        "counts": [int(c) for c in counts],
        "missing": missing,
    }


def class_of(value: float | None, breaks: Sequence[float]) -> int | None:
    """Return the class index of ``value`` given the class ``breaks`` (``None``: no data)."""
    if value is None or not np.isfinite(value) or len(breaks) < 2:
        return None
    return int(np.searchsorted(np.asarray(breaks[1:-1]), value, side="left"))
