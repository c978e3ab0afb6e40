"""Cypher of the labelling tool (rskg/labelling): concept choices for the page and read-backs of a
user-made dataset. The writes reuse kg.samples (Dataset, SourceLabel, Sample-LABELED) and
kg.mappings_graph (MAPS_TO)."""

from __future__ import annotations

LIST_CONCEPTS = """
MATCH (c:Concept)
WHERE $q = '' OR toLower(c.name) CONTAINS toLower($q) OR toLower(c.id) CONTAINS toLower($q)
RETURN c.id AS id, c.name AS name
ORDER BY size(c.name), c.name
LIMIT $limit
"""

CONCEPT_NAME = "MATCH (c:Concept {id: $id}) RETURN c.name AS name"

DATASET_LABELS = """
MATCH (d:Dataset {id: $dataset})-[:HAS_LABEL]->(l:SourceLabel)
OPTIONAL MATCH (s:Sample)-[:LABELED]->(l)
OPTIONAL MATCH (l)-[m:MAPS_TO]->(c:Concept)
RETURN l.name AS label, count(DISTINCT s) AS samples, collect(DISTINCT {concept: c.id, status: m.status}) AS maps_to
ORDER BY label
"""
