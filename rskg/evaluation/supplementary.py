"""Paper 000 Table 4, made precise: supplementary-sample retrieval scored against multi-label ground truth.

For each query label L of the ground truth:

1. the label system maps L to a concept C (:func:`rskg.corpora.concepts.match_label`, reported per label);
2. C's 10 k-means prototypes are built from the *prototype source* (UCMerced, train part of the fixed split):
   the images carrying a scene label or a multi-label that the label system maps to C or a subclass;
3. evaluated samples = the dataset's samples minus any image (by content hash) the prototypes or the head were
   trained on: for UCMerced that leaves the 630 test images, for any other dataset all of its samples;
4. direct samples = evaluated samples whose *scene* label maps to C or a subclass; the rest are non-direct;
5. retrieved supplementary samples = non-direct samples among each prototype's k nearest (k = 20, cosine >= the
   similarity threshold), as retrieval step 4 does for the query concept itself; one is correct when its
   ground truth contains L.

Per label: precision, recall and accuracy of that retrieval over the non-direct samples; P@k and the best
precision at recall >= 0.65 of the ranking of *all* evaluated samples by prototype similarity (label-prototype
retrieval). Overall: weighted by the number of positives of each label (as the paper does) and macro.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ontology.model import LabelSystem
from rskg.corpora.concepts import LabelMatch, carriers, label_concepts, match_label
from rskg.corpora.images import EvalImages
from rskg.evaluation import metrics as M
from rskg.evaluation.prototype_scoring import kmeans_prototypes, knn_retrieved
from rskg.evaluation.truth import Truth

PRECISION_KS = (10, 20)
RECALL = 0.65
K_PER_PROTOTYPE = 20
DEFAULT_THRESHOLD = 0.6


@dataclass
class PrototypeSource:
    """Images (features + label sets) prototypes may be built from; ``sha256`` lists them for exclusion."""

    name: str
    feats: np.ndarray
    label_sets: list[dict[str, list[str]]]
    sha256: set[str]


@dataclass
class LabelResult:
    match: LabelMatch
    n_eval: int
    n_direct: int
    n_positive: int              # evaluated samples whose truth contains L
    n_positive_nondirect: int
    n_members: int               # prototype-source images behind C's prototypes
    n_retrieved: int
    counts: dict[str, float]     # precision / recall / accuracy over non-direct samples
    ranking: dict[str, float]    # P@k, P@R>=0.65, AP over all evaluated samples
    curve: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class SupplementaryResult:
    dataset: str
    variant: str
    n_samples: int
    n_excluded_trained: int
    n_without_truth: int
    labels: list[LabelResult] = field(default_factory=list)
    skipped: list[LabelMatch] = field(default_factory=list)
    settings: dict[str, object] = field(default_factory=dict)

    def overall(self) -> dict[str, dict[str, float]]:
        rows = [r for r in self.labels if r.n_positive > 0]
        out: dict[str, dict[str, float]] = {"weighted": {}, "macro": {}}
        metrics = {**{k: [r.counts[k] for r in rows] for k in ("precision", "recall", "accuracy")},
                   **{k: [r.ranking[k] for r in rows] for k in (rows[0].ranking if rows else {})}}
        weights = [r.n_positive for r in rows]
        for k, vals in metrics.items():
            out["weighted"][k] = M.weighted_mean(vals, weights)
            out["macro"][k] = M.macro_mean(vals)
        return out


def _concepts(system: LabelSystem, label_set: str, label: str) -> set[str]:
    found = label_concepts(system, label_set, label)
    if found:
        return found
    m = match_label(system, label, [label_set])
    return {m.concept_id} if m.concept_id else set()


def run(system: LabelSystem, images: EvalImages, feats: np.ndarray, truth: Truth, source: PrototypeSource,
        variant: str, query_labels: list[str] | None = None, threshold: float = DEFAULT_THRESHOLD,
        k_per_prototype: int = K_PER_PROTOTYPE) -> SupplementaryResult:
    gt = truth.lookup(images.rel_paths)
    trained = np.asarray([s in source.sha256 for s in images.sha256])
    has_truth = np.asarray([g is not None for g in gt])
    keep = ~trained & has_truth
    res = SupplementaryResult(images.dataset, variant, len(images), int(trained.sum()), int((~has_truth).sum()),
                              settings={"k_per_prototype": k_per_prototype, "similarity_threshold": threshold,
                                        "prototypes": f"10 k-means per concept from {source.name}",
                                        "recall_floor": RECALL})
    rows = np.flatnonzero(keep)
    f = feats[rows]
    gts = [gt[i] or set() for i in rows]
    label_sets = sorted({ls for i in rows for ls in images.label_sets[i]} | {images.primary_set},
                        key=lambda s: (s == images.primary_set, s))
    all_scene = images.scene_labels()
    scene = [all_scene[i] for i in rows]
    scene_concepts = {s: _concepts(system, images.primary_set, s) for s in set(scene)}
    src_concepts = [set().union(*(_concepts(system, ls, lab) for ls, labs in sets.items() for lab in labs))
                    if sets else set() for sets in source.label_sets]
    for label in query_labels or truth.labels:
        m = match_label(system, label, label_sets)
        if m.concept_id is None:
            res.skipped.append(m)
            continue
        members = carriers(system, m.concept_id, src_concepts)
        if not members.any():
            res.skipped.append(LabelMatch(label, m.concept_id, m.concept_name,
                                          f"{m.how}; no prototype-source image carries it"))
            continue
        protos = kmeans_prototypes(source.feats[members])
        positive = np.asarray([label in g for g in gts])
        direct = carriers(system, m.concept_id, [scene_concepts[s] for s in scene])
        retrieved = knn_retrieved(f, protos, k_per_prototype, threshold) & ~direct
        scores = (f @ protos.T).max(axis=1)
        nd = ~direct
        ranking = {f"P@{k}": M.precision_at_k(positive[np.argsort(-scores, kind="stable")], k)
                   for k in PRECISION_KS}
        ranking[f"P@R>={RECALL}"] = M.precision_at_recall(scores, positive, RECALL)
        ranking["AP"] = M.average_precision(scores, positive)
        res.labels.append(LabelResult(
            m, len(rows), int(direct.sum()), int(positive.sum()), int((positive & nd).sum()), int(members.sum()),
            int(retrieved.sum()), M.binary_counts(retrieved[nd], positive[nd]), ranking,
            M.pr_curve(scores, positive) if positive.any() else None))
    return res


PAPER_000_TABLE4 = {"UCMerced_multi_label": {"accuracy": 0.6461, "precision": 0.5745},
                    "AID_multi_label": {"accuracy": 0.6044, "precision": 0.7315},
                    "DCF": {"accuracy": 0.7517, "precision": 0.2528}}
