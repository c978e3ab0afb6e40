"""Cypher of the retrieval pipeline (rskg.retrieval): label lexicon, mapping look-ups, direct matches.

Every query takes ``$params`` only: user input (label strings, candidate ids) never becomes Cypher text.

A source label answers a concept through ``MAPS_TO`` (its mapping) or ``COVERS`` (a disjunctive label such
as RSSCN7 "river_lake" covering river and lake; written by the label sync where the ontology records it).
Mappings still waiting for review (``status`` pending) or rejected are not used.
"""

from __future__ import annotations

USABLE_MAPPING = "coalesce(m.status, 'curated') IN ['curated', 'auto', 'accepted']"

# id, prefLabel, altLabels of every concept; deprecated ones carry the id that replaces them.
CONCEPT_LEXICON = """
MATCH (c:Concept)
RETURN c.id AS id, c.name AS name, coalesce(c.alt_labels, []) AS alt_labels,
       coalesce(c.deprecated, false) AS deprecated, c.replaced_by AS replaced_by
"""

# Every source label with the concepts it answers.
SOURCE_LABEL_LEXICON = f"""
MATCH (l:SourceLabel)-[m:MAPS_TO|COVERS]->(c:Concept)
WHERE {USABLE_MAPPING} AND coalesce(c.deprecated, false) = false
RETURN l.dataset AS dataset, l.name AS name, c.id AS concept_id, type(m) AS rel
"""

# Concept -> its subclasses at any depth (itself included).
SUBCLASS_CLOSURE = """
UNWIND $ids AS cid
MATCH (c:Concept {id: cid})<-[:SUBCLASS_OF*0..]-(d:Concept)
WHERE coalesce(d.deprecated, false) = false
RETURN cid AS root, collect(DISTINCT d.id) AS members
"""

# Direct matches in the graph: rows (root = query concept, sample, dataset, source label).
# $groups: [{root, labels: [SourceLabel ids]}]; $candidates: list of sample ids or null (no filter).
DIRECT_SAMPLES = """
UNWIND $groups AS g
MATCH (l:SourceLabel)<-[:LABELED]-(s:Sample)
WHERE l.id IN g.labels
  AND ($candidates IS NULL OR s.id IN $candidates)
  AND ($datasets IS NULL OR s.dataset IN $datasets)
RETURN g.root AS root, s.id AS sample_id, s.dataset AS dataset, collect(DISTINCT l.name) AS labels
"""

# A label set that is a copy of an ontology dataset (the same classes ingested under another id) gets the
# curated mappings of that dataset. rows: [{dataset, name, concept, rel: 'MAPS_TO' | 'COVERS'}]
ADOPT_MAPPINGS = """
UNWIND $rows AS r
MERGE (l:SourceLabel {id: r.dataset + ':' + r.name})
  ON CREATE SET l.dataset = r.dataset, l.name = r.name
WITH l, r
MATCH (c:Concept {id: r.concept})
FOREACH (_ IN CASE WHEN r.rel = 'MAPS_TO' THEN [1] ELSE [] END |
  MERGE (l)-[m:MAPS_TO]->(c) SET m.status = 'curated', m.score = 1.0, m.adopted_from = r.source)
FOREACH (_ IN CASE WHEN r.rel = 'COVERS' THEN [1] ELSE [] END |
  MERGE (l)-[:COVERS]->(c))
"""

# Samples labelled with each concept (its own labels only; subclasses are folded in by the caller).
CONCEPT_MEMBERS = f"""
MATCH (s:Sample)-[:LABELED]->(l:SourceLabel)-[m:MAPS_TO|COVERS]->(c:Concept)
WHERE {USABLE_MAPPING} AND coalesce(c.deprecated, false) = false
RETURN c.id AS concept_id, collect(DISTINCT s.id) AS samples
"""
