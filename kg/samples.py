"""Cypher for Dataset, SourceLabel and Sample nodes (DESIGN.md section 2), batched with UNWIND.

SourceLabel nodes are MERGEd on ``id = "<dataset>:<name>"`` so the ingest side (LABELED edges) and the
ontology sync side (MAPS_TO edges) meet on the same node whichever runs first.
"""

from __future__ import annotations

MERGE_DATASET = """
MERGE (d:Dataset {id: $id})
SET d.name = $name, d.url = $url, d.license = $license
"""

MERGE_DATASET_LABELS = """
MERGE (d:Dataset {id: $dataset})
ON CREATE SET d.name = $dataset
WITH d
UNWIND $names AS name
MERGE (l:SourceLabel {id: $dataset + ':' + name})
ON CREATE SET l.dataset = $dataset, l.name = name
MERGE (d)-[:HAS_LABEL]->(l)
"""

# rows: [{id, dataset, labels: [{id, dataset, name}]}]
MERGE_SAMPLES = """
UNWIND $rows AS r
MERGE (s:Sample {id: r.id})
SET s.dataset = r.dataset
WITH s, r
UNWIND r.labels AS lab
MERGE (l:SourceLabel {id: lab.id})
ON CREATE SET l.dataset = lab.dataset, l.name = lab.name
MERGE (s)-[:LABELED]->(l)
"""

SET_DATASET_COUNT = "MATCH (d:Dataset {id: $id}) SET d.n_samples = $n"

SAMPLE_IDS = "MATCH (s:Sample {dataset: $dataset}) RETURN s.id AS id"

# one page of a dataset's samples (ids after $after, in id order) with their labels: a dataset of any size is read
# page by page, each in its own transaction (one collect over 400k samples exceeded Neo4j's transaction memory)
SAMPLE_EDGES_PAGE = """
MATCH (s:Sample) WHERE s.dataset = $dataset AND s.id > $after
WITH s ORDER BY s.id LIMIT $page
OPTIONAL MATCH (s)-[:LABELED]->(l:SourceLabel)
WITH s.id AS id, collect(l.id) AS labels
RETURN id, labels ORDER BY id
"""

# rows: [{id, keep: [SourceLabel ids to keep]}]
DELETE_STALE_LABELED = """
UNWIND $rows AS r
MATCH (s:Sample {id: r.id})-[e:LABELED]->(l:SourceLabel)
WHERE NOT l.id IN r.keep
DELETE e
"""

COUNT_SAMPLES = "MATCH (s:Sample {dataset: $dataset}) RETURN count(s) AS n"

COUNT_LABELED = """
MATCH (s:Sample {dataset: $dataset})-[r:LABELED]->(:SourceLabel)
RETURN count(r) AS n
"""

COUNT_LABELED_BY_SET = """
MATCH (s:Sample {dataset: $dataset})-[r:LABELED]->(l:SourceLabel)
RETURN l.dataset AS label_set, count(r) AS n ORDER BY label_set
"""

DELETE_SAMPLES = """
UNWIND $ids AS id
MATCH (s:Sample {id: id})
DETACH DELETE s
"""

# Used by tests and `rskg ingest --drop`: a dataset's own nodes only.
DELETE_DATASET_SAMPLES = """
MATCH (s:Sample {dataset: $dataset})
DETACH DELETE s
"""

DELETE_LABEL_SET = """
MATCH (l:SourceLabel {dataset: $dataset})
DETACH DELETE l
"""

DELETE_DATASET_NODE = "MATCH (d:Dataset {id: $dataset}) DETACH DELETE d"
