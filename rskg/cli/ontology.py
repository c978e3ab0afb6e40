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
    report.pop("label_system")
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


# --- edits ------------------------------------------------------------------------------------------
AuthorOpt = typer.Option(None, "--author", help="who makes the edit (default: $USER)")


def _author(author: str | None) -> str:
    import getpass

    return author or getpass.getuser()


def _show(c: object) -> None:
    from ontology.model import Concept

    assert isinstance(c, Concept)
    typer.echo(f"{c.id}: '{c.pref_label}' level={c.level} parents={c.parents} alt={len(c.alt_labels)} "
               f"osm={c.osm_tags} codes={c.lccs_codes}{' DEPRECATED' if c.deprecated else ''}")


@app.command()
def add(concept_id: str = typer.Argument(..., help="new snake_case id"),
        label: str = typer.Option(..., "--label", help="skos:prefLabel"),
        parent: str | None = typer.Option(None, "--parent", help="parent id (omit for a top-level concept)"),
        definition: str = typer.Option("", "--definition"),
        alt: list[str] = typer.Option([], "--alt", help="synonym (repeatable)"),
        author: str | None = AuthorOpt, ontology_dir: Path | None = DirOpt) -> None:
    """Add a concept."""
    from ontology import edit

    _show(edit.add(_dir(ontology_dir), concept_id, label, parent, author=_author(author), definition=definition,
                   alt_labels=alt))


@app.command()
def rename(concept_id: str, label: str, author: str | None = AuthorOpt, ontology_dir: Path | None = DirOpt) -> None:
    """Change a concept's prefLabel (the old one becomes an altLabel)."""
    from ontology import edit

    _show(edit.rename(_dir(ontology_dir), concept_id, label, author=_author(author)))


@app.command()
def move(concept_id: str, parent: str | None = typer.Option(None, "--parent", help="new parent id"),
         top: bool = typer.Option(False, "--top", help="make it a top-level concept"),
         author: str | None = AuthorOpt, ontology_dir: Path | None = DirOpt) -> None:
    """Move a concept (and its subtree) under another parent."""
    from ontology import edit
    from rskg.errors import ValidationError

    if (parent is None) == (not top):
        raise ValidationError("give exactly one of --parent ID or --top")
    _show(edit.move(_dir(ontology_dir), concept_id, None if top else parent, author=_author(author)))


@app.command()
def merge(old_id: str, into_id: str, author: str | None = AuthorOpt, ontology_dir: Path | None = DirOpt) -> None:
    """Merge OLD_ID into INTO_ID (OLD_ID is deprecated, its mappings move to INTO_ID)."""
    from ontology import edit

    _show(edit.merge(_dir(ontology_dir), old_id, into_id, author=_author(author)))


@app.command()
def synonym(concept_id: str, label: str, author: str | None = AuthorOpt, ontology_dir: Path | None = DirOpt) -> None:
    """Add a synonym (skos:altLabel)."""
    from ontology import edit

    _show(edit.add_synonym(_dir(ontology_dir), concept_id, label, author=_author(author)))


@app.command()
def align(concept_id: str, target: str = typer.Argument(..., help="OSM tag key=value or legend code, e.g. CLC:512"),
          close: bool = typer.Option(False, "--close", help="skos:closeMatch instead of skos:exactMatch"),
          author: str | None = AuthorOpt, ontology_dir: Path | None = DirOpt) -> None:
    """Align a concept to an OSM tag or an LCCS/CORINE/ESA-CCI/WorldCover/CGLS code."""
    from ontology import edit

    _show(edit.align(_dir(ontology_dir), concept_id, target, author=_author(author), exact=not close))
