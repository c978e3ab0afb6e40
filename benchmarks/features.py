"""Image features: extraction speed (torch vs ONNX), IVF-PQ recall vs exact, UCMerced content-based
retrieval (pretrained last layer / multi-scale / fine-tuned head), the head's multi-label scores and
cross-dataset prototype retrieval. Writes benchmarks/results/features.md.

Protocols (fixed split ``embeddings.splits.ucm_split(seed=0)``: 70 / 30 % per class):
* CBIR mAP@10 (paper 002): the 630 test images query the 1,470 train images; relevant = same class.
* Head: trained on the 1,470 train images only (21 scene one-hot + 17 UCMerced multi-labels, identity
  label similarity), evaluated on the 630 test images (multi-label columns only).
* Cross-dataset: per shared concept, 10 k-means prototypes of the UCMerced *train* images of the class
  rank all 1,410 target images (EuroSAT RGB 1,000, NWPU 200, RSSCN7 210 subsets); AP over the full
  ranking, mean over the 7 concepts. Relevant target labels are listed in ``_features_lib.CONCEPTS``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from pathlib import Path

import numpy as np
import torch

from benchmarks import _features_lib as L
from embeddings.faiss_index import IndexParams, VectorIndex
from embeddings.head import TrainConfig, train_head
from embeddings.head_model import ProjectionHead
from embeddings.image import ImageEncoder
from embeddings.preprocess import load_rgb
from rskg.evaluation import metrics as M
from rskg.settings import Settings

RESULTS = Path(__file__).parent / "results" / "features.md"


def _slug(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def throughput(settings: Settings, n: int = 48) -> list[str]:
    paths = sorted((settings.data_dir / "ucmerced" / "images").glob("*/*.jpg"))[:: 2100 // n][:n]
    t0 = time.perf_counter()
    imgs = [load_rgb(p) for p in paths]
    decode = (time.perf_counter() - t0) / n
    rows, outs = [], {}
    for backend in ("torch", "onnx"):
        enc = ImageEncoder(settings, backend=backend, use_head=False)  # type: ignore[arg-type]
        for label, gsd in (("224 px (no GSD)", None), (f"GSD 0.3048 m -> ref {settings.encoder_ref_gsd_m} m",
                                                       [0.3048] * n)):
            enc.encode(imgs[:4], None if gsd is None else gsd[:4])  # warm-up
            t0 = time.perf_counter()
            outs[(backend, label)] = enc.encode(imgs, gsd)
            ms = (time.perf_counter() - t0) / n * 1000
            rows.append(f"| {backend} | {label} | {ms:.1f} | {1000 / (ms + decode * 1000):.1f} |")
    diff = max(float(np.abs(outs[("torch", k[1])] - outs[("onnx", k[1])]).max()) for k in outs if k[0] == "onnx")
    return ["## Extraction speed", "",
            f"{n} UCMerced JPEGs, batch 16, {settings.encoder_threads} threads; JPEG decode {decode * 1000:.1f} "
            "ms/image. The machine is shared with other jobs: absolute numbers are noisy, the ratio holds.", "",
            "| backend | input | ms/image (network) | images/s incl. decode |", "|---|---|---|---|", *rows, "",
            f"torch vs ONNX: max |difference| of the features {diff:.2e}.", ""]


def head_eval(name: str, res_head: ProjectionHead, c: L.Corpus, src: np.ndarray, tgt: np.ndarray,
              seconds: float) -> dict[str, object]:
    te = ~c.is_train
    proba = res_head.predict_proba(src[te])[:, c.n_scene:]
    ml = M.multilabel_scores(c.y[te][:, c.n_scene:], proba)
    z, zt = res_head.embed_numpy(src), res_head.embed_numpy(tgt)
    cross = L.cross_dataset(z, zt, c)
    return {"name": name, "ml": ml, "cbir": L.cbir_map10(z, c), "cross": cross, "s": seconds}


def policy_block(settings: Settings, title: str) -> tuple[list[str], dict[str, object]]:
    enc = ImageEncoder(settings, backend="onnx", use_head=False)
    c = L.load_corpus(settings, enc)
    out: list[str] = [f"### {title}", "", f"feature version `{enc.feature_version}`", ""]
    rows = []
    crosses: dict[str, dict[str, float]] = {}
    for fusion in ("last", "multiscale"):
        s, t = L.fused(c, enc, fusion)
        crosses[f"pretrained {fusion}"] = L.cross_dataset(s, t, c)
        rows.append((f"pretrained, {fusion}", L.cbir_map10(s, c), None, None))
    src, tgt = L.fused(c, enc, "multiscale")
    tr = c.is_train
    views = L.train_views(settings, enc, c)
    heads = []
    variants = [("fine-tuned: BCE + pair loss, scale/rotation views", views, 1.0),
                ("fine-tuned: BCE + pair loss, no augmentation", None, 1.0),
                ("fine-tuned: BCE only, scale/rotation views", views, 0.0)]
    for name, v, pw in variants:
        res = train_head(src[tr], c.y[tr], None, settings, seed=0, labels=c.label_names, views=v,
                         config=TrainConfig(pair_weight=pw), feature_version=enc.feature_version,
                         save_to=settings.cache_dir / "bench_heads" / f"{_slug(title + name)}.pt")
        h = head_eval(name, res.head, c, src, tgt, res.seconds)
        heads.append(h)
        crosses[name] = h["cross"]  # type: ignore[assignment]
        rows.append((name, h["cbir"], h["ml"], res.seconds))
    out += ["| features | CBIR mAP@10 | multi-label mAP | macro F1 | micro F1 | train s |",
            "|---|---|---|---|---|---|"]
    for name, cb, ml, sec in rows:
        mls = "| - | - | - " if ml is None else f"| {ml['map']:.3f} | {ml['macro_f1']:.3f} | {ml['micro_f1']:.3f} "
        out.append(f"| {name} | {cb:.3f} {mls}| {'-' if sec is None else f'{sec:.0f}'} |")
    out += ["", "Cross-dataset AP (UCMerced prototypes -> EuroSAT / NWPU / RSSCN7):", "",
            "| features | " + " | ".join(L.CONCEPTS) + " | **mAP** |", "|---" * (len(L.CONCEPTS) + 2) + "|"]
    for name, aps in crosses.items():
        out.append(f"| {name} | " + " | ".join(f"{aps[k]:.2f}" for k in L.CONCEPTS)
                   + f" | **{np.mean(list(aps.values())):.3f}** |")
    out.append("")
    return out, {"corpus": c, "enc": enc, "src": src, "tgt": tgt, "views": views, "n_views": len(views.source)}


def faiss_block(settings: Settings, ctx: dict[str, object], tmp: Path) -> list[str]:
    c: L.Corpus = ctx["corpus"]  # type: ignore[assignment]
    x = np.vstack([ctx["src"], ctx["tgt"]]).astype(np.float32)  # type: ignore[list-item]
    ids = [f"ucm:{k}" for k in c.ucm.keys] + [f"t:{i}" for i in range(len(c.target_tags))]
    q = x[: len(c.ucm)][~c.is_train]
    out = ["## FAISS: IVF-PQ vs exact", "",
           f"{len(x)} real fused features (dim {x.shape[1]}: UCMerced + targets), {len(q)} UCMerced test queries; "
           "recall@10 = overlap of the IVF-PQ top 10 with the exact top 10.", "",
           "| index | build s | file bytes | bytes/vector | search ms/query | recall@10 |", "|---|---|---|---|---|---|"]
    t0 = time.perf_counter()
    exact = VectorIndex.build(ids, x)
    b_exact = time.perf_counter() - t0
    p = exact.save(tmp / "exact.npz")
    t0 = time.perf_counter()
    truth = exact.search(q, 10)
    s_exact = (time.perf_counter() - t0) / len(q) * 1000
    out.append(f"| flat (exact) | {b_exact:.1f} | {L.file_size(p)} | {L.file_size(p) / len(x):.0f} | "
               f"{s_exact:.2f} | 1.000 |")
    base = IndexParams.from_settings(settings)
    t0 = time.perf_counter()
    approx = VectorIndex.build(ids, x, dataclasses.replace(base, ivfpq_min_vectors=0))
    b = time.perf_counter() - t0
    p = approx.save(tmp / "ivfpq.npz")
    for nprobe in sorted({4, base.nprobe, 64}):
        approx.params = dataclasses.replace(approx.params, nprobe=nprobe)   # what search_positions reads
        t0 = time.perf_counter()
        got = approx.search(q, 10)
        ms = (time.perf_counter() - t0) / len(q) * 1000
        rec = np.mean([len({h.id for h in a} & {h.id for h in t}) / 10 for a, t in zip(got, truth, strict=True)])
        out.append(f"| `{approx.factory_string(len(x))}` nprobe {nprobe} | {b:.1f} | {L.file_size(p)} | "
                   f"{L.file_size(p) / len(x):.0f} | {ms:.2f} | {rec:.3f} |")
    out += ["", "The PCA matrix (1712 x 256 floats, 1.75 MB) dominates the IVF-PQ file at this size; codes are "
            f"{base.pq_m} bytes/vector (+ {x.shape[1] * 4} bytes of exact vector with re-ranking, refine factor "
            f"{base.refine_factor}). Below `faiss_ivfpq_min_vectors` ({base.ivfpq_min_vectors}) the product keeps "
            "the exact index.", ""]
    return out


def run(settings: Settings) -> str:
    torch.set_num_threads(max(1, settings.encoder_threads))
    tmp = settings.cache_dir / "bench_features"
    tmp.mkdir(parents=True, exist_ok=True)
    t_all = time.perf_counter()
    lines = ["# Image features benchmark", "", __doc__.split("\n\n", 1)[1].strip(), ""]
    lines += throughput(settings)
    lines += ["## UCMerced retrieval, multi-label head, cross-dataset", "",
              "Reference: DESIGN.md section 7 (pretrained, 224 px) CBIR mAP@10 0.90 last / 0.92 fused, cross-dataset "
              "mAP 0.34; paper 004 reports DenseNet201 multi-label mAP 88.77 % on MLRSNet (a different dataset).", ""]
    ctx_main: dict[str, object] = {}
    policies = [(f"GSD resampled to {settings.encoder_ref_gsd_m} m (max zoom {settings.encoder_max_zoom}), "
                 "the product setting", settings),
                ("GSD ignored: every image resized to 224 px", settings.model_copy(update={"encoder_ref_gsd_m": None}))]
    for title, s in policies:
        block, ctx = policy_block(s, title)
        lines += block
        ctx_main = ctx_main or ctx
    lines += [f"Augmented training views: {ctx_main['n_views']} (rotate/flip, coarser GSD, 2x2 same-class "
              "mosaic per train image), encoded once and cached.", ""]
    lines += faiss_block(settings, ctx_main, tmp)
    lines += [f"Total benchmark time {time.perf_counter() - t_all:.0f} s (features cached in "
              "`RSKG_HOME/cache/eval_raw` and `bench_views` make reruns fast).", ""]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines))
    return str(RESULTS)
