"""Image features of catalog samples, read from the Zarr feature store written by ingestion.

Layout (rskg.catalog.zarr_store): ``features/<dataset>/<encoder key>/{vectors, ids, vector_ids}``; the
group attribute ``encoder_version`` names the encoder. Retrieval uses the rows whose encoder version equals
the image index's version, so prototypes and the index always live in one feature space.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import numpy as np
import zarr

from rskg.catalog.zarr_store import FeatureStore, open_root
from rskg.errors import NotFoundError
from rskg.settings import Settings


def _stores(settings: Settings, encoder_version: str) -> list[FeatureStore]:
    root = open_root(settings.zarr_path)
    if "features" not in root:
        return []
    out = []
    feats = root["features"]
    assert isinstance(feats, zarr.Group)
    for ds_name, ds_group in sorted(feats.groups()):
        for _, enc_group in sorted(ds_group.groups()):
            if enc_group.attrs.get("encoder_version") == encoder_version:
                out.append(FeatureStore(root, ds_name, encoder_version, int(cast(int, enc_group.attrs["dim"]))))
    return out


def load_features(settings: Settings, encoder_version: str,
                  only: Iterable[str] | None = None) -> tuple[list[str], np.ndarray]:
    """(sample ids, float32 matrix) of every stored feature of that encoder (optionally only some ids)."""
    wanted = set(only) if only is not None else None
    ids: list[str] = []
    mats: list[np.ndarray] = []
    dim = 0
    for fs in _stores(settings, encoder_version):
        sids, _, vecs, _ = fs.load()
        dim = fs.dim
        if wanted is not None:
            keep = [i for i, s in enumerate(sids) if s in wanted]
            sids, vecs = [sids[i] for i in keep], vecs[keep]
        ids.extend(sids)
        mats.append(vecs.astype(np.float32))
    matrix = np.vstack(mats) if mats else np.zeros((0, dim), np.float32)
    return ids, matrix


def sample_feature(settings: Settings, encoder_version: str, sample_id: str) -> np.ndarray:
    """The stored feature of one sample (query by example)."""
    dataset = sample_id.split(":", 1)[0]
    for fs in _stores(settings, encoder_version):
        if not fs.name.startswith(f"features/{dataset}/"):
            continue
        sids, _, vecs, _ = fs.load()
        if sample_id in sids:
            return np.asarray(vecs[sids.index(sample_id)], np.float32)
    raise NotFoundError(f"no feature stored for sample {sample_id!r} (encoder {encoder_version})",
                        "Check the sample id (`<dataset>:<path>`), or ingest its dataset again so its "
                        "features are computed with the current encoder.")
