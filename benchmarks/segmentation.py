"""Segmentation head on GID-MTL: held-out IoU (5 and 15 classes), training time and memory, and the
UCMerced 17-label annotations checked against the head's composition of the same images.

Writes benchmarks/results/segmentation.md and segmentation.json (keys miou5, miou15, ...). The head is
trained to a benchmark path (the installed one, `rskg composition train`, is left alone).
`RSKG_BENCH_SEG_EPOCHS` sets the epochs (default 20).
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from embeddings.preprocess import load_rgb
from embeddings.segmentation import FINE_CLASSES, Segmenter, fractions
from rskg.composition.train import SegTrainConfig, train_segmentation
from rskg.settings import Settings

RESULTS = Path(__file__).parent / "results"
# UCMerced multi-label -> the fine classes whose pixels should be there when the label is
UCM_CHECK: dict[str, tuple[str, ...]] = {
    "water": ("river", "lake", "pond"),
    "trees": ("arbor woodland", "shrub land"),
    "grass": ("natural grassland", "artificial grassland"),
    "field": ("paddy field", "irrigated land", "dry cropland", "garden plot"),
    "buildings": ("industrial land", "urban residential", "rural residential"),
    "pavement": ("traffic land",),
}


def ucm_agreement(settings: Settings, seg: Segmenter) -> dict[str, dict[str, float]]:
    root = settings.data_dir / "ucmerced"
    with (root / "multilabels.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    names = [n for n, _ in FINE_CLASSES]
    fr = []
    for i in range(0, len(rows), 32):
        imgs = [load_rgb(root / r["image"]) for r in rows[i : i + 32]]
        fr += [fractions(m) for m in seg.masks(imgs)]
    frac = np.stack(fr)
    out = {}
    for label, fine in UCM_CHECK.items():
        has = np.array([label in r["labels"].split("|") for r in rows])
        share = frac[:, [names.index(f) for f in fine]].sum(1)
        auc = float(roc_auc_score(has, share)) if 0 < has.sum() < len(has) else float("nan")
        out[label] = {"n_labelled": int(has.sum()), "auc": auc,
                      "present_if_labelled": float((share[has] > 0.01).mean()) if has.any() else float("nan"),
                      "present_if_not": float((share[~has] > 0.01).mean()) if (~has).any() else float("nan"),
                      "mean_share_labelled": float(share[has].mean()) if has.any() else float("nan"),
                      "mean_share_not": float(share[~has].mean()) if (~has).any() else float("nan")}
    return out


def run(settings: Settings) -> dict[str, object]:
    epochs = int(os.environ.get("RSKG_BENCH_SEG_EPOCHS", "20"))
    load0 = os.getloadavg()[0]
    path = settings.cache_dir / "bench" / "segmentation.pt"
    rep = train_segmentation(settings, SegTrainConfig(epochs=epochs), save_to=path)
    t0 = time.perf_counter()
    seg = Segmenter(path, onnx_dir=settings.cache_dir / "onnx", threads=settings.encoder_threads)
    ucm = ucm_agreement(settings, seg)
    t_ucm = time.perf_counter() - t0
    load1 = os.getloadavg()[0]
    out: dict[str, object] = {
        "miou5": round(rep.miou5, 4), "miou15": round(rep.miou15, 4),
        "iou5": {k: round(v, 4) for k, v in rep.iou5.items()},
        "iou15": {k: round(v, 4) for k, v in rep.iou15.items()},
        "epochs": epochs, "n_train": rep.n_train, "n_test": rep.n_test,
        "backbone_maps_s": round(rep.seconds_features, 1), "train_s": round(rep.seconds_train, 1),
        "peak_rss_mb": round(rep.peak_rss_mb), "ucm_compose_s": round(t_ucm, 1),
        "load_avg_start": round(load0, 1), "load_avg_end": round(load1, 1),
        "model_version": rep.info.version, "ucm_agreement": ucm,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "segmentation.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "segmentation.md").write_text(markdown(out))
    return out


def markdown(r: dict[str, Any]) -> str:
    """segmentation.md from the results dict (segmentation.json)."""
    ucm, ntr, nte = r["ucm_agreement"], r["n_train"], r["n_test"]
    lines = [
        "# Segmentation head on GID-MTL (issue 18)", "",
        f"`python -m benchmarks segmentation`: frozen EfficientNet-lite0 maps (strides 8/16/32) + FPN-lite decoder, "
        f"{r['epochs']} epochs, trained on the seeded 80 % of GID-MTL5 ({ntr['gid_mtl5']} images, coarse labels "
        f"through the hierarchy) and GID-MTL15 ({ntr['gid_mtl15']}, fine labels) at once; scored on the "
        f"held-out 20 % ({nte['gid_mtl5']} / {nte['gid_mtl15']} images), undefined pixels ignored.", "",
        f"**mIoU, 5 classes: {r['miou5']:.3f}; 15 classes: {r['miou15']:.3f}**", "",
        f"Time on this 2-core machine (load average {r['load_avg_start']:.1f} at start, {r['load_avg_end']:.1f} at "
        f"end: shared with other work): backbone maps {r['backbone_maps_s']:.0f} s (cached on disk for reruns), "
        f"decoder training {r['train_s']:.0f} s; peak RSS {r['peak_rss_mb']:.0f} MB.", "",
        "| GID-5 class | IoU |", "|---|---|", *[f"| {k} | {v:.3f} |" for k, v in r["iou5"].items()], "",
        "| GID-15 class | IoU |", "|---|---|", *[f"| {k} | {v:.3f} |" for k, v in r["iou15"].items()], "",
        "## UCMerced 17-label annotations vs the head's composition", "",
        "All 2,100 UCMerced images composed by the head (no UCMerced pixel was used in training; GSD differs: "
        "0.3 m vs GID's undocumented one). `present` = share of the label's fine classes above 1 % of the pixels; "
        "AUC = the share as a score for the label (ties counted half, sklearn's roc_auc_score).", "",
        "| label | images with it | AUC | present if labelled | present if not | mean share if labelled | if not |",
        "|---|---|---|---|---|---|---|",
        *[f"| {k} | {v['n_labelled']} | {v['auc']:.3f} | {v['present_if_labelled']:.2f} | {v['present_if_not']:.2f} | "
          f"{v['mean_share_labelled']:.3f} | {v['mean_share_not']:.3f} |" for k, v in ucm.items()], "",
        f"Composing the 2,100 images took {r['ucm_compose_s']:.0f} s (ONNX Runtime).",
    ]
    return "\n".join(lines) + "\n"
