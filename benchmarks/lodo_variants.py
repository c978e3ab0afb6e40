"""Which lever moves leave-one-dataset-out retrieval: backbone, GSD normalisation, head capacity, prototypes.

A SUBSAMPLED corpus (2 shared CPU cores: every variant of the backbone or of the input scale re-encodes
it): at most ``CAP`` images per reader, seeded and class-balanced where the reader has classes (the
UCMerced part keeps its fixed-split trainable flags, EuroSAT its train/test subsample flags). Each variant
runs the same protocol as `rskg eval crossdataset --lodo` (:func:`rskg.evaluation.lodo.run`: a concept
head per target family trained without it, prototypes from the other families) with a short head training
(``CONFIG``), next to the pretrained features of the same variant. Also per variant: UCMerced CBIR
mAP@10 inside the subsample (queries: its UCMerced test-split images; gallery: all its UCMerced images;
features: a head trained on every family, the product's recipe).

The variant table compares configurations on the LODO targets themselves, so it is a measurement, not a
tuning on training folds: a configuration picked by it would carry an optimistic number.
Writes benchmarks/results/lodo_variants.{md,json}.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from rskg.settings import REPO_ROOT, Settings

OUT = REPO_ROOT / "benchmarks" / "results" / "lodo_variants.md"
CAP = 300
# name -> (settings overrides, head config overrides)
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "lite0 (default: GSD -> 0.6 m)": ({}, {}),
    "lite0, native scale": ({"encoder_ref_gsd_m": None}, {}),
    "lite1": ({"encoder_backbone": "efficientnet-lite1"}, {}),
    "lite2": ({"encoder_backbone": "efficientnet-lite2"}, {}),
    "lite0, head 1024 hidden": ({}, {"hidden": 1024}),
    "lite0, head no input dropout": ({}, {"input_dropout": 0.0}),
}
CONFIG = {"epochs": 12, "per_family": 400}


def _subsample_rows(labels: list[str], cap: int, seed: int = 0) -> list[int]:
    if len(labels) <= cap:
        return list(range(len(labels)))
    rng = np.random.default_rng(seed)
    by: dict[str, list[int]] = {}
    for i, lab in enumerate(labels):
        by.setdefault(lab, []).append(i)
    per = max(1, cap // len(by))
    rows: list[int] = []
    for lab in sorted(by):
        r = by[lab]
        rows += sorted(int(x) for x in rng.choice(r, min(per, len(r)), replace=False))
    return sorted(rows)


def load_subsample(settings: Settings, enc: Any, cap: int = CAP) -> Any:
    from rskg.corpora.features import raw_features
    from rskg.corpora.images import from_folder
    from rskg.headtrain.corpus import SOURCES, Corpus, Part, _select

    out = Corpus()
    for fam, sources in SOURCES.items():
        for reader, vocab in sources:
            imgs, trainable = _select(reader, from_folder(settings, reader))
            rows = _subsample_rows(imgs.scene_labels(), cap)
            imgs, trainable = imgs.subset(rows), trainable[rows]
            out.parts.append(Part(fam, reader, vocab, imgs, raw_features(settings, enc, imgs), trainable))
    return out


def _ucm_cbir(corpus: Any, emb: np.ndarray) -> float:
    from embeddings.splits import ucm_split

    part = next(p for p in corpus.parts if p.reader == "ucm")
    start = sum(len(p.images) for p in corpus.parts[: corpus.parts.index(part)])
    feats = emb[start : start + len(part.images)]
    labels = np.asarray(part.images.scene_labels())
    test = set(ucm_split(0).test)
    q = [i for i, p in enumerate(part.images.rel_paths) if p in test]
    sims = feats[q] @ feats.T
    sims[np.arange(len(q)), q] = -np.inf                   # a query is not its own answer
    top = np.argsort(-sims, axis=1)[:, :10]
    aps = []
    for qi, row in zip(q, top, strict=True):
        rel = labels[row] == labels[qi]
        hits = np.cumsum(rel)
        aps.append(float((hits / np.arange(1, 11) * rel).sum() / max(1, rel.sum())) if rel.any() else 0.0)
    return float(np.mean(aps))


# 30-45 min on 2 cores: run it by name (`python -m benchmarks lodo_variants`), not in every `make bench`
IN_MAKE_BENCH = False

def run(settings: Settings, out: Path = OUT, names: tuple[str, ...] | None = None) -> dict[str, Any]:
    from embeddings.backbone import fuse
    from rskg.corpora.features import encoder
    from rskg.evaluation import lodo
    from rskg.headtrain.fit import fit
    from rskg.headtrain.train import ConceptTrainConfig
    from rskg.label_mapping import load_system

    system = load_system(settings)
    results: dict[str, Any] = {"cap": CAP, "config": CONFIG, "variants": {}}
    t_all = time.perf_counter()
    for name in names or tuple(VARIANTS):
        s_over, h_over = VARIANTS[name]
        t0 = time.perf_counter()
        s = settings.model_copy(update=s_over)
        enc = encoder(s, use_head=False)
        corpus = load_subsample(s, enc)
        t_enc = time.perf_counter() - t0
        cfg = ConceptTrainConfig(**{**CONFIG, **h_over})
        res = lodo.run(system, corpus, enc, config=cfg)
        full = fit(system, corpus, enc, config=cfg).head
        fused = fuse(corpus.raw(), enc.stage_dims, enc.fusion)
        results["variants"][name] = {
            "feature_version": enc.feature_version, "n_images": int(len(corpus.family_of())),
            "macro_map": round(res.macro("concept head"), 4),
            "macro_p_at_r065": round(res.macro("concept head", key="p"), 4),
            "macro_map_pc": round(res.macro("concept head P(C)"), 4),
            "pretrained_macro_map": round(res.macro("pretrained"), 4),
            "per_target": {t: round(res.macro("concept head", t), 4) for t in res.targets()},
            "ucm_cbir_map10_head": round(_ucm_cbir(corpus, full.embed_numpy(fused)), 4),
            "ucm_cbir_map10_pretrained": round(_ucm_cbir(corpus, fused), 4),
            "encode_s": round(t_enc, 1), "seconds": round(time.perf_counter() - t0, 1)}
        print(name, results["variants"][name], flush=True)
        out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    results["seconds"] = round(time.perf_counter() - t_all, 1)
    results["load"] = round(os.getloadavg()[0], 1)
    out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    out.write_text(markdown(results), encoding="utf-8")
    write_lodo_section(results)
    return results


LODO = REPO_ROOT / "benchmarks" / "results" / "eval_crossdataset_lodo"
SECTION = "## Levers (subsampled corpus, `python -m benchmarks lodo_variants`)"


def write_lodo_section(r: dict[str, Any], base: Path = LODO) -> None:
    """The variant table as the last section of eval_crossdataset_lodo.md and its JSON (key ``levers``);
    the full-corpus keys (``macro_map``, ``macro_p_at_r065``, per target) stay as `rskg eval crossdataset
    --lodo` wrote them."""
    md_path, js_path = base.with_suffix(".md"), base.with_suffix(".json")
    md = md_path.read_text(encoding="utf-8").split(SECTION)[0].rstrip() + "\n\n"
    body = markdown(r).split("\n", 2)[2]
    md_path.write_text(md + SECTION + "\n" + body, encoding="utf-8")
    js = json.loads(js_path.read_text(encoding="utf-8"))
    js["levers"] = r
    js_path.write_text(json.dumps(js, indent=2, default=float) + "\n", encoding="utf-8")


def markdown(r: dict[str, Any]) -> str:
    lines = ["# LODO levers on a subsampled corpus", "", __doc__.split("\n\n", 1)[1].split("Writes")[0].strip(), "",
             f"Cap {r['cap']} images per reader; head {r['config']['epochs']} epochs x "
             f"{r['config']['per_family']} per family, no cached views. Run time {r.get('seconds', 0):.0f} s, "
             f"load average {r.get('load', '?')} at the end (2 shared cores).", "",
             "| variant | images | pretrained LODO mAP | head LODO mAP | head P(C) mAP | head P@R≥0.65 | "
             "UCM CBIR mAP@10 pretrained / head | encode s |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, v in r["variants"].items():
        lines.append(f"| {name} | {v['n_images']} | {v['pretrained_macro_map']:.3f} | {v['macro_map']:.3f} | "
                     f"{v['macro_map_pc']:.3f} | {v['macro_p_at_r065']:.3f} | {v['ucm_cbir_map10_pretrained']:.3f} / "
                     f"{v['ucm_cbir_map10_head']:.3f} | {v['encode_s']:.0f} |")
    lines += ["", "Per target (head LODO mAP):", "", "| variant | " + " | ".join(
        next(iter(r["variants"].values()))["per_target"]) + " |",
              "| --- |" + " --- |" * len(next(iter(r["variants"].values()))["per_target"])]
    for name, v in r["variants"].items():
        lines.append(f"| {name} | " + " | ".join(f"{x:.3f}" for x in v["per_target"].values()) + " |")
    for note in r.get("notes", []):
        lines += ["", note]
    return "\n".join(lines) + "\n"


def run_full(settings: Settings, backbones: tuple[str, ...] = ("efficientnet-lite1", "efficientnet-lite0"),
             epochs: int = 12, per_family: int = 600) -> dict[str, Any]:
    """The backbone check on the FULL corpus (every row of rskg.headtrain.corpus), same short heads, one run:
    ``python -c "from benchmarks.lodo_variants import run_full; from rskg.settings import load_settings;
    print(run_full(load_settings()))"`` (the numbers in the notes of lodo_variants.json, key full_corpus)."""
    from rskg.corpora.features import encoder
    from rskg.evaluation import lodo
    from rskg.headtrain.corpus import load_corpus
    from rskg.headtrain.train import ConceptTrainConfig
    from rskg.label_mapping import load_system

    system = load_system(settings)
    out: dict[str, Any] = {}
    for name in backbones:
        t0 = time.perf_counter()
        s = settings.model_copy(update={"encoder_backbone": name})
        enc = encoder(s, use_head=False)
        corpus = load_corpus(s, enc, progress=False)
        t_enc = time.perf_counter() - t0
        res = lodo.run(system, corpus, enc, config=ConceptTrainConfig(epochs=epochs, per_family=per_family))
        out[name] = {"macro_map": round(res.macro("concept head"), 4),
                     "macro_p_at_r065": round(res.macro("concept head", key="p"), 4),
                     "macro_map_pc": round(res.macro("concept head P(C)"), 4),
                     "pretrained_macro_map": round(res.macro("pretrained"), 4),
                     "per_target": {t: round(res.macro("concept head", t), 4) for t in res.targets()},
                     "n_images": int(len(corpus.family_of())), "n_cells": len(res.cells),
                     "encode_s": round(t_enc, 1), "seconds": round(time.perf_counter() - t0, 1),
                     "load": round(os.getloadavg()[0], 1)}
    return out
