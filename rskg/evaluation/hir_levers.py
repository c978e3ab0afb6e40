"""Levers beyond the hand-set HIR of ``rskg.evaluation.hir_composition`` (issue 18), each chosen on the
*archive* (archive images query the other archive images) and only scored on the test queries:

* stage 1 re-ranking: alpha query expansion (``alpha_qe``: the query's vector plus its top-k archive
  neighbours weighted by similarity**alpha, re-searched) and database-side augmentation (``dba``: every archive
  vector replaced by the same average over its own top-k; on the archive scored leave-one-out, ``dba_sims``);
* class weights of the weighted Manhattan distance learned on the archive (``fit_weights``): a pairwise
  logistic model of "a same-class shortlisted image ranks above a different-class one", score
  ``cos - sum_c w_c |x_c - y_c|`` with ``w >= 0`` (scipy L-BFGS-B), judged against the hand-set ``λ·1`` by a
  2-fold split of the archive queries (``cross_fit``: fit on one half, score the other);
* GSD-matched segmentation input (``gsd_sides``): per UCMerced label's fine classes, the input side whose
  fractions agree best (AUC) with the *archive* images' multi-labels.

``Shortlists`` scores a fused order ``cos - d @ w`` over every query's shortlist at once (mAP@10 as
``metrics.ap_at_k``), fast enough for a search over weights and shortlist lengths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rskg.evaluation import metrics as M


def l2n(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _topk(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(sims, idx, 1)


def alpha_qe(q: np.ndarray, a: np.ndarray, sims: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Alpha query expansion: l2n(q + sum over the query's top ``k`` archive rows of max(s, 0)**alpha * a_j).
    ``sims`` = q @ a.T (the query itself excluded, -inf, when q is part of a). k = 0: q unchanged."""
    if k <= 0:
        return q
    idx, s = _topk(sims, k)
    wts = np.clip(s, 0.0, None) ** alpha
    return l2n(q + (wts[:, :, None] * a[idx]).sum(axis=1))


def _dba_weights(a: np.ndarray, k: int, alpha: float) -> np.ndarray:
    sims = a @ a.T
    np.fill_diagonal(sims, -np.inf)
    idx, s = _topk(sims, k)
    w = np.zeros_like(sims)
    np.put_along_axis(w, idx, np.clip(s, 0.0, None) ** alpha, 1)
    return w


