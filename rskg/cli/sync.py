"""``rskg sync``."""

from __future__ import annotations

import typer

from rskg.services import Services
from rskg.settings import load_settings


def sync(derived: bool = typer.Option(True, help="also recompute SIMILAR_TO / ADJACENT_TO edges")) -> None:
    """Load the label system (ontology/data/*.ttl) and catalog counts into Neo4j; idempotent."""
    from rskg.sync import run_sync

    with Services(load_settings()) as svc:
        out = run_sync(svc, derived=derived)
    c = out.counts
    typer.echo(f"label system {out.version[:12]}: {c['concepts']} concepts, {c['subclass']} SUBCLASS_OF, "
               f"{c['datasets']} datasets, {c['labels']} source labels, {c['maps_to']} MAPS_TO")
    if out.similar_edges is not None:
        typer.echo(f"derived: {out.similar_edges} SIMILAR_TO, {out.adjacent_edges} ADJACENT_TO edges")
    typer.echo(f"changes: {out.report.changes} ({out.seconds:.1f} s)")
