"""Choropleth classification: quantiles, natural breaks (Jenks), equal intervals."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territoria.api._classify import class_of, classify, jenks_breaks
from territoria.errors import InvalidQuery


def _within_ss(x: np.ndarray, cuts: tuple[int, ...]) -> float:
    bounds = (0, *cuts, len(x))
    return float(
        sum(((x[a:b] - x[a:b].mean()) ** 2).sum() for a, b in itertools.pairwise(bounds) if b > a)
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=1000), min_size=6, max_size=11),
    st.integers(min_value=2, max_value=4),
)
def test_jenks_is_the_exact_optimum(values: list[int], k: int) -> None:
    x = np.sort(np.array(values, dtype=float))
    best = min(_within_ss(x, cuts) for cuts in itertools.combinations(range(1, len(x)), k - 1))
    edges = jenks_breaks(x, k)
    # rebuild the classes from the edges: upper bounds inclusive
    cls = np.searchsorted(np.array(edges[1:-1]), x, side="left")
    cuts = tuple(int(np.searchsorted(cls, c)) for c in range(1, k))
    assert _within_ss(x, cuts) == pytest.approx(best, abs=1e-6)


def test_jenks_separates_two_clusters() -> None:
    values = [1, 2, 3, 2, 1, 100, 101, 99, 100]
    c = classify(values, method="jenks", k=2)
    assert c["counts"] == [5, 4]
    assert 3 <= c["breaks"][1] < 99


def test_quantiles_balance_the_classes() -> None:
    c = classify(list(range(1, 101)), method="quantiles", k=4)
    assert c["counts"] == [25, 25, 25, 25]
    assert c["breaks"][0] == 1 and c["breaks"][-1] == 100


def test_equal_intervals_and_missing_values() -> None:
    c = classify([0, 10, None, float("nan"), 5, 7.5], method="equal", k=4)
    assert c["breaks"] == [0, 2.5, 5, 7.5, 10]
    assert c["missing"] == 2
    assert c["counts"] == [1, 1, 1, 1]
    assert class_of(None, c["breaks"]) is None
    assert class_of(10, c["breaks"]) == 3 and class_of(0, c["breaks"]) == 0


def test_constant_values_make_one_class() -> None:
    c = classify([3, 3, 3], method="quantiles", k=5)
    assert len(c["colors"]) == 1 and c["counts"] == [3]


def test_bad_options() -> None:
    with pytest.raises(InvalidQuery, match="unknown classification 'kmeans'"):
        classify([1, 2], method="kmeans")
    with pytest.raises(InvalidQuery, match="between 2 and 9"):
        classify([1, 2], k=12)
