"""Label names -> concepts, by the label system itself (no hand-made table), and concept relevance rules.

:func:`match_label` tries, in order, and records which step matched:

1. the label system's source-label mapping of one of the evaluated dataset's own label sets
   (``source label ucm_multilabel (skos:exactMatch)``);
2. a concept id, prefLabel or altLabel with the same spelling key (``ontology.normalize.label_key``:
   case, separators, camelCase and plurals folded);
3. the source-label mappings of the other datasets, when they all agree on one concept.

Anything else stays unmatched and is reported, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ontology.model import LabelSystem
from ontology.normalize import label_key


@dataclass(frozen=True)
class LabelMatch:
    label: str
    concept_id: str | None
    concept_name: str
    how: str


def match_label(system: LabelSystem, label: str, label_sets: Iterable[str] = ()) -> LabelMatch:
    active = system.active()

    def found(cid: str, how: str) -> LabelMatch:
        c = system.concepts[cid]
        if c.deprecated and c.replaced_by:
            cid, how = c.replaced_by, f"{how}, deprecated -> {c.replaced_by}"
        return LabelMatch(label, cid, system.concepts[cid].pref_label, how)

    for ls in label_sets:
        m = system.mapping_for(ls, label)
        if m is not None and m.concept_id in system.concepts:
            return found(m.concept_id, f"source label {ls} ({m.predicate})")
    key = label_key(label)
    for how, keys_of in (("concept id", lambda c: [c.id]), ("prefLabel", lambda c: [c.pref_label]),
                         ("altLabel", lambda c: c.alt_labels)):
        hits = sorted(cid for cid, c in active.items() if any(label_key(k) == key for k in keys_of(c)))
        if len(hits) == 1:
            return found(hits[0], how)
    others = {m.concept_id for m in system.mappings if label_key(m.name) == key and m.concept_id in system.concepts}
    if len(others) == 1:
        cid = next(iter(others))
        sets = sorted({m.dataset for m in system.mappings if label_key(m.name) == key})
        return found(cid, f"source label of {', '.join(sets)}")
    why = "ambiguous: " + ", ".join(sorted(others)) if others else "no prefLabel, altLabel or mapping"
    return LabelMatch(label, None, "", f"unmatched ({why})")


def descendants(system: LabelSystem, concept_id: str) -> set[str]:
    """The concept and all its active subclasses (transitively)."""
    out = {concept_id}
    stack = [concept_id]
    while stack:
        for child in system.children(stack.pop()):
            if child.id not in out:
                out.add(child.id)
                stack.append(child.id)
    return out


def carriers(system: LabelSystem, concept_id: str, image_concepts: list[set[str]]) -> np.ndarray:
    """Boolean mask of the images whose concept set holds ``concept_id`` or one of its subclasses."""
    down = descendants(system, concept_id)
    return np.asarray([bool(c & down) for c in image_concepts], bool)


def label_concepts(system: LabelSystem, label_set: str, label: str) -> set[str]:
    """Concepts a dataset label stands for: its mapped concept plus the ones a disjunctive label covers."""
    m = system.mapping_for(label_set, label)
    if m is None:
        return set()
    return {m.concept_id, *m.covers}


def is_same_concept(system: LabelSystem, query: str, labelled: set[str], broader_parent: bool = True) -> bool:
    """A sample labelled with ``labelled`` concepts counts for ``query`` when one of them is the query concept
    or a subclass of it, or (``broader_parent``) the query concept's direct non-root parent, e.g. EuroSAT
    'Residential' (residential land) for 'dense residential'."""
    down = descendants(system, query)
    if labelled & down:
        return True
    if broader_parent:
        parents = {p for p in system.concepts[query].parents if system.concepts[p].parents}
        return bool(labelled & parents)
    return False
