"""Per-concept admission thresholds of the concept head, learned on held-out labelled data.

For a concept with at least ``MIN_POSITIVES`` held-out positives (among the held-out samples whose
vocabulary can speak about it), the threshold is the lowest head probability at which the held-out samples
scoring at or above it are still at least ``PRECISION`` precise; concepts without enough held-out data get
``FALLBACK`` (0.5), and a concept whose best cut never reaches the precision gets ``STRICT`` (0.9).
"""

from __future__ import annotations

import numpy as np

PRECISION = 0.7
MIN_POSITIVES = 5
FALLBACK = 0.5
STRICT = 0.9


def threshold_for(p: np.ndarray, relevant: np.ndarray, precision: float = PRECISION) -> float:
    order = np.argsort(-p, kind="stable")
    rel = relevant[order].astype(np.float64)
    prec = np.cumsum(rel) / np.arange(1, len(rel) + 1)
    ok = np.flatnonzero((prec >= precision) & (rel > 0))
    return float(p[order][ok[-1]]) if len(ok) else STRICT


def learn_thresholds(proba: np.ndarray, y: np.ndarray, known: np.ndarray, concepts: list[str],
                     precision: float = PRECISION) -> dict[str, float]:
    out: dict[str, float] = {}
    for j, c in enumerate(concepts):
        k = known[:, j]
        rel = y[k, j] > 0
        out[c] = round(threshold_for(proba[k, j], rel, precision), 4) if rel.sum() >= MIN_POSITIVES else FALLBACK
    return out
