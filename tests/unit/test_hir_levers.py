"""The HIR levers of ``rskg.evaluation.hir_levers`` on generated fixtures (no servers): alpha query expansion
and database-side augmentation against vectors computed by hand, the vectorised shortlist scorer against
``metrics.ap_at_k``, learned class weights that find the informative class, GSD-matched sides."""

from __future__ import annotations

import numpy as np
import pytest

from rskg.evaluation import hir_levers as L
from rskg.evaluation import metrics as M


def _unit(*rows: list[float]) -> np.ndarray:
    return L.l2n(np.asarray(rows, np.float32))


def test_alpha_qe_moves_the_query_towards_its_neighbours_and_reorders() -> None:
    a = _unit([1, 0, 0], [0.8, 0.6, 0], [0, 1, 0], [0.6, 0, 0.8])
    q = _unit([0.9, 0.1, 0.42])
    sims = q @ a.T
    assert list(np.argsort(-sims[0])) == [0, 3, 1, 2]
    # k=1, alpha=0: q + a_0 (its nearest), renormalised
    exp = q[0] + a[0]
    assert np.allclose(L.alpha_qe(q, a, sims, 1, 0.0)[0], exp / np.linalg.norm(exp), atol=1e-6)
    # k=2, alpha=3: q + s0^3 a_0 + s3^3 a_3 (by hand), and the new order of the archive
    s0, s3 = float(sims[0, 0]), float(sims[0, 3])
    exp = q[0] + s0 ** 3 * a[0] + s3 ** 3 * a[3]
    got = L.alpha_qe(q, a, sims, 2, 3.0)
    assert np.allclose(got[0], exp / np.linalg.norm(exp), atol=1e-6)
    assert list(np.argsort(-(got @ a.T)[0])) == list(np.argsort(-(exp @ a.T)))
    assert L.alpha_qe(q, a, sims, 0, 1.0) is q


def test_dba_and_its_leave_one_out_archive_similarities() -> None:
    rng = np.random.default_rng(0)
    a = L.l2n(rng.normal(size=(12, 5)).astype(np.float32))
    k, alpha = 2, 1.0
    aug = L.dba(a, k, alpha)
    sims = a @ a.T
    np.fill_diagonal(sims, -np.inf)
    j = 4
    nn = np.argsort(-sims[j])[:k]
    exp = a[j] + sum(max(float(sims[j, n]), 0.0) ** alpha * a[n] for n in nn)
    assert np.allclose(aug[j], exp / np.linalg.norm(exp), atol=1e-5)
    loo = L.dba_sims(a, k, alpha)
    assert np.isneginf(np.diag(loo)).all()
    for i in range(len(a)):              # row j rebuilt without query i's own contribution, by hand
        for jj in range(len(a)):
            if i == jj:
                continue
            nbrs = np.argsort(-sims[jj])[:k]
            u = a[jj] + sum(max(float(sims[jj, n]), 0.0) ** alpha * a[n] for n in nbrs if n != i)
            assert loo[i, jj] == pytest.approx(float(a[i] @ u / np.linalg.norm(u)), abs=1e-5)
    assert L.dba(a, 0, 1.0) is a


def test_shortlist_scores_equal_the_fused_order_and_ap_at_k() -> None:
    rng = np.random.default_rng(1)
    n_q, n_a, c, k = 6, 30, 4, 15
    sims = rng.uniform(0, 1, (n_q, n_a)).astype(np.float32)
    order = np.argsort(-sims, axis=1, kind="stable")
    qd, ad = rng.dirichlet(np.ones(c), n_q), rng.dirichlet(np.ones(c), n_a)
    q_lab, a_lab = rng.integers(0, 3, n_q), rng.integers(0, 3, n_a)
    s = L.Shortlists.of(order, sims, qd, ad, q_lab, a_lab, k)
    w = np.asarray([0.5, 0.0, 2.0, 1.0], np.float32)
    for i in range(n_q):
        head = order[i, :k]
        score = sims[i, head] - (np.abs(ad[head] - qd[i]) * w).sum(axis=1)
        by_hand = head[np.argsort(-score, kind="stable")]
        assert list(s.rows[i][s.order(w)[i]]) == list(by_hand)
        assert s.ap10(w)[i] == pytest.approx(M.ap_at_k(a_lab[by_hand] == q_lab[i], 10), abs=1e-6)


def _informative_fixture(n: int, seed: int) -> tuple[L.Shortlists, np.ndarray]:
    """Class 0 of the distribution tells the query's class apart, classes 1-2 are noise, stage 1 is weak."""
    rng = np.random.default_rng(seed)
    lab = rng.integers(0, 2, n)
    dist = np.stack([lab * 0.6 + rng.uniform(0, 0.1, n), rng.uniform(0, 0.4, n), rng.uniform(0, 0.4, n)], 1)
    sims = rng.uniform(0.5, 0.6, (n, n)).astype(np.float32)
    np.fill_diagonal(sims, -np.inf)
    order = np.argsort(-sims, axis=1, kind="stable")
    return L.Shortlists.of(order, sims, dist, dist, lab, lab, 40), lab


def test_learned_weights_find_the_informative_class() -> None:
    s, _ = _informative_fixture(120, 0)
    w = L.fit_weights(s, per_query=200, seed=0)
    assert (w >= 0).all() and w[0] > 5 * max(w[1], w[2])
    ones = np.ones(3, np.float32)
    assert s.map10(w) > s.map10(0.0 * ones) + 0.2             # far above stage 1 alone
    assert s.map10(w) >= s.map10(L.best_lambda(s, (0.01, 0.1, 1.0)) * ones)
    cv = L.cross_fit(s, (0.01, 0.1, 1.0))
    assert cv["learned"] >= cv["hand"] - 1e-9
    assert np.array_equal(w, L.fit_weights(s, per_query=200, seed=0))      # seeded: the same weights again


def test_gsd_sides_pick_the_side_that_agrees_with_the_labels() -> None:
    truth = np.asarray([[1, 0], [1, 1], [0, 1], [0, 0]], bool)      # labels "water", "field"
    fine = ["lake", "dry cropland", "forest"]
    fr = {224: np.asarray([[0.1, 0.0, 0.9], [0.2, 0.5, 0.3], [0.3, 0.5, 0.2], [0.4, 0.0, 0.6]], np.float32),
          64: np.asarray([[0.5, 0.0, 0.5], [0.5, 0.1, 0.4], [0.0, 0.1, 0.9], [0.0, 0.0, 1.0]], np.float32)}
    sides = L.gsd_sides(fr, truth, ["water", "field"], {"water": ("lake",), "field": ("dry cropland",)}, fine)
    assert sides == {"lake": 64, "dry cropland": 224, "forest": 224}
    m = L.gsd_matched(fr, sides, fine)
    row = np.asarray([0.5, 0.0, 0.9]) / 1.4
    assert np.allclose(m[0], row, atol=1e-6) and np.allclose(m.sum(axis=1), 1.0, atol=1e-6)
