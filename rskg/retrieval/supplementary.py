"""Step 4 of retrieval: supplementary samples found by the prototypes of related concepts.

For every related concept R of a query concept Q (Dijkstra distance d(Q, R) <= max_distance, Q itself
included at 0), the k-means prototypes of R search the image index (restricted to the step-1 candidates,
excluding the direct matches of Q). A hit with cosine similarity ``sim >= threshold`` becomes a supplementary
sample of Q with

    score = sim / (1 + d(Q, R))

so a look-alike of a prototype of Q itself keeps its similarity, and one found through a concept at graph
distance 1 counts half. A sample reached several ways keeps its best-scoring evidence.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from embeddings.faiss_index import VectorIndex
from kg.label_graph import Related
from rskg.retrieval.knn import knn
from rskg.retrieval.model import Evidence, SampleHit
from rskg.retrieval.prototypes import PrototypeStore, prototypes_of
from rskg.services import Services

DEFAULT_SIMILARITY_THRESHOLD = 0.6
SAMPLE_META_SQL = "SELECT id, dataset_id, labels FROM samples WHERE id = ANY(%s)"


@dataclass(frozen=True)
class Query:
    root: str                 # query concept (or "example")
    concept_id: str           # related concept whose prototype this is
    prototype_id: str
    vector: np.ndarray
    distance: float
    path: tuple[str, ...]


def combine(similarity: float, distance: float) -> float:
    return similarity / (1.0 + distance)


def prototype_queries(services: Services, store: PrototypeStore, related: list[Related]) -> list[Query]:
    protos = prototypes_of(services, sorted({r.concept_id for r in related}))
    out = []
    for r in related:
        for pid, row in protos.get(r.concept_id, []):
            out.append(Query(r.source, r.concept_id, pid, store.vectors[row], r.distance, r.path))
    return out


def search(index: VectorIndex, queries: list[Query], k: int, allowed: list[str] | None,
           excluded_by_root: dict[str, set[str]], threshold: float) -> dict[tuple[str, str], Evidence]:
    """(sample id, root) -> best evidence."""
    best: dict[tuple[str, str], tuple[float, int, float]] = {}     # key -> (score, query index, similarity)
    for root in sorted({q.root for q in queries}):
        group = [i for i, q in enumerate(queries) if q.root == root]
        hits = knn(index, np.vstack([queries[i].vector for i in group]), k, allowed,
                   excluded_by_root.get(root, set()), min_score=threshold)
        for qi, row in zip(group, hits, strict=True):
            scale = 1.0 / (1.0 + queries[qi].distance)
            for h in row:
                s = h.score * scale
                key = (h.id, root)
                old = best.get(key)
                if old is None or s > old[0]:
                    best[key] = (s, qi, h.score)
    out = {}
    for key, (_, qi, sim) in best.items():
        q = queries[qi]
        out[key] = Evidence(q.concept_id, q.prototype_id, round(sim, 6), q.distance, q.path)
    return out


def to_hits(services: Services, found: dict[tuple[str, str], Evidence], limit: int) -> list[SampleHit]:
    ranked = heapq.nsmallest(max(0, limit), found.items(),
                             key=lambda kv: (-combine(kv[1].similarity, kv[1].graph_distance), kv[0]))
    ids = sorted({sid for (sid, _), _ in ranked})
    meta: dict[str, tuple[str, tuple[str, ...]]] = {}
    if ids:
        with services.connection() as conn:
            for sid, ds, labels in conn.execute(SAMPLE_META_SQL, (ids,)).fetchall():
                meta[sid] = (ds, tuple(labels))
    out = []
    for (sid, root), ev in ranked:
        ds, labels = meta.get(sid, (sid.split(":", 1)[0], ()))
        out.append(SampleHit(sid, ds, root, "supplementary", round(combine(ev.similarity, ev.graph_distance), 6),
                             labels, ev))
    return out
