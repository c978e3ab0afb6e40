"""Entry point of the ``rskg`` command. Each domain adds its sub-app in ``rskg/cli/<domain>.py``."""

from __future__ import annotations

import logging
import sys

import typer

from rskg.cli import cluster, composition, datasets, db, image, label, mapping, report, retrieval, search, servers
from rskg.cli import eval as eval_cli
from rskg.cli import ontology as ontology_cli
from rskg.cli import sync as sync_cli
from rskg.cli.ingest import ingest as ingest_cmd
from rskg.cli.serve import serve as serve_cmd
from rskg.errors import RskgError

app = typer.Typer(help="rskg: a knowledge graph of remote-sensing training samples.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(servers.app, name="servers")
app.add_typer(cluster.app, name="cluster")
app.add_typer(db.app, name="db")
app.add_typer(ontology_cli.app, name="ontology")
app.command(name="sync")(sync_cli.sync)
app.command(name="ingest")(ingest_cmd)
app.add_typer(mapping.app, name="map")
app.add_typer(report.app, name="report")
app.command(name="refresh")(report.refresh)
app.command(name="datasets")(datasets.datasets)
app.command(name="drop")(datasets.drop)
app.add_typer(image.app, name="image")
app.add_typer(composition.app, name="composition")
retrieval.register(app)          # index build, retrieve, dataset ...
app.add_typer(eval_cli.app, name="eval")
search.register(app, eval_cli.app)   # search, describe, search-train, eval text2image
app.add_typer(label.app, name="label")
app.command(name="serve")(serve_cmd)


def main() -> None:
    # the driver logs server notifications (e.g. "property key does not exist" for a property no node has
    # yet) as warnings on stdout; they are not errors of the user's command
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    try:
        code = app(standalone_mode=False)   # a typer.Exit(code) comes back as the return value here
        if isinstance(code, int) and code:
            sys.exit(code)
    except RskgError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        if exc.hint:
            typer.secho(f"  fix: {exc.hint}", err=True)
        sys.exit(2)
    except typer.Abort:
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
