"""Step 4 of retrieval: supplementary samples found by the prototypes of related concepts.

For every related concept R of a query concept Q (Dijkstra distance d(Q, R) <= max_distance, Q itself
included at 0), the k-means prototypes of R search the image index (restricted to the step-1 candidates,
excluding the direct matches of Q). A hit with cosine similarity ``sim >= threshold`` becomes a supplementary
sample of Q with

    score = sim / (1 + d(Q, R))

so a look-alike of a prototype of Q itself keeps its similarity, and one found through a concept at graph
distance 1 counts half. When the index was built by the concept head, ``sim`` is fused with the head's
probability for Q (:func:`rskg.retrieval.scoring.concept_score`, the function the LODO evaluation ranks with)
before the division. A sample reached several ways keeps its best-scoring evidence.
"""

from __future__ import annotations

import heapq
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from embeddings.faiss_index import VectorIndex
from kg.label_graph import Related
from rskg.retrieval.knn import knn_arrays, topk
from rskg.retrieval.model import Evidence, SampleHit
from rskg.retrieval.neighbours import DEPTH, Neighbours, exact_rows, fill, lookup, transformed
from rskg.retrieval.prototypes import PrototypeStore, prototypes_of
from rskg.retrieval.scoring import concept_score
from rskg.services import Services

SAMPLE_META_SQL = "SELECT id, dataset_id, labels FROM samples WHERE id = ANY(%s)"


@dataclass(frozen=True)
class Query:
    root: str                 # query concept (or "example")
    concept_id: str           # related concept whose prototype this is
    prototype_id: str
    vector: np.ndarray
    distance: float
    path: tuple[str, ...]
    row: int = -1             # row in the prototype store (-1: not a prototype, e.g. the example)


def combine(similarity: float, distance: float) -> float:
    """The (fused) similarity discounted by graph distance; a negative score moves away from 0 the same way."""
    return similarity / (1.0 + distance) if similarity >= 0 else similarity * (1.0 + distance)


def _combine(score: np.ndarray, distance: np.ndarray) -> np.ndarray:
    return np.where(score >= 0, score / (1.0 + distance), score * (1.0 + distance))


def hit_score(ev: Evidence) -> float:
    """A hit's ranking score: :func:`combine` of its fused similarity (cosine alone without a probability)."""
    return combine(concept_score(ev.similarity, ev.probability), ev.graph_distance)


def prototype_queries(services: Services, store: PrototypeStore, related: list[Related]) -> list[Query]:
    protos = prototypes_of(services, sorted({r.concept_id for r in related}))
    out = []
    for r in related:
        for pid, row in protos.get(r.concept_id, []):
            out.append(Query(r.source, r.concept_id, pid, store.vectors[row], r.distance, r.path, row))
    return out


def _positions(index: VectorIndex, ids: Collection[str]) -> np.ndarray:
    return index.positions_of(ids)


def _group_hits(index: VectorIndex, queries: list[Query], group: list[int], k: int, allow: np.ndarray | None,
                excl: np.ndarray, threshold: float, nb: Neighbours | None,
                store: PrototypeStore | None) -> tuple[np.ndarray, np.ndarray]:
    """(positions, sims) [len(group), k'] of one query concept's prototype queries."""
    rows = np.asarray([queries[i].row for i in group], np.int64)
    tr = transformed(nb, index, store) if nb is not None and store is not None else None
    pos = np.full((len(group), k), -1, np.int64)
    sims = np.full((len(group), k), -np.inf, np.float32)
    live = np.ones(len(group), bool)
    # the cached neighbour lists serve unfiltered requests, and filtered ones on a flat (exact) index
    if nb is not None and store is not None and k <= DEPTH and (allow is None or index.kind == "flat"):
        cached = rows >= 0
        if cached.any():
            fill(nb, index, store, rows[cached])
            p, s, need = lookup(nb, rows[cached], k, excl, threshold, allow)
            pos[cached], sims[cached] = p, s
            live[np.flatnonzero(cached)[~need]] = False
    if allow is not None and live.any() and nb is not None and store is not None:
        li = np.flatnonzero(live)
        full = exact_rows(nb, index, store, rows[li]) if (rows[li] >= 0).all() else None
        if full is not None:               # small flat index: gather the candidates' precomputed columns
            cand = np.setdiff1d(allow, excl, assume_unique=True)
            pos[li], sims[li] = -1, -np.inf
            if len(cand):
                p, s = topk(full[:, cand], k, cand, threshold)
                w = p.shape[1]
                pos[li, :w], sims[li, :w] = p, s
            return pos, sims
    if live.any():
        li = np.flatnonzero(live)
        vecs = np.vstack([queries[group[j]].vector for j in li])
        pre = tr[rows[li]] if tr is not None and (rows[li] >= 0).all() else None
        p, s = knn_arrays(index, vecs, k, allow, excl, threshold, transformed=pre)
        w = p.shape[1]
        pos[li], sims[li] = -1, -np.inf
        pos[li, :w], sims[li, :w] = p, s
    return pos, sims


