"""Phrases -> concepts of the label system, by MiniLM text similarity to each concept's text views.

Views of a concept (each embedded alone, vectors cached by embeddings.text.TextEncoder): its prefLabel, each
altLabel, its definition and the descriptions of its OSM tags (mappings.osm.OsmVocab.describe). The score of a
(phrase, concept) pair is the best view cosine times the view's weight; a phrase whose normalised spelling
equals a name of the concept (ontology.normalize.label_key: "Harbours" = "harbor") scores 1. A phrase keeps
the concepts scoring at least ``threshold`` and within ``margin`` of its best one (at most ``per_phrase``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from embeddings.text import TextEncoder
from ontology.model import LabelSystem
from ontology.normalize import label_key

VIEW_WEIGHTS = {"prefLabel": 1.0, "altLabel": 1.0, "definition": 0.85, "osm": 0.85}
DEFAULT_THRESHOLD = 0.55
DEFAULT_MARGIN = 0.12
DEFAULT_PER_PHRASE = 3
WHOLE_QUERY_FACTOR = 0.9      # the whole-sentence phrase counts a little less than its parts


@dataclass(frozen=True)
class View:
    concept_id: str
    kind: str                     # prefLabel | altLabel | definition | osm
    text: str


@dataclass(frozen=True)
class ConceptHit:
    concept_id: str
    name: str
    level: int
    score: float
    view_kind: str                # which view matched best
    view_text: str


@dataclass
class PhraseMatch:
    phrase: str
    hits: list[ConceptHit] = field(default_factory=list)
    best_score: float = 0.0       # best score even when under the threshold (for explanations)
    best_name: str = ""


class ConceptMatcher:
    """Built once per label-system version (concept views are embedded once, then cached on disk)."""

    def __init__(self, system: LabelSystem, encoder: TextEncoder, osm_describe: dict[str, str] | None = None,
                 threshold: float = DEFAULT_THRESHOLD, margin: float = DEFAULT_MARGIN,
                 per_phrase: int = DEFAULT_PER_PHRASE) -> None:
        self.system, self.encoder = system, encoder
        self.threshold, self.margin, self.per_phrase = threshold, margin, per_phrase
        self.concepts = system.active()
        self.views: list[View] = []
        self.names: dict[str, list[str]] = {}
        for cid in sorted(self.concepts):
            c = self.concepts[cid]
            self.views.append(View(cid, "prefLabel", c.pref_label))
            self.views += [View(cid, "altLabel", a) for a in dict.fromkeys(c.alt_labels) if a.strip()]
            if c.definition:
                self.views.append(View(cid, "definition", c.definition))
            for tag in c.osm_tags[:3]:
                d = (osm_describe or {}).get(tag, "")
                if d:
                    self.views.append(View(cid, "osm", d))
            for n in [c.pref_label, *c.alt_labels]:
                k = label_key(n)
                if k:
                    self.names.setdefault(k, []).append(cid)
        self.ids = sorted(self.concepts)
        self._col = {c: j for j, c in enumerate(self.ids)}
        self.view_vecs = encoder.encode([v.text for v in self.views])
        self.view_w = np.asarray([VIEW_WEIGHTS[v.kind] for v in self.views], np.float32)
        self.view_col = np.asarray([self._col[v.concept_id] for v in self.views], np.int64)

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(len(texts), n concepts) best weighted view cosine, and the index of that view."""
        q = self.encoder.encode(texts)
        sims = (q @ self.view_vecs.T) * self.view_w[None, :]
        best = np.full((len(texts), len(self.ids)), -1.0, np.float32)
        arg = np.zeros((len(texts), len(self.ids)), np.int64)
        order = np.argsort(sims, axis=1)            # ascending: the last write per column is the best view
        for r in range(len(texts)):
            cols = self.view_col[order[r]]
            best[r, cols] = sims[r, order[r]]
            arg[r, cols] = order[r]
        return best, arg

    def match(self, phrases: list[str], whole: str | None = None) -> list[PhraseMatch]:
        if not phrases:
            return []
        best, arg = self.scores(phrases)
        out = []
        for r, phrase in enumerate(phrases):
            row = best[r].copy()
            lexical = set(self.names.get(label_key(phrase), []))
            for cid in lexical:
                row[self._col[cid]] = 1.0
            if whole is not None and phrase == whole:
                row *= WHOLE_QUERY_FACTOR
            top = np.argsort(-row)[: self.per_phrase]
            pm = PhraseMatch(phrase, best_score=float(row[top[0]]),
                             best_name=self.concepts[self.ids[top[0]]].pref_label)
            for j in top:
                s = float(row[j])
                if s < self.threshold or s < pm.best_score - self.margin:
                    break
                cid = self.ids[j]
                c = self.concepts[cid]
                v = self.views[int(arg[r, j])]
                kind, text = ("lexical", phrase) if cid in lexical else (v.kind, v.text)
                pm.hits.append(ConceptHit(cid, c.pref_label, c.level, round(s, 4), kind, text))
            out.append(pm)
        return out


def weigh(matches: list[PhraseMatch], max_concepts: int = 8) -> dict[str, float]:
    """Concept -> weight: its best score over the phrases (the strongest concepts first, at most max_concepts)."""
    w: dict[str, float] = {}
    for pm in matches:
        for h in pm.hits:
            w[h.concept_id] = max(w.get(h.concept_id, 0.0), h.score)
    ranked = sorted(w.items(), key=lambda kv: (-kv[1], kv[0]))[:max_concepts]
    return dict(ranked)
