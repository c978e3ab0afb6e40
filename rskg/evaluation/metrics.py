"""Retrieval and classification metrics used by the experiments (hand-checked in tests/unit/test_eval_metrics.py).

Conventions (stated once, used everywhere):

* a *ranking* is given as a boolean relevance vector in rank order (``rel[0]`` = the top hit);
* ``precision_at_k``: relevant hits in the top k divided by k (P@k, papers 002 and 004);
* ``ap_at_k`` (paper 002 mAP@k): mean of P@i over the ranks i <= k that hold a relevant hit, i.e. the
  precision averaged over the relevant items *retrieved* in the top k (0 when none is);
* ``mean_p_at_1_to_m`` (paper 004 "mAP"): (1/m) * sum_{k=1..m} P@k;
* ``average_precision``: full-ranking AP over all relevant items (scikit-learn's definition, no interpolation);
* ``precision_at_recall``: the best precision at any cut-off whose recall is >= r (0 when r is unreachable);
* ``nmrr`` / ``anmrr``: MPEG-7 (Manjunath et al. 2001) with K = min(4 NG, 2 GTM), missed items at rank 1.25 K.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import average_precision_score, f1_score


def _rel(rel: Sequence[bool] | np.ndarray) -> np.ndarray:
    return np.asarray(rel, dtype=bool).ravel()


def precision_at_k(rel: Sequence[bool] | np.ndarray, k: int) -> float:
    if k <= 0:
        raise ValueError("k must be positive")
    r = _rel(rel)[:k]
    return float(r.sum()) / k


def ap_at_k(rel: Sequence[bool] | np.ndarray, k: int) -> float:
    r = _rel(rel)[:k]
    hits = np.flatnonzero(r)
    if hits.size == 0:
        return 0.0
    cum = np.cumsum(r)
    return float(np.mean(cum[hits] / (hits + 1)))


def mean_p_at_1_to_m(rel: Sequence[bool] | np.ndarray, m: int) -> float:
    r = _rel(rel)[:m].astype(np.float64)
    if r.size < m:
        r = np.concatenate([r, np.zeros(m - r.size)])
    return float(np.mean(np.cumsum(r) / np.arange(1, m + 1)))


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    """Full-ranking AP of ``scores`` (higher = better) against boolean ``relevant``; nan when none is relevant."""
    y = np.asarray(relevant, bool)
    if not y.any():
        return float("nan")
    return float(average_precision_score(y, np.asarray(scores, np.float64)))


def pr_curve(scores: np.ndarray, relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(precision, recall) at every cut-off of the ranking by descending score (ties broken by index)."""
    y = np.asarray(relevant, bool)
    order = np.argsort(-np.asarray(scores, np.float64), kind="stable")
    tp = np.cumsum(y[order])
    precision = tp / np.arange(1, len(y) + 1)
    recall = tp / max(int(y.sum()), 1)
    return precision, recall


def precision_at_recall(scores: np.ndarray, relevant: np.ndarray, r: float = 0.65) -> float:
    """Best precision at any cut-off reaching recall >= r (interpolated precision at recall r)."""
    y = np.asarray(relevant, bool)
    if not y.any():
        return float("nan")
    precision, recall = pr_curve(scores, y)
    ok = recall >= r - 1e-12
    return float(precision[ok].max()) if ok.any() else 0.0


def nmrr(ranked_ids: Sequence[object], ground_truth: set[object], gtm: int) -> float:
    """Normalised modified retrieval rank of one query (0 = perfect, 1 = nothing found)."""
    ng = len(ground_truth)
    if ng == 0:
        raise ValueError("a query needs at least one ground-truth item")
    k = min(4 * ng, 2 * gtm)
    rank_of = {}
    for pos, item in enumerate(list(ranked_ids)[:k], start=1):
        if item in ground_truth and item not in rank_of:
            rank_of[item] = pos
    ranks = [rank_of.get(g, 1.25 * k) for g in ground_truth]
    avr = sum(ranks) / ng
    mrr = avr - 0.5 - ng / 2
    return float(mrr / (1.25 * k - 0.5 - ng / 2))


def anmrr(rankings: Sequence[Sequence[object]], truths: Sequence[set[object]]) -> float:
    if len(rankings) != len(truths) or not truths:
        raise ValueError("one ground-truth set per ranking, at least one query")
    gtm = max(len(t) for t in truths)
    return float(np.mean([nmrr(r, t, gtm) for r, t in zip(rankings, truths, strict=True)]))


def weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    """Mean of ``values`` weighted by ``weights`` (nan values and zero weights skipped)."""
    v = np.asarray(values, np.float64)
    w = np.asarray(weights, np.float64)
    ok = ~np.isnan(v) & (w > 0)
    if not ok.any():
        return float("nan")
    return float(np.sum(v[ok] * w[ok]) / np.sum(w[ok]))


def macro_mean(values: Sequence[float]) -> float:
    v = np.asarray(values, np.float64)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def binary_counts(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """precision, recall, accuracy (and the counts) of a boolean prediction against boolean truth."""
    p = np.asarray(predicted, bool)
    t = np.asarray(truth, bool)
    tp, fp = int((p & t).sum()), int((p & ~t).sum())
    fn, tn = int((~p & t).sum()), int((~p & ~t).sum())
    n = tp + fp + fn + tn
    return {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn) if tp + fn else float("nan"),
        "accuracy": (tp + tn) / n if n else float("nan"),
    }


def multilabel_scores(y_true: np.ndarray, proba: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Paper 004 classification metrics on (N, L) truth and probabilities.

    ``map``: mean over labels (with at least one positive) of the per-label AP; ``macro_f1`` / ``micro_f1``
    at ``threshold``; ``example_f1``: paper 004's F1 (precision and recall per sample, averaged over samples,
    F1 of the averages); ``sample_f1``: the mean per-sample F1 (scikit-learn 'samples').
    """
    y = np.asarray(y_true, bool)
    pred = np.asarray(proba) >= threshold
    has_pos = y.any(axis=0)
    aps = [average_precision_score(y[:, j], proba[:, j]) for j in np.flatnonzero(has_pos)]
    inter = (pred & y).sum(axis=1)
    p_ex = np.where(pred.sum(axis=1) > 0, inter / np.maximum(pred.sum(axis=1), 1), 0.0)
    r_ex = np.where(y.sum(axis=1) > 0, inter / np.maximum(y.sum(axis=1), 1), 0.0)
    pm, rm = float(p_ex.mean()), float(r_ex.mean())
    return {
        "map": float(np.mean(aps)) if aps else float("nan"),
        "macro_f1": float(f1_score(y[:, has_pos], pred[:, has_pos], average="macro", zero_division=0)),
        "micro_f1": float(f1_score(y, pred, average="micro", zero_division=0)),
        "sample_f1": float(f1_score(y, pred, average="samples", zero_division=0)),
        "example_precision": pm,
        "example_recall": rm,
        "example_f1": 2 * pm * rm / (pm + rm) if pm + rm else 0.0,
    }


def ranking(query: np.ndarray, archive: np.ndarray) -> np.ndarray:
    """Archive row order per query by descending cosine similarity (rows assumed L2-normalised)."""
    sims = np.asarray(query, np.float32) @ np.asarray(archive, np.float32).T
    return np.argsort(-sims, axis=1, kind="stable")
