"""Reading influence graphs from edge lists, and the graph's CSR invariants."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from territoria.errors import EdgeListError, InvalidProbability, UnknownNode
from territoria.influence import InfluenceGraph, from_edges, read_edge_list

SNAP = """\
# Directed graph (each unordered pair of nodes is saved once): toy.txt
# FromNodeId\tToNodeId
1\t2
1 3

2 3
# trailing comment
3\t1
"""


def _edges(graph: InfluenceGraph) -> list[tuple[str, str, float]]:
    """Edges as (source id, target id, probability), in forward order."""
    src = graph.sources()
    return [
        (graph.ids[int(u)], graph.ids[int(v)], float(p))
        for u, v, p in zip(src, graph.indices, graph.prob, strict=True)
    ]


def test_snap_without_probabilities_then_weighted_cascade(tmp_path: Path) -> None:
    path = tmp_path / "toy.txt"
    path.write_text(SNAP)
    graph = read_edge_list(path)
    assert graph.ids == ["1", "2", "3"]
    assert graph.n_edges == 4
    assert not graph.has_probabilities
    wc = graph.weighted_cascade()
    # node 3 has in-degree 2, nodes 1 and 2 in-degree 1
    assert sorted(_edges(wc)) == [
        ("1", "2", 1.0),
        ("1", "3", 0.5),
        ("2", "3", 0.5),
        ("3", "1", 1.0),
    ]
    np.testing.assert_allclose(wc.in_weight_sums(), [1.0, 1.0, 1.0])


def test_snap_with_probabilities_and_gzip(tmp_path: Path) -> None:
    path = tmp_path / "toy.txt.gz"
    with gzip.open(path, "wt") as f:
        f.write("# comment\na b 0.25\nb c 1\nc a 0\n")
    graph = read_edge_list(path)
    assert sorted(_edges(graph)) == [("a", "b", 0.25), ("b", "c", 1.0), ("c", "a", 0.0)]


def test_snap_undirected_reads_both_directions(tmp_path: Path) -> None:
    path = tmp_path / "u.txt"
    path.write_text("x y 0.5\n")
    graph = read_edge_list(path, undirected=True)
    assert sorted(_edges(graph)) == [("x", "y", 0.5), ("y", "x", 0.5)]


def test_csv_with_header_types_and_quoted_ids(tmp_path: Path) -> None:
    path = tmp_path / "relations.csv"
    path.write_text(
        "source,target,probability,type,since\n"
        '"Mairie de Lyon, cabinet",Métropole de Lyon,0.3,member of,2020\n'
        "Métropole de Lyon,Région AURA,0.2,funds,2021\n"
        "\n"
        "Région AURA,Préfecture,0.1,member of,2019\n"
    )
    graph = read_edge_list(path)
    assert graph.ids[0] == "Mairie de Lyon, cabinet"
    assert sorted(_edges(graph)) == sorted(
        [
            ("Mairie de Lyon, cabinet", "Métropole de Lyon", 0.3),
            ("Métropole de Lyon", "Région AURA", 0.2),
            ("Région AURA", "Préfecture", 0.1),
        ]
    )
    assert graph.type_names == ("funds", "member of")
    assert graph.types is not None
    by_source = {
        graph.ids[int(u)]: int(t) for u, t in zip(graph.sources(), graph.types, strict=True)
    }
    assert graph.type_names[by_source["Métropole de Lyon"]] == "funds"
    assert graph.type_names[by_source["Région AURA"]] == "member of"


def test_csv_detected_from_content_without_probability(tmp_path: Path) -> None:
    path = tmp_path / "edges.txt"
    path.write_text("# exported\nsource,target\na,b\nb,c\n")
    graph = read_edge_list(path)
    assert [e[:2] for e in _edges(graph)] == [("a", "b"), ("b", "c")]
    assert not graph.has_probabilities


@pytest.mark.parametrize(
    ("name", "text", "line", "fragment"),
    [
        ("p.txt", "a b 0.5\nb c 1.5\n", 2, "'1.5' is outside [0, 1]"),
        ("p.txt", "a b 0.5\nb c -0.1\n", 2, "'-0.1' is outside [0, 1]"),
        ("p.txt", "a b nan\n", 1, "'nan' is outside [0, 1]"),
        ("p.txt", "a b high\n", 1, "'high' is not a number"),
        ("p.txt", "# c\na b\nlonely\n", 3, "got 'lonely'"),
        ("p.txt", "a b c d\n", 1, "got 'a b c d'"),
        ("p.txt", "a b 0.1\nb c\n", 2, "has 2 columns but earlier lines have 3"),
        ("p.csv", "source,target,probability\na,b,2\n", 2, "'2' is outside [0, 1]"),
        ("p.csv", "source,target\na,b,0.1\n", 2, "has 3 fields but the header has 2"),
        ("p.csv", "from,to\na,b\n", 1, "lacks 'source' and 'target'"),
        ("p.csv", "source,target\na,\n", 2, "empty source or target"),
    ],
)
def test_malformed_lines_name_line_value_and_fix(
    tmp_path: Path, name: str, text: str, line: int, fragment: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(EdgeListError) as info:
        read_edge_list(path)
    message = str(info.value)
    assert f"{path}:{line}:" in message
    assert fragment in message
    assert ":" in message.split(fragment, 1)[1] or "use" in message or "fix" in message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "source,target\n"])
def test_empty_edge_list_is_an_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / ("e.csv" if "," in text else "e.txt")
    path.write_text(text)
    with pytest.raises(EdgeListError, match="no edges found"):
        read_edge_list(path)


def test_missing_file_and_non_utf8(tmp_path: Path) -> None:
    with pytest.raises(EdgeListError, match="does not exist"):
        read_edge_list(tmp_path / "nope.txt")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Orléans Tours\n".encode("latin-1"))
    with pytest.raises(EdgeListError, match="not UTF-8"):
        read_edge_list(bad)


def test_from_edges_rejects_bad_probabilities_and_unknown_nodes() -> None:
    with pytest.raises(InvalidProbability, match=r"edge 1 has probability 1\.2"):
        from_edges(["a", "b"], ["b", "c"], [0.5, 1.2])
    with pytest.raises(InvalidProbability, match="nan"):
        from_edges(["a"], ["b"], [float("nan")])
    with pytest.raises(UnknownNode, match="'z' is not in ids"):
        from_edges(["a"], ["z"], 0.5, ids=["a", "b"])
    with pytest.raises(UnknownNode, match=r"outside 0\.\.1"):
        from_edges(np.array([0]), np.array([2]), 0.5, ids=["a", "b"])


def test_from_edges_positions_keep_isolated_nodes_and_names() -> None:
    graph = from_edges(
        np.array([0, 2]), np.array([2, 0]), 0.4, ids=["a", "b", "c"], names=["A", "B", "C"]
    )
    assert graph.n_nodes == 3
    assert graph.out_degree().tolist() == [1, 0, 1]
    assert graph.name(1) == "B"
    assert graph.index("c") == 2
    with pytest.raises(UnknownNode, match="'d'"):
        graph.index("d")


def test_linear_threshold_check_and_normalisation() -> None:
    graph = from_edges(["a", "b", "c"], ["d", "d", "d"], [0.5, 0.4, 0.3])
    with pytest.raises(InvalidProbability, match=r"into node 'd' sum to 1\.2"):
        graph.check_linear_threshold()
    fixed = graph.lt_normalised()
    fixed.check_linear_threshold()
    np.testing.assert_allclose(fixed.prob, np.array([0.5, 0.4, 0.3]) / 1.2)


# ----------------------------------------------------------------------------- properties
node_ids = st.text(
    alphabet=st.characters(categories=["L", "N"], include_characters="-_.:/'"),
    min_size=1,
    max_size=8,
).filter(lambda s: not s.startswith("#"))
edge_lists = st.lists(
    st.tuples(node_ids, node_ids, st.floats(0.0, 1.0, allow_nan=False)), min_size=1, max_size=30
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edges=edge_lists)
def test_snap_round_trip(tmp_path: Path, edges: list[tuple[str, str, float]]) -> None:
    path = tmp_path / "round.txt"
    path.write_text("# generated\n" + "".join(f"{s}\t{t} {p!r}\n" for s, t, p in edges))
    graph = read_edge_list(path)
    assert sorted(_edges(graph)) == sorted(edges)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edges=st.lists(
        st.tuples(
            st.text(st.characters(exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]), min_size=1),
            st.text(st.characters(exclude_categories=["Cc", "Cs", "Zs", "Zl", "Zp"]), min_size=1),
            st.floats(0.0, 1.0, allow_nan=False),
        ),
        min_size=1,
        max_size=20,
    ).filter(lambda es: not any(s.startswith("#") for s, _, _ in es))
)
def test_csv_round_trip_with_any_text_ids(
    tmp_path: Path, edges: list[tuple[str, str, float]]
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["source", "target", "probability"])
    writer.writerows([s, t, repr(p)] for s, t, p in edges)
    path = tmp_path / "round.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    graph = read_edge_list(path)
    assert sorted(_edges(graph)) == sorted(edges)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet=st.sampled_from(list("ab1 \t\n#,.-e0")), max_size=60))
def test_any_text_parses_or_raises_edge_list_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_text(text)
    try:
        graph = read_edge_list(path)
    except EdgeListError as exc:
        assert str(path) in str(exc)
    else:
        assert graph.n_edges > 0
        assert graph.has_probabilities or bool(np.isnan(graph.prob).all())


@settings(max_examples=60, deadline=None)
@given(
    data=st.integers(1, 12).flatmap(
        lambda n: st.lists(
            st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.floats(0.0, 1.0)),
            max_size=40,
        ).map(lambda es: (n, es))
    )
)
def test_forward_and_reverse_csr_hold_the_same_edges(
    data: tuple[int, list[tuple[int, int, float]]],
) -> None:
    n, edges = data
    src = np.array([e[0] for e in edges], dtype=np.int64)
    dst = np.array([e[1] for e in edges], dtype=np.int64)
    prob = np.array([e[2] for e in edges], dtype=np.float64)
    graph = from_edges(src, dst, prob, ids=[f"n{i}" for i in range(n)])
    forward = sorted(
        zip(graph.sources().tolist(), graph.indices.tolist(), graph.prob.tolist(), strict=True)
    )
    targets = np.repeat(np.arange(n), np.diff(graph.rindptr))
    reverse = sorted(
        zip(graph.rindices.tolist(), targets.tolist(), graph.rprob.tolist(), strict=True)
    )
    assert forward == reverse == sorted(edges)
    # redge points every reverse slot at the same edge in forward order
    np.testing.assert_array_equal(graph.indices[graph.redge], targets)
    np.testing.assert_array_equal(graph.prob[graph.redge], graph.rprob)
    np.testing.assert_array_equal(np.diff(graph.indptr), np.bincount(src, minlength=n))
