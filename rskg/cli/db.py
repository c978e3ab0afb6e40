"""``rskg db migrate``: PostgreSQL migrations and the Neo4j schema, both idempotent."""

from __future__ import annotations

import typer

from kg.schema import apply_schema
from rskg.catalog import samples as catalog
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


@app.command()
def check(dataset: str | None = typer.Option(None, "--dataset", "-d", help="only this catalog id")) -> None:
    """Find samples that share one pixel array (storage-key collisions of earlier versions); exit 1 if any.
    Repair: rerun `rskg ingest` of that dataset, which writes each of them again under its own key."""
    with Services(load_settings()) as svc, svc.connection() as conn:
        found = catalog.collisions(conn, dataset)
    if not found:
        typer.echo("storage keys: no collisions")
        return
    n = sum(len(c.source_paths) for c in found)
    typer.echo(f"storage keys: {len(found)} pixel arrays shared by {n} samples (all but one show wrong pixels)")
    for c in found[:50]:
        typer.echo(f"  {c.dataset_id}: {c.storage} <- {', '.join(c.source_paths)}")
    datasets = sorted({c.dataset_id for c in found})
    typer.echo("repair: rerun the ingest of " + ", ".join(datasets) +
               " (`rskg ingest <url> -d <reader> --id <dataset>`): each is decoded and written under its own key")
    raise typer.Exit(1)
