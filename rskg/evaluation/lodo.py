"""Leave-one-dataset-out (LODO) cross-dataset retrieval with the concept head.

For every target family T (UCMerced, EuroSAT, NWPU, RSSCN7, GID; :mod:`rskg.headtrain.corpus`):

1. the concept head is trained on the trainable rows of every *other* family (T's images never seen);
2. for every concept C that one of T's labels maps to (scene or multi-label, through the label system) and
   that at least ``MIN_MEMBERS`` source images carry, 10 k-means prototypes are built from the source
   images carrying C (C or a subclass of it);
3. T's images are ranked by their best cosine similarity to those prototypes. An image is relevant when
   its labels switch C on (C, or a subclass of C, is one of its concepts), irrelevant when its vocabulary
   can speak about C and does not; images for which C is unknown (partial labels, e.g. EuroSAT 'SeaLake'
   for lake) are left out of that concept's ranking.

Average precision and the best precision at recall >= 0.65 per (target, concept); per-target and macro means
(over all (target, concept) cells). Four rankings per cell, in the same run: the pretrained backbone feature's
prototypes, the head embedding's prototypes ("concept head"), the head's own probability for C ("concept
head P(C)") and the product's score, the prototype cosine fused with P(C) ("concept head score",
:func:`rskg.retrieval.scoring.concept_score`, what supplementary retrieval ranks by; ``macro_map`` and
``macro_p_at_r065`` of :meth:`LodoResult.summary` are this variant's). EuroSAT targets are its
held-out test-split subsample; the other families are ranked whole.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from embeddings.backbone import fuse
from ontology.model import LabelSystem
from rskg.evaluation import metrics as M
from rskg.evaluation.prototype_scoring import kmeans_prototypes
from rskg.headtrain.corpus import FAMILIES, Corpus
from rskg.headtrain.fit import fit, vocab_labels
from rskg.headtrain.targets import Resolver, concept_targets
from rskg.headtrain.train import ConceptTrainConfig
from rskg.retrieval.scoring import concept_score

log = logging.getLogger(__name__)
RECALL = 0.65
MIN_MEMBERS = 5
VARIANTS = ("pretrained", "concept head", "concept head P(C)", "concept head score")
PRODUCT = "concept head score"


@dataclass
class Cell:
    target: str
    concept: str
    n_members: int
    n_relevant: int
    n_ranked: int
    ap: dict[str, float]
    p_at_r: dict[str, float]


@dataclass
class LodoResult:
    cells: list[Cell] = field(default_factory=list)
    train_seconds: dict[str, float] = field(default_factory=dict)
    n_train: dict[str, int] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    def macro(self, variant: str, target: str | None = None, key: str = "ap") -> float:
        cells = [c for c in self.cells if target is None or c.target == target]
        return M.macro_mean([(c.ap if key == "ap" else c.p_at_r)[variant] for c in cells])

    def targets(self) -> list[str]:
        return sorted({c.target for c in self.cells}, key=lambda t: FAMILIES.index(t) if t in FAMILIES else 99)

    def summary(self) -> dict[str, object]:
        per = {t: {v: {"map": round(self.macro(v, t), 4), "p_at_r065": round(self.macro(v, t, "p"), 4)}
                   for v in VARIANTS} | {"n_concepts": sum(c.target == t for c in self.cells)}
               for t in self.targets()}
        return {"macro_map": round(self.macro(PRODUCT), 4),
                "macro_p_at_r065": round(self.macro(PRODUCT, key="p"), 4),
                "scoring": PRODUCT,
                "head_prototype_macro_map": round(self.macro("concept head"), 4),
                "head_prototype_macro_p_at_r065": round(self.macro("concept head", key="p"), 4),
                "pretrained_macro_map": round(self.macro("pretrained"), 4),
                "pretrained_macro_p_at_r065": round(self.macro("pretrained", key="p"), 4),
                "head_probability_macro_map": round(self.macro("concept head P(C)"), 4),
                "head_probability_macro_p_at_r065": round(self.macro("concept head P(C)", key="p"), 4),
                "per_target": per,
                "cells": [{"target": c.target, "concept": c.concept, "members": c.n_members,
                           "relevant": c.n_relevant, "ranked": c.n_ranked,
                           "ap": {k: round(v, 4) for k, v in c.ap.items()},
                           "p_at_r065": {k: round(v, 4) for k, v in c.p_at_r.items()}} for c in self.cells],
                "train_seconds": self.train_seconds, "n_train": self.n_train,
                "peak_rss_mb": round(self.peak_rss_mb, 1)}


def target_concepts(system: LabelSystem, corpus: Corpus, rows: np.ndarray) -> list[str]:
    """Concepts the target's own labels map to (not their ancestors), in a stable order."""
    res = Resolver(system)
    out: set[str] = set()
    ls_all = corpus.label_sets()
    for i in np.flatnonzero(rows):
        for v, labs in ls_all[i].items():
            for lab in labs:
                cid, _ = res.resolve(v, lab)
                if cid is not None:
                    out.add(cid)
    return sorted(out)


