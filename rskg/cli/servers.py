"""``rskg servers up|down|status|logs``: the local Neo4j and PostgreSQL servers."""

from __future__ import annotations

import typer

from rskg.servers.neo4j_local import Neo4jLocal
from rskg.servers.postgres_local import PostgresLocal
from rskg.settings import load_settings

app = typer.Typer(help="Start, stop and inspect the local Neo4j and PostgreSQL/PostGIS servers.",
                  no_args_is_help=True)


def _servers(which: str) -> list[Neo4jLocal | PostgresLocal]:
    s = load_settings()
    all_: list[Neo4jLocal | PostgresLocal] = [PostgresLocal(s), Neo4jLocal(s)]
    return [x for x in all_ if which in ("all", x.name)]


@app.command()
def up(which: str = typer.Argument("all", help="all | neo4j | postgres")) -> None:
    """Start the servers (reusing healthy ones, recovering after a crash)."""
    for srv in _servers(which):
        typer.echo(srv.up().line())


@app.command()
def down(which: str = typer.Argument("all", help="all | neo4j | postgres")) -> None:
    """Stop the servers cleanly (checkpoint, no data loss)."""
    for srv in _servers(which):
        srv.down()
        typer.echo(f"{srv.name:<9} stopped")


@app.command()
def status(which: str = typer.Argument("all")) -> None:
    """Show whether each server runs and answers; exit 1 if any does not."""
    ok = True
    for srv in _servers(which):
        st = srv.status()
        ok &= st.healthy
        typer.echo(st.line())
    raise typer.Exit(0 if ok else 1)


@app.command()
def logs(which: str = typer.Argument("all"), lines: int = typer.Option(60, "--lines", "-n")) -> None:
    """Print the last lines of each server's log."""
    for srv in _servers(which):
        typer.echo(f"==> {srv.name}")
        typer.echo(srv.logs(lines))


@app.command()
def provision() -> None:
    """Fetch the Neo4j, APOC and Browser jars from Maven Central (skipped when present)."""
    srv = Neo4jLocal(load_settings())
    srv.java_path()
    srv.provision()
    typer.echo(f"neo4j jars in {srv.home}")
