"""Cross-fitted HIR tuning (rskg.evaluation.crossfit; no servers): the seeded archive folds, that no archive
query is ever scored by a head trained on its own fold, and the fused / per-query-class orders checked against
orders worked out by hand on generated fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from rskg.evaluation import crossfit as X
from rskg.evaluation.hir_levers import Shortlists


def _labels() -> np.ndarray:
    return np.asarray(["a"] * 7 + ["b"] * 6 + ["c"] * 5)


def test_folds_are_seeded_and_stratified() -> None:
    lab = _labels()
    f = X.archive_folds(lab, 2, seed=3)
    assert np.array_equal(f, X.archive_folds(lab, 2, seed=3))
    assert not np.array_equal(f, X.archive_folds(lab, 2, seed=4))
    assert set(f.tolist()) == {0, 1}
    for c in "abc":
        counts = np.bincount(f[lab == c], minlength=2)
        assert abs(int(counts[0]) - int(counts[1])) <= 1          # each class dealt evenly
    f3 = X.archive_folds(lab, 3, seed=0)
    assert set(f3.tolist()) == {0, 1, 2}
    with pytest.raises(ValueError):
        X.archive_folds(lab, 1)


def test_no_archive_image_is_scored_by_its_own_folds_head() -> None:
    lab = _labels()
    folds = X.archive_folds(lab, 2, seed=0)
    rng = np.random.default_rng(0)
    # fold f's "head" gives every row the features of fold f: feats[f][:, 0] == f marks whose head scored it
    feats, dists = [], []
    for f in range(2):
        x = rng.normal(size=(len(lab), 4)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        feats.append(x)
        dists.append(np.full((len(lab), 3), float(f), np.float32))
    fq = X.fold_queries(folds, feats, dists)
    assert sorted(np.concatenate([f.queries for f in fq]).tolist()) == list(range(len(lab)))
    for f in fq:
        assert not set(f.queries.tolist()) & set(f.database.tolist())     # queries never in the head's training rows
        assert np.all(folds[f.database] != f.fold) and np.all(folds[f.queries] == f.fold)
    s, pred = X.shortlists(fq, lab, 5)
    queries = np.concatenate([f.queries for f in fq])
    for i, q in enumerate(queries):
        f = folds[q]
        assert np.all(folds[s.rows[i]] != f)                   # the database: rows of the other fold only
        assert q not in s.rows[i]
        expect = feats[f][s.rows[i]] @ feats[f][q]             # similarities by the head that never saw q
        assert np.allclose(s.sims[i], expect, atol=1e-6)
        assert np.all(np.diff(s.sims[i]) <= 1e-7)               # stage-1 order
        assert np.allclose(s.diffs[i], 0.0)                    # distributions of the same (fold f's) head
        assert np.array_equal(s.rel[i], lab[s.rows[i]] == lab[q])
    assert len(pred) == len(lab)
    only_a, _ = X.shortlists(fq, lab, 5, rows=lab == "a")
    assert len(only_a.sims) == 7


def _fixture() -> Shortlists:
    # one query, 4 shortlisted rows: stage-1 cosine, |x - y| over two blocks (1 fraction column, 1 patch column)
    sims = np.asarray([[0.9, 0.8, 0.7, 0.6]], np.float32)
    diffs = np.asarray([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.5, 0.5]]], np.float32)
    rel = np.asarray([[False, False, True, True]])
    return Shortlists(sims, diffs, rel, np.arange(4)[None, :])


def test_fused_two_term_order_matches_hand_computation() -> None:
    s = _fixture()
    # λc = 0.5, λp = 0: scores 0.4, 0.8, 0.7, 0.35 -> rows 1, 2, 0, 3: relevant at ranks 2 and 4
    assert X.ap10(s, X.block_weights((1, 1), (0.5, 0.0)))[0] == pytest.approx((1 / 2 + 2 / 4) / 2)
    # λc = 0.5, λp = 0.5: scores 0.4, 0.3, 0.7, 0.1 -> rows 2, 0, 1, 3: ranks 1 and 4
    assert X.ap10(s, X.block_weights((1, 1), (0.5, 0.5)))[0] == pytest.approx((1 + 2 / 4) / 2)
    # λ = 0 keeps stage 1: rows 0, 1, 2, 3 -> ranks 3 and 4
    assert X.ap10(s, np.zeros(2))[0] == pytest.approx((1 / 3 + 2 / 4) / 2)
    # per-query weights: the same as the shared vector when every row holds it
    w = X.block_weights((1, 1), (0.5, 0.5))
    assert X.ap10(s, w[None, :])[0] == pytest.approx(X.ap10(s, w)[0])


def test_grid_and_per_class_variants_choose_by_hand_computed_scores() -> None:
    s = _fixture()
    both = Shortlists(*(np.concatenate([a, a]) for a in (s.sims, s.diffs, s.rel, s.rows)))
    grid = [(0.0, 0.0), (0.5, 0.0), (0.5, 0.5)]
    v = X.grid_variant("g", (1, 1), grid, 4, ks=(4,))
    assert v.fit(both, np.asarray(["a", "a"])) == ((0.5, 0.5), 4)      # AP 0.75 > 0.5 > 0.4167
    # per predicted class: the second query's shortlist reversed in relevance prefers stage 1
    second = Shortlists(s.sims, s.diffs, np.asarray([[True, True, False, False]]), s.rows)
    mixed = Shortlists(*(np.concatenate([a, b]) for a, b in zip(
        (s.sims, s.diffs, s.rel, s.rows), (second.sims, second.diffs, second.rel, second.rows), strict=True)))
    pc = X.per_class_variant("pc", (1, 1), grid, k=4, min_queries=1)
    pred = np.asarray(["a", "b"])
    params = pc.fit(mixed, pred)
    assert params["a"] == (0.5, 0.5) and params["b"] == (0.0, 0.0)
    assert np.allclose(pc.apply(mixed, pred, params), [0.75, 1.0])


def test_predicted_class_is_the_majority_of_the_first_neighbours() -> None:
    nb = np.asarray([["a", "b", "b", "a", "c"], ["c", "a", "a", "c", "b"]])
    assert X.predicted_class(nb, k=5).tolist() == ["a", "c"]           # ties: the label met first
    assert X.predicted_class(nb, k=3).tolist() == ["b", "a"]


def test_inner_cv_fits_on_one_part_and_scores_the_other() -> None:
    s = _fixture()
    many = Shortlists(*(np.repeat(a, 6, axis=0) for a in (s.sims, s.diffs, s.rel, s.rows)))
    v = X.grid_variant("g", (1, 1), [(0.0, 0.0), (0.5, 0.5)], 4, ks=(4,))
    assert X.inner_cv(v, many, np.asarray(["a"] * 6)) == pytest.approx(0.75)


def test_paired_bootstrap_brackets_the_mean_gain() -> None:
    b = np.linspace(0.0, 1.0, 50)
    gain, lo, hi = X.paired_bootstrap(b + 0.1, b)
    assert gain == pytest.approx(0.1) and lo == pytest.approx(0.1) and hi == pytest.approx(0.1)
    noisy = b + np.where(np.arange(50) % 2 == 0, 0.2, -0.2)          # gains +0.2 / -0.2: mean 0, CI spans 0
    gain, lo, hi = X.paired_bootstrap(noisy, b, seed=1)
    assert gain == pytest.approx(0.0, abs=1e-9) and lo < 0 < hi