def run(system: LabelSystem, corpus: Corpus, enc: object, targets: tuple[str, ...] = FAMILIES, seed: int = 0,
        config: ConceptTrainConfig | None = None, views: tuple[np.ndarray, np.ndarray] | None = None) -> LodoResult:
    fam = corpus.family_of()
    fused = fuse(corpus.raw(), enc.stage_dims, enc.fusion)  # type: ignore[attr-defined]
    # full targets over every row (relevance / known); columns: every concept positive anywhere
    full = concept_targets(system, corpus.label_sets(), vocab_labels(corpus), min_positives=1)
    col = {c: j for j, c in enumerate(full.concepts)}
    out = LodoResult()
    for t in targets:
        if t not in set(fam.tolist()):
            continue
        t0 = time.perf_counter()
        fitted = fit(system, corpus, enc, exclude=(t,), seed=seed, config=config, views=views)
        out.train_seconds[t] = round(time.perf_counter() - t0, 1)
        out.n_train[t] = int(fitted.train_rows.sum())
        out.peak_rss_mb = max(out.peak_rss_mb, fitted.result.peak_rss_mb)
        emb = fitted.head.embed_numpy(fused)
        proba = fitted.head.predict_proba(fused)
        hcol = {c: j for j, c in enumerate(fitted.head.cfg.labels)}
        src = fitted.train_rows
        tgt = (fam == t) & (~corpus.trainable() if t == "eurosat" else np.ones(len(fam), bool))
        for c in target_concepts(system, corpus, tgt):
            j = col[c]
            members = src & (full.y[:, j] > 0)
            ranked = tgt & full.known[:, j]
            rel = full.y[ranked, j] > 0
            if members.sum() < MIN_MEMBERS or not rel.any() or rel.all():
                continue
            ap: dict[str, float] = {}
            pr: dict[str, float] = {}
            scores: dict[str, np.ndarray] = {}
            for name, feats in (("pretrained", fused), ("concept head", emb)):
                scores[name] = (feats[ranked] @ kmeans_prototypes(feats[members]).T).max(axis=1)
            p = proba[ranked, hcol[c]] if c in hcol else None
            scores["concept head P(C)"] = scores["concept head"] if p is None else p
            scores[PRODUCT] = concept_score(scores["concept head"], p)
            for name, x in scores.items():
                ap[name], pr[name] = M.average_precision(x, rel), M.precision_at_recall(x, rel, RECALL)
            out.cells.append(Cell(t, c, int(members.sum()), int(rel.sum()), int(ranked.sum()), ap, pr))
        log.info("LODO %s: %d concepts, head score mAP %.3f (prototypes %.3f, pretrained %.3f), trained %.0f s", t,
                 sum(x.target == t for x in out.cells), out.macro(PRODUCT, t), out.macro("concept head", t),
                 out.macro("pretrained", t),
                 out.train_seconds[t])
    return out


def markdown(res: LodoResult, seconds: float, note: str) -> str:
    lines = ["## Cross-dataset retrieval, leave-one-dataset-out (concept head)", "",
             note, "",
             "| target | concepts | pretrained mAP | head mAP | head P(C) mAP | head score mAP | pretrained P@R≥0.65 "
             "| head P@R≥0.65 | head P(C) P@R≥0.65 | head score P@R≥0.65 | head trained on (rows) | train s |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for t in [*res.targets(), None]:
        n = sum(t is None or c.target == t for c in res.cells)
        cells = [f"{res.macro(v, t):.3f}" for v in VARIANTS] + [f"{res.macro(v, t, 'p'):.3f}" for v in VARIANTS]
        tail = "| |" if t is None else f"| {res.n_train.get(t, 0)} | {res.train_seconds.get(t, 0):.0f} |"
        lines.append(f"| {t or '**macro (all cells)**'} | {n} | " + " | ".join(cells) + f" {tail}")
    lines += ["", "head = the head embedding's prototypes; head P(C) = the head's probability; head score = the "
              "product's ranking (prototype cosine fused with P(C), rskg.retrieval.scoring).", "",
              "Per (target, concept) AP, pretrained -> concept head (prototypes) / head P(C) / head score:", "",
              "| target | concept | source members | relevant / ranked | pretrained AP | head AP | head P(C) AP "
              "| head score AP |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for c in res.cells:
        lines.append(f"| {c.target} | {c.concept} | {c.n_members} | {c.n_relevant} / {c.n_ranked} | "
                     + " | ".join(f"{c.ap[v]:.3f}" for v in VARIANTS) + " |")
    lines += ["", f"Run time {seconds:.0f} s; peak RSS {res.peak_rss_mb:.0f} MB."]
    return "\n".join(lines) + "\n"
