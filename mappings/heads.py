"""Word-level evidence beside the sentence embeddings (issue 16, session 15).

Three classes of top-1 error on vocabularies the label system has never seen, each general (no label string):

* **plurals**: English singular forms from ``inflect`` (``buses`` -> ``bus``, ``estuaries`` -> ``estuary``), used
  for lexical matching (``mappings.similarity``) and word bags (``mappings.modifiers``);
* **antonym prefixes**: a candidate whose names carry the negated form of a label word (``impervious`` for
  ``pervious``, ``unused`` for ``used``) and never the word itself contradicts the label: score x ``NEGATION_FACTOR``;
* **head-noun role reversal**: in an English compound the last word before any preposition names the kind
  ("dump *truck*", "toll *station*", "orchards at the fringe ..."). A candidate none of whose names has a head
  among the label's heads, and that meets the label only with the roles swapped — its name's head is a modifier of
  the label ("*dump* site" for "dump truck", "*airport*" for "airport runway") or the label's head is a modifier
  in its name ("*space* facility" for "developed space") — is another kind of thing: score x ``HEAD_FACTOR``.
  A generic last word (land, area, surface, ...) makes the word before it a head too ("artificial land" ~
  "artificial surfaces"); each conjunct of "A and B" / "A, B" / "A/B" has its own head; a parenthesis is an
  explanation, not the head. One-word labels are left alone (an adjective label such as "clear" or "primary" is
  elliptic for exactly the concept whose modifier it is).

A fourth, **prepositional qualifier**: in "Shrubland with sparse tree cover" / "Grassland without tree cover" the
words before the preposition name the kind; when they name one concept exactly it goes first (``lead_with``).

Lexical matches are never changed here. The factors were set on the curated LODO (benchmarks/mapping_fresh.py
reports LODO beside the fresh sets), not on the judged fresh3 set.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache
from typing import Any, TypeVar

import inflect

from ontology.normalize import words

NEGATION_FACTOR = 0.6
HEAD_FACTOR = 0.85
GENERIC = frozenset({"land", "area", "region", "zone", "site", "surface", "cover", "ground", "field", "lot",
                     "unit", "type", "class", "feature", "space"})
STOP = frozenset({"and", "or", "of", "the", "with", "a", "an", "other", "others", "to", "in", "on", "for", "by",
                  "than", "over", "under", "without", "non", "not", "no", "up"})
NEGATION_PREFIXES = ("non", "un", "im", "in", "ir", "il", "dis")
PREPOSITIONS = frozenset({"at", "of", "in", "on", "with", "without", "over", "under", "for", "by", "from", "along",
                          "near", "except", "than", "within", "beside", "including", "excluding"})
_SPLIT = re.compile(r"\band\b|\bor\b|[,/;&+]", re.IGNORECASE)
_PAREN = re.compile(r"\([^)]*\)?")

_ENGINE = inflect.engine()
C = TypeVar("C", bound=Any)     # mappings.similarity.Candidate (frozen dataclass: concept_id, score, lexical)


@lru_cache(maxsize=50_000)
def singular(word: str) -> str:
    """The singular of an English plural noun, else the word itself ("bus" stays "bus", "buses" -> "bus")."""
    w = word.lower()
    if len(w) < 4 or not w.endswith("s"):
        return w
    s = _ENGINE.singular_noun(w)
    if not isinstance(s, str) or len(s) < 3 or _ENGINE.plural_noun(s) != w:
        return w
    if w.endswith(("us", "ss", "is")) and s == w[:-1]:          # "analysis" -> "analysi", "status" -> "statu"
        return w
    return s


def content(text: str) -> list[str]:
    return [singular(w) for w in words(text) if w not in STOP and len(w) > 1]


def _main(text: str) -> str:
    """The text without parenthesised explanations (unless nothing else is left)."""
    bare = _PAREN.sub(" ", text)
    return bare if content(bare) else text


def _phrases(text: str) -> list[list[str]]:
    """Content words of each conjunct, cut at its first preposition."""
    out = []
    for part in _SPLIT.split(_main(text)):
        ws = words(part)
        cut = next((i for i, w in enumerate(ws) if w in PREPOSITIONS), len(ws))
        kept = [singular(w) for w in ws[:cut] if w not in STOP and len(w) > 1]
        if kept:
            out.append(kept)
    return out


def primary_heads(text: str) -> set[str]:
    return {ws[-1] for ws in _phrases(text)}


def heads(text: str) -> set[str]:
    """The head word(s) of each conjunct: its last word, and the one before when the last is generic."""
    out: set[str] = set()
    for ws in _phrases(text):
        out.add(ws[-1])
        if ws[-1] in GENERIC and len(ws) > 1:
            out.add(ws[-2])
    return out


def antonym(a: str, b: str) -> bool:
    """``a`` is ``b`` with a negation prefix (or the reverse): impervious / pervious, unused / used."""
    return any(len(y) >= 4 and any(x == p + y for p in NEGATION_PREFIXES) for x, y in ((a, b), (b, a)))


def contradicts(label_words: Iterable[str], names: Sequence[str]) -> bool:
    """Some label word appears in the names only negated (never as itself)."""
    name_words = {w for n in names for w in content(n)}
    return any(w not in name_words and any(antonym(v, w) for v in name_words) for w in set(label_words))


def modifier_only(label: str, names: Sequence[str]) -> bool:
    """No name has a head among the label's heads, and some name meets the label with the roles swapped: its
    head is a modifier of the label, or the label's head is a modifier in it (module doc). False for one word."""
    lw = set(content(_main(label)))
    hs = heads(label)
    if len(lw) < 2 or not hs or any(heads(n) & hs for n in names):
        return False
    mods, primary = lw - hs, primary_heads(label)
    return any(heads(n) & mods or primary & (set(content(n)) - heads(n)) for n in names)


def before_preposition(label: str) -> str:
    """The words before the label's first preposition when it has one with a content word on each side
    ("Shrubland with sparse tree cover" -> "shrubland"), else "" (the phrase after it only qualifies the kind)."""
    ws = words(_main(label))
    cut = next((i for i, w in enumerate(ws) if w in PREPOSITIONS), len(ws))
    if cut == len(ws) or not content(" ".join(ws[:cut])) or not content(" ".join(ws[cut + 1:])):
        return ""
    return " ".join(ws[:cut])


def lead_with(cands: list[C], lead: set[str]) -> list[C]:
    """The one concept that the label's words before its preposition name exactly (``lead``) goes first, at the
    first candidate's score, unless the first is a lexical match or already it (the label is a kind of it)."""
    if len(lead) != 1 or not cands or cands[0].lexical:
        return cands
    cid = next(iter(lead))
    own = next((c for c in cands if c.concept_id == cid), None)
    if own is None or cands[0].concept_id == cid:
        return cands
    return [replace(own, score=cands[0].score), *(c for c in cands if c.concept_id != cid)]


def rerank(label: str, cands: list[C], names: Mapping[str, Sequence[str]]) -> list[C]:
    """Apply the antonym and head-noun factors to the non-lexical candidates and re-sort (lexical first)."""
    lw = content(label)
    out: list[C] = []
    for c in cands:
        if not c.lexical:
            ns = names.get(c.concept_id, ())
            if contradicts(lw, ns):
                c = replace(c, score=c.score * NEGATION_FACTOR)
            elif modifier_only(label, ns):
                c = replace(c, score=c.score * HEAD_FACTOR)
        out.append(c)
    out.sort(key=lambda c: (not c.lexical, -c.score, c.concept_id))
    return out
