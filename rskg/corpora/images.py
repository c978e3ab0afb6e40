"""The images an experiment evaluates, with their labels, from a shared-data folder or from the catalog.

Both sources give the same :class:`EvalImages` record: one row per image with its key (relative path for a
folder, sample id for the catalog), its path relative to the dataset root (what a ground-truth CSV names),
its label sets (``label set id -> labels``), the SHA-256 of its file bytes (the key of the feature cache, so
an image ingested into the catalog and the same file read from the folder share one cached feature) and its
ground sample distance. Pixels are read lazily through ``load(i)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rskg.errors import DataError, NotFoundError
from rskg.settings import Settings

SAMPLES_SQL = "SELECT id, source_path, sha256, gsd_m, storage FROM samples WHERE dataset_id = %s ORDER BY id"
LABELS_SQL = (
    "SELECT sl.sample_id, sl.label_set, sl.label FROM sample_labels sl JOIN samples s ON s.id = sl.sample_id "
    "WHERE s.dataset_id = %s ORDER BY sl.sample_id, sl.label_set, sl.label"
)


@dataclass
class EvalImages:
    dataset: str                                 # dataset id (catalog) or reader key (folder)
    primary_set: str                             # label set holding the scene labels
    keys: list[str]
    rel_paths: list[str]
    label_sets: list[dict[str, list[str]]]       # per image: label set -> labels
    sha256: list[str]
    gsd_m: list[float | None]
    loader: Callable[[int], np.ndarray] = field(repr=False)
    splits: list[str] = field(default_factory=list)   # per image: the dataset's own split ('' when none)

    def __len__(self) -> int:
        return len(self.keys)

    def load(self, i: int) -> np.ndarray:
        return self.loader(i)

    def scene_labels(self) -> list[str]:
        """The first primary label of every image ('' when it has none)."""
        return [(ls.get(self.primary_set) or [""])[0] for ls in self.label_sets]

    def labels_of(self, label_set: str) -> list[list[str]]:
        return [list(ls.get(label_set, [])) for ls in self.label_sets]

    def subset(self, rows: list[int]) -> EvalImages:
        parent = self
        return EvalImages(self.dataset, self.primary_set, [self.keys[i] for i in rows],
                          [self.rel_paths[i] for i in rows], [self.label_sets[i] for i in rows],
                          [self.sha256[i] for i in rows], [self.gsd_m[i] for i in rows],
                          lambda j: parent.load(rows[j]), [self.splits[i] for i in rows] if self.splits else [])


def from_folder(settings: Settings, reader_name: str, folder: str | Path | None = None) -> EvalImages:
    """Every image of a dataset folder (default ``settings.data_dir / <folder name>``) via its ingest reader."""
    from rskg.ingest.discovery import open_root
    from rskg.ingest.readers import reader_class
    from rskg.ingest.records import sha256_of

    cls = reader_class(reader_name)
    path = Path(folder) if folder is not None else settings.data_dir / _DEFAULT_FOLDERS.get(cls.key, cls.key)
    if not path.is_dir():
        raise NotFoundError(f"dataset folder {path} not found",
                            "Set RSKG_DATA_DIR to the shared data folder or pass the dataset folder explicitly.")
    reader = cls(open_root(str(path)))
    refs = reader.discover()
    if not refs:
        raise DataError(f"no images found under {path}", "Check the folder layout (see its README).")
    primary = reader.dataset_id
    shas = [sha256_of(reader.read(ref)) for ref in refs]   # bytes are re-read lazily by load()

    def load(i: int) -> np.ndarray:
        ref = refs[i]
        decoded = reader.decode(ref, reader.read(ref), shas[i])
        if decoded.rgb is None:
            raise DataError(f"{ref.rel_path}: no RGB view", "Evaluate RGB scene datasets only.")
        return decoded.rgb

    label_sets = [{primary: list(r.labels), **{k: list(v) for k, v in r.extra_labels.items()}} for r in refs]
    return EvalImages(primary, primary, [r.rel_path for r in refs], [r.rel_path for r in refs], label_sets, shas,
                      [reader.info.gsd_m] * len(refs), load,
                      [str(r.meta.get("split", "")) for r in refs])


_DEFAULT_FOLDERS = {"ucm": "ucmerced", "eurosat": "eurosat_rgb", "nwpu_resisc45": "nwpu_resisc45",
                    "rsscn7": "rsscn7", "eurosat_full": "eurosat_rgb_full", "nwpu_resisc45_more": "nwpu_resisc45_more",
                    "gid_mtl5": "gid_mtl", "gid_mtl15": "gid_mtl"}


def from_catalog(services: object, settings: Settings, dataset_id: str) -> EvalImages:
    """Every sample of an ingested dataset: ids, labels and checksums from PostgreSQL, pixels from Zarr."""
    from rskg.catalog.zarr_store import PixelStore

    with services.connection() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(SAMPLES_SQL, (dataset_id,)).fetchall()
        label_rows = conn.execute(LABELS_SQL, (dataset_id,)).fetchall()
    if not rows:
        raise NotFoundError(f"dataset {dataset_id!r} has no samples in the catalog",
                            f"Ingest it first (`rskg ingest <folder> --dataset-id {dataset_id}`), or check the id "
                            "with `rskg db` / the datasets table.")
    labels: dict[str, dict[str, list[str]]] = {}
    for sid, label_set, label in label_rows:
        labels.setdefault(sid, {}).setdefault(label_set, []).append(label)
    pixels = PixelStore(settings.zarr_path)
    storages = [r[4] for r in rows]

    def load(i: int) -> np.ndarray:
        try:
            return np.asarray(pixels.read_rgb(storages[i]))
        except Exception as exc:  # zarr raises several KeyError/FileNotFound flavours
            raise DataError(f"pixels of {rows[i][0]} not found in {settings.zarr_path} ({exc})",
                            "Re-ingest the dataset with the same RSKG_HOME so its Zarr pixels exist.") from exc

    return EvalImages(dataset_id, dataset_id, [r[0] for r in rows], [r[1] for r in rows],
                      [labels.get(r[0], {}) for r in rows], [str(r[2]).strip() for r in rows],
                      [None if r[3] is None else float(r[3]) for r in rows], load)
