"""Cached scale / rotation views of the corpus's trainable images (encoded once, reused by every head).

Each trainable image gets ONE extra view (compute is the limit): a ``coarse`` view (downsampled by 0.15-0.35,
i.e. what a lower-resolution sensor sees: it brings the sub-metre datasets towards EuroSAT's 10 m look) or a
``mosaic`` (2x2 tiles of the same class at half size: a larger ground footprint), chosen at random per image;
EuroSAT chips (64 px, already coarse) get a ``rotate`` view. Views keep their image's labels (a mosaic: the
union of its tiles'). Raw pooled stages are cached in ``cache_dir/head_views/<feature version>-<key>.npz``.
"""

from __future__ import annotations

import hashlib
import logging

import numpy as np

from embeddings import augment
from rskg import atomic
from rskg.headtrain.corpus import Corpus
from rskg.settings import Settings

log = logging.getLogger(__name__)
COARSE = (0.15, 0.35)


def corpus_views(settings: Settings, enc: object, corpus: Corpus, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(raw stages (M, raw dim), corpus row (M,)) of one view per trainable image."""
    version = enc.feature_version  # type: ignore[attr-defined]
    shas = [s for p in corpus.parts for s, t in zip(p.images.sha256, p.trainable, strict=True) if t]
    key = hashlib.sha256(f"{seed}|{COARSE}|".encode() + "|".join(shas).encode()).hexdigest()[:12]
    path = settings.cache_dir / "head_views" / f"{version}-{key}.npz"
    if path.exists():
        with np.load(path) as z:
            return z["raw"], z["rows"]
    rng = np.random.default_rng(seed)
    raws: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    offset = 0
    for p in corpus.parts:
        idx = np.flatnonzero(p.trainable)
        labels = p.images.scene_labels()
        members: dict[str, list[int]] = {}
        for i in idx:
            members.setdefault(labels[i], []).append(int(i))
        for s in range(0, len(idx), 32):
            chunk = idx[s : s + 32]
            imgs, gsds = [], []
            for i in chunk:
                img, g = p.images.load(int(i)), p.images.gsd_m[int(i)]
                kind = "rotate" if p.reader == "eurosat_full" else ("coarse" if rng.random() < 0.5 else "mosaic")
                if kind == "rotate":
                    v, vg = augment.rotate_flip(img, rng), g
                elif kind == "coarse":
                    f = float(rng.uniform(*COARSE))
                    v, vg = augment.coarse(img, f), (None if g is None else g / f)
                else:
                    pool = members[labels[i]]
                    tiles = [augment.rotate_flip(img, rng)] + [
                        augment.rotate_flip(p.images.load(int(j)), rng) for j in rng.choice(pool, 3)]
                    v, vg = augment.mosaic(tiles, 2), (None if g is None else g * 2)
                imgs.append(v)
                gsds.append(vg)
            raws.append(enc.encode_raw(imgs, gsds))  # type: ignore[attr-defined]
            rows.append(offset + chunk)
        offset += len(p.images)
        log.info("views of %s: %d", p.reader, len(idx))
    raw, row = np.vstack(raws).astype(np.float32), np.concatenate(rows).astype(np.int64)
    atomic.savez(path, raw=raw, rows=row)
    return raw, row
