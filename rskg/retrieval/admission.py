"""Calibrated admission of supplementary samples by the concept head.

When the image index was built by the installed concept head (its version names the head's digest) and
the query concept is one of the head's outputs, every indexed sample is scored once with the head's
probability for each of the head's concepts, computed from its stored embedding (the head's classifier
works on the normalised embedding, so no pixels are re-encoded; the matrix is cached per index and head).
A sample is admissible for a query concept when that probability reaches the concept's threshold, learned
on held-out labelled data when the head was trained (``head.cfg.metrics["thresholds"]``: the lowest
probability with held-out precision >= 0.7; 0.5 for concepts without enough held-out samples).

Admission happens BEFORE the prototype kNN and the ``limit_supplementary`` cut: :func:`admissible` gives
the admissible positions per query concept and the supplementary search only looks among them, so a
rejected look-alike never takes the place of an admissible sample (a request returns ``limit`` admitted
samples whenever that many are reachable). The same probabilities (:func:`probabilities`) are fused with
the prototype similarity into the hit's score (:func:`rskg.retrieval.scoring.concept_score`), and :func:`admit`
writes the probability into each hit's evidence. Query concepts the head does not know, example-image
queries and indexes of other encoders keep the cosine floor alone (and the cosine as their score).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from embeddings.faiss_index import VectorIndex
from rskg.retrieval.model import Evidence
from rskg.services import KeyedCache, Services

if TYPE_CHECKING:
    from embeddings.head_model import ProjectionHead

DEFAULT_THRESHOLD = 0.5
PROBA_CHUNK = 65_536    # index positions scored per step


@dataclass(frozen=True)
class Admission:
    """The head's probabilities for every index position ([n positions, n head concepts]; tombstones -1)."""

    columns: dict[str, int]
    thresholds: dict[str, float]
    proba: np.ndarray

    def threshold(self, concept: str) -> float:
        return self.thresholds.get(concept, DEFAULT_THRESHOLD)

    def positions(self, concept: str) -> np.ndarray:
        """Sorted positions whose probability for ``concept`` reaches its threshold."""
        return np.flatnonzero(self.proba[:, self.columns[concept]] >= self.threshold(concept)).astype(np.int64)


class AdmissionCache(KeyedCache[Admission]):
    """The :class:`Admission` of the current (image index, concept head) pair."""


def _probabilities(head: ProjectionHead, index: VectorIndex) -> np.ndarray:
    import torch

    from rskg.retrieval.knn import single_threaded

    n = len(index.ids)
    proba = np.full((n, len(head.cfg.labels)), -1.0, np.float32)       # tombstones stay -1
    with torch.no_grad(), single_threaded():
        for s in range(0, n, PROBA_CHUNK):   # never the whole matrix at once: 6.9 GB at 1M x 1712
            pos = np.asarray([p for p in range(s, min(n, s + PROBA_CHUNK)) if index.ids[p]], np.int64)
            if len(pos):
                z = torch.from_numpy(np.ascontiguousarray(index.reconstruct(pos), np.float32))
                proba[pos] = torch.sigmoid(head.classifier(z * head.log_scale.exp())).numpy()
    return proba


def admission(services: Services, index: VectorIndex) -> Admission | None:
    """The head's admission over ``index``, or None when the index was not built by a concept head."""
    from rskg.retrieval.hir import _usable_head
    from rskg.retrieval.neighbours import index_key

    head = _usable_head(services, index)
    if head is None or (head.cfg.metrics or {}).get("kind") != "concept":
        return None
    metrics = head.cfg.metrics or {}
    return services.cache(AdmissionCache).get(
        (id(head), *index_key(index)),
        lambda: Admission({c: j for j, c in enumerate(head.cfg.labels)},
                          {str(k): float(v) for k, v in dict(metrics.get("thresholds", {})).items()},
                          _probabilities(head, index)))


def admissible(services: Services, index: VectorIndex, roots: list[str],
               notes: list[str]) -> dict[str, np.ndarray]:
    """Query concept -> sorted admissible positions, for the roots the concept head knows (others absent)."""
    adm = admission(services, index)
    if adm is None:
        return {}
    out = {r: adm.positions(r) for r in roots if r in adm.columns}
    live = int((adm.proba[:, 0] >= 0).sum()) if adm.proba.shape[1] else 0
    for r, pos in out.items():
        notes.append(f"concept head admission for {r}: {len(pos)} of {live} indexed samples reach the "
                     f"calibrated probability {adm.threshold(r):.3f}")
    return out


def probabilities(services: Services, index: VectorIndex, roots: list[str]) -> dict[str, np.ndarray]:
    """Query concept -> the head's P(concept) for every index position (the roots the head knows; empty
    without a concept head), what the supplementary search fuses with the similarity
    (:func:`rskg.retrieval.scoring.concept_score`)."""
    adm = admission(services, index)
    if adm is None:
        return {}
    return {r: adm.proba[:, adm.columns[r]] for r in roots if r in adm.columns}


def admit(services: Services, index: VectorIndex, found: dict[tuple[str, str], Evidence],
          notes: list[str]) -> dict[tuple[str, str], Evidence]:
    """Keep the found (sample, query concept) pairs the head admits, each with its probability in the
    evidence (a no-op filter after a search restricted to :func:`admissible`; it only annotates then)."""
    adm = admission(services, index)
    if adm is None or not found:
        return found
    pos = index.positions
    out: dict[tuple[str, str], Evidence] = {}
    dropped = judged = 0
    for (sid, root), ev in found.items():
        if root not in adm.columns or sid not in pos:
            out[(sid, root)] = ev
            continue
        judged += 1
        p = float(adm.proba[pos[sid], adm.columns[root]])
        if p >= adm.threshold(root):
            out[(sid, root)] = replace(ev, probability=round(p, 4))
        else:
            dropped += 1
    if dropped:
        notes.append(f"concept head admission: {dropped} of {judged} supplementary candidates under the "
                     "concept's calibrated probability threshold")
    return out
