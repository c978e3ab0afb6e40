"""``rskg ontology build``: regenerate ontology/data/*.ttl from the curation + the vocabularies."""

from __future__ import annotations

from pathlib import Path

from rdflib.namespace import PROV, RDF

from ontology.build import build_system
from ontology.render import CHANGELOG, render
from ontology.store import parse_file, version_of, write_graphs
from ontology.validate import validate_graphs
from rskg.errors import ValidationError


def logged_edits(ontology_dir: Path) -> int:
    path = Path(ontology_dir) / CHANGELOG
    return len(set(parse_file(path).subjects(RDF.type, PROV.Activity))) if path.is_file() else 0


def generate(data_dir: Path, ontology_dir: Path, *, force: bool = False) -> dict[str, object]:
    """Build, validate and write the Turtle files; returns counts for the report."""
    edits = logged_edits(ontology_dir)
    if edits and not force:
        raise ValidationError(
            f"{ontology_dir} holds {edits} logged edits that a rebuild would discard",
            "Fold the edits into ontology/curation/*.yaml first, or pass --force to discard them.")
    built = build_system(Path(data_dir))
    graphs = render(built)
    report = validate_graphs(graphs)
    report.pop("label_system")
    write_graphs(Path(ontology_dir), graphs)
    report["version"] = version_of(Path(ontology_dir))
    return report
