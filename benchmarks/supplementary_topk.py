"""Top-20 supplementary samples for river, beach, forest, harbor and dense residential: before / after.

A check a person can read: for each concept, the 20 best supplementary samples over every labelled dataset
(UCMerced, EuroSAT (the corpus's seeded class-balanced subsample of the full release), NWPU-RESISC45 (both
folders), RSSCN7, GID-MTL5 + GID-MTL15), each judged by its OWN labels through the label system (relevant:
its labels map to the concept or a subclass; unknown: its dataset's vocabulary cannot speak about the
concept, left out of the precision).

Honesty: the product head is trained on every labelled dataset, so judging its own training images would
flatter it. Every dataset is judged in its own leave-one-dataset-out fold: its labels are hidden (its
samples can only come back as supplementary samples), the prototypes are built from the OTHER datasets'
labelled samples, and the "after" head is trained without it (its calibrated thresholds learned on the
held-out rows of the training datasets: UCMerced test split, EuroSAT test subsample, as the product does).
The five folds' hits are merged by their retrieval score into one top 20 per concept.

Both variants run the product's supplementary step (:func:`rskg.retrieval.supplementary.search`, 10 k-means
prototypes per concept, k_per_prototype 20):
- before: pretrained EfficientNet-lite0 multi-scale features, cosine floor 0.6 (the old default);
- after: the concept head's embedding, calibrated admission (:mod:`rskg.retrieval.admission`, before the
  cut) and the same cosine floor (the product default), hits ranked by the product's score (the cosine fused
  with the head's P(concept), :func:`rskg.retrieval.scoring.concept_score`); "after, no floor" drops the floor.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rskg.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "benchmarks" / "results" / "supplementary_topk.md"
CONCEPTS = ("river", "beach", "forest", "harbor", "dense_residential")
TOP = 20
K_PER_PROTOTYPE = 20
N_PROTOTYPES = 10
FLOOR = 0.6
VARIANTS = ("before", "after", "after, no floor")


@dataclass
class Hit:
    row: int
    score: float
    fold: str


def _judge(hits: list[Hit], y: np.ndarray, known: np.ndarray) -> dict[str, Any]:
    rel = [bool(y[h.row] > 0) for h in hits if known[h.row]]
    return {"n": len(hits), "judged": len(rel), "relevant": int(sum(rel)),
            "precision": round(sum(rel) / len(rel), 3) if rel else None}


def _fold_hits(feats: np.ndarray, pool: np.ndarray, members: np.ndarray, concept: str, svc: Any,
               version: str, floor: float, admitted: bool, fold: str) -> tuple[list[Hit], int | None]:
    from embeddings.faiss_index import VectorIndex
    from embeddings.prototypes import kmeans_prototypes
    from rskg.retrieval.admission import admissible, admit, probabilities
    from rskg.retrieval.supplementary import Query, hit_score, search

    rows = np.flatnonzero(pool)
    if not members.any() or not len(rows):
        return [], None
    index = VectorIndex.build([str(r) for r in rows], feats[rows], version=version)
    protos = kmeans_prototypes(feats[members], N_PROTOTYPES)
    queries = [Query(concept, concept, f"{concept}:{i}", v, 0.0, (concept,)) for i, v in enumerate(protos)]
    adm = admissible(svc, index, [concept], []) if admitted else {}
    proba = probabilities(svc, index, [concept]) if admitted else {}
    found = search(index, queries, K_PER_PROTOTYPE, None, {}, floor, limit=TOP, admitted=adm, probability=proba)
    if admitted:
        found = admit(svc, index, found, [])
    # the product's ranking score: the cosine, fused with the head's P(concept) when the head admits
    hits = sorted((Hit(int(sid), hit_score(ev), fold) for (sid, _), ev in found.items()),
                  key=lambda h: (-h.score, h.row))
    return hits[:TOP], (len(adm[concept]) if concept in adm else None)


def run(settings: Settings, out: Path = OUT) -> dict[str, Any]:
    from embeddings.backbone import fuse
    from embeddings.head_model import file_digest, save_head
    from rskg.artifacts import head_path
    from rskg.corpora.features import encoder
    from rskg.headtrain.calibrate import learn_thresholds
    from rskg.headtrain.corpus import FAMILIES, load_corpus
    from rskg.headtrain.fit import fit, vocab_labels
    from rskg.headtrain.targets import concept_targets
    from rskg.headtrain.train import ConceptTrainConfig
    from rskg.label_mapping import load_system
    from rskg.services import Services

    t0 = time.perf_counter()
    system = load_system(settings)
    enc = encoder(settings, use_head=False)
    corpus = load_corpus(settings, enc, progress=False)
    fam = corpus.family_of()
    fused = fuse(corpus.raw(), enc.stage_dims, enc.fusion)
    full = concept_targets(system, corpus.label_sets(), vocab_labels(corpus), min_positives=1)
    col = {c: j for j, c in enumerate(full.concepts)}
    cfg = ConceptTrainConfig(epochs=12, per_family=600)
    per: dict[str, dict[str, list[Hit]]] = {v: {c: [] for c in CONCEPTS} for v in VARIANTS}
    folds: dict[str, Any] = {}
    for t in FAMILIES:
        pool = fam == t
        if not pool.any():
            continue
        fitted = fit(system, corpus, enc, exclude=(t,), config=cfg)
        head = fitted.head
        held = ~corpus.trainable() & ~pool
        tc = fitted.targets.concepts
        head.cfg.metrics["thresholds"] = learn_thresholds(head.predict_proba(fused[held]), fitted.targets.y[held],
                                                          fitted.targets.known[held], tc)
        emb = head.embed_numpy(fused)
        with tempfile.TemporaryDirectory() as home:
            s = settings.model_copy(update={"home": Path(home)})
            hp = save_head(head, head_path(s.home))
            svc = Services(s)
            after_version = f"{enc.feature_version}-head{file_digest(hp)}"
            info: dict[str, Any] = {"n_pool": int(pool.sum()), "n_train": int(fitted.train_rows.sum()),
                                    "train_s": round(fitted.result.seconds, 1), "concepts": {}}
            for c in CONCEPTS:
                members = ~pool & (full.y[:, col[c]] > 0) if c in col else np.zeros(len(fam), bool)
                ci: dict[str, Any] = {"members": int(members.sum()),
                                      "threshold": head.cfg.metrics["thresholds"].get(c)}
                for v, feats, version, floor, adm in (
                        ("before", fused, enc.feature_version, FLOOR, False),
                        ("after", emb, after_version, FLOOR, True),
                        ("after, no floor", emb, after_version, -1.0, True)):
                    hits, n_adm = _fold_hits(feats, pool, members, c, svc, version, floor, adm, t)
                    per[v][c] += hits
                    if v == "after":
                        ci["admissible"] = n_adm
                    if c in col:
                        ci[v] = _judge(hits, full.y[:, col[c]], full.known[:, col[c]])
                info["concepts"][c] = ci
            svc.close()
        folds[t] = info
    results: dict[str, Any] = {"concepts": {}, "folds": folds}
    for c in CONCEPTS:
        results["concepts"][c] = {}
        for v in VARIANTS:
            top = sorted(per[v][c], key=lambda h: (-h.score, h.row))[:TOP]
            j: dict[str, Any] = _judge(top, full.y[:, col[c]], full.known[:, col[c]]) if c in col else {"n": 0}
            j["from"] = {f: sum(h.fold == f for h in top) for f in FAMILIES if any(h.fold == f for h in top)}
            j["samples"] = [f"{corpus.tags()[h.row]}" for h in top[:5]]
            results["concepts"][c][v] = j
    seconds = time.perf_counter() - t0
    results["meta"] = {"seconds": round(seconds, 1), "load": round(os.getloadavg()[0], 1),
                       "corpus": {p.reader: len(p.images) for p in corpus.parts}, "top": TOP, "floor": FLOOR,
                       "head_config": {"epochs": cfg.epochs, "per_family": cfg.per_family, "views": 0}}
    out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    out.write_text(_markdown(results), encoding="utf-8")
    return results


def _p(j: dict[str, Any]) -> str:
    if j.get("precision") is None:
        return f"n/a (0 of {j.get('n', 0)} judged)" if j.get("n") else "-"
    if j["judged"] < j["n"]:
        return f"{j['precision']:.2f} ({j['relevant']}/{j['judged']}; {j['n'] - j['judged']} unknown)"
    return f"{j['precision']:.2f} ({j['relevant']}/{j['judged']})"


def _markdown(r: dict[str, Any]) -> str:
    m = r["meta"]
    corpus = ", ".join(f"{k} {v}" for k, v in m["corpus"].items())
    lines = ["# Top-20 supplementary samples, before / after the concept head", "",
             __doc__.split("\n\n", 1)[1].strip(), "",
             f"Corpus (rows): {corpus}. Head per fold: {m['head_config']['epochs']} epochs, "
             f"{m['head_config']['per_family']} samples per dataset family per epoch, no cached views (the "
             "product head adds one scale/rotation view per image). "
             f"Run time {m['seconds']:.0f} s, load average {m['load']} at the end (2 shared cores).",
             "", "Precision of the top 20 over all datasets (relevant / judged; unknown samples left out):", "",
             "| concept | before (pretrained, cos >= 0.6) | after (head + admission, cos >= 0.6) "
             "| after (head + admission, no floor) | before: top 20 from | after: top 20 from |",
             "| --- | --- | --- | --- | --- | --- |"]
    for c, v in r["concepts"].items():
        src = {k: ", ".join(f"{d} {n}" for d, n in v[k].get("from", {}).items()) for k in ("before", "after")}
        lines.append(f"| {c} | {_p(v['before'])} | {_p(v['after'])} | {_p(v['after, no floor'])} | {src['before']} "
                     f"| {src['after']} |")
    both = [ci for f in r["folds"].values() for ci in f["concepts"].values()
            if all(ci.get(v, {}).get("precision") is not None for v in ("before", "after"))]
    if both:
        mean = {v: sum(ci[v]["precision"] for ci in both) / len(both) for v in ("before", "after")}
        lines += ["", f"Mean precision over the {len(both)} (dataset, concept) cells judged in both variants: "
                  f"before {mean['before']:.3f}, after {mean['after']:.3f}."]
    lines += ["", "Per fold (judged dataset, its labels hidden; precision of that dataset's own top 20):", "",
              "| dataset | concept | prototype members | admissible (after) | threshold | before | after "
              "| after, no floor |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for t, f in r["folds"].items():
        for c, ci in f["concepts"].items():
            if "before" not in ci:
                continue
            thr = "-" if ci.get("threshold") is None else f"{ci['threshold']:.3f}"
            lines.append(f"| {t} | {c} | {ci['members']} | {ci.get('admissible', '-')} | {thr} | "
                         f"{_p(ci['before'])} | {_p(ci['after'])} | {_p(ci['after, no floor'])} |")
    lines += ["", "n/a: the hits' own datasets cannot speak about the concept (EuroSAT / RSSCN7 / GID have no harbor "
              "or dense-residential label; RSSCN7 'resident' maps to residential land, the parent of dense "
              "residential), so the label system leaves them unknown. Only UCMerced labels harbor and dense "
              "residential, and in its own fold no other dataset has members to build their prototypes from.", "",
              "First five hits after (before), as reader:scene label:", ""]
    for c, v in r["concepts"].items():
        lines.append(f"- {c}: " + ", ".join(v["after"]["samples"]) + " (before: " + ", ".join(v["before"]["samples"])
                     + ")")
    return "\n".join(lines) + "\n"
