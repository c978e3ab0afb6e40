"""Paper 003 (LuoJiaHOG) retrieval metrics and recall@K, for one query's ranking.

``gains`` is C(q, i) in rank order: the number of labels the query shares with the i-th retrieved image;
Tr(q, i) = [C(q, i) > 0]. ``ideal`` is C(q, ·) over the whole archive (for NDCG's normaliser Z_n).

* ACG@n  = (1/n) sum_{i<=n} C(q, i)                                           (Eq. 26)
* DCG@n  = sum_{i<=n} (2^C(q,i) - 1) / log2(1 + i);  NDCG@n = DCG@n / Z_n     (Eq. 27; Z_n = best DCG@n)
* AP@n   = (1/N_Tr@n) sum_{i<=n} Tr(q, i) * N_Tr@i / i  (0 when N_Tr@n = 0)    (Eq. 29)
* WAP@n  = (1/N_Tr@n) sum_{i<=n} Tr(q, i) * ACG@i                              (Eq. 30)
MAP@n / WMAP@n are the means over queries. The log base of Eq. 27 is not stated; base 2 is used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def acg_at(gains: Sequence[float] | np.ndarray, n: int) -> float:
    g = np.asarray(gains, np.float64)[:n]
    return float(g.sum() / n)


def dcg_at(gains: Sequence[float] | np.ndarray, n: int) -> float:
    g = np.asarray(gains, np.float64)[:n]
    return float(np.sum((2.0 ** g - 1.0) / np.log2(np.arange(2, len(g) + 2))))


def ndcg_at(gains: Sequence[float] | np.ndarray, ideal: Sequence[float] | np.ndarray, n: int) -> float:
    z = dcg_at(np.sort(np.asarray(ideal, np.float64))[::-1], n)
    return dcg_at(gains, n) / z if z > 0 else 0.0


def ap_at(gains: Sequence[float] | np.ndarray, n: int) -> float:
    tr = np.asarray(gains, np.float64)[:n] > 0
    if not tr.any():
        return 0.0
    cum = np.cumsum(tr)
    ranks = np.arange(1, len(tr) + 1)
    return float(np.sum(tr * cum / ranks) / cum[-1])


def wap_at(gains: Sequence[float] | np.ndarray, n: int) -> float:
    g = np.asarray(gains, np.float64)[:n]
    tr = g > 0
    if not tr.any():
        return 0.0
    acg = np.cumsum(g) / np.arange(1, len(g) + 1)
    return float(np.sum(tr * acg) / tr.sum())


def recall_at(rank_of_target: int, k: int) -> float:
    """1 when the query's own image is within the top k (rank_of_target counts from 0)."""
    return 1.0 if rank_of_target < k else 0.0


def paper003(gains_ranked: np.ndarray, gains_all: np.ndarray, ns: tuple[int, ...] = (5, 10, 20)) -> dict[str, float]:
    """Mean MAP@n, WMAP@n, NDCG@n, ACG@n over queries. gains_ranked: (Q, >=max n) gains in rank order;
    gains_all: (Q, N) gains over the whole archive."""
    out: dict[str, float] = {}
    for n in ns:
        out[f"MAP@{n}"] = float(np.mean([ap_at(g, n) for g in gains_ranked]))
        out[f"WMAP@{n}"] = float(np.mean([wap_at(g, n) for g in gains_ranked]))
        out[f"NDCG@{n}"] = float(np.mean([ndcg_at(g, a, n) for g, a in zip(gains_ranked, gains_all, strict=True)]))
        out[f"ACG@{n}"] = float(np.mean([acg_at(g, n) for g in gains_ranked]))
    return out