def search(index: VectorIndex, queries: list[Query], k: int, allowed: list[str] | None,
           excluded_by_root: dict[str, set[str]], threshold: float, nb: Neighbours | None = None,
           store: PrototypeStore | None = None, limit: int | None = None,
           admitted: dict[str, np.ndarray] | None = None,
           probability: dict[str, np.ndarray] | None = None) -> dict[tuple[str, str], Evidence]:
    """(sample id, root) -> best evidence (only the entries that can rank within ``limit``, when given).

    ``admitted`` (root -> sorted positions, from :func:`rskg.retrieval.admission.admissible`) restricts a
    root's search to the samples the concept head admits, so the k-per-prototype and ``limit`` cuts are taken
    among admissible samples only. ``probability`` (root -> the concept head's P(root) per index position, from
    :func:`rskg.retrieval.admission.probabilities`) fuses each hit's similarity with it
    (:func:`rskg.retrieval.scoring.concept_score`) and records it in the evidence.

    All prototype queries of one query concept are one batched search, or one look-up in the per-prototype
    neighbour cache ``nb`` (unfiltered requests; filtered ones on a flat index), with a live search only for
    the rows the cache cannot answer; the best evidence per sample is chosen with numpy."""
    roots = sorted({q.root for q in queries})
    allow = None if allowed is None else _positions(index, allowed)
    cols: list[tuple[np.ndarray, ...]] = []
    for ri, root in enumerate(roots):
        group = [i for i, q in enumerate(queries) if q.root == root]
        excl = _positions(index, excluded_by_root.get(root, set()))
        allow_r = allow
        if admitted is not None and root in admitted:
            allow_r = admitted[root] if allow is None else np.intersect1d(allow, admitted[root], assume_unique=True)
        pos, sims = _group_hits(index, queries, group, k, allow_r, excl, threshold, nb, store)
        ok = (pos >= 0) & (sims >= threshold)
        r, c = np.nonzero(ok)
        qi = np.asarray(group, np.int64)[r]
        dist = np.asarray([q.distance for q in queries], np.float64)[qi]
        sim = sims[r, c].astype(np.float64)
        p = probability[root][pos[r, c]].astype(np.float64) if probability and root in probability else \
            np.full(len(r), np.nan)
        fused = np.where(np.isnan(p), sim, concept_score(sim, np.nan_to_num(p, nan=0.5)))
        cols.append((pos[r, c], np.full(len(r), ri, np.int64), _combine(fused, dist), qi, sim, p))
    if not cols:
        return {}
    pos, root_i, score, qi, sim, prob = (np.concatenate(x) for x in zip(*cols, strict=True))
    # best score per (sample, root); ties keep the earliest query (as a loop in query order would)
    order = np.lexsort((qi, -score, pos, root_i))
    pos, root_i, score, qi, sim, prob = pos[order], root_i[order], score[order], qi[order], sim[order], prob[order]
    first = np.ones(len(pos), bool)
    first[1:] = (pos[1:] != pos[:-1]) | (root_i[1:] != root_i[:-1])
    pos, root_i, score, qi, sim, prob = pos[first], root_i[first], score[first], qi[first], sim[first], prob[first]
    if limit is not None and 0 <= limit < len(score):
        cut = np.partition(score, len(score) - limit - 1)[len(score) - limit - 1] if limit else np.inf
        keep = score >= cut - 1e-6             # ties at the cut stay: to_hits ranks them exactly
        pos, root_i, score, qi, sim, prob = pos[keep], root_i[keep], score[keep], qi[keep], sim[keep], prob[keep]
    ids = index.ids
    out = {}
    for p, ri, j, sm, pr in zip(pos.tolist(), root_i.tolist(), qi.tolist(), sim.tolist(), prob.tolist(),
                                strict=True):
        q = queries[j]
        out[(ids[p], roots[ri])] = Evidence(q.concept_id, q.prototype_id, round(sm, 6), q.distance, q.path,
                                            None if np.isnan(pr) else round(pr, 4))
    return out


def to_hits(services: Services, found: dict[tuple[str, str], Evidence], limit: int) -> list[SampleHit]:
    ranked = heapq.nsmallest(max(0, limit), found.items(),
                             key=lambda kv: (-hit_score(kv[1]), kv[0]))
    ids = sorted({sid for (sid, _), _ in ranked})
    meta: dict[str, tuple[str, tuple[str, ...]]] = {}
    if ids:
        with services.connection() as conn:
            for sid, ds, labels in conn.execute(SAMPLE_META_SQL, (ids,)).fetchall():
                meta[sid] = (ds, tuple(labels))
    out = []
    for (sid, root), ev in ranked:
        ds, labels = meta.get(sid, (sid.split(":", 1)[0], ()))
        out.append(SampleHit(sid, ds, root, "supplementary", round(hit_score(ev), 6),
                             labels, ev))
    return out
