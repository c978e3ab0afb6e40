"""The concept score of a sample: prototype cosine similarity fused with the concept head's probability.

One function for the product and the evaluation: the supplementary search
(:func:`rskg.retrieval.supplementary.search` and :func:`~rskg.retrieval.supplementary.to_hits`) ranks a hit
of query concept Q by it, and the leave-one-dataset-out protocol (:mod:`rskg.evaluation.lodo`, variant
"concept head score") ranks a target dataset's images by it.

    score = cosine + HEAD_WEIGHT * logit(P(Q | sample))

The cosine (best similarity to one of the concept's k-means prototypes in the head's embedding) and the head's
probability win on different (dataset, concept) cells of the LODO table; adding the probability's logit keeps
the score a per-sample quantity (no statistics over a ranked population are needed, so a hit's score is the
same whatever else the index holds). The probability is clipped to [``P_CLIP``, 1 - ``P_CLIP``] so a
saturated head cannot swamp the similarity. ``HEAD_WEIGHT`` was chosen on INNER folds (a training family of
each LODO fold held out as validation; the LODO targets never took part): ``python -m benchmarks lodo_inner``,
benchmarks/results/lodo_variants.md. Without a probability (no concept head, a query concept the head does
not know, an example-image query) the score is the cosine alone.
"""

from __future__ import annotations

from typing import overload

import numpy as np

HEAD_WEIGHT = 0.3
P_CLIP = 1e-3


def logit(p: np.ndarray | float) -> np.ndarray:
    q = np.clip(np.asarray(p, np.float64), P_CLIP, 1.0 - P_CLIP)
    return np.log(q / (1.0 - q))


@overload
def concept_score(similarity: float, probability: float | None, weight: float = ...) -> float: ...
@overload
def concept_score(similarity: np.ndarray, probability: np.ndarray | None, weight: float = ...) -> np.ndarray: ...
def concept_score(similarity: float | np.ndarray, probability: float | np.ndarray | None,
                  weight: float = HEAD_WEIGHT) -> float | np.ndarray:
    """Cosine similarity (scalar or array) fused with the head's probability for the concept (same shape)."""
    if probability is None or weight == 0.0:
        return similarity
    out = np.asarray(similarity, np.float64) + weight * logit(probability)
    return float(out) if np.ndim(out) == 0 else out
