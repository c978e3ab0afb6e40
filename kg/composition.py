"""Cypher for land-cover composition: the concepts' ancestors (roll-up) and the Sample node properties."""

ANCESTORS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
OPTIONAL MATCH (c)-[:SUBCLASS_OF*1..]->(a:Concept)
RETURN id, collect(DISTINCT a.id) AS ancestors
"""

SET_COMPOSITION = """
UNWIND $rows AS r
MATCH (s:Sample {id: r.id})
SET s.composition_concepts = r.concepts, s.composition_fractions = r.fractions, s.composition_model = $model
"""
