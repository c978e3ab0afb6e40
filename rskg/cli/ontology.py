"""``rskg ontology ...``: build, validate, query and edit the label category system."""

from __future__ import annotations

from pathlib import Path

import typer

from rskg.settings import load_settings

app = typer.Typer(help="The label category system (ontology/data/*.ttl): build, validate, SPARQL, edit.",
                  no_args_is_help=True)

DirOpt = typer.Option(None, "--dir", help="ontology directory (default: settings.ontology_dir)")


def _dir(d: Path | None) -> Path:
    return Path(d) if d else load_settings().ontology_dir


@app.command()
def build(force: bool = typer.Option(False, help="discard logged edits and rebuild from the curation"),
          ontology_dir: Path | None = DirOpt) -> None:
    """Regenerate the Turtle files from ontology/curation + <data_dir>/vocab."""
    from ontology.generate import generate

    report = generate(load_settings().data_dir, _dir(ontology_dir), force=force)
    typer.echo(_fmt(report))


@app.command()
def validate(ontology_dir: Path | None = DirOpt) -> None:
    """Check the Turtle files (hierarchy, labels, mappings, owlready2 load)."""
    from ontology.store import load_graphs, version_of
    from ontology.validate import validate_graphs

    d = _dir(ontology_dir)
    report = validate_graphs(load_graphs(d))
    report["version"] = version_of(d)
    typer.echo("valid: " + _fmt(report))


@app.command()
def sparql(query: str = typer.Argument(..., help="SPARQL query text, or @file.rq"),
           fmt: str = typer.Option("table", "--format", "-f", help="json | csv | tsv | xml | turtle | table"),
           ontology_dir: Path | None = DirOpt) -> None:
    """Run a read-only SPARQL query over the label system."""
    from ontology.sparql import FORMATS, run_query
    from ontology.store import load_graph
    from rskg.errors import ValidationError

    if query.startswith("@"):
        query = Path(query[1:]).read_text(encoding="utf-8")
    res = run_query(load_graph(_dir(ontology_dir)), query)
    if fmt == "table":
        typer.echo(res.table())
        return
    if fmt not in FORMATS:
        raise ValidationError(f"unknown format {fmt!r}", f"Use one of: table, {', '.join(FORMATS)}.")
    body, _ = res.serialize(FORMATS[fmt])
    typer.echo(body.decode().rstrip("\n"))


def _fmt(report: dict[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in report.items())
