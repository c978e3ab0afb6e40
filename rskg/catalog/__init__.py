"""Sample catalog: PostgreSQL + PostGIS metadata and Zarr pixels."""
