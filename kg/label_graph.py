"""Label-graph algorithms over Neo4j: paper 000 Equation 1 edge weights and weighted label expansion.

Edge weights (Eq. 1): SUBCLASS_OF = 0 (walked from a concept down to its subclasses only, so that a
query for "river" does not pull in every sibling of its parent), SIMILAR_TO = alpha / score,
ADJACENT_TO = beta / (cooccurrence + tau); no edge otherwise. Related labels are the concepts whose
Dijkstra distance from any query concept is <= max_distance.

``store_weights`` writes the weights for the default settings onto the edges (property ``weight``)
so that Browser users can run ``apoc.algo.dijkstra``; ``expand_labels`` computes distances for
per-request alpha/beta/tau in Python over the (small) label graph, fetched once per call.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from neo4j import Driver

SET_SUBCLASS_WEIGHTS = "MATCH (:Concept)-[r:SUBCLASS_OF]->(:Concept) SET r.weight = 0.0"
SET_SIMILAR_WEIGHTS = """
MATCH (:Concept)-[r:SIMILAR_TO]-(:Concept) WHERE r.score > 0
SET r.weight = $alpha / r.score
"""
SET_ADJACENT_WEIGHTS = """
MATCH (:Concept)-[r:ADJACENT_TO]-(:Concept)
SET r.weight = $beta / (coalesce(r.cooccurrence, 0) + $tau)
"""

FETCH_LABEL_GRAPH = """
MATCH (a:Concept)-[r:SUBCLASS_OF|SIMILAR_TO|ADJACENT_TO]->(b:Concept)
WHERE coalesce(a.deprecated, false) = false AND coalesce(b.deprecated, false) = false
RETURN a.id AS a, b.id AS b, type(r) AS type, r.score AS score, r.cooccurrence AS cooccurrence
"""

FETCH_CONCEPT_NAMES = "MATCH (c:Concept) RETURN c.id AS id, c.name AS name"


@dataclass(frozen=True)
class Related:
    concept_id: str
    distance: float
    source: str                     # the query concept it was reached from
    path: tuple[str, ...]           # concept ids from source to this concept
    relations: tuple[str, ...] = field(default=())  # edge types along the path


def store_weights(driver: Driver, alpha: float, beta: float, tau: float) -> None:
    driver.execute_query(SET_SUBCLASS_WEIGHTS)
    driver.execute_query(SET_SIMILAR_WEIGHTS, alpha=alpha)
    driver.execute_query(SET_ADJACENT_WEIGHTS, beta=beta, tau=tau)


Adjacency = dict[str, list[tuple[str, float, str]]]


def build_adjacency(edges: list[dict[str, object]], alpha: float, beta: float, tau: float) -> Adjacency:
    adj: Adjacency = {}
    for e in edges:
        a, b, kind = str(e["a"]), str(e["b"]), str(e["type"])
        if kind == "SUBCLASS_OF":              # child -> parent in the graph; walk parent -> child
            adj.setdefault(b, []).append((a, 0.0, kind))
        elif kind == "SIMILAR_TO":
            score = float(e["score"] or 0.0)  # type: ignore[arg-type]
            if score <= 0:
                continue
            w = alpha / score
            adj.setdefault(a, []).append((b, w, kind))
            adj.setdefault(b, []).append((a, w, kind))
        elif kind == "ADJACENT_TO":
            w = beta / (float(e["cooccurrence"] or 0) + tau)  # type: ignore[arg-type]
            adj.setdefault(a, []).append((b, w, kind))
            adj.setdefault(b, []).append((a, w, kind))
    return adj


def dijkstra(adj: Adjacency, sources: list[str], max_distance: float) -> dict[str, Related]:
    """Multi-source Dijkstra; each reached concept keeps its nearest source and path."""
    best: dict[str, Related] = {}
    heap: list[tuple[float, int, str, str, tuple[str, ...], tuple[str, ...]]] = []
    counter = 0
    for s in sources:
        heapq.heappush(heap, (0.0, counter, s, s, (s,), ()))
        counter += 1
    while heap:
        d, _, node, src, path, rels = heapq.heappop(heap)
        if node in best:
            continue
        best[node] = Related(node, d, src, path, rels)
        for nxt, w, kind in adj.get(node, ()):
            nd = d + w
            if nxt not in best and nd <= max_distance:
                counter += 1
                heapq.heappush(heap, (nd, counter, nxt, src, path + (nxt,), rels + (kind,)))
    return best


def expand_labels(driver: Driver, concept_ids: list[str], alpha: float, beta: float, tau: float,
                  max_distance: float) -> list[Related]:
    """Related concepts of the query concepts, nearest first (the query concepts themselves at 0)."""
    edges = [r.data() for r in driver.execute_query(FETCH_LABEL_GRAPH).records]
    adj = build_adjacency(edges, alpha, beta, tau)
    found = dijkstra(adj, concept_ids, max_distance)
    return sorted(found.values(), key=lambda r: (r.distance, r.concept_id))
