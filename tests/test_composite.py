"""Composite indices: COINr's ASEM example reproduced, the pipeline's properties, bad input,
saved definitions, the CLI and the routes."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from territoria.analysis.composite import (
    Method,
    build_index,
    compute,
    delete_index,
    list_indices,
    show_index,
)
from territoria.analysis.composite._aggregate import Node, aggregate_tree, scores
from territoria.analysis.composite._impute import impute
from territoria.analysis.composite._normalise import normalise
from territoria.analysis.composite._outliers import treat_matrix
from territoria.analysis.composite._weights import noisy_weights, pca_weights, user_weights
from territoria.errors import CompositeInputError, UnknownIndex

# COINr's ASEM example data and its published results are COINr's (github.com/bluefoxr/COINr,
# MIT) and are not redistributed in this repository: export them from R (README, "Composite
# indices": ASEM_iData.csv, ASEM_iMeta.csv, and published.csv typed from the "Presenting Results"
# vignette) into a folder and point TERRITORIA_COINR_ASEM at it.
ASEM = Path(os.environ.get("TERRITORIA_COINR_ASEM", "/nonexistent-coinr-asem"))
needs_asem = pytest.mark.skipif(
    not (ASEM / "ASEM_iData.csv").is_file(),
    reason="COINr's ASEM data not available: set TERRITORIA_COINR_ASEM (see the README)",
)
AGGREGATES = [
    "Index",
    "Conn",
    "Sust",
    "Physical",
    "ConEcFin",
    "Political",
    "Instit",
    "P2P",
    "Environ",
    "Social",
    "SusEcFin",
]


def _asem_levels(meta: pd.DataFrame) -> list[list[Node]]:
    levels = []
    for lev in (2, 3, 4):
        nodes = []
        for code in meta[meta.Level == lev].iCode:
            kids = meta[(meta.Parent == code) & (meta.Level == lev - 1)]
            nodes.append(Node(code, tuple(kids.iCode), tuple(kids.Weight.astype(float))))
        levels.append(nodes)
    return levels


def _asem(coinr_count: bool) -> pd.DataFrame:
    """COINr's build_example_coin(): denominate, group-mean impute, treat, min-max, mean."""
    data = pd.read_csv(ASEM / "ASEM_iData.csv")
    meta = pd.read_csv(ASEM / "ASEM_iMeta.csv")
    ind = meta[meta.Type == "Indicator"]
    x = data[ind.iCode].to_numpy(np.float64)
    for j, denominator in enumerate(ind.Denominator):
        if isinstance(denominator, str):
            x[:, j] /= data[denominator].to_numpy(np.float64)
    x = impute(x, "mean", groups=data.EurAsia_group.to_numpy())
    treated, _ = treat_matrix(x, winmax=5, coinr_count=coinr_count)
    z = normalise(treated * ind.Direction.to_numpy(np.float64), "minmax")
    out = aggregate_tree(
        {c: z[:, j] for j, c in enumerate(ind.iCode)}, _asem_levels(meta), "arithmetic"
    )
    res = pd.DataFrame({"uCode": data.uCode, **{k: out[k] for k in AGGREGATES}})
    res["Rank"] = res.Index.rank(ascending=False, method="min").astype(int)
    return res.set_index("uCode")


@needs_asem
def test_coinr_asem_published_scores_and_ranks_reproduced() -> None:
    published = pd.read_csv(ASEM / "published.csv").set_index("uCode")
    ours = _asem(coinr_count=True).loc[published.index]
    assert (ours.Rank == published.Rank).all()
    diff = (ours[AGGREGATES] - published[AGGREGATES]).abs()
    assert float(diff.to_numpy().max()) <= 0.005 + 1e-9  # published to 2 decimals
    assert len(_asem(coinr_count=True)) == 51


@needs_asem
def test_coinr_winsorisation_count_matters() -> None:
    # counting every replaced point against winmax changes CHE's ConEcFin (32.87 published)
    assert round(_asem(coinr_count=False).loc["CHE", "ConEcFin"], 2) != 32.87


