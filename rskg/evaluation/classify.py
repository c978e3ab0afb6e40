"""The multi-label head on UCMerced's 17 labels with paper 004's metrics (test part of the fixed split).

Classification: per-label AP averaged (mAP), macro and micro F1 at 0.5, and paper 004's example-based F1.
Baseline without fine-tuning: each label's score is the best cosine similarity of the pretrained feature to
that label's 10 k-means prototypes (train part) - a ranking score, so only its mAP is meaningful.

Retrieval (paper 004 section 4): queries = test images, database = train images, ranked by cosine
similarity; a database image is relevant when it shares at least one of the query's labels (paper 004 does
not spell its rule out; this is the usual multi-label one). Metrics: ANMRR, paper 004's mAP (mean of P@1..P@100)
and P@k for k = 10, 50, 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rskg.corpora.ucm import UCM
from rskg.evaluation import metrics as M
from rskg.evaluation.prototype_scoring import kmeans_prototypes

RETRIEVAL_KS = (10, 50, 100)
MAP_DEPTH = 100


@dataclass
class ClassifyResult:
    classification: dict[str, dict[str, float]]     # variant -> metrics
    per_label_ap: dict[str, dict[str, float]]       # variant -> label -> AP
    retrieval: dict[str, dict[str, float]]          # variant -> metrics
    notes: list[str]


def retrieval_scores(q: np.ndarray, a: np.ndarray, q_truth: np.ndarray, a_truth: np.ndarray) -> dict[str, float]:
    order = M.ranking(q, a)
    relevant = (q_truth.astype(np.int32) @ a_truth.T.astype(np.int32)) > 0     # (Q, A) shares >= 1 label
    keep = relevant.any(axis=1)
    order, relevant = order[keep], relevant[keep]
    rel_ranked = np.take_along_axis(relevant, order, axis=1)
    truths: list[set[object]] = [set(np.flatnonzero(r).tolist()) for r in relevant]
    out = {"ANMRR": M.anmrr([o.tolist() for o in order], truths),
           "mAP (P@1..100)": float(np.mean([M.mean_p_at_1_to_m(r, MAP_DEPTH) for r in rel_ranked]))}
    for k in RETRIEVAL_KS:
        out[f"P@{k}"] = float(np.mean([M.precision_at_k(r, k) for r in rel_ranked]))
    return out


def run(ucm: UCM) -> ClassifyResult:
    tr, te = ucm.split.train, ucm.split.test
    y = ucm.truth[te]
    res = ClassifyResult({}, {}, {}, [])
    pre = ucm.variants[0].feats
    protos = [kmeans_prototypes(pre[tr & ucm.truth[:, j]]) for j in range(len(ucm.labels))]
    base = np.stack([(pre[te] @ p.T).max(axis=1) for p in protos], axis=1)
    has = y.any(axis=0)
    res.classification["pretrained + 10 prototypes/label (scores)"] = {
        "map": float(np.mean([M.average_precision(base[:, j], y[:, j]) for j in np.flatnonzero(has)]))}
    res.per_label_ap["pretrained + 10 prototypes/label (scores)"] = {
        lab: M.average_precision(base[:, j], y[:, j]) for j, lab in enumerate(ucm.labels)}
    from embeddings.backbone import fuse

    fused = fuse(ucm.raw[te], ucm.encoder.stage_dims, ucm.encoder.fusion)
    for fs in ucm.variants:
        if fs.head is None:
            continue
        cols = ucm_head_columns(list(fs.head.cfg.labels), ucm.labels)
        keep = [j for j, c in enumerate(cols) if c is not None]
        proba = fs.head.predict_proba(fused)[:, [cols[j] for j in keep]]
        if len(keep) < len(cols):
            res.notes.append(f"{fs.name}: no output for {[ucm.labels[j] for j, c in enumerate(cols) if c is None]} "
                             "(scored on the other labels)")
        res.classification[fs.name] = M.multilabel_scores(y[:, keep], proba)
        res.per_label_ap[fs.name] = {ucm.labels[j]: M.average_precision(proba[:, k], y[:, j])
                                     for k, j in enumerate(keep)}
    if ucm.head is None:
        res.notes.append("the product head is not installed (`rskg image train-head`): its rows are missing")
    for fs in ucm.variants:
        res.retrieval[fs.name] = retrieval_scores(fs.feats[te], fs.feats[tr], ucm.truth[te], ucm.truth[tr])
    return res


PAPER_004_NOTE = "MLRSNet (109,161 images, 60 labels), not UCMerced: shown for scale only"
PAPER_004: dict[str, dict[str, float]] = {
    "classification DenseNet201 (40% training)": {"map": 0.8877, "example_f1": 0.8538},
    "retrieval DenseNet201 (5% queries)": {"ANMRR": 0.1557, "mAP (P@1..100)": 0.8959, "P@10": 0.9031,
                                             "P@50": 0.8949, "P@100": 0.8898},
}


def ucm_head_columns(head_labels: list[str], labels: list[str]) -> list[int | None]:
    """UCMerced multi-label -> head output column (the label itself, or its concept for the concept head)."""
    from rskg.headtrain.targets import head_columns

    if set(labels) <= set(head_labels):
        return head_columns(head_labels, labels, "ucm_multilabel", None)
    from ontology.store import load_label_system
    from rskg.settings import load_settings

    return head_columns(head_labels, labels, "ucm_multilabel", load_label_system(load_settings().ontology_dir))
