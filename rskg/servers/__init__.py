"""Local Neo4j and PostgreSQL servers run as project processes."""
