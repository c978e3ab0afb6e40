"""Neo4j constraints and indexes for the graph model of DESIGN.md section 2 (idempotent)."""

from __future__ import annotations

from neo4j import Driver

SCHEMA_STATEMENTS: tuple[str, ...] = (
    "CREATE CONSTRAINT concept_id IF NOT EXISTS FOR (c:Concept) REQUIRE c.id IS UNIQUE",
    "CREATE CONSTRAINT dataset_id IF NOT EXISTS FOR (d:Dataset) REQUIRE d.id IS UNIQUE",
    "CREATE CONSTRAINT source_label_id IF NOT EXISTS FOR (l:SourceLabel) REQUIRE l.id IS UNIQUE",
    "CREATE CONSTRAINT sample_id IF NOT EXISTS FOR (s:Sample) REQUIRE s.id IS UNIQUE",
    "CREATE CONSTRAINT prototype_id IF NOT EXISTS FOR (p:Prototype) REQUIRE p.id IS UNIQUE",
    "CREATE INDEX concept_name IF NOT EXISTS FOR (c:Concept) ON (c.name)",
    "CREATE INDEX concept_level IF NOT EXISTS FOR (c:Concept) ON (c.level)",
    "CREATE INDEX source_label_dataset IF NOT EXISTS FOR (l:SourceLabel) ON (l.dataset, l.name)",
    "CREATE INDEX sample_dataset IF NOT EXISTS FOR (s:Sample) ON (s.dataset)",
    "CREATE FULLTEXT INDEX concept_text IF NOT EXISTS FOR (c:Concept) "
    "ON EACH [c.name, c.definition, c.alt_labels_text]",
)

SHOW_CONSTRAINTS = "SHOW CONSTRAINTS YIELD name RETURN collect(name) AS names"
SHOW_INDEXES = "SHOW INDEXES YIELD name RETURN collect(name) AS names"


def apply_schema(driver: Driver, database: str | None = None) -> None:
    """Create every constraint and index; a second call changes nothing."""
    for stmt in SCHEMA_STATEMENTS:
        driver.execute_query(stmt, database_=database)
    driver.execute_query("CALL db.awaitIndexes(120)", database_=database)


def schema_names(driver: Driver, database: str | None = None) -> tuple[set[str], set[str]]:
    cons = driver.execute_query(SHOW_CONSTRAINTS, database_=database).records[0]["names"]
    idx = driver.execute_query(SHOW_INDEXES, database_=database).records[0]["names"]
    return set(cons), set(idx)