def _values(seed: int, n: int = 40, k: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(size=(n, k))


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    who=st.integers(0, 39),
    col=st.integers(0, 2),
    bump=st.floats(0.01, 50.0),
    norm=st.sampled_from(["minmax", "zscore", "rank"]),
    agg=st.sampled_from(["arithmetic", "geometric"]),
)
def test_better_value_on_positive_indicator_never_lowers_score(
    seed: int, who: int, col: int, bump: float, norm: str, agg: str
) -> None:
    x = _values(seed)
    method = Method(
        indicators=("a", "b", "c"),
        polarity=(1, 1, -1),
        normalisation=norm,
        aggregation=agg,
        treat_outliers=False,
        runs=0,
    )
    before = compute(x, method).score[who]
    better = x.copy()
    better[who, col] += bump if col < 2 else -min(bump, better[who, col] * 0.99)  # c is negative
    after = compute(better, method).score[who]
    assert after >= before - 1e-9


def test_weights_sum_to_one() -> None:
    rng = np.random.default_rng(3)
    assert user_weights(["a", "b"], {"a": 2.0, "b": 6.0}, rescale=True).tolist() == [0.25, 0.75]
    assert np.isclose(pca_weights(normalise(_values(1, k=4), "minmax")).sum(), 1.0)
    sets = noisy_weights(np.array([0.5, 0.3, 0.2]), 0.25, 100, rng)
    assert np.allclose(sets.sum(axis=1), 1.0)
    assert not np.allclose(sets, sets[0])  # noise there
    assert np.isclose(
        compute(
            _values(2), Method(indicators=("a", "b", "c"), polarity=(1, 1, 1), runs=0)
        ).weights.sum(),
        1.0,
    )


def test_weights_not_summing_to_one_refused_with_fix() -> None:
    with pytest.raises(CompositeInputError, match=r"sum to 0\.9.*--rescale-weights"):
        user_weights(["a", "b"], {"a": 0.5, "b": 0.4})
    with pytest.raises(CompositeInputError, match="missing \\['b'\\]"):
        user_weights(["a", "b"], {"a": 1.0})


def test_rank_intervals_contain_median_rank_and_sensitivity_reported() -> None:
    x = _values(5, n=200, k=4)
    x[3, 1] = np.nan
    res = compute(
        x, Method(indicators=("a", "b", "c", "d"), polarity=(1, -1, 1, 1), runs=300, seed=4)
    )
    unc = res.uncertainty
    assert unc is not None
    assert (unc.rank_low <= unc.median_rank).all() and (unc.median_rank <= unc.rank_high).all()
    assert unc.rank_low.min() >= 1 and unc.rank_high.max() <= 200
    assert [s.input for s in unc.sensitivity] == [
        "weights",
        "normalisation",
        "aggregation",
        "imputation",
    ]
    assert unc.runs == 64 * 6  # N = 64 (power of two), D = 4: N (D + 2) ≥ 300
    total = {s.input: s.total for s in unc.sensitivity}
    assert total["aggregation"] > total["imputation"]  # one missing value barely moves ranks


def test_same_seed_same_intervals() -> None:
    x = _values(6, n=80)
    m = Method(indicators=("a", "b", "c"), polarity=(1, 1, 1), runs=100, seed=9)
    a, b = compute(x, m).uncertainty, compute(x, m).uncertainty
    assert a is not None and b is not None
    assert (a.rank_low == b.rank_low).all() and (a.rank_high == b.rank_high).all()


def test_geometric_with_zeros() -> None:
    # min-max gives the worst territory of each indicator a 0: the geometric mean stays positive
    x = np.array([[0.0, 5.0], [10.0, 0.0], [5.0, 10.0], [2.0, 2.0]])
    z = normalise(x, "minmax")
    assert (z == 0).any()
    s = scores(z, np.array([0.5, 0.5]), "geometric")[:, 0]
    assert np.isfinite(s).all() and (s > 0).all()
    assert s[0] > 1.0 and s[2] == pytest.approx(np.sqrt(50.5 * 100.0))  # on [1, 100]
    res = compute(
        x,
        Method(
            indicators=("a", "b"),
            polarity=(1, 1),
            aggregation="geometric",
            treat_outliers=False,
            runs=0,
        ),
    )
    assert res.rank.tolist() == [4, 3, 1, 2]  # the balanced territory 3 beats 1 (0 and 100)


