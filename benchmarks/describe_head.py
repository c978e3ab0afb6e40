"""describe's concept scoring: prototype cosine (today) vs the concept head's probabilities.

UCMerced test split (630 images of the fixed split, never trained on). A concept head is trained the
product's way on every labelled family (UCMerced train split, EuroSAT train subsample, NWPU, RSSCN7, GID;
short training: ``CONFIG``, no cached views). Each image's 21 scene concepts (the concepts its scene labels
map to through the label system) are ranked by
- pretrained cosine: best cosine to the concept's 10 k-means prototypes of pretrained features (describe
  on an index without a head);
- head cosine: the same on the head's embedding (describe on the product's index today);
- head P(C): the head's probability for the concept.
Prototypes come from the UCMerced train split. Reported: top-1 and top-3 accuracy of the image's own scene
concept, and the multi-label mAP of the ranking over all head concepts the UCMerced labels speak about.
Writes benchmarks/results/describe_head.{md,json}.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from rskg.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "benchmarks" / "results" / "describe_head.md"
CONFIG = {"epochs": 12, "per_family": 600}


def run(settings: Settings, out: Path = OUT) -> dict[str, Any]:
    from embeddings.backbone import fuse
    from embeddings.prototypes import kmeans_prototypes
    from rskg.corpora.features import encoder
    from rskg.evaluation import metrics as M
    from rskg.headtrain.corpus import load_corpus
    from rskg.headtrain.fit import fit, vocab_labels
    from rskg.headtrain.targets import Resolver, concept_targets
    from rskg.headtrain.train import ConceptTrainConfig
    from rskg.label_mapping import load_system

    t0 = time.perf_counter()
    system = load_system(settings)
    enc = encoder(settings, use_head=False)
    corpus = load_corpus(settings, enc, progress=False)
    f = fit(system, corpus, enc, config=ConceptTrainConfig(**CONFIG))
    fam = corpus.family_of()
    fused = fuse(corpus.raw(), enc.stage_dims, enc.fusion)
    emb = f.head.embed_numpy(fused)
    proba = f.head.predict_proba(fused)
    full = concept_targets(system, corpus.label_sets(), vocab_labels(corpus), min_positives=1)
    ucm = fam == "ucm"
    train, test = ucm & corpus.trainable(), ucm & ~corpus.trainable()
    res = Resolver(system)
    scene = [res.resolve("ucm", t.split(":", 1)[1])[0] if u else None
             for t, u in zip(corpus.tags(), ucm, strict=True)]
    scene_concepts = sorted({c for c, u in zip(scene, ucm, strict=True) if u and c is not None})
    hcol = {c: j for j, c in enumerate(f.head.cfg.labels)}
    fcol = {c: j for j, c in enumerate(full.concepts)}
    cands = [c for c in scene_concepts if c in hcol and c in fcol]
    test_rows = np.flatnonzero(test)
    truth = np.asarray([cands.index(str(scene[i])) if scene[i] in cands else -1 for i in test_rows])
    scores: dict[str, np.ndarray] = {}
    for name, feats in (("pretrained cosine", fused), ("head cosine", emb)):
        s = np.full((len(test_rows), len(cands)), -1.0, np.float32)
        for j, c in enumerate(cands):
            members = train & (full.y[:, fcol[c]] > 0)
            if members.any():
                s[:, j] = (feats[test_rows] @ kmeans_prototypes(feats[members], 10).T).max(axis=1)
        scores[name] = s
    hidx = np.asarray([hcol[c] for c in cands], np.int64)
    scores["head P(C)"] = proba[np.ix_(test_rows, hidx)]
    ok = truth >= 0
    results: dict[str, Any] = {"n_test": int(ok.sum()), "n_concepts": len(cands), "variants": {}}
    for name, s in scores.items():
        order = np.argsort(-s[ok], axis=1)
        top1 = float(np.mean(order[:, 0] == truth[ok]))
        top3 = float(np.mean((order[:, :3] == truth[ok][:, None]).any(axis=1)))
        y = np.zeros_like(s[ok], bool)
        y[np.arange(ok.sum()), truth[ok]] = True
        aps = [M.average_precision(s[ok][:, j], y[:, j]) for j in range(len(cands)) if y[:, j].any()]
        results["variants"][name] = {"top1": round(top1, 4), "top3": round(top3, 4),
                                     "per_concept_map": round(float(np.mean(aps)), 4)}
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["load"] = round(os.getloadavg()[0], 1)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    lines = ["# describe: prototype cosine vs concept-head probabilities", "",
             __doc__.split("\n\n", 1)[1].split("Writes")[0].strip(), "",
             f"{results['n_test']} test images, {results['n_concepts']} scene concepts. Run time "
             f"{results['seconds']:.0f} s, load average {results['load']} (2 shared cores).", "",
             "| scoring | top-1 | top-3 | per-concept mAP |", "| --- | --- | --- | --- |"]
    for name, v in results["variants"].items():
        lines.append(f"| {name} | {v['top1']:.3f} | {v['top3']:.3f} | {v['per_concept_map']:.3f} |")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return results
