"""Vocabulary-level evidence for Algorithm 1 (issue 16, session 17): what the OTHER labels of the same list say.

Candidate lists are scored one label at a time; three classes of error on new vocabularies are only visible when
the whole list is in view. Each rule is general (no label string) and was motivated by fresh / fresh2 / LODO errors
(benchmarks/results/mapping_fresh.md), never by the judged set:

* **taken concept** (hold): a label whose first candidate is a *semantic* (non-lexical) match to a concept that
  another label of the same list names *lexically* is doubtful — a legend rarely has two classes for one concept
  ("Savannas" -> grassland beside "Grasslands"; "cloudy" -> partly_cloudy beside "partly_cloudy"). Such a label is
  not auto-accepted (it waits for review); its ranking is unchanged (re-ranking to the second candidate was
  measured: it breaks as many as it mends).
* **semantic type** (re-rank + hold): an object-detection list — at least ``OBJECT_SHARE`` of its labels find a
  movable object (a concept under one of ``MOVABLE_ROOTS``) first — names objects, not the facility they stand in:
  a non-lexical first candidate that is not a movable object with a movable-object candidate within ``TYPE_GAP``
  gives its place to that candidate ("other-airplane" -> airplane, not airport; "Bus" -> vehicle, not bus
  station), and a first candidate that is not a movable object while the list also offers one is not
  auto-accepted unless the label IS that concept's prefLabel ("Trailer" is an altLabel of mobile home; in a
  vehicle list it is a road trailer).
* **compound class** (re-rank + hold): a label that joins classes ("residential,commercial,industrial",
  "Cropland and Pasture", "airport,shipyard") means their union, so the concept proposed first is the deepest
  concept that contains the majority of its conjuncts' own matches (each conjunct mapped alone, kept when lexical
  or scoring >= ``CONJUNCT_MIN``), not one of them. A label with a lexical match as a whole (a CORINE class such as
  "Beaches, dunes, sands"), a first candidate that is itself a union class of the label system and a conjunct's own
  match ("Cropland/Natural Vegetation Mosaics" -> agriculture with natural vegetation), or a preposition (its
  "and" / "or" sits inside a modifier phrase) is left alone. The union's parent is a broader match, and a
  union across branches ("Bare land and lichens/moss") has no one concept: both wait for review (the ranking of
  the latter is kept).

``vocabulary_pass`` returns the candidates after the two re-ranks and one hold reason per label ("" = none);
``mappings.merge.decide`` turns a held auto decision into a pending one with the reason in its evidence.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from mappings.cooccurrence import ancestors
from mappings.heads import PREPOSITIONS, singular
from mappings.osm import norm
from mappings.similarity import Candidate
from ontology.model import LabelSystem
from ontology.normalize import words

MOVABLE_ROOTS = ("vehicle",)   # concepts under these are movable objects (the semantic type of detection lists)
OBJECT_SHARE = 0.25            # share of a list's labels with a movable object first that makes it an object list
TYPE_GAP = 0.1                 # a movable-object candidate this close behind a place-type first candidate leads
CONJUNCT_MIN = 0.8             # least score of a conjunct's own first candidate (unless lexical) to count
HOLD_TAKEN = "taken: another label of this vocabulary names the concept lexically"
HOLD_TYPE = "type: an object vocabulary, and the list also offers a movable object"
HOLD_COMPOUND = "compound: the conjuncts' common parent is proposed (a broader match)"
_SPLIT = re.compile(r"\band\b|\bor\b|[,/;&+]", re.IGNORECASE)
_PAREN = re.compile(r"\([^)]*\)?")

CandidateFn = Callable[[Sequence[str]], list[list[Candidate]]]


@dataclass(frozen=True)
class VocabularyPass:
    cands: list[list[Candidate]]
    holds: list[str]


def conjuncts(label: str) -> list[str]:
    """The classes a compound label joins ("A, B and C" -> [A, B, C]); [] when it is not a compound or a
    preposition makes the conjunction part of a modifier ("Grassland with sparse tree/shrub cover")."""
    bare = _PAREN.sub(" ", label)
    if any(w in PREPOSITIONS for w in words(bare)):
        return []
    parts = [p.strip(" -_") for p in _SPLIT.split(bare)]
    parts = [p for p in parts if words(p)]
    return parts if len(parts) > 1 else []


def _depth(system: LabelSystem, cid: str) -> int:
    return len(ancestors(system, cid))


def common_parent(system: LabelSystem, concept_ids: Sequence[str]) -> str | None:
    """The deepest concept that is (an ancestor of) more than half of ``concept_ids``; None if there is none."""
    ids = [c for c in concept_ids if c in system.concepts]
    if not ids:
        return None
    cover: dict[str, int] = {}
    for c in ids:
        for a in {c, *ancestors(system, c)}:
            cover[a] = cover.get(a, 0) + 1
    best = [a for a, n in cover.items() if n * 2 > len(ids)]
    return max(sorted(best), key=lambda a: (_depth(system, a), cover[a])) if best else None


def movable(system: LabelSystem, cid: str) -> bool:
    return cid in MOVABLE_ROOTS or bool(ancestors(system, cid) & set(MOVABLE_ROOTS))


def object_vocabulary(system: LabelSystem, cands: Sequence[Sequence[Candidate]]) -> bool:
    firsts = [c[0].concept_id for c in cands if c]
    return bool(firsts) and sum(movable(system, f) for f in firsts) >= OBJECT_SHARE * len(firsts)


def _is_pref(system: LabelSystem, label: str, cid: str) -> bool:
    squash = "".join(singular(w) for w in norm(label).split())
    pref = system.concepts[cid].pref_label if cid in system.concepts else ""
    return squash == "".join(singular(w) for w in norm(pref).split())


def union_concept(system: LabelSystem, cid: str) -> bool:
    """The concept is itself a union or mixture class (its prefLabel joins classes or carries a modifier
    phrase: "beaches, dunes, sands", "land principally occupied by agriculture, with ... natural vegetation")."""
    pref = system.concepts[cid].pref_label if cid in system.concepts else ""
    return bool(_SPLIT.search(pref)) or any(w in PREPOSITIONS for w in words(pref))


def _compound(label: str, cands: list[Candidate], parts: list[list[Candidate]],
              system: LabelSystem) -> list[Candidate] | None:
    if not cands or cands[0].lexical:
        return None
    own = list(dict.fromkeys(p[0].concept_id for p in parts if p and (p[0].lexical or p[0].score >= CONJUNCT_MIN)))
    if len(own) < 2 or (cands[0].concept_id in own and union_concept(system, cands[0].concept_id)):
        return None
    parent = common_parent(system, own)
    if parent is None:
        return cands                    # a union across branches: no one concept, kept but held
    score = max(c.score for c in cands)
    old = next((c for c in cands if c.concept_id == parent), None)
    lead = replace(old, score=score) if old is not None else Candidate(parent, score, score, 0.0, False)
    return [lead, *(c for c in cands if c.concept_id != parent)]


def _type(cands: list[Candidate], system: LabelSystem) -> list[Candidate]:
    top = cands[0]
    if top.lexical or movable(system, top.concept_id):
        return cands
    obj = next((c for c in cands if movable(system, c.concept_id)), None)
    if obj is None or top.score - obj.score > TYPE_GAP:
        return cands
    return [replace(obj, score=top.score), *(c for c in cands if c is not obj)]


def vocabulary_pass(system: LabelSystem, labels: Sequence[str], cands: Sequence[list[Candidate]],
                    candidates_of: CandidateFn | None = None) -> VocabularyPass:
    """The three rules of the module doc over one vocabulary (``labels`` with their candidate lists, same order).
    ``candidates_of``: maps more strings (the conjuncts) with the same model; None skips the compound rule."""
    out = [list(c) for c in cands]
    holds = [""] * len(out)
    splits = [conjuncts(lb) for lb in labels]
    flat = [p for ps in splits for p in ps]
    if flat and candidates_of is not None:
        got = iter(candidates_of(flat))
        for i, ps in enumerate(splits):
            parts = [next(got) for _ in ps]
            new = _compound(labels[i], out[i], parts, system) if ps else None
            if new is not None:
                out[i], holds[i] = new, HOLD_COMPOUND
    if object_vocabulary(system, out):
        for i, c in enumerate(out):
            if not c or holds[i]:
                continue
            new = _type(c, system)
            top = new[0].concept_id
            if new is not c or (not movable(system, top) and not _is_pref(system, labels[i], top)
                                and any(movable(system, x.concept_id) for x in new)):
                out[i], holds[i] = new, HOLD_TYPE
    lexical_of = {c[0].concept_id for c in out if c and c[0].lexical}
    for i, c in enumerate(out):
        if c and not holds[i] and not c[0].lexical and c[0].concept_id in lexical_of:
            holds[i] = HOLD_TAKEN
    return VocabularyPass(out, holds)