def dba(a: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Database-side augmentation: every archive row becomes l2n(a_j + sum over its top ``k`` other rows of
    max(s, 0)**alpha * a_n). k = 0: the archive unchanged."""
    if k <= 0:
        return a
    return l2n(a + _dba_weights(a, k, alpha) @ a)


def dba_sims(a: np.ndarray, k: int, alpha: float) -> np.ndarray:
    """Archive-on-archive similarities under DBA, leave-one-out: when archive row i queries, every augmented
    row j is rebuilt without i's own contribution (a test query is never part of the archive either);
    the diagonal is -inf. Exact given j's neighbour list (i is dropped, not replaced by the next one)."""
    if k <= 0:
        out = a @ a.T
        np.fill_diagonal(out, -np.inf)
        return out
    w = _dba_weights(a, k, alpha)
    u = a + w @ a                                  # unnormalised augmented rows
    g = a @ u.T                                    # g[i, j] = a_i . u_j
    wt = w.T                                       # wt[i, j] = weight of a_i inside u_j
    n2 = (a * a).sum(axis=1)[:, None]               # |a_i|^2 (1 for unit rows)
    norm2 = (u * u).sum(axis=1)[None, :] - 2.0 * wt * g + wt ** 2 * n2
    out = (g - wt * n2) / np.sqrt(np.maximum(norm2, 1e-12) * n2)
    np.fill_diagonal(out, -np.inf)
    return out


@dataclass
class Shortlists:
    """Every query's first ``k`` stage-1 rows: their stage-1 similarity, the per-class |x - y| to the query's
    distribution and whether they are relevant (same class)."""

    sims: np.ndarray        # (Q, k)
    diffs: np.ndarray       # (Q, k, C)
    rel: np.ndarray         # (Q, k) bool
    rows: np.ndarray        # (Q, k) archive rows

    @classmethod
    def of(cls, order: np.ndarray, sims: np.ndarray, q_dist: np.ndarray, a_dist: np.ndarray,
           q_lab: np.ndarray, a_lab: np.ndarray, k: int) -> Shortlists:
        head = order[:, :k]
        return cls(np.take_along_axis(sims, head, 1).astype(np.float32),
                   np.abs(a_dist[head] - q_dist[:, None, :]).astype(np.float32), a_lab[head] == q_lab[:, None], head)

    def subset(self, rows: np.ndarray) -> Shortlists:
        return Shortlists(self.sims[rows], self.diffs[rows], self.rel[rows], self.rows[rows])

    def order(self, w: np.ndarray) -> np.ndarray:
        """(Q, k) positions of the shortlist ordered by cos - diffs @ w (stable on ties)."""
        return np.argsort(-(self.sims - self.diffs @ w.astype(np.float32)), axis=1, kind="stable")

    def ap10(self, w: np.ndarray) -> np.ndarray:
        r = np.take_along_axis(self.rel, self.order(w)[:, :10], 1).astype(np.float32)
        prec = np.cumsum(r, axis=1) / np.arange(1, r.shape[1] + 1, dtype=np.float32)
        return (r * prec).sum(axis=1) / np.maximum(r.sum(axis=1), 1.0)

    def map10(self, w: np.ndarray) -> float:
        return float(self.ap10(w).mean())


def ap10_of_order(order: np.ndarray, q_lab: np.ndarray, a_lab: np.ndarray) -> np.ndarray:
    rel = a_lab[order] == q_lab[:, None]
    return np.asarray([M.ap_at_k(r, 10) for r in rel])


def pair_features(s: Shortlists, per_query: int, seed: int) -> np.ndarray:
    """Rows [cos_p - cos_n, -(|d_p| - |d_n|)...] for up to ``per_query`` (same-class p, other-class n) pairs of
    each query's shortlist, drawn with a seeded generator."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(len(s.sims)):
        p, n = np.flatnonzero(s.rel[i]), np.flatnonzero(~s.rel[i])
        if not len(p) or not len(n):
            continue
        m = min(per_query, len(p) * len(n))
        pi, ni = p[rng.integers(0, len(p), m)], n[rng.integers(0, len(n), m)]
        out.append(np.hstack([(s.sims[i, pi] - s.sims[i, ni])[:, None], -(s.diffs[i, pi] - s.diffs[i, ni])]))
    if not out:
        raise ValueError("no shortlist holds both a same-class and an other-class row: nothing to learn from")
    return np.vstack(out)


def fit_weights(s: Shortlists, per_query: int = 300, seed: int = 0, reg: float = 1e-4) -> np.ndarray:
    """Class weights w >= 0 of ``cos - sum_c w_c |x_c - y_c|`` from a pairwise logistic model (no intercept)
    over the shortlist pairs of ``s``: coefficient b_0 >= 0 on the cosine difference, b_c >= 0 on the negated
    distance differences, L2 ``reg`` on b_c; w = b_c / b_0."""
    from scipy.optimize import minimize

    x = pair_features(s, per_query, seed).astype(np.float64)

    def loss(b: np.ndarray) -> tuple[float, np.ndarray]:
        m = x @ b
        grad = x.T @ (-1.0 / (1.0 + np.exp(m))) / len(x)
        grad[1:] += 2 * reg * b[1:]
        return float(np.logaddexp(0.0, -m).mean() + reg * (b[1:] ** 2).sum()), grad

    b0 = np.full(x.shape[1], 0.1)
    b0[0] = 1.0
    bounds = [(1e-6, None)] + [(0.0, None)] * (x.shape[1] - 1)
    b = minimize(loss, b0, jac=True, method="L-BFGS-B", bounds=bounds).x
    return (b[1:] / b[0]).astype(np.float32)


def best_lambda(s: Shortlists, lambdas: Sequence[float]) -> float:
    ones = np.ones(s.diffs.shape[2], np.float32)
    scores = {lam: s.map10(lam * ones) for lam in lambdas}
    return max(lambdas, key=lambda lam: (scores[lam], -lam))


def cross_fit(s: Shortlists, lambdas: Sequence[float], seed: int = 0) -> dict[str, float]:
    """2-fold split of the archive queries: hand-set λ·1 (λ tuned on one half) and learned weights (fitted on
    one half) each scored on the other half; mean archive mAP@10 of both over the two halves."""
    fold = np.random.default_rng(seed).permutation(len(s.sims)) % 2
    hand, learned = np.zeros(len(s.sims)), np.zeros(len(s.sims))
    ones = np.ones(s.diffs.shape[2], np.float32)
    for f in (0, 1):
        fit_on, score_on = s.subset(fold != f), s.subset(fold == f)
        hand[fold == f] = score_on.ap10(best_lambda(fit_on, lambdas) * ones)
        learned[fold == f] = score_on.ap10(fit_weights(fit_on, seed=seed))
    return {"hand": float(hand.mean()), "learned": float(learned.mean())}


def gsd_sides(fracs: Mapping[int, np.ndarray], truth: np.ndarray, labels: Sequence[str],
              check: Mapping[str, Sequence[str]], fine: Sequence[str]) -> dict[str, int]:
    """Fine class -> input side: per ``check`` label (its fine classes), the side whose summed share has the
    best AUC against ``truth`` (archive rows only; the caller passes them). Classes no label covers: the
    largest side."""
    from sklearn.metrics import roc_auc_score

    largest = max(fracs)
    out = {f: largest for f in fine}
    for label, classes in check.items():
        has = truth[:, list(labels).index(label)]
        if not 0 < has.sum() < len(has):
            continue
        cols = [list(fine).index(c) for c in classes]
        auc = {side: float(roc_auc_score(has, fr[:, cols].sum(axis=1))) for side, fr in fracs.items()}
        side = max(sorted(auc, reverse=True), key=lambda x: auc[x])
        for c in classes:
            out[c] = side
    return out


def gsd_matched(fracs: Mapping[int, np.ndarray], sides: Mapping[str, int], fine: Sequence[str]) -> np.ndarray:
    """(N, len(fine)) shares, each class from its side, renormalised to sum 1 per image."""
    out = np.stack([fracs[sides[c]][:, j] for j, c in enumerate(fine)], axis=1)
    return (out / np.maximum(out.sum(axis=1, keepdims=True), 1e-9)).astype(np.float32)
