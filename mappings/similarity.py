"""Label similarity of paper 000 §3.3.1: ``score = a·text_sim + b·struct_sim``.

- text_sim: cosine of MiniLM vectors (embeddings.text). Each concept is seen two ways: its *names*
  (prefLabel and altLabels, each embedded alone) and its *augmented text* (name + definition +
  OSM tag descriptions + Wikipedia summary). A source label likewise as its normalised name and as
  name + description of its OSM tag (getOSMTag of Algorithm 1) + Wikipedia summary.
  ``text_mode`` picks how the two views combine: "augmented" (the paper: augmented vs augmented),
  "name" (best name-to-name cosine) or "max" (the larger of both; default, measured best in
  benchmarks/results/mapping.md). A normalised exact match of the label with a concept name is a
  lexical match: text_sim = 1.
- struct_sim: co-citation on the OSM Semantic Network, see ``mappings.osm`` for the definition.
- When a side has no OSM tag the structure gives no evidence. ``struct_missing = "renormalise"``
  (default; measured best of the three in benchmarks/results/mapping.md) scores such a pair by
  text_sim alone (weights renormalised over the evidence present). With "label" a label without
  a tag is scored by text alone and a label with a tag by a·text + b·struct for every candidate
  (a concept without a tag then has struct_sim = 0); "zero" always uses
  a·text + b·struct (the paper's formula read literally).
- Ranking puts lexical matches first (an exact normalised name match is decisive evidence), then
  the score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from embeddings.text import LabelIndex, TextEncoder
from mappings import heads as H
from mappings import modifiers as M
from mappings.legends import legend_text
from mappings.osm import OsmVocab, norm
from mappings.wiki import WikiSummaries
from ontology.model import Concept
from ontology.sources import LegendClass

TextMode = Literal["augmented", "name", "max"]
StructMissing = Literal["label", "renormalise", "zero"]
_STOP = {"area", "land", "areas", "region", "zone", "other", "with", "and", "of", "the", "site", "lot"}


@dataclass(frozen=True)
class Candidate:
    concept_id: str
    score: float
    text_sim: float
    struct_sim: float
    lexical: bool = False

    def as_dict(self) -> dict[str, object]:
        return {"concept_id": self.concept_id, "score": round(self.score, 4), "text_sim": round(self.text_sim, 4),
                "struct_sim": round(self.struct_sim, 4), "lexical": self.lexical}


@dataclass(frozen=True)
class SimilarPair:
    a: str
    b: str
    score: float
    text_sim: float
    struct_sim: float


@dataclass
class Weights:
    text: float = 0.7
    struct: float = 0.3
    text_mode: TextMode = "max"
    struct_missing: StructMissing = "renormalise"

    def combine(self, t: float, s: float, label_tagged: bool, concept_tagged: bool) -> float:
        if self.struct_missing == "label" and not label_tagged:
            return t
        if self.struct_missing == "renormalise" and not (label_tagged and concept_tagged):
            return t
        return self.text * t + self.struct * s


def _squash(name: str) -> str:
    """Spaces removed, every English plural word made singular ("beaches" -> "beach", "buses" -> "bus",
    "water bodies" -> "waterbody"; ``mappings.heads.singular``)."""
    return "".join(H.singular(w) for w in norm(name).split())


@dataclass
class LabelProfile:
    name: str                  # normalised label
    text: str                  # augmented text
    tags: list[str] = field(default_factory=list)


class SimilarityModel:
    """Concept side built once (vectors cached by the encoder); label side on demand."""

    def __init__(self, concepts: dict[str, Concept], encoder: TextEncoder, osm: OsmVocab,
                 wiki: WikiSummaries | None = None, weights: Weights | None = None,
                 legends: dict[str, list[LegendClass]] | None = None) -> None:
        self.concepts = {k: c for k, c in concepts.items() if not c.deprecated}
        self.encoder, self.osm, self.wiki = encoder, osm, wiki
        self.legends = {k: v for k, v in (legends or {}).items() if k in self.concepts}
        self.weights = weights or Weights()
        self.ids = sorted(self.concepts)
        self.names: dict[str, list[str]] = {
            cid: list(dict.fromkeys(norm(n) for n in [c.pref_label, *c.alt_labels] if norm(n)))
            for cid, c in self.concepts.items()}
        self.squashed: dict[str, set[str]] = {}
        self.bags: dict[frozenset[str], set[str]] = {}          # same content words, any order ("ice/snow")
        for cid, names in self.names.items():
            for n in names:
                self.squashed.setdefault(_squash(n), set()).add(cid)
                b = M.bag(n.split())
                if len(b) > 1:
                    self.bags.setdefault(b, set()).add(cid)
        self.pref = {cid: c.pref_label for cid, c in self.concepts.items()}
        self.aug_vecs = encoder.encode([self.concept_text(self.concepts[c]) for c in self.ids])
        self.aug_index = LabelIndex(self.ids, self.aug_vecs)
        name_ids = [(cid, n) for cid in self.ids for n in self.names[cid]]
        self.name_owner = [cid for cid, _ in name_ids]
        self.name_vecs = encoder.encode([n for _, n in name_ids])
        self.name_index = LabelIndex([f"{i}" for i in range(len(name_ids))], self.name_vecs)
        # legend class names (mappings.legends): compared like names, but never a lexical match and not
        # used for concept-concept SIMILAR_TO (they are evidence about new labels only)
        leg_ids = [(cid, norm(lc.name)) for cid in self.ids for lc in self.legends.get(cid, []) if norm(lc.name)]
        leg_ids = list(dict.fromkeys(leg_ids))
        self.leg_owner = [cid for cid, _ in leg_ids]
        self.leg_vecs = encoder.encode([n for _, n in leg_ids]) if leg_ids else np.zeros((0, self.name_vecs.shape[1]),
                                                                                         np.float32)
        self._row = {cid: i for i, cid in enumerate(self.ids)}

    # ---- text augmentation --------------------------------------------------------------------
    def _wiki(self, title: str) -> str:
        return self.wiki.summary(title) if self.wiki is not None else ""

    def concept_text(self, c: Concept) -> str:
        parts = [c.pref_label]
        if c.alt_labels:
            parts.append("also: " + ", ".join(c.alt_labels[:8]))
        if c.definition:
            parts.append(c.definition)
        if c.id in self.legends:
            parts.append(legend_text(self.legends[c.id]))
        parts += [d for d in (self.osm.describe(t, 160) for t in c.osm_tags[:2]) if d]
        parts.append(self._wiki(c.pref_label))
        return ". ".join(p for p in parts if p)

    def label_tags(self, label: str) -> list[str]:
        """getOSMTag: exact lexicon hit on the whole label, else the union over its content words."""
        tags = self.osm.lookup(label)
        if not tags:
            for tok in norm(label).split():
                if len(tok) > 3 and tok not in _STOP:
                    tags += self.osm.lookup(tok)
        return sorted(set(tags))

    def label_profile(self, label: str, description: str = "") -> LabelProfile:
        """``description``: the source label's own definition where its vocabulary file gives one."""
        name = norm(label)
        tags = self.label_tags(label)
        parts = ([name, description.strip()[:400]] + [d for d in (self.osm.describe(t, 160) for t in tags[:2]) if d]
                 + [self._wiki(name)])
        return LabelProfile(name=name, text=". ".join(p for p in parts if p), tags=tags)

    # ---- scoring --------------------------------------------------------------------------------
    def _text_sims(self, prof_vec_name: np.ndarray, prof_vec_aug: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(best name-to-name cosine, augmented cosine) for every concept row."""
        name_cos = self.name_vecs @ prof_vec_name
        best = np.full(len(self.ids), -1.0, np.float32)
        for j, cid in enumerate(self.name_owner):
            r = self._row[cid]
            if name_cos[j] > best[r]:
                best[r] = name_cos[j]
        if len(self.leg_owner):
            leg_cos = self.leg_vecs @ prof_vec_name
            for j, cid in enumerate(self.leg_owner):
                r = self._row[cid]
                if leg_cos[j] > best[r]:
                    best[r] = leg_cos[j]
        return best, self.aug_vecs @ prof_vec_aug

    def _text(self, name_sim: float, aug_sim: float) -> float:
        mode = self.weights.text_mode
        if mode == "name":
            return name_sim
        if mode == "augmented":
            return aug_sim
        return max(name_sim, aug_sim)

    def candidates(self, labels: Sequence[str], k: int, shortlist: int = 30,
                   descriptions: Sequence[str] | None = None) -> list[list[Candidate]]:
        """Top-k concepts per label: FAISS kNN on both views gives a shortlist, scored in full.
        ``descriptions``: one per label (may be empty), the label's own definition from its vocabulary."""
        descs = list(descriptions) if descriptions is not None else [""] * len(labels)
        profiles = [self.label_profile(lb, d) for lb, d in zip(labels, descs, strict=True)]
        qn = self.encoder.encode([p.name for p in profiles])
        qa = self.encoder.encode([p.text for p in profiles])
        hits_a = self.aug_index.search(qa, shortlist)
        hits_n = self.name_index.search(qn, shortlist * 3)
        out: list[list[Candidate]] = []
        for i, (lb, prof) in enumerate(zip(labels, profiles, strict=True)):
            lexical = (self.squashed.get(_squash(lb), set()) | self.squashed.get(_squash(prof.name), set())
                       | self.bags.get(M.bag(prof.name.split()), set()))
            heads = self.head_concepts(lb)
            pre = H.before_preposition(lb)
            lead = self.squashed.get(_squash(pre), set()) if pre else set()
            name_best, aug = self._text_sims(qn[i], qa[i])
            pool = ({cid for cid, _ in hits_a[i]} | {self.name_owner[int(j)] for j, _ in hits_n[i]} | lexical
                    | heads | lead | self._legend_pool(name_best, shortlist))
            cands = []
            for cid in pool:
                r = self._row[cid]
                is_lex = cid in lexical
                t = 1.0 if is_lex else self._text(float(name_best[r]), float(aug[r]))
                tags = self.concepts[cid].osm_tags
                s = self.osm.struct_sim(prof.tags, tags)
                sc = self.weights.combine(t, s, bool(prof.tags), bool(tags))
                cands.append(Candidate(cid, float(sc), float(t), float(s), is_lex))
            cands.sort(key=lambda c: (not c.lexical, -c.score, c.concept_id))
            out.append(H.lead_with(H.rerank(lb, M.rerank(lb, cands, self.pref, heads), self.names), lead)[:k])
        return out

    def _legend_pool(self, name_best: np.ndarray, n: int) -> set[str]:
        """With legend names, the best concepts by name (legend names included) join the shortlist."""
        if not self.leg_owner:
            return set()
        return {self.ids[int(r)] for r in np.argsort(-name_best)[:n]}

    def head_concepts(self, label: str) -> set[str]:
        """Concepts named exactly by the label's words without its modifiers (empty if it has none)."""
        mods, rest = M.modifiers(label)
        if not mods or not rest:
            return set()
        return self.squashed.get(_squash(" ".join(rest)), set()) | self.bags.get(M.bag(rest), set())

    def concept_pairs(self, threshold: float) -> list[SimilarPair]:
        """SIMILAR_TO candidates between concepts: every unordered pair with score ≥ threshold."""
        aug, names = self.aug_vecs @ self.aug_vecs.T, self._name_matrix()
        mode = self.weights.text_mode
        text = names if mode == "name" else aug if mode == "augmented" else np.maximum(aug, names)
        pairs = []
        for i, a in enumerate(self.ids):
            ta = self.concepts[a].osm_tags
            for j in range(i + 1, len(self.ids)):
                b = self.ids[j]
                tb = self.concepts[b].osm_tags
                s = self.osm.struct_sim(ta, tb)
                t = float(text[i, j])
                sc = self.weights.combine(t, s, bool(ta), bool(tb))
                if sc >= threshold:
                    pairs.append(SimilarPair(a, b, round(float(sc), 6), round(t, 6), round(s, 6)))
        return pairs

    def pairs_of(self, concept_id: str, threshold: float) -> list[SimilarPair]:
        """The SIMILAR_TO candidates of one concept (a new one): pairs with every other, score >= threshold."""
        i = self._row[concept_id]
        owner = np.array([self._row[c] for c in self.name_owner])
        cos = self.name_vecs @ self.name_vecs[owner == i].T                  # (names, names of i)
        names = np.full(len(self.ids), -1.0, np.float32)
        np.maximum.at(names, owner, cos.max(axis=1))
        aug = self.aug_vecs @ self.aug_vecs[i]
        mode = self.weights.text_mode
        text = names if mode == "name" else aug if mode == "augmented" else np.maximum(aug, names)
        ta = self.concepts[concept_id].osm_tags
        pairs = []
        for j, b in enumerate(self.ids):
            if j == i:
                continue
            tb = self.concepts[b].osm_tags
            s = self.osm.struct_sim(ta, tb)
            t = float(text[j])
            sc = self.weights.combine(t, s, bool(ta), bool(tb))
            if sc >= threshold:
                a_, b_ = sorted((concept_id, b))
                pairs.append(SimilarPair(a_, b_, round(float(sc), 6), round(t, 6), round(s, 6)))
        return pairs

    def _name_matrix(self) -> np.ndarray:
        """Best name-to-name cosine between every two concepts (ignoring the concept itself)."""
        n = len(self.ids)
        owner = np.array([self._row[c] for c in self.name_owner])
        cos = self.name_vecs @ self.name_vecs.T
        out = np.full((n, n), -1.0, np.float32)
        for r in range(n):
            rows = cos[owner == r]
            if rows.size == 0:
                continue
            best = rows.max(axis=0)
            np.maximum.at(out[r], owner, best)
        return out
