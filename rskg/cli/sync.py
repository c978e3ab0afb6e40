"""``rskg sync``."""

from __future__ import annotations

import typer

from rskg.services import Services
from rskg.settings import load_settings


def sync() -> None:
    """Load the label system (ontology/data/*.ttl) and catalog counts into Neo4j; idempotent."""
    from rskg.sync import run_sync

    with Services(load_settings()) as svc:
        out = run_sync(svc)
    c = out.counts
    typer.echo(f"label system {out.version[:12]}: {c['concepts']} concepts, {c['subclass']} SUBCLASS_OF, "
               f"{c['datasets']} datasets, {c['labels']} source labels, {c['maps_to']} MAPS_TO")
    typer.echo(f"changes: {out.report.changes} ({out.seconds:.1f} s)")
