"""Artefacts of a prepared dataset under ``settings.home/labelling/<dataset>/``:

- ``model.pt``        the trained pipeline (normaliser, FCM centres, U-Net, GNN, config)
- ``chips.json``      sample ids, 2-D chip coordinates, segment counts, labels, timings
- ``segments.npz``    per chip: segment id maps (flattened + shapes) and layer-2 segment embeddings
- ``similarity.npy``  chip x chip Hungarian similarity

Written into a temporary folder and swapped in, so a reader never sees a half-written set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rskg import artifacts
from rskg.errors import NotFoundError, ValidationError
from rskg.labelling.model import PipelineModel
from rskg.settings import Settings

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


def labelling_dir(settings: Settings, dataset: str) -> Path:
    if not _SAFE.match(dataset or ""):
        raise ValidationError(f"bad dataset id {dataset!r}", "Use letters, digits, '_', '-' or '.' only.")
    return artifacts.labelling_dir(settings, dataset)


def prepared(settings: Settings) -> list[str]:
    root = artifacts.labelling_root(settings)
    return sorted(p.name for p in root.iterdir() if (p / "chips.json").exists()) if root.is_dir() else []


@dataclass
class Prepared:
    dataset: str
    sample_ids: list[str]
    xy: np.ndarray                      # (n, 2) in [0, 1]
    seg_maps: list[np.ndarray]          # (H, W) int32 per chip
    embeddings: list[np.ndarray]        # (n_segments, dim) per chip
    similarity: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    labels: list[list[str]] = field(default_factory=list)
    model: PipelineModel | None = None

    def index(self, sample_id: str) -> int:
        try:
            return self.sample_ids.index(sample_id)
        except ValueError as exc:
            raise NotFoundError(f"sample {sample_id!r} is not among the prepared chips of {self.dataset}",
                                "Pick chips from the map of this dataset.") from exc


def save(settings: Settings, p: Prepared) -> Path:
    final = labelling_dir(settings, p.dataset)
    tmp = final.with_name(f".{p.dataset}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if p.model is not None:
        p.model.save(tmp / "model.pt")
    shapes = np.array([m.shape for m in p.seg_maps], np.int64)
    np.savez_compressed(tmp / "segments.npz", shapes=shapes,
                        maps=np.concatenate([m.ravel() for m in p.seg_maps]).astype(np.int32),
                        counts=np.array([len(e) for e in p.embeddings], np.int64),
                        embeddings=np.concatenate(p.embeddings).astype(np.float32))
    np.save(tmp / "similarity.npy", p.similarity.astype(np.float32))
    chips = [{"sample_id": s, "x": float(x), "y": float(y), "n_segments": int(len(e)), "labels": lab}
             for s, (x, y), e, lab in zip(p.sample_ids, p.xy, p.embeddings,
                                          p.labels or [[] for _ in p.sample_ids], strict=True)]
    (tmp / "chips.json").write_text(json.dumps({"dataset": p.dataset, "meta": p.meta, "chips": chips}))
    old = final.with_name(f".{p.dataset}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def load(settings: Settings, dataset: str, with_model: bool = False) -> Prepared:
    d = labelling_dir(settings, dataset)
    if not (d / "chips.json").exists():
        raise NotFoundError(f"dataset {dataset!r} has not been prepared for labelling",
                            f"Run `rskg label prepare {dataset}` first.")
    doc = json.loads((d / "chips.json").read_text())
    z = np.load(d / "segments.npz")
    shapes, counts = z["shapes"], z["counts"]
    sizes = shapes.prod(1)
    mo, eo = np.cumsum(np.r_[0, sizes]), np.cumsum(np.r_[0, counts])
    maps = [z["maps"][mo[i]:mo[i + 1]].reshape(shapes[i]) for i in range(len(shapes))]
    embs = [z["embeddings"][eo[i]:eo[i + 1]] for i in range(len(counts))]
    chips = doc["chips"]
    return Prepared(dataset, [c["sample_id"] for c in chips],
                    np.array([[c["x"], c["y"]] for c in chips], np.float32).reshape(-1, 2), maps, embs,
                    np.load(d / "similarity.npy"), doc.get("meta", {}), [c.get("labels", []) for c in chips],
                    PipelineModel.load(d / "model.pt") if with_model else None)