def test_constant_and_mostly_missing_indicators_refused() -> None:
    x = _values(7, n=20)
    x[:, 1] = 4.0
    with pytest.raises(CompositeInputError, match="'b' is constant"):
        compute(x, Method(indicators=("a", "b", "c"), polarity=(1, 1, 1), runs=0))
    y = _values(7, n=20)
    y[:15, 2] = np.nan
    with pytest.raises(CompositeInputError, match=r"'c' has values for 5 of 20"):
        compute(y, Method(indicators=("a", "b", "c"), polarity=(1, 1, 1), runs=0))


def test_missing_values_reweighted_not_zeroed() -> None:
    x = np.array([[1.0, 1.0], [0.0, np.nan], [0.5, 0.0]])
    z = normalise(x, "minmax")
    s = scores(z, np.array([0.5, 0.5]), "arithmetic")[:, 0]
    assert s[1] == 0.0 and s[0] == 100.0  # territory 1 scored on its one indicator


def _commune_method(runs: int = 64) -> Method:
    return Method(
        indicators=("population", "density", "area_km2"), polarity=(1, -1, 1), runs=runs, seed=2
    )


def test_build_show_list_delete_with_provenance(mini_db: duckdb.DuckDBPyConnection) -> None:
    built = build_index(mini_db, "taille", level="commune", method=_commune_method())
    assert built.ranked == 59 and built.scores[0].rank == 1
    assert all(
        s.rank_interval is not None and s.rank_interval[0] <= s.rank_interval[1]
        for s in built.scores
    )
    pop = next(i for i in built.indicators if i.code == "population")
    assert pop.source and pop.period and pop.weight == pytest.approx(1 / 3)
    shown = show_index(mini_db, "taille")
    assert [s.code for s in shown.scores] == [s.code for s in built.scores]
    rebuilt = build_index(mini_db, "taille")  # the saved definition, reused
    assert [s.score for s in rebuilt.scores] == [s.score for s in built.scores]
    assert [i.name for i in list_indices(mini_db)] == ["taille"]
    audit = mini_db.execute(
        "SELECT count(*) FROM audit_log WHERE event = 'composite.build' AND target = 'taille'"
    ).fetchone()
    assert audit == (2,)
    delete_index(mini_db, "taille")
    assert list_indices(mini_db) == []
    with pytest.raises(UnknownIndex, match="index list"):
        show_index(mini_db, "taille")
    assert mini_db.execute(
        "SELECT count(*) FROM composite_index WHERE deleted_at IS NOT NULL"
    ).fetchone() == (1,)


def test_bad_indicator_writes_nothing(mini_db: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(LookupError):
        build_index(
            mini_db,
            "x",
            level="commune",
            method=Method(indicators=("nope",), polarity=(1,), runs=0),
        )
    assert mini_db.execute("SELECT count(*) FROM composite_index").fetchone() == (0,)


def test_cli_build_json_show_list_delete(mini_db_path: Path, tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from territoria.cli import app

    db = str(tmp_path / "kb.duckdb")
    shutil.copyfile(mini_db_path, db)
    runner = CliRunner()
    built = runner.invoke(
        app,
        [
            "index",
            "build",
            "taille",
            "--level",
            "commune",
            "--indicators",
            "population:+,density:-,area_km2:+",
            "--runs",
            "64",
            "--json",
            "--db",
            db,
        ],
    )
    assert built.exit_code == 0, built.output
    data = json.loads(built.output)
    first = data["scores"][0]
    assert set(first) >= {"code", "name", "score", "rank", "rank_interval"} and first["rank"] == 1
    assert first["rank_interval"][0] <= first["rank_interval"][1]
    assert len(data["scores"]) == 59 and [s["input"] for s in data["sensitivity"]][:3] == [
        "weights",
        "normalisation",
        "aggregation",
    ]
    shown = runner.invoke(app, ["index", "show", "taille", "--json", "--db", db])
    assert json.loads(shown.output)["scores"] == data["scores"]
    bad = runner.invoke(
        app,
        [
            "index",
            "build",
            "t2",
            "--level",
            "commune",
            "--indicators",
            "population:+,density:-",
            "--weights",
            "population:0.7,density:0.4",
            "--db",
            db,
        ],
    )
    assert bad.exit_code == 2 and "sum to 1.1" in bad.output
    two = runner.invoke(
        app,
        [
            "index",
            "build",
            "deux",
            "--level",
            "commune",
            "--indicators",
            "population:+,density:-,area_km2:+",
            "--pillars",
            "Taille=population,area_km2;Densité=density",
            "--runs",
            "0",
            "--json",
            "--db",
            db,
        ],
    )
    assert two.exit_code == 0, two.output
    assert json.loads(two.output)["method"]["pillars"] == {
        "Taille": ["population", "area_km2"],
        "Densité": ["density"],
    }
    listed = runner.invoke(app, ["index", "list", "--db", db])
    assert "taille" in listed.output and "t2" not in listed.output
    assert runner.invoke(app, ["index", "delete", "taille", "--db", db]).exit_code == 0
    gone = runner.invoke(app, ["index", "show", "taille", "--db", db])
    assert gone.exit_code == 2 and "no composite index named 'taille'" in gone.output


@pytest.fixture(scope="module")
def web(
    mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, str]]]:
    from fastapi.testclient import TestClient

    from test_api_helpers import login, make_app, make_kb

    app = make_app(make_kb(mini_db_path, tmp_path_factory.mktemp("composite")))
    with TestClient(app) as client:
        yield client, {"X-CSRF-Token": login(client, "analyst")}
    app.state.territoria.db.close()


