"""Query labels -> concepts, and the label expansion of paper 000 (Eq. 1 weights, Dijkstra).

A query label matches, in this order (first rule that matches wins):

1. a concept id (``river``), exactly;
2. a concept's prefLabel, then one of its altLabels, compared with :func:`ontology.normalize.label_key`
   (case, separators, camelCase and plural folded: "River", "rivers", "RIVER_" all match);
3. a source label as some dataset spells it (EuroSAT "HerbaceousVegetation", RSSCN7 "dRiverLake" folded the
   same way) -> every concept that source label maps to.

A deprecated concept id is redirected to the concept that replaces it. Labels that match nothing are listed
in ``unmatched``; they are data, never Cypher (all queries take parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kg.label_graph import FETCH_CONCEPT_NAMES, FETCH_LABEL_GRAPH, Related, build_adjacency, dijkstra
from kg.retrieval_queries import CONCEPT_LEXICON, SOURCE_LABEL_LEXICON
from ontology.normalize import label_key
from rskg.retrieval.caches import LEXICON_TTL_S
from rskg.retrieval.model import ConceptMatch
from rskg.services import KeyedCache, KeyedCaches, Services

MAX_LABEL_CHARS = 200


@dataclass
class Lexicon:
    names: dict[str, str] = field(default_factory=dict)                      # concept id -> prefLabel
    active: set[str] = field(default_factory=set)
    replaced_by: dict[str, str] = field(default_factory=dict)
    pref: dict[str, list[str]] = field(default_factory=dict)                 # key -> concept ids
    alt: dict[str, list[str]] = field(default_factory=dict)
    source: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # key -> [(dataset, concept)]
    mappings: list[tuple[str, str, str]] = field(default_factory=list)      # (label set, name, concept)


def load_lexicon(services: Services) -> Lexicon:
    lex = Lexicon()
    for r in services.driver.execute_query(CONCEPT_LEXICON).records:
        cid = str(r["id"])
        lex.names[cid] = str(r["name"] or cid)
        if r["deprecated"]:
            if r["replaced_by"]:
                lex.replaced_by[cid] = str(r["replaced_by"])
            continue
        lex.active.add(cid)
        lex.pref.setdefault(label_key(lex.names[cid]), []).append(cid)
        for a in r["alt_labels"] or []:
            lex.alt.setdefault(label_key(str(a)), []).append(cid)
    rows = [(str(r["dataset"]), str(r["name"]), str(r["concept_id"]))
            for r in services.driver.execute_query(SOURCE_LABEL_LEXICON).records]
    for label_set, name, cid in dict.fromkeys(rows):
        if cid not in lex.active:
            continue
        lex.mappings.append((label_set, name, cid))
        bucket = lex.source.setdefault(label_key(name), [])
        if (label_set, cid) not in bucket:
            bucket.append((label_set, cid))
    return lex


class LexiconCache(KeyedCache[Lexicon]):
    """The label lexicon from Neo4j, refreshed in the background after LEXICON_TTL_S."""


class LabelGraphCache(KeyedCache[tuple[list[dict[str, object]], dict[str, str]]]):
    """(label graph edges, concept names) from Neo4j, refreshed in the background after LEXICON_TTL_S."""


class DerivedGraphCaches(KeyedCaches[Any]):
    """Structures derived from the label graph snapshot (adjacency, children), one entry per (name, params)."""


def lexicon(services: Services) -> Lexicon:
    return services.cache(LexiconCache).get("v", lambda: load_lexicon(services), ttl=LEXICON_TTL_S)


def resolve(lex: Lexicon, labels: list[str]) -> tuple[list[ConceptMatch], list[str]]:
    """ConceptMatches (one per (label, concept)) and the labels that matched nothing."""
    matches: list[ConceptMatch] = []
    unmatched: list[str] = []
    for raw in labels:
        q = raw.strip()
        found = _resolve_one(lex, q) if q and len(q) <= MAX_LABEL_CHARS else []
        if not found:
            unmatched.append(raw)
        seen = {(m.query, m.concept_id) for m in matches}
        for cid, how in found:
            if (raw, cid) not in seen:
                matches.append(ConceptMatch(raw, cid, lex.names.get(cid, cid), how))
                seen.add((raw, cid))
    return matches, unmatched


def _resolve_one(lex: Lexicon, q: str) -> list[tuple[str, str]]:
    if q in lex.active:
        return [(q, "id")]
    if q in lex.replaced_by and lex.replaced_by[q] in lex.active:
        return [(lex.replaced_by[q], f"id (deprecated {q}, replaced)")]
    key = label_key(q)
    if not key:
        return []
    if key in lex.pref:
        return [(c, "prefLabel") for c in sorted(lex.pref[key])]
    if key in lex.alt:
        return [(c, "altLabel") for c in sorted(lex.alt[key])]
    if key in lex.source:
        by_concept: dict[str, list[str]] = {}
        for ds, cid in lex.source[key]:
            by_concept.setdefault(cid, []).append(ds)
        return [(c, "source label " + ",".join(sorted(by_concept[c]))) for c in sorted(by_concept)]
    return []


def _load_graph(services: Services) -> tuple[list[dict[str, object]], dict[str, str]]:
    edges = [r.data() for r in services.driver.execute_query(FETCH_LABEL_GRAPH).records]
    names = {str(r["id"]): str(r["name"]) for r in services.driver.execute_query(FETCH_CONCEPT_NAMES).records}
    return edges, names


def label_graph(services: Services) -> tuple[list[dict[str, object]], dict[str, str]]:
    return services.cache(LabelGraphCache).get("v", lambda: _load_graph(services), ttl=LEXICON_TTL_S)


def _derived(services: Services, name: str, params: tuple[object, ...], make: Any) -> Any:
    """A structure derived from the cached label graph (adjacency, children), rebuilt when the graph
    snapshot (or the parameters) change."""
    graph = label_graph(services)
    return services.cache(DerivedGraphCaches).entry(f"{name}{params}").get(graph, lambda: make(graph[0]))


def expand(services: Services, concept_ids: list[str], alpha: float, beta: float, tau: float,
           max_distance: float) -> list[Related]:
    """kg.label_graph's Eq. 1 Dijkstra over the cached label graph (same result as expand_labels)."""
    adj = _derived(services, "adjacency", (alpha, beta, tau), lambda e: build_adjacency(e, alpha, beta, tau))
    found = dijkstra(adj, concept_ids, max_distance)
    return sorted(found.values(), key=lambda r: (r.distance, r.concept_id))


def _children(edges: list[dict[str, object]]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {}
    for e in edges:
        if e["type"] == "SUBCLASS_OF":
            children.setdefault(str(e["b"]), []).append(str(e["a"]))
    return children


def subclass_closure(services: Services, concept_ids: list[str]) -> dict[str, set[str]]:
    """Concept -> itself and its subclasses at any depth (from the cached label graph)."""
    children: dict[str, list[str]] = _derived(services, "children", (), _children)
    out: dict[str, set[str]] = {}
    for root in concept_ids:
        seen = {root}
        stack = [root]
        while stack:
            for ch in children.get(stack.pop(), ()):
                if ch not in seen:
                    seen.add(ch)
                    stack.append(ch)
        out[root] = seen
    return out
