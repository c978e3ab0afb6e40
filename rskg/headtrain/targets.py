"""Concept targets of labelled samples, through the label system (partial labels).

For a sample, every source label (any label set) switches on its mapped concept and all the concept's
ancestors (positives). A concept is *known* for a sample when the vocabulary of one of its label sets can
speak about it: it is a mapped concept of one of that vocabulary's labels, or an ancestor of one. Known and
not positive = negative; everything else is UNKNOWN (masked in the loss, never a negative). Concepts that a
disjunctive label only *covers* (EuroSAT 'SeaLake' covers sea and lake, RSSCN7 'dRiverLake' river and lake)
stay unknown for its samples: the image shows one of them, not both.

Label -> concept: the label system's source-label mapping of the vocabulary; else the curated table
``ontology/curation/reader_labels.yaml`` (datasets with a reader but no vocabulary entry yet, e.g. GID); else
a unique prefLabel/altLabel spelling match (:func:`rskg.corpora.concepts.match_label`). Unmatched labels
are reported and give no positives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from ontology.model import LabelSystem
from rskg.corpora.concepts import match_label
from rskg.settings import REPO_ROOT

log = logging.getLogger(__name__)
READER_LABELS = REPO_ROOT / "ontology" / "curation" / "reader_labels.yaml"


@lru_cache(maxsize=4)
def reader_labels(path: Path = READER_LABELS) -> dict[str, dict[str, str]]:
    if not path.is_file():
        return {}
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {ds: {lab: (d["concept"] if isinstance(d, dict) else str(d)) for lab, d in rows.items()}
            for ds, rows in doc.items()}


def ancestors(system: LabelSystem, concept_id: str) -> set[str]:
    """The concept and all its ancestors."""
    out, stack = {concept_id}, [concept_id]
    while stack:
        c = system.concepts.get(stack.pop())
        for p in c.parents if c is not None else ():
            if p not in out:
                out.add(p)
                stack.append(p)
    return out


@dataclass
class Resolver:
    """Source label -> (mapped concept or None, covered concepts), memoised."""

    system: LabelSystem
    unmatched: set[str] = field(default_factory=set)
    _memo: dict[tuple[str, str], tuple[str | None, tuple[str, ...]]] = field(default_factory=dict)

    def resolve(self, vocabulary: str, label: str) -> tuple[str | None, tuple[str, ...]]:
        key = (vocabulary, label)
        if key not in self._memo:
            m = self.system.mapping_for(vocabulary, label)
            curated = reader_labels().get(vocabulary, {}).get(label)
            if m is not None and m.concept_id in self.system.concepts:
                out: tuple[str | None, tuple[str, ...]] = (m.concept_id, tuple(m.covers))
            elif curated is not None and curated in self.system.concepts:
                out = (curated, ())
            else:
                lm = match_label(self.system, label, [vocabulary])
                out = (lm.concept_id, ())
                if lm.concept_id is None:
                    self.unmatched.add(f"{vocabulary}:{label}")
            self._memo[key] = out
        return self._memo[key]


@dataclass
class Targets:
    concepts: list[str]            # column order
    y: np.ndarray                  # (N, C) float32 1 = positive
    known: np.ndarray              # (N, C) bool: positive or negative (False = unknown, masked)
    unmatched: list[str]


def concept_targets(system: LabelSystem, label_sets: list[dict[str, list[str]]],
                    vocab_labels: dict[str, list[str]], min_positives: int = 10,
                    rows_for_count: np.ndarray | None = None) -> Targets:
    """Targets for every sample. ``vocab_labels``: vocabulary -> all its labels (what it can speak about).
    Concepts kept: positive in at least ``min_positives`` samples of ``rows_for_count`` (default all)."""
    res = Resolver(system)
    known_of: dict[str, set[str]] = {}
    for vocab, labels in vocab_labels.items():
        k: set[str] = set()
        for lab in labels:
            cid, _ = res.resolve(vocab, lab)
            if cid is not None:
                k |= ancestors(system, cid)
        known_of[vocab] = k
    pos_sets: list[set[str]] = []
    known_sets: list[set[str]] = []
    for ls in label_sets:
        pos: set[str] = set()
        known: set[str] = set()
        covered: set[str] = set()
        for vocab, labels in ls.items():
            known |= known_of.get(vocab, set())
            for lab in labels:
                cid, cov = res.resolve(vocab, lab)
                if cid is not None:
                    pos |= ancestors(system, cid)
                covered |= set(cov)
        pos_sets.append(pos)
        known_sets.append((known | pos) - (covered - pos))
    count_rows = range(len(label_sets)) if rows_for_count is None else np.flatnonzero(rows_for_count)
    counts: dict[str, int] = {}
    for i in count_rows:
        for c in pos_sets[i]:
            counts[c] = counts.get(c, 0) + 1
    concepts = sorted(c for c, n in counts.items() if n >= min_positives)
    col = {c: j for j, c in enumerate(concepts)}
    y = np.zeros((len(label_sets), len(concepts)), np.float32)
    known_m = np.zeros((len(label_sets), len(concepts)), bool)
    for i, (p, k) in enumerate(zip(pos_sets, known_sets, strict=True)):
        for c in p:
            if c in col:
                y[i, col[c]] = 1.0
        for c in k:
            if c in col:
                known_m[i, col[c]] = True
    if res.unmatched:
        log.warning("source labels without a concept (no positives from them): %s", ", ".join(sorted(res.unmatched)))
    return Targets(concepts, y, known_m, sorted(res.unmatched))


def head_columns(head_labels: list[str], labels: list[str], vocabulary: str,
                 system: LabelSystem | None) -> list[int | None]:
    """Column of every dataset label in a head's outputs: the label itself (a head trained on source labels)
    or its concept through the label system (the concept head); None when the head has no such output."""
    col = {lab: j for j, lab in enumerate(head_labels)}
    res = Resolver(system) if system is not None else None
    out: list[int | None] = []
    for lab in labels:
        if lab in col:
            out.append(col[lab])
            continue
        cid = res.resolve(vocabulary, lab)[0] if res is not None else None
        out.append(col.get(cid) if cid is not None else None)
    return out
