"""Where every file rskg writes lives: the one place that joins ``Settings`` folders with file names.

Bottom layer (imports only :mod:`rskg.settings`): ontology, embeddings, mappings, kg, the pipelines and the
front ends all ask here instead of joining ``settings.index_dir / "..."`` themselves.

Derived data of record (rebuilt by ``rskg sync`` / ingest when missing):
  ``home/zarr``                       pixels + feature rows (``Settings.zarr_path``)
  ``home/index/image.npz``            FAISS image index (:func:`image_index_path`, lock :func:`image_index_lock_path`)
  ``home/index/prototypes.npz``       label prototypes (:func:`prototypes_path`)
  ``home/models/image_head.pt``       fine-tuned projection head (:func:`head_path`)
  ``home/models/map_accept.json``     calibrated auto-accept model of label mapping (:func:`accept_model_path`)
  ``home/labelling/<dataset>/``       prepared labelling artefacts (:func:`labelling_dir`)
Caches (safe to delete; recomputed on demand) under ``home/cache``: see the ``*_cache`` functions.
"""

from __future__ import annotations

from pathlib import Path

from rskg.settings import Settings

IMAGE_INDEX_FILE = "image.npz"
PROTOTYPE_FILE = "prototypes.npz"
HEAD_FILE = "image_head.pt"
ACCEPT_MODEL_FILE = "map_accept.json"


# --- derived data ------------------------------------------------------------------------------------------
def image_index_path(settings: Settings) -> Path:
    return settings.index_dir / IMAGE_INDEX_FILE


def image_index_lock_path(settings: Settings) -> Path:
    return settings.index_dir / (IMAGE_INDEX_FILE + ".lock")


def prototypes_path(settings: Settings) -> Path:
    return settings.index_dir / PROTOTYPE_FILE


def head_path(home: Path) -> Path:
    """The projection head file under a runtime folder (``settings.home``)."""
    return home / "models" / HEAD_FILE


def accept_model_path(settings: Settings) -> Path:
    """The label mapping's calibrated accept model (``rskg map train-accept``; absent: the margin rule)."""
    return settings.home / "models" / ACCEPT_MODEL_FILE


def labelling_root(settings: Settings) -> Path:
    return settings.home / "labelling"


def labelling_dir(settings: Settings, dataset: str) -> Path:
    return labelling_root(settings) / dataset


# --- caches ------------------------------------------------------------------------------------------------
def cache_subdir(settings: Settings, name: str) -> Path:
    """``home/cache/<name>``: one folder per cache (features, test fixtures, benchmarks)."""
    return settings.cache_dir / name


def onnx_cache(settings: Settings, backbone_version: str) -> Path:
    return settings.cache_dir / "onnx" / f"{backbone_version}.onnx"


def text_vector_cache(settings: Settings, model_name: str) -> Path:
    return settings.cache_dir / "text_vectors" / f"{model_name}.sqlite"


def caption_models_dir(settings: Settings, key: str) -> Path:
    return settings.cache_dir / "search" / key


def thumbnail_cache(settings: Settings, sha: str, px: int) -> Path:
    return settings.cache_dir / "thumbnails" / f"{sha}_{px}.jpg"


def wikipedia_cache_dir(settings: Settings) -> Path:
    return settings.cache_dir / "wikipedia"


def osm_vocab_cache(settings: Settings, digest: str) -> Path:
    return settings.cache_dir / "osm_vocab" / f"{digest}.json"


def eval_raw_features(settings: Settings, feature_version: str) -> Path:
    return settings.cache_dir / "eval_raw" / f"{feature_version}.npz"


def eval_head_cache(settings: Settings, name: str) -> Path:
    return settings.cache_dir / "eval_heads" / name
