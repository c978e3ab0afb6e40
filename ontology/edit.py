"""Edits of the label system: add, rename, move, merge, synonym, align.

Each edit loads the Turtle files of ``ontology_dir`` (the committed ones or a copy), applies its
triples, appends a ``prov:Activity`` (author, time, parameters) to ``changelog.ttl``, validates
the result (``ontology.validate``: explicit checks + owlready2 load) and only then writes every
file back as deterministic Turtle.  An invalid edit raises ``ValidationError`` / ``NotFoundError``
and leaves the files byte-identical.  A lock file serialises concurrent edits of one directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

from ontology import namespaces as ns
from ontology.build import BuiltConcept
from ontology.curation import ID_RE
from ontology.model import Concept, LabelSystem
from ontology.render import ALIGNMENTS, CHANGELOG, CONCEPTS, DATASETS, add_concept, add_osm_tag, new_graph
from ontology.store import load_graphs, write_graphs
from ontology.validate import validate_graphs
from rskg.errors import NotFoundError, ValidationError

Graphs = dict[str, Graph]


def lock_path(ontology_dir: Path) -> Path:
    """The edit lock of an ontology folder: in the temp dir (never a file left in the work tree)."""
    key = hashlib.sha256(str(Path(ontology_dir).resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"rskg-ontology-edit-{key}.lock"


@contextmanager
def _locked(ontology_dir: Path) -> Iterator[None]:
    with open(lock_path(ontology_dir), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _active(graphs: Graphs, concept_id: str, role: str = "concept") -> URIRef:
    iri = ns.concept_iri(concept_id)
    g = graphs[CONCEPTS]
    if (iri, RDF.type, OWL.Class) not in g or (iri, RDF.type, SKOS.Concept) not in g:
        raise NotFoundError(f"unknown {role} id {concept_id!r}",
                            "List concept ids with `rskg ontology sparql` (skos:notation) or check the spelling.")
    flag = g.value(iri, OWL.deprecated)
    if isinstance(flag, Literal) and bool(flag.toPython()):
        repl = ns.concept_id(g.value(iri, DCTERMS.isReplacedBy))
        raise ValidationError(f"{role} {concept_id!r} is deprecated (replaced by {repl!r})", f"Use {repl!r} instead.")
    return iri


def _log(graphs: Graphs, op: str, params: dict[str, object], author: str, touched: list[str]) -> URIRef:
    if not author or not author.strip():
        raise ValidationError("an edit needs an author", "Pass --author (CLI) or author= (API).")
    now = datetime.now(UTC).replace(microsecond=0)
    digest = hashlib.sha256(json.dumps([op, params, author, now.isoformat()], sort_keys=True).encode()).hexdigest()[:8]
    act = ns.CHANGE[f"{now.strftime('%Y%m%dT%H%M%SZ')}-{op}-{digest}"]
    g = graphs.setdefault(CHANGELOG, new_graph())
    g.add((act, RDF.type, PROV.Activity))
    g.add((act, RDFS.label, Literal(f"{op} {json.dumps(params, sort_keys=True, ensure_ascii=False)}")))
    g.add((act, ns.RSKG.operation, Literal(op)))
    g.add((act, ns.RSKG.parameters, Literal(json.dumps(params, sort_keys=True, ensure_ascii=False))))
    g.add((act, DCTERMS.creator, Literal(author.strip())))
    g.add((act, PROV.startedAtTime, Literal(now.isoformat().replace("+00:00", "Z"), datatype=XSD.dateTime)))
    g.add((act, PROV.wasAssociatedWith, Literal(author.strip())))
    for cid in touched:
        g.add((act, PROV.used, ns.concept_iri(cid)))
    return act


def _apply(ontology_dir: Path, op: str, params: dict[str, object], author: str,
           mutate: Callable[[Graphs, URIRef], list[str]]) -> Concept:
    """Load, mutate, log, validate, write; returns the (first) concept the edit is about."""
    ontology_dir = Path(ontology_dir)
    with _locked(ontology_dir):
        graphs = load_graphs(ontology_dir)
        for name in (CONCEPTS, ALIGNMENTS, DATASETS, CHANGELOG):
            graphs.setdefault(name, new_graph())
        before = {name: hash(frozenset(g)) for name, g in graphs.items()}
        change = ns.CHANGE["pending"]
        touched = mutate(graphs, change)
        act = _log(graphs, op, params, author, touched)
        for g in graphs.values():                      # point provenance at the real activity IRI
            for s, p, _ in list(g.triples((None, None, change))):
                g.remove((s, p, change))
                g.add((s, p, act))
        checked = validate_graphs(graphs)["label_system"]
        dirty = {name for name, g in graphs.items() if before.get(name) != hash(frozenset(g))}
        write_graphs(ontology_dir, graphs, only=dirty)
    assert isinstance(checked, LabelSystem)
    return checked.concepts[touched[0]]


def _literal_label(label: str, what: str = "label") -> str:
    label = " ".join((label or "").split())
    if not label:
        raise ValidationError(f"empty {what}", "Give a non-empty English label.")
    return label


def add(ontology_dir: Path, concept_id: str, pref_label: str, parent: str | None, *, author: str,
        definition: str = "", alt_labels: list[str] | None = None, close_matches: list[str] | None = None,
        source: str | None = None) -> Concept:
    """Add an active concept under ``parent`` (None: a new top-level concept), in one validated edit;
    ``close_matches``: OSM tags / legend codes it is aligned to (skos:closeMatch), ``source``: an IRI
    recorded as dcterms:source (e.g. the source label the concept was proposed for)."""
    label = _literal_label(pref_label, "prefLabel")

    def mutate(graphs: Graphs, change: URIRef) -> list[str]:
        if not ID_RE.match(concept_id or ""):
            raise ValidationError(f"concept id {concept_id!r} is not a snake_case slug", "Use e.g. solar_farm.")
        if (ns.concept_iri(concept_id), None, None) in graphs[CONCEPTS]:
            raise ValidationError(f"concept id {concept_id!r} already exists", "Choose another id or use rename.")
        parent_label = "the label category system"
        if parent is not None:
            piri = _active(graphs, parent, "parent")
            parent_label = str(graphs[CONCEPTS].value(piri, SKOS.prefLabel))
        text = " ".join(definition.split()) or f"Scene category '{label}', a kind of {parent_label}."
        c = BuiltConcept(concept_id, label, parent, alt={_literal_label(a) for a in alt_labels or []},
                         definition=text,
                         definition_source=str(change), provenance={str(change)})
        add_concept(graphs[CONCEPTS], c)
        iri = ns.concept_iri(concept_id)
        for target in close_matches or []:
            graphs[CONCEPTS].add((iri, SKOS.closeMatch, _alignment_target(graphs, target)))
        if source:
            graphs[CONCEPTS].add((iri, DCTERMS.source, URIRef(source)))
        return [concept_id]

    params: dict[str, object] = {"id": concept_id, "label": label, "parent": parent, "definition": definition,
                                 "alt": alt_labels or []}
    if close_matches:
        params["close_matches"] = list(close_matches)
    if source:
        params["source"] = source
    return _apply(ontology_dir, "add", params, author, mutate)


def rename(ontology_dir: Path, concept_id: str, new_label: str, *, author: str,
           keep_old_as_alt: bool = True) -> Concept:
    """Change the prefLabel; the old one stays as an altLabel (so lookups by it keep working)."""
    label = _literal_label(new_label, "prefLabel")

    def mutate(graphs: Graphs, change: URIRef) -> list[str]:
        iri = _active(graphs, concept_id)
        g = graphs[CONCEPTS]
        old = g.value(iri, SKOS.prefLabel)
        if old is not None and str(old) == label:
            raise ValidationError(f"{concept_id!r} is already labelled {label!r}", "Nothing to rename.")
        for p in (SKOS.prefLabel, RDFS.label):
            g.remove((iri, p, None))
            g.add((iri, p, Literal(label, lang="en")))
        g.remove((iri, SKOS.altLabel, Literal(label, lang="en")))
        if keep_old_as_alt and old is not None:
            g.add((iri, SKOS.altLabel, Literal(str(old), lang="en")))
        g.add((iri, DCTERMS.source, change))
        return [concept_id]

    return _apply(ontology_dir, "rename", {"id": concept_id, "label": label}, author, mutate)


def _set_parent(g: Graph, iri: URIRef, parent_iri: URIRef | None) -> None:
    for p in (SKOS.broader, RDFS.subClassOf, SKOS.topConceptOf):
        g.remove((iri, p, None))
    if parent_iri is None:
        g.add((iri, SKOS.topConceptOf, ns.CONCEPT_SCHEME))
    else:
        g.add((iri, SKOS.broader, parent_iri))
        g.add((iri, RDFS.subClassOf, parent_iri))


def move(ontology_dir: Path, concept_id: str, new_parent: str | None, *, author: str) -> Concept:
    """Put a concept (with its subtree) under ``new_parent`` (None: top level). Cycles are rejected."""

    def mutate(graphs: Graphs, change: URIRef) -> list[str]:
        iri = _active(graphs, concept_id)
        piri = _active(graphs, new_parent, "parent") if new_parent is not None else None
        if new_parent == concept_id:
            raise ValidationError(f"cannot move {concept_id!r} under itself", "Choose another parent.")
        _set_parent(graphs[CONCEPTS], iri, piri)
        graphs[CONCEPTS].add((iri, DCTERMS.source, change))
        return [concept_id]

    return _apply(ontology_dir, "move", {"id": concept_id, "parent": new_parent}, author, mutate)


def merge(ontology_dir: Path, old_id: str, into_id: str, *, author: str) -> Concept:
    """Deprecate ``old_id`` in favour of ``into_id``: labels, alignments, children and source-label
    mappings move to the survivor; the old concept stays (owl:deprecated, dcterms:isReplacedBy)."""

    def mutate(graphs: Graphs, change: URIRef) -> list[str]:
        old, into = _active(graphs, old_id), _active(graphs, into_id, "target concept")
        if old == into:
            raise ValidationError("cannot merge a concept into itself", "Name two different concepts.")
        g = graphs[CONCEPTS]
        ancestors = set(g.transitive_objects(into, SKOS.broader))
        if old in ancestors:
            raise ValidationError(f"{into_id!r} is a descendant of {old_id!r}",
                                  f"Move {into_id!r} out of {old_id!r}'s subtree first, then merge.")
        labels = {str(o) for o in g.objects(old, SKOS.altLabel)} | {str(g.value(old, SKOS.prefLabel))}
        into_label = str(g.value(into, SKOS.prefLabel))
        for text in sorted(labels - {into_label}):
            g.add((into, SKOS.altLabel, Literal(text, lang="en")))
        for p in (SKOS.exactMatch, SKOS.closeMatch):
            for o in list(g.objects(old, p)):
                if (into, SKOS.exactMatch, o) not in g and (into, SKOS.closeMatch, o) not in g:
                    g.add((into, p, o))
        for child in list(g.subjects(SKOS.broader, old)):
            if child != into and g.value(child, OWL.deprecated) is None:
                g.remove((child, SKOS.broader, old))
                g.remove((child, RDFS.subClassOf, old))
                g.add((child, SKOS.broader, into))
                g.add((child, RDFS.subClassOf, into))
        g.add((old, OWL.deprecated, Literal(True)))
        g.add((old, DCTERMS.isReplacedBy, into))
        g.add((old, DCTERMS.source, change))
        g.add((into, DCTERMS.source, change))
        for src in list(g.objects(old, DCTERMS.source)):
            if str(src).startswith(str(ns.DATASET)):
                g.add((into, DCTERMS.source, src))
        d = graphs[DATASETS]
        for sl in list(d.subjects(ns.RSKG.mapsTo, old)):
            d.remove((sl, ns.RSKG.mapsTo, old))
            d.add((sl, ns.RSKG.mapsTo, into))
            for p in (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch):
                if (sl, p, old) in d:
                    d.remove((sl, p, old))
                    d.add((sl, p, into))
        for sl in list(d.subjects(ns.RSKG.covers, old)):
            d.remove((sl, ns.RSKG.covers, old))
            d.add((sl, ns.RSKG.covers, into))
        return [into_id, old_id]

    return _apply(ontology_dir, "merge", {"id": old_id, "into": into_id}, author, mutate)


def add_synonym(ontology_dir: Path, concept_id: str, label: str, *, author: str) -> Concept:
    text = _literal_label(label, "synonym")

    def mutate(graphs: Graphs, change: URIRef) -> list[str]:
        iri = _active(graphs, concept_id)
        g = graphs[CONCEPTS]
        lit = Literal(text, lang="en")
        if (iri, SKOS.altLabel, lit) in g or str(g.value(iri, SKOS.prefLabel)) == text:
            raise ValidationError(f"{concept_id!r} already has the label {text!r}", "Nothing to add.")
        g.add((iri, SKOS.altLabel, lit))
        g.add((iri, DCTERMS.source, change))
        return [concept_id]

    return _apply(ontology_dir, "synonym", {"id": concept_id, "label": text}, author, mutate)


def _alignment_target(graphs: Graphs, target: str) -> URIRef:
    """IRI of an OSM tag ("man_made=storage_tank", added to the alignments if new) or of an existing
    legend code ("CLC:512")."""
    a = graphs[ALIGNMENTS]
    if "=" in target:
        try:
            t_iri = ns.osm_tag_iri(target.strip())
        except ValueError as exc:
            raise ValidationError(str(exc), "Write OSM tags as key=value.") from exc
        if (t_iri, RDF.type, ns.RSKG.OsmTag) not in a:
            add_osm_tag(a, target.strip())
        return t_iri
    try:
        t_iri = ns.code_iri(target.strip())
    except ValueError as exc:
        raise NotFoundError(str(exc), "Use CLC:<code>, ESA-CCI:<code>, WorldCover:<code>, CGLS:<code> "
                                      "or LCCS:<code>.") from exc
    if (t_iri, RDF.type, SKOS.Concept) not in a:
        raise NotFoundError(f"legend code {target!r} does not exist",
                            "See <data_dir>/vocab/lccs/*.csv for the valid codes.")
    return t_iri


def align(ontology_dir: Path, concept_id: str, target: str, *, author: str, exact: bool = True) -> Concept:
    """Align a concept to an OSM tag ("man_made=storage_tank") or a legend code ("CLC:512")."""

    def mutate(graphs: Graphs, change: URIRef) -> list[str]:
        iri = _active(graphs, concept_id)
        t_iri = _alignment_target(graphs, target)
        g = graphs[CONCEPTS]
        pred, other = (SKOS.exactMatch, SKOS.closeMatch) if exact else (SKOS.closeMatch, SKOS.exactMatch)
        if (iri, pred, t_iri) in g:
            raise ValidationError(f"{concept_id!r} is already aligned to {target!r}", "Nothing to add.")
        g.remove((iri, other, t_iri))
        g.add((iri, pred, t_iri))
        g.add((iri, DCTERMS.source, change))
        return [concept_id]

    return _apply(ontology_dir, "align", {"id": concept_id, "target": target, "exact": exact}, author, mutate)
