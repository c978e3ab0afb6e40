"""Concept queries: lookup by id / label / synonym, full-text search, listing, weighted shortest path."""

from __future__ import annotations

import math
import re

import strawberry

from api.concepts import cypher as q
from api.concepts import loaders as ld
from api.concepts.types import Concept, ConceptHit, ConceptPath
from api.context import Info
from kg.label_graph import expand_labels
from rskg.errors import NotFoundError, ValidationError

_LUCENE_SPECIAL = re.compile(r'([+\-&|!(){}\[\]^"~*?:\\/])')
MAX_TEXT = 200


def lucene_query(text: str) -> str:
    """A safe Lucene query for the fulltext index: every term escaped, matched exactly or as a prefix."""
    terms = [_LUCENE_SPECIAL.sub(r"\\\1", t) for t in text.split() if t.strip()]
    terms = [t for t in terms if t.replace("\\", "").strip()]
    if not terms:
        raise ValidationError("the search text has no words", "Type at least one word, e.g. 'river'.")
    return " ".join(f"({t} OR {t}*)" for t in terms[:20])


def _check_text(text: str, what: str) -> str:
    if not text.strip():
        raise ValidationError(f"{what} is empty", f"Give a non-empty {what}.")
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{what} is longer than {MAX_TEXT} characters", f"Shorten the {what}.")
    return text.strip()


async def lookup(info: Info, text: str, limit: int = 20) -> list[tuple[dict, str]]:
    """Concepts whose id, prefLabel or altLabel equals ``text`` (case-insensitive), else via source labels."""
    text = _check_text(text, "label")
    db = info.context.db
    rows = await db.cypher(q.CONCEPTS_BY_LABEL, text=text, lower=text.lower(), limit=limit)
    if not rows:
        rows = await db.cypher(q.CONCEPTS_BY_SOURCE_LABEL, lower=text.lower(), active=ld.ACTIVE_STATUSES,
                               limit=limit)
    return [(r["node"], r["how"]) for r in rows]


async def resolve_id(info: Info, text: str) -> str:
    found = await lookup(info, text, 1)
    if not found:
        raise NotFoundError(f"no concept with id, name or synonym {text[:80]!r}",
                            "Search with searchConcepts(text: ...) and use a returned id.")
    return str(found[0][0]["id"])


@strawberry.type
class ConceptQueries:
    @strawberry.field(description="A concept by id (null when unknown).")
    async def concept(self, info: Info, id: strawberry.ID) -> Concept | None:
        node = await info.context.loader(ld.concept_by_id).load(str(id))
        return Concept.from_node(node) if node else None

    @strawberry.field(description="Concepts whose id, name or synonym equals the label (case-insensitive); "
                                  "falls back to dataset source labels mapped to concepts.")
    async def concepts_by_label(self, info: Info, label: str) -> list[ConceptHit]:
        return [ConceptHit(concept=Concept.from_node(n), score=1.0, how=how) for n, how in await lookup(info, label)]

    @strawberry.field(description="Full-text search over concept names, definitions and synonyms.")
    async def search_concepts(self, info: Info, text: str, limit: int = 10,
                              include_deprecated: bool = False) -> list[ConceptHit]:
        text = _check_text(text, "search text")
        rows = await info.context.db.cypher(q.SEARCH_CONCEPTS, query=lucene_query(text), limit=max(1, min(limit, 100)),
                                            include_deprecated=include_deprecated)
        return [ConceptHit(concept=Concept.from_node(r["node"]), score=float(r["score"]), how="fulltext")
                for r in rows]

    @strawberry.field(description="Concepts ordered by level and id, optionally one level only.")
    async def concepts(self, info: Info, level: int | None = None, include_deprecated: bool = False,
                       first: int = 100, offset: int = 0) -> list[Concept]:
        rows = await info.context.db.cypher(q.LIST_CONCEPTS, level=level, include_deprecated=include_deprecated,
                                            skip=max(0, offset), limit=max(0, min(first, 1000)))
        return [Concept.from_node(r["node"]) for r in rows]

    @strawberry.field(description="Shortest weighted path with the paper's Eq. 1 weights (SUBCLASS_OF walked "
                                  "from a concept down to its subclasses, SIMILAR_TO alpha/score, ADJACENT_TO "
                                  "beta/(cooccurrence+tau)); null when the target is unreachable.")
    async def concept_path(self, info: Info, source: str, target: str, alpha: float | None = None,
                           beta: float | None = None, tau: float | None = None) -> ConceptPath | None:
        s = info.context.settings
        a, b = await resolve_id(info, source), await resolve_id(info, target)
        info.context.db.counter.neo4j += 1
        related = await info.context.db.call(expand_labels, info.context.services.driver, [a],
                                             s.alpha if alpha is None else alpha, s.beta if beta is None else beta,
                                             s.tau if tau is None else tau, math.inf)
        hit = next((r for r in related if r.concept_id == b), None)
        if hit is None:
            return None
        nodes = await info.context.loader(ld.concept_by_id).load_many(list(hit.path))
        return ConceptPath(distance=hit.distance, concepts=[Concept.from_node(n) for n in nodes if n],
                           relations=list(hit.relations))