def _wait(client: Any, job_id: str) -> dict[str, Any]:
    for _ in range(200):
        job = client.get(f"/api/v1/indices/jobs/{job_id}").json()
        if job["status"] not in ("queued", "running"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError("build job did not finish")


BODY = {
    "name": "taille web",
    "level": "commune",
    "runs": 64,
    "indicators": [{"code": "population", "polarity": 1}, {"code": "density", "polarity": -1}],
    "pillars": {"Taille": ["population"], "Densité": ["density"]},
}


def test_routes_build_job_show_list_and_pages(web: tuple[Any, dict[str, str]]) -> None:
    from test_french_pages import raw_tokens, visible_text

    client, headers = web
    queued = client.post("/api/v1/indices", json=BODY, headers=headers)
    assert queued.status_code == 202, queued.text
    job = _wait(client, queued.json()["id"])
    assert job["status"] == "done" and job["result"]["ranked"] >= 59
    shown = client.get("/api/v1/indices/taille web", params={"limit": 5}).json()
    assert len(shown["scores"]) == 5 and shown["scores"][0]["rank"] == 1
    assert shown["indicators"][0]["source"] and shown["sensitivity"]
    listed = client.get("/api/v1/indices").json()
    assert [i["name"] for i in listed] == ["taille web"]
    page = client.get("/indices/taille web")
    assert page.status_code == 200
    text = visible_text(page.text)
    assert "Intervalle de rang" in text and "Sensibilité" in text and "Population" in text
    assert "Deux niveaux" in text and "Densité (1)" in text
    assert raw_tokens(page.text) == []
    territory = visible_text(client.get("/territoires/commune/35238").text)
    rennes = next(
        s for s in client.get("/api/v1/indices/taille web").json()["scores"] if s["code"] == "35238"
    )
    assert "Indices composites" in territory and f"{rennes['rank']} sur" in territory
    listing = client.get("/indices")
    assert "taille web" in listing.text and raw_tokens(listing.text) == []
    english = visible_text(client.get("/indices/taille web", params={"lang": "en"}).text)
    assert "Rank interval" in english and "Intervalle de rang" not in english
    client.get("/indices", params={"lang": "fr"})  # the choice is kept: back to French


def test_routes_refuse_bad_input_at_once(web: tuple[Any, dict[str, str]]) -> None:
    client, headers = web
    unknown = client.post(
        "/api/v1/indices",
        json={
            **BODY,
            "name": "x",
            "pillars": None,
            "indicators": [{"code": "nope", "polarity": 1}],
        },
        headers=headers,
    )
    assert unknown.status_code in (404, 422) and "unknown indicator" in unknown.text.lower()
    weights = client.post(
        "/api/v1/indices",
        json={
            **BODY,
            "name": "y",
            "indicators": [
                {"code": "population", "polarity": 1, "weight": 0.6},
                {"code": "density", "polarity": -1, "weight": 0.6},
            ],
        },
        headers=headers,
    )
    assert weights.status_code == 422 and "sum to 1.2" in weights.text
    assert client.get("/api/v1/indices/absent").status_code == 404
    assert client.delete("/api/v1/indices/absent", headers=headers).status_code == 404


def test_territory_with_too_few_indicators_left_out() -> None:
    x = _values(8, n=30)
    x[0, :2] = np.nan  # one indicator of three: below half
    x[1, 0] = np.nan  # two of three: ranked, its missing weight spread over the others
    res = compute(x, Method(indicators=("a", "b", "c"), polarity=(1, 1, 1), runs=0))
    assert res.kept.tolist()[:3] == [False, True, True] and res.rank.size == 29
    loose = compute(
        x, Method(indicators=("a", "b", "c"), polarity=(1, 1, 1), runs=0, min_share=0.3)
    )
    assert loose.kept.all()


def test_impute_by_group_uses_the_group_mean() -> None:
    x = np.array([[1.0, 10.0], [3.0, 20.0], [np.nan, 30.0], [100.0, 40.0], [200.0, 50.0]])
    groups = np.array(["35", "35", "35", "29", "29"])
    assert impute(x, "mean", groups=groups)[2, 0] == 2.0  # its département's, not 76
    assert impute(x, "mean")[2, 0] == 76.0


def test_build_imputes_within_departements(mini_db: duckdb.DuckDBPyConnection) -> None:
    method = Method(
        indicators=("population", "density"),
        polarity=(1, 1),
        runs=0,
        imputation="mean",
        impute_by="departement",
    )
    built = build_index(mini_db, "par departement", level="commune", method=method)
    assert built.method["impute_by"] == "departement" and built.ranked == 59
    with pytest.raises(CompositeInputError, match="impute by a level above"):
        build_index(
            mini_db,
            "x",
            level="epci",
            method=Method(
                indicators=("population", "density"), polarity=(1, 1), runs=0, impute_by="commune"
            ),
        )


def test_form_builds_then_page_and_delete(web: tuple[Any, dict[str, str]]) -> None:
    from test_french_pages import visible_text

    client, headers = web
    form = {
        "name": "formulaire",
        "level": "commune",
        "indicators": "population:+, density:-",
        "normalisation": "rank",
        "aggregation": "geometric",
        "runs": "40",
        "csrf_token": headers["X-CSRF-Token"],
    }
    sent = client.post("/indices", data=form, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"].startswith(
        "/indices/formulaire?job="
    )
    job_id = sent.headers["location"].split("job=")[1]
    assert _wait(client, job_id)["status"] == "done"
    page = visible_text(client.get(sent.headers["location"]).text)
    assert "rang centile" in page and "moyenne géométrique" in page
    bad = client.post("/indices", data={**form, "name": "mauvais", "indicators": "population:?"})
    assert bad.status_code == 422 and "must be + or -" in visible_text(bad.text)
    assert client.delete("/api/v1/indices/formulaire", headers=headers).status_code == 204
    assert client.get("/api/v1/indices/formulaire").status_code == 404
    names = [i["name"] for i in client.get("/api/v1/indices").json()]
    assert "formulaire" not in names and "mauvais" not in names


def test_pillars_two_levels_match_the_tree() -> None:
    x = _values(11, n=50, k=4)
    pillars = {"P1": ["a", "b", "c"], "P2": ["d"]}
    method = Method(
        indicators=("a", "b", "c", "d"),
        polarity=(1, 1, 1, 1),
        treat_outliers=False,
        runs=64,
        pillars=pillars,
    )
    res = compute(x, method)
    z = normalise(x, "minmax")
    tree = aggregate_tree(
        {c: z[:, j] for j, c in enumerate("abcd")},
        [
            [Node("P1", ("a", "b", "c"), (1.0, 1.0, 1.0)), Node("P2", ("d",), (1.0,))],
            [Node("Index", ("P1", "P2"), (1.0, 1.0))],
        ],
        "arithmetic",
    )
    assert np.allclose(res.score, tree["Index"])
    assert not np.allclose(
        res.score,
        compute(
            x,
            Method(
                indicators=("a", "b", "c", "d"), polarity=(1, 1, 1, 1), treat_outliers=False, runs=0
            ),
        ).score,
    )  # d weighs 1/2, not 1/4
    unc = res.uncertainty
    assert unc is not None and (unc.rank_low <= unc.median_rank).all()
    with pytest.raises(CompositeInputError, match="each indicator once"):
        compute(
            x,
            Method(
                indicators=("a", "b", "c", "d"),
                polarity=(1, 1, 1, 1),
                runs=0,
                pillars={"P1": ["a", "b"], "P2": ["b", "d"]},
            ),
        )
