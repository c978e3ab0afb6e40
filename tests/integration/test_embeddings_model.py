"""Image encoder, IVF-PQ recall and head training on real UCMerced images (marker: model).

One module-scoped set of 420 real UCMerced images (20 per class, from the train part of the fixed
split) is encoded once; raw features are cached in settings.cache_dir (rskg.corpora.features),
keyed by the encoder's feature version and each file's SHA-256, so reruns take seconds.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from embeddings.backbone import fuse
from embeddings.faiss_index import IndexParams, VectorIndex
from embeddings.head import TrainConfig, train_head
from embeddings.head_model import file_digest, load_head
from embeddings.image import ImageEncoder
from embeddings.preprocess import load_rgb
from embeddings.splits import UCM_CLASSES, ucm_split
from rskg.settings import Settings

pytestmark = pytest.mark.model
PER_CLASS = 20


@pytest.fixture(scope="module")
def onnx_encoder(settings: Settings) -> ImageEncoder:
    return ImageEncoder(settings, backend="onnx", use_head=False)


@pytest.fixture(scope="module")
def torch_encoder(settings: Settings) -> ImageEncoder:
    return ImageEncoder(settings, backend="torch", use_head=False)


@pytest.fixture(scope="module")
def ucm_real(settings: Settings, data_dir: Path, onnx_encoder: ImageEncoder) -> dict[str, object]:
    from rskg.corpora.features import raw_features
    from rskg.corpora.images import from_folder

    images = from_folder(settings, "ucmerced")
    train = set(ucm_split(0).train)
    rows: list[int] = []
    for c in UCM_CLASSES:
        rows += [i for i, p in enumerate(images.rel_paths) if p in train and p.startswith(f"images/{c}/")][:PER_CLASS]
    sub = images.subset(rows)
    raw = raw_features(settings, onnx_encoder, sub)
    with open(data_dir / "ucmerced" / "multilabels.csv") as fh:
        ml = {r["image"]: r["labels"].split("|") for r in csv.DictReader(fh)}
    names = sorted({x for v in ml.values() for x in v})
    y_scene = np.asarray([[c == p.split("/")[1] for c in UCM_CLASSES] for p in sub.rel_paths], np.float32)
    y_ml = np.asarray([[n in ml[p] for n in names] for p in sub.rel_paths], np.float32)
    return {"paths": [data_dir / "ucmerced" / p for p in sub.rel_paths], "raw": raw,
            "y": np.hstack([y_scene, y_ml]), "labels": list(UCM_CLASSES) + names, "scene": y_scene.argmax(1)}


def test_encoder_shape_norm_determinism_and_backends(onnx_encoder: ImageEncoder, torch_encoder: ImageEncoder,
                                                     data_dir: Path) -> None:
    paths = [data_dir / "ucmerced" / "images" / c / f"{c}05.jpg" for c in ("beach", "forest", "harbor")]
    imgs = [load_rgb(p) for p in paths]
    a = onnx_encoder.encode(imgs)
    assert a.shape == (3, onnx_encoder.dim) and a.dtype == np.float32 and onnx_encoder.dim == 1712
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a, onnx_encoder.encode(imgs))  # deterministic
    b = torch_encoder.encode(imgs)
    assert np.abs(a - b).max() < 1e-4  # same network, two runtimes
    assert onnx_encoder.version == torch_encoder.version
    # different images differ
    assert float(a[0] @ a[1]) < 0.95
    # the ingest's session (intra-op threads sleep between ops, no spinning) computes the same features
    assert np.array_equal(a, ImageEncoder(onnx_encoder.settings, use_head=False, spinning=False).encode(imgs))


def test_encoder_any_size_and_gsd(onnx_encoder: ImageEncoder, data_dir: Path) -> None:
    img = load_rgb(data_dir / "ucmerced" / "images" / "river" / "river10.jpg")
    sizes = [img[:64, :64], img[:200, :90], np.asarray(np.kron(img, np.ones((2, 2, 1), np.uint8)))[:600, :600]]
    out = onnx_encoder.encode(sizes, [None, 0.3048, 0.3048])
    assert out.shape == (3, onnx_encoder.dim) and np.allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    # GSD resampling does what it says: encoding at gsd g equals encoding the image resampled to the
    # reference GSD by hand and declared at the reference GSD (zoom 1)
    ref = onnx_encoder.settings.encoder_ref_gsd_m
    assert ref is not None
    from PIL import Image

    g = ref / 2.0  # twice as fine as the reference: the network sees the image at half size
    side = max(64, round(256 * g / ref / 32) * 32)
    assert side == 128
    by_hand = np.asarray(Image.fromarray(img).resize((side, side), Image.Resampling.BILINEAR))
    a = onnx_encoder.encode_raw([img], [g])
    b = onnx_encoder.encode_raw([by_hand], [ref])
    assert np.allclose(a, b, atol=1e-5)
    # and it changes the feature compared with ignoring the GSD
    assert not np.allclose(onnx_encoder.encode([img], [g]), onnx_encoder.encode([img]), atol=1e-3)


def test_ivfpq_recall_against_exact_on_real_features(ucm_real: dict[str, object],
                                                     onnx_encoder: ImageEncoder) -> None:
    x = fuse(ucm_real["raw"], onnx_encoder.stage_dims, "multiscale")  # type: ignore[arg-type]
    ids = [f"ucm:{p.name}" for p in ucm_real["paths"]]  # type: ignore[attr-defined]
    exact = VectorIndex.build(ids, x)
    pq = IndexParams(ivfpq_min_vectors=0, nlist=8, pq_m=16, pq_dim=128, nprobe=4, refine_factor=1)
    approx = VectorIndex.build(ids, x, pq)
    refined = VectorIndex.build(ids, x, dataclasses.replace(pq, refine_factor=4))   # the product's default factor
    assert exact.kind == "flat" and approx.kind == refined.kind == "ivfpq" and refined.refined
    q = x[::4]
    t = exact.search(q, 10)
    recall = {}
    for name, idx in (("pq", approx), ("refined", refined)):
        a = idx.search(q, 10)
        recall[name] = float(np.mean([len({h.id for h in r} & {h.id for h in s}) / 10 for r, s in zip(a, t,
                                                                                                  strict=True)]))
    assert recall["pq"] >= 0.6 and recall["refined"] >= 0.95 and recall["refined"] > recall["pq"], recall
    # exact re-ranking: the scores are the exact cosines
    top = refined.search(q[:5], 3)
    for qi, row in enumerate(top):
        for h in row:
            v = x[ids.index(h.id)]
            assert abs(h.score - float(q[qi] @ v / np.linalg.norm(q[qi]) / np.linalg.norm(v))) < 1e-4
    allowed = set(ids[:PER_CLASS * 3])
    assert all({h.id for h in row} <= allowed for row in approx.search(q[:10], 10, restrict_to=allowed))


@pytest.mark.slow  # ~35 s on the shared 2-core machine (10 epochs of head training + a torch encoder)
def test_head_training_reduces_loss_and_is_used_by_encoder(ucm_real: dict[str, object], settings: Settings,
                                                           onnx_encoder: ImageEncoder, tmp_path: Path) -> None:
    enc_settings = settings.model_copy(update={"home": tmp_path})
    x = fuse(ucm_real["raw"], onnx_encoder.stage_dims, "multiscale")  # type: ignore[arg-type]
    y = ucm_real["y"]
    res = train_head(x, y, None, enc_settings, seed=0, labels=ucm_real["labels"],  # type: ignore[arg-type]
                     config=TrainConfig(epochs=10))
    assert res.path is not None and res.path.parent == tmp_path / "models"
    assert res.epoch_loss[-1] < 0.7 * res.epoch_loss[0], res.epoch_loss
    assert res.epoch_pair[-1] < res.epoch_pair[0]
    head = load_head(res.path)
    z = head.embed_numpy(x)
    scene = ucm_real["scene"]
    same = scene[:, None] == scene[None, :]  # type: ignore[index]
    sims = z @ z.T
    assert sims[same].mean() - sims[~same].mean() > 0.3  # classes pulled apart in the trained embedding
    enc = ImageEncoder(enc_settings, backend="torch")
    assert enc.head is not None and enc.dim == 256 and enc.version.endswith(f"head{file_digest(res.path)}")
    out = enc.encode([load_rgb(ucm_real["paths"][0])], [0.3048])  # type: ignore[index]
    assert out.shape == (1, 256) and np.isclose(np.linalg.norm(out), 1.0, atol=1e-5)
