"""Meaning-changing modifiers compared as such, not washed out by the shared head noun (issue 16).

Sentence embeddings score "Deciduous Needleleaf Forests" close to "broad-leaved forest" because most
words agree; a land-cover legend, though, is defined by exactly those modifiers. This module reads the
modifiers of a label and of each candidate concept's prefLabel on fixed axes (leaf type, phenology,
openness, density, irrigation, origin, permanence, building height) and re-ranks Algorithm 1's candidates:

* a candidate whose prefLabel has ANOTHER value on an axis the label sets (needle-leaf vs broad-leaved) is a
  contradiction: its score is multiplied by ``CONFLICT_FACTOR`` and it is no longer a lexical match;
* a candidate that agrees on the label's modifiers gets ``AGREE_BONUS`` per agreeing axis;
* a candidate with a modifier the label does not have is narrower than the label: ``EXTRA_FACTOR`` per axis;
* the label's *head* (its words without the modifiers, e.g. "shrublands" of "Closed Shrublands") naming one
  concept H exactly (its name, or the same bag of words: "Ice/Snow" = "snow and ice") makes H the default:
  H gets at least ``HEAD_FLOOR``, and candidates that neither are H nor agree on a modifier (nor match the
  whole label lexically) are kept just below H (a concept narrower or beside H that does not share the
  modifier is not what the label means).

The constants were tuned leave-one-dataset-out on the 27 curated vocabularies (benchmarks/mapping_fresh.py
reports both), never on the fresh legends.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from mappings.heads import singular as _singular
from ontology.normalize import words

CONFLICT_FACTOR = 0.6     # score factor of a candidate that contradicts a modifier of the label
AGREE_BONUS = 0.1         # per modifier the candidate shares with the label
EXTRA_FACTOR = 0.8        # per modifier axis only the candidate has (it is narrower than the label)
HEAD_FLOOR = 0.0          # least score of the concept the label's head names (0: its own score)

# axis -> value -> spellings (single words, or two words written together: "broad leaved" -> "broadleaved")
AXES: dict[str, dict[str, frozenset[str]]] = {
    "leaf": {"needle": frozenset({"needle", "needleleaf", "needleleaved", "needleleaves", "coniferous", "conifer",
                                  "conifers"}),
             "broad": frozenset({"broadleaf", "broadleaved", "broadleaves", "broadleafed"})},
    "phenology": {"deciduous": frozenset({"deciduous"}), "evergreen": frozenset({"evergreen"})},
    "openness": {"open": frozenset({"open"}), "closed": frozenset({"closed"})},
    "density": {"sparse": frozenset({"sparse", "sparsely", "scattered", "lowdensity"}),
                "dense": frozenset({"dense", "densely", "highdensity"}),
                "medium": frozenset({"mediumdensity"})},
    "irrigation": {"irrigated": frozenset({"irrigated"}),
                   "rainfed": frozenset({"rainfed", "nonirrigated", "unirrigated"})},
    "origin": {"natural": frozenset({"natural"}), "planted": frozenset({"planted", "artificial", "plantation"})},
    "permanence": {"permanent": frozenset({"permanent", "permanently", "perennial"}),
                   "seasonal": frozenset({"seasonal", "temporary", "seasonally"})},
    "height": {"highrise": frozenset({"highrise"}), "lowrise": frozenset({"lowrise"}),
               "midrise": frozenset({"midrise", "middlerise"})},
}
_SPELLING = {s: (axis, value) for axis, vals in AXES.items() for value, ss in vals.items() for s in ss}
_BAG_STOP = frozenset({"and", "or", "of", "the", "with", "a"})
_NEGATORS = frozenset({"non", "not"})


C = TypeVar("C", bound=Any)     # a frozen dataclass with concept_id, score, lexical (mappings.similarity.Candidate)


def modifiers(text: str) -> tuple[dict[str, str], list[str]]:
    """(axis -> value, the remaining words) of a label; "non irrigated" is rainfed, not irrigated, and "non" /
    "not" before a value of a two-valued axis is its other value ("non-permanent" = seasonal)."""
    ws = words(text)
    found: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(ws):
        if ws[i] in _NEGATORS and i + 1 < len(ws) and ws[i + 1] in _SPELLING and ws[i] + ws[i + 1] not in _SPELLING:
            axis, value = _SPELLING[ws[i + 1]]
            other = [v for v in AXES[axis] if v != value]
            if len(other) == 1:
                found.setdefault(axis, other[0])
                i += 2
                continue
        pair = ws[i] + ws[i + 1] if i + 1 < len(ws) else ""
        if pair in _SPELLING:
            axis, value = _SPELLING[pair]
            found.setdefault(axis, value)
            i += 2
            continue
        if ws[i] in _SPELLING:
            axis, value = _SPELLING[ws[i]]
            found.setdefault(axis, value)
        else:
            rest.append(ws[i])
        i += 1
    return found, rest


def bag(ws: Iterable[str]) -> frozenset[str]:
    return frozenset(_singular(w) for w in ws if w not in _BAG_STOP)


def conflicts(a: Mapping[str, str], b: Mapping[str, str]) -> int:
    return sum(1 for axis, v in a.items() if axis in b and b[axis] != v)


def agreements(a: Mapping[str, str], b: Mapping[str, str]) -> int:
    return sum(1 for axis, v in a.items() if b.get(axis) == v)


def rerank(label: str, cands: list[C], pref_labels: Mapping[str, str], head_concepts: set[str]) -> list[C]:
    """Re-rank ``cands`` (see the module doc); ``head_concepts``: the concepts the label's head names exactly
    (they must be among ``cands`` to be promoted)."""
    mods, _ = modifiers(label)
    if not mods:
        return cands
    head = next(iter(head_concepts)) if len(head_concepts) == 1 else None
    out: list[C] = []
    for c in cands:
        cm, _ = modifiers(pref_labels.get(c.concept_id, ""))
        n_agree = agreements(mods, cm)
        if conflicts(mods, cm):
            c = replace(c, score=c.score * CONFLICT_FACTOR, lexical=False)
        elif n_agree:
            c = replace(c, score=min(1.0, c.score + AGREE_BONUS * n_agree))
        if not c.lexical:
            c = replace(c, score=c.score * EXTRA_FACTOR ** sum(1 for axis in cm if axis not in mods))
        out.append(c)
    if head is not None:
        h = next((c for c in out if c.concept_id == head), None)
        if h is not None and not conflicts(mods, modifiers(pref_labels.get(head, ""))[0]):
            h_score = max(h.score, HEAD_FLOOR)
            fixed: list[C] = []
            for c in out:
                if c.concept_id == head:
                    c = replace(c, score=h_score)
                elif not c.lexical and not agreements(mods, modifiers(pref_labels.get(c.concept_id, ""))[0]):
                    c = replace(c, score=min(c.score, h_score - 0.01))
                fixed.append(c)
            out = fixed
    out.sort(key=lambda c: (not c.lexical, -c.score, c.concept_id))
    return out
