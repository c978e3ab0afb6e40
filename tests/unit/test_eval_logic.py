"""Experiment logic of rskg.evaluation on small hand-made cases and the real label system (no servers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rskg.corpora.concepts import is_same_concept, label_concepts, match_label
from rskg.corpora.split import ucm_split
from rskg.evaluation.cbir import hir_fuse, hir_rerank, score, tune_lambda
from rskg.evaluation.prototype_scoring import knn_retrieved
from rskg.evaluation.truth import read_truth
from rskg.settings import Settings


@pytest.fixture(scope="module")
def system(settings: Settings):  # type: ignore[no-untyped-def]
    from ontology.store import load_label_system

    return load_label_system(settings.ontology_dir)


def test_hir_rerank_reorders_only_the_shortlist() -> None:
    order = np.array([[0, 1, 2, 3]])
    q = np.array([[1.0, 0.0]])
    a = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [1.0, 0.0]])
    # shortlist of 3: distances 2, 1, 0 -> [2, 1, 0], row 3 stays last
    assert hir_rerank(order, q, a, np.ones(2), shortlist=3).tolist() == [[2, 1, 0, 3]]
    # weights change the order: class 1 weighted 0 -> all shortlisted at distance |x0 - y0|
    assert hir_rerank(order, q, a, np.array([1.0, 0.0]), shortlist=2).tolist() == [[1, 0, 2, 3]]


def test_hir_fuse_trades_similarity_against_distance() -> None:
    order = np.array([[0, 1, 2]])
    sims = np.array([[0.9, 0.8, 0.7]])
    q = np.array([[1.0, 0.0]])
    a = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5]])       # WMD to q: 2, 0, 1
    assert hir_fuse(order, sims, q, a, np.ones(2), 0.0).tolist() == [[0, 1, 2]]     # lambda 0: stage 1
    # lambda 0.1: keys -0.9+0.2, -0.8+0, -0.7+0.1 = -0.7, -0.8, -0.6 -> 1, 0, 2
    assert hir_fuse(order, sims, q, a, np.ones(2), 0.1).tolist() == [[1, 0, 2]]
    assert hir_fuse(order, sims, q, a, np.ones(2), 100.0).tolist() == hir_rerank(order, q, a, np.ones(2)).tolist()


def test_tune_lambda_picks_the_distance_when_it_separates_classes() -> None:
    # features cannot tell the classes apart (all equal), the distributions can: any lambda > 0 is perfect,
    # and the smallest such value is chosen
    feats = np.ones((6, 2), np.float32) / np.sqrt(2)
    labels = np.array(["a", "a", "a", "b", "b", "b"])
    dist = np.array([[1, 0]] * 3 + [[0, 1]] * 3, np.float32)
    assert tune_lambda(feats, labels, dist, np.ones(2)) == 0.02
    # distributions that carry no information: lambda 0 (ties keep the smallest)
    assert tune_lambda(feats, labels, np.ones((6, 2), np.float32), np.ones(2)) == 0.0


def test_cbir_score_hand_computed() -> None:
    order = np.array([[0, 1, 2], [2, 1, 0]])
    a_lab = np.array(["x", "y", "x"])
    q_lab = np.array(["x", "x"])
    s = score(order, q_lab, a_lab, ks=(2,))
    # query 1: rel [1,0] -> AP@2 1, P@2 .5 ; query 2: rel [1,0] -> same
    assert s == {"mAP@2": 1.0, "P@2": 0.5}


def test_knn_retrieved_threshold_and_k() -> None:
    feats = np.array([[1, 0], [0.8, 0.6], [0, 1], [0.6, 0.8]], np.float32)
    protos = np.array([[1, 0]], np.float32)
    # sims 1, .8, 0, .6 -> k=2 keeps rows 0, 1; threshold .9 keeps row 0 only
    assert knn_retrieved(feats, protos, 2, 0.0).tolist() == [True, True, False, False]
    assert knn_retrieved(feats, protos, 2, 0.9).tolist() == [True, False, False, False]


def test_match_label_by_label_system(system) -> None:  # type: ignore[no-untyped-def]
    m = match_label(system, "tanks", ["ucm_multilabel"])
    assert (m.concept_id, m.how) == ("storage_tank", "source label ucm_multilabel (skos:exactMatch)")
    # without the dataset's label set the altLabel still finds it, and says so
    assert match_label(system, "pavement").how == "altLabel"
    assert match_label(system, "pavement").concept_id == "impervious_surface"
    assert match_label(system, "no such label xyz").concept_id is None


def test_same_concept_rules(system) -> None:  # type: ignore[no-untyped-def]
    river_lake = label_concepts(system, "rsscn7", "dRiverLake")
    assert {"river", "lake"} <= river_lake                          # a disjunctive label covers both
    assert is_same_concept(system, "river", river_lake)
    assert is_same_concept(system, "agricultural_land", label_concepts(system, "eurosat", "AnnualCrop"))
    residential = label_concepts(system, "eurosat", "Residential")
    assert is_same_concept(system, "dense_residential", residential)          # direct non-root parent
    assert not is_same_concept(system, "dense_residential", residential, broader_parent=False)
    assert not is_same_concept(system, "river", label_concepts(system, "eurosat", "SeaLake"))  # root parent: no


def test_fixed_split_and_truth_csv(data_dir: Path) -> None:
    truth = read_truth(data_dir / "ucmerced" / "multilabels.csv")
    assert len(truth.rows) == 2100 and len(truth.labels) == 17
    paths = sorted(truth.rows)
    split = ucm_split(paths)
    assert int(split.train.sum()) == 1470 and int(split.test.sum()) == 630
    assert truth.lookup(["agricultural00.jpg"]) == [{"field", "trees"}]


def test_truth_csv_errors(tmp_path: Path) -> None:
    from rskg.errors import DataError

    bad = tmp_path / "t.csv"
    bad.write_text("path,tags\na.jpg,x\n")
    with pytest.raises(DataError, match="image,labels"):
        read_truth(bad)


def test_latency_points_from_retrieval_table(tmp_path: Path) -> None:
    from rskg.evaluation.report import latency_points

    md = tmp_path / "retrieval.md"
    md.write_text("| index vectors | build s | filter | p50 total ms | p99 total ms |\n|---|---|---|---|---|\n"
                  "| 10,000 | 3 | none | 12.5 | 40.1 |\n| 10,000 | 3 | bbox Ireland | 9.0 | 20.0 |\n"
                  "| 1,000,000 | cached | none | 30.0 | 90.5 |\n")
    assert latency_points(md) == [(10_000, 12.5, 40.1), (1_000_000, 30.0, 90.5)]


def test_cbir_hir_kinds_per_source() -> None:
    """`rskg eval cbir --hir-source`: which fused HIR rows each source adds, and 'both' = the fractions beside
    the patch distribution, ordered by cos - λ·WMD over the concatenation (by hand)."""
    from rskg.evaluation.cbir import COMPOSITION_LAMBDAS, LAMBDAS, hir_kinds

    rng = np.random.default_rng(0)
    whole, patch, comp = rng.dirichlet(np.ones(3), 6), rng.dirichlet(np.ones(3), 6), rng.dirichlet(np.ones(2), 6)
    names = {s: [k[0] for k in hir_kinds(s, whole, patch, comp, 3)] for s in ("patch", "composition", "both")}
    assert names["patch"] == ["whole", "3x3 patches"]
    assert names["composition"] == ["whole", "3x3 patches", "composition (hard fine fractions)"]
    assert names["both"][-1] == "both (fractions + 3x3 patches)"
    assert [k[0] for k in hir_kinds("both", whole, None, None, 3)] == ["whole"]        # no head: patch rows only
    both = hir_kinds("both", whole, patch, comp, 3)
    assert both[0][2] == LAMBDAS and both[-1][2] == COMPOSITION_LAMBDAS and both[-1][1].shape == (6, 5)
    assert [k[0] for k in hir_kinds("both", whole, None, comp, 3)][-1] == "both (fractions + whole)"
    with pytest.raises(ValueError):
        hir_kinds("pixels", whole, patch, comp, 3)
    d = both[-1][1]
    q, a = d[:2], d[2:]
    sims = np.asarray([[0.9, 0.8, 0.7, 0.6], [0.5, 0.9, 0.4, 0.8]])
    order = np.argsort(-sims, axis=1, kind="stable")
    w = np.ones(5)
    got = hir_fuse(order, sims, q, a, w, 0.05, shortlist=4)
    for i in range(2):
        by_hand = sorted(range(4), key=lambda j: -(sims[i, j] - 0.05 * np.abs(a[j] - q[i]).sum()))
        assert list(got[i]) == by_hand


def test_eval_cbir_rejects_an_unknown_hir_source() -> None:
    from typer.testing import CliRunner

    from rskg.cli.main import app
    from rskg.errors import ValidationError

    res = CliRunner().invoke(app, ["eval", "cbir", "--hir-source", "pixels", "--no-write"])
    assert res.exit_code != 0 and isinstance(res.exception, ValidationError)      # main() prints error + fix
    assert "hir_source must be one of both, composition, patch" in str(res.exception)
