"""Checks every write of the label system must pass (build and edits alike).

Explicit checks on the plain ``LabelSystem`` (no cycles, no orphans, unique prefLabels among
siblings, no two active concepts sharing a normalised label, every source label -> exactly one
active concept, replaced_by targets active) + an owlready2 load of an RDF/XML serialisation
(owlready2 cannot parse Turtle) that must succeed and see every concept as an OWL class.
"""

from __future__ import annotations

import tempfile
from collections import Counter, defaultdict
from pathlib import Path

from rdflib import Graph

from ontology.model import LabelSystem
from ontology.normalize import label_key
from ontology.render import new_graph
from ontology.store import graph_to_label_system
from rskg.errors import ValidationError


def check_label_system(ls: LabelSystem) -> list[str]:
    problems: list[str] = []
    active = ls.active()
    for c in ls.concepts.values():
        for p in c.parents:
            if p not in ls.concepts:
                problems.append(f"{c.id}: unknown parent {p!r}")
            elif not c.deprecated and ls.concepts[p].deprecated:
                problems.append(f"{c.id}: parent {p!r} is deprecated")
        if not c.pref_label:
            problems.append(f"{c.id}: no prefLabel")
        if c.deprecated and (c.replaced_by is None or c.replaced_by not in active):
            problems.append(f"{c.id}: deprecated without an active replacement")
    if not any(c.level == 1 for c in active.values()):
        problems.append("no top-level concept")
    siblings: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for c in active.values():
        siblings[tuple(c.parents)][c.pref_label.lower()] += 1
    for parents, counts in siblings.items():
        for label, n in counts.items():
            if n > 1:
                problems.append(f"prefLabel {label!r} used {n} times under {'/'.join(parents) or 'the top level'}")
    owner: dict[str, str] = {}
    for c in sorted(active.values(), key=lambda c: c.id):
        for k in {label_key(c.pref_label)} | {label_key(a) for a in c.alt_labels}:
            if k in owner and owner[k] != c.id:
                problems.append(f"label key {k!r} belongs to both {owner[k]} and {c.id}")
            owner.setdefault(k, c.id)
    seen: Counter[tuple[str, str]] = Counter((m.dataset, m.name) for m in ls.mappings)
    problems += [f"source label {d}:{n} has {k} mappings" for (d, n), k in seen.items() if k != 1]
    for m in ls.mappings:
        if m.concept_id not in active:
            problems.append(f"source label {m.dataset}:{m.name} maps to inactive/unknown concept {m.concept_id!r}")
        if m.dataset not in ls.datasets:
            problems.append(f"source label {m.dataset}:{m.name} belongs to unknown dataset")
        problems += [f"source label {m.dataset}:{m.name} covers unknown concept {x!r}"
                     for x in m.covers if x not in active]
    return problems


def owlready_check(g: Graph) -> int:
    """Load an N-Triples rendering into a fresh owlready2 world; returns the number of OWL classes."""
    import owlready2

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rskg.nt"
        g.serialize(destination=str(path), format="nt", encoding="utf-8")
        world = owlready2.World()
        try:
            onto = world.get_ontology(path.as_uri()).load(format="ntriples")
        except Exception as exc:  # owlready2 raises its own parsing errors
            raise ValidationError(f"owlready2 cannot load the ontology: {exc}", "Fix the offending triples.") from exc
        n = len(list(onto.classes())) if onto is not None else 0
        world.close()
        return n


def validate_graphs(graphs: dict[str, Graph], *, owl: bool = True) -> dict[str, object]:
    """Raise ValidationError unless the files are a valid label system; returns summary counts
    (and the checked ``LabelSystem`` under the key ``label_system``)."""
    merged = new_graph()
    for g in graphs.values():
        merged += g
    ls = graph_to_label_system(merged)          # raises on hierarchy cycles
    problems = check_label_system(ls)
    if problems:
        shown = "; ".join(problems[:10]) + (f" (+{len(problems) - 10} more)" if len(problems) > 10 else "")
        raise ValidationError(f"label system invalid: {shown}")
    report: dict[str, object] = summary(ls)
    if owl:
        n = owlready_check(merged)
        if n < len(ls.concepts):
            raise ValidationError(f"owlready2 sees {n} classes but the graph has {len(ls.concepts)} concepts")
        report["owl_classes"] = n
    report["label_system"] = ls
    return report


def summary(ls: LabelSystem) -> dict[str, object]:
    active = ls.active()
    levels = Counter(c.level for c in active.values())
    return {"concepts": len(ls.concepts), "active": len(active), "deprecated": len(ls.concepts) - len(active),
            "per_level": dict(sorted(levels.items())), "datasets": len(ls.datasets),
            "source_labels": len(ls.mappings)}
