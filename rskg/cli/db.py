"""``rskg db migrate``: PostgreSQL migrations and the Neo4j schema, both idempotent."""

from __future__ import annotations

import typer

from kg.schema import apply_schema
from rskg.catalog.migrate import migrate as pg_migrate
from rskg.services import Services
from rskg.settings import load_settings

app = typer.Typer(help="Database schemas.", no_args_is_help=True)


@app.command()
def migrate() -> None:
    """Apply pending PostgreSQL migrations and the Neo4j constraints/indexes."""
    with Services(load_settings()) as svc:
        with svc.connection() as conn:
            names = pg_migrate(conn)
        typer.echo(f"postgres: applied {', '.join(names)}" if names else "postgres: schema up to date")
        apply_schema(svc.driver)
        typer.echo("neo4j: constraints and indexes in place")
