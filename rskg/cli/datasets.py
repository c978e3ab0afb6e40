"""``rskg datasets`` (what is ingested) and ``rskg drop DATASET`` (remove one everywhere)."""

from __future__ import annotations

import json

import typer

from rskg.settings import load_settings


def datasets(as_json: bool = typer.Option(False, "--json", help="rows as JSON instead of a table")) -> None:
    """The ingested datasets: samples, georeferenced samples, GSD, sensors, acquisition range, registered."""
    from rskg.catalog import samples as catalog
    from rskg.services import Services

    with Services(load_settings()) as svc, svc.connection() as conn:
        rows = conn.execute(catalog.DATASET_STATS).fetchall()
    out = [{"id": r[0], "name": r[1], "gsd_m": r[5], "multi_label": bool(r[6]), "registered": r[7].isoformat(),
            "samples": int(r[8]), "georeferenced": int(r[9]), "sensors": sorted(r[10] or []),
            "acquired": [r[11].date().isoformat(), r[12].date().isoformat()] if r[11] and r[12] else None}
           for r in rows]
    if as_json:
        typer.echo(json.dumps(out, indent=2))
        return
    if not out:
        typer.echo("no dataset ingested yet: `rskg ingest URL --id NAME`")
        return
    table = [[d["id"], str(d["samples"]), str(d["georeferenced"]),
              f"{d['gsd_m']:.2f}" if d["gsd_m"] is not None else "-", ",".join(d["sensors"]) or "-",
              " .. ".join(d["acquired"]) if d["acquired"] else "-", d["registered"][:19]] for d in out]
    head = ["id", "samples", "geo", "gsd m", "sensors", "acquired", "registered"]
    widths = [max(len(r[j]) for r in [head, *table]) for j in range(len(head))]
    for r in [head, *table]:
        typer.echo("  ".join(c.rjust(w) if j in (1, 2, 3) else c.ljust(w)
                             for j, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip())


def drop(
    dataset: str = typer.Argument(..., help="catalog id of an ingested dataset (see `rskg datasets`)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="do not ask for confirmation"),
    keep_mappings: bool = typer.Option(False, "--keep-mappings",
                                       help="keep the mapping decisions of its label sets (a re-ingest under the "
                                            "same id reuses them, reviews included)"),
) -> None:
    """Remove an ingested dataset everywhere (catalog, Neo4j, pixels, features, image index) and let the label
    system follow (its mapping decisions, ADJACENT_TO, prototypes). Curated (ontology) label sets stay."""
    from rskg.ingest.admin import drop_ingested, plan_drop
    from rskg.services import Services

    with Services(load_settings()) as svc:
        plan = plan_drop(svc, dataset, keep_mappings)
        if not yes:
            typer.echo(plan.summary())
            typer.confirm("drop it?", abort=True)
        rep = drop_ingested(svc, dataset, keep_mappings)
    typer.echo(rep.summary())
