"""Cypher for (:Prototype)-[:PROTOTYPE_OF]->(:Concept) nodes (paper 000 section 3.3, Algorithm 2).

Prototype nodes belong to one prototype store (``p.store``: a key of the index folder that holds their
vectors), so several rskg homes sharing a Neo4j server (tests, benchmarks) never touch each other's nodes.
"""

from __future__ import annotations

# rows: [{id, concept, k, vector_ref, n_members}]
UPSERT_PROTOTYPES = """
UNWIND $rows AS r
MATCH (c:Concept {id: r.concept})
MERGE (p:Prototype {id: r.id})
SET p.k = r.k, p.vector_ref = r.vector_ref, p.n_members = r.n_members, p.store = $store,
    p.version = $version, p.concept = r.concept
MERGE (p)-[:PROTOTYPE_OF]->(c)
WITH p, c
MATCH (p)-[old:PROTOTYPE_OF]->(other:Concept) WHERE other <> c
DELETE old
"""

DELETE_STALE_PROTOTYPES = """
MATCH (p:Prototype {store: $store}) WHERE NOT p.id IN $ids
DETACH DELETE p
RETURN count(*) AS deleted
"""

DELETE_STORE_PROTOTYPES = """
MATCH (p:Prototype {store: $store})
DETACH DELETE p
RETURN count(*) AS deleted
"""

# Prototypes of the given concepts in one store.
PROTOTYPES_OF = """
MATCH (p:Prototype {store: $store})-[:PROTOTYPE_OF]->(c:Concept)
WHERE c.id IN $ids
RETURN c.id AS concept_id, p.id AS id, p.k AS k, p.vector_ref AS vector_ref, p.n_members AS n_members,
       p.version AS version
ORDER BY concept_id, k
"""

COUNT_PROTOTYPES = """
MATCH (p:Prototype {store: $store})-[:PROTOTYPE_OF]->(c:Concept)
RETURN count(p) AS prototypes, count(DISTINCT c) AS concepts
"""
