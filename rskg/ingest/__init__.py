"""Ingestion: datasets in their published shapes -> Zarr pixels + PostgreSQL rows + Neo4j Sample nodes.

Entry point: :func:`rskg.ingest.pipeline.ingest`. Readers (one per dataset family) live in
:mod:`rskg.ingest.readers`; see docs/ingest.md.
"""
