"""Cypher of the concept API (read-only), UPPER_SNAKE constants with $params, batched with UNWIND."""

from __future__ import annotations

CONCEPTS_BY_ID = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN id, c {.*} AS node
"""

CONCEPTS_BY_LABEL = """
MATCH (c:Concept)
WHERE c.id = $text OR toLower(c.name) = $lower
   OR $lower IN [a IN coalesce(c.alt_labels, []) | toLower(a)]
RETURN c {.*} AS node,
       CASE WHEN c.id = $text THEN 'id' WHEN toLower(c.name) = $lower THEN 'prefLabel' ELSE 'altLabel' END AS how
ORDER BY coalesce(c.deprecated, false), CASE how WHEN 'id' THEN 0 WHEN 'prefLabel' THEN 1 ELSE 2 END, c.id
LIMIT $limit
"""

CONCEPTS_BY_SOURCE_LABEL = """
MATCH (l:SourceLabel)-[m:MAPS_TO]->(c:Concept)
WHERE toLower(l.name) = $lower AND coalesce(m.status, 'curated') IN $active
RETURN DISTINCT c {.*} AS node, 'source label ' + l.dataset AS how
ORDER BY node.id
LIMIT $limit
"""

SEARCH_CONCEPTS = """
CALL db.index.fulltext.queryNodes('concept_text', $query, {limit: $limit}) YIELD node, score
WHERE $include_deprecated OR NOT coalesce(node.deprecated, false)
RETURN node {.*} AS node, score
ORDER BY score DESC, node.id
"""

LIST_CONCEPTS = """
MATCH (c:Concept)
WHERE ($level IS NULL OR c.level = $level) AND ($include_deprecated OR NOT coalesce(c.deprecated, false))
RETURN c {.*} AS node
ORDER BY c.level, c.id
SKIP $skip LIMIT $limit
"""

PARENTS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})-[:SUBCLASS_OF]->(p:Concept)
WITH id, p ORDER BY p.name
RETURN id, collect(p {.*}) AS nodes
"""

CHILDREN = """
UNWIND $ids AS id
MATCH (k:Concept)-[:SUBCLASS_OF]->(c:Concept {id: id})
WHERE NOT coalesce(k.deprecated, false)
WITH id, k ORDER BY k.name
RETURN id, collect(k {.*}) AS nodes
"""

SIMILAR = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})-[r:SIMILAR_TO]-(o:Concept)
WITH id, o, r ORDER BY r.score DESC, o.id
RETURN id, collect({node: o {.*}, score: r.score, text_sim: r.text_sim, struct_sim: r.struct_sim}) AS items
"""

ADJACENT = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})-[r:ADJACENT_TO]-(o:Concept)
WITH id, o, r ORDER BY r.cooccurrence DESC, o.id
RETURN id, collect({node: o {.*}, cooccurrence: r.cooccurrence}) AS items
"""

MAPPED_SOURCE_LABELS = """
UNWIND $ids AS id
MATCH (l:SourceLabel)-[m:MAPS_TO]->(:Concept {id: id})
WITH id, l, m ORDER BY l.dataset, l.name
RETURN id, collect({dataset: l.dataset, name: l.name, score: m.score, status: m.status,
                    predicate: m.predicate}) AS items
"""

# (label_set, label) pairs of every source label mapped (actively) to a concept or its subclasses.
DEEP_LABEL_PAIRS = """
UNWIND $ids AS id
OPTIONAL MATCH (sub:Concept)-[:SUBCLASS_OF*0..]->(:Concept {id: id})
OPTIONAL MATCH (l:SourceLabel)-[m:MAPS_TO]->(sub)
WHERE coalesce(m.status, 'curated') IN $active
RETURN id, collect(DISTINCT CASE WHEN l IS NULL THEN null ELSE [l.dataset, l.name] END) AS pairs
"""

# concepts a source label (id "<label_set>:<name>") maps to
CONCEPTS_OF_SOURCE_LABELS = """
UNWIND $ids AS id
MATCH (l:SourceLabel {id: id})-[m:MAPS_TO]->(c:Concept)
WHERE coalesce(m.status, 'curated') IN $active
WITH id, c ORDER BY c.id
RETURN id, collect(c {.*}) AS nodes
"""
