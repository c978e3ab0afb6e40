"""ImageFolder-style scene datasets: ``<root>/<image_dir>/<class>/<file>``, one label per image."""

from __future__ import annotations

import posixpath
from typing import ClassVar

import numpy as np

from rskg import imaging
from rskg.errors import DataError
from rskg.ingest.discovery import label_folders, list_files
from rskg.ingest.readers.base import DatasetReader
from rskg.ingest.records import Decoded, SampleRef

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")


def decode_rgb(blob: bytes, where: str) -> np.ndarray:
    """Decode an image file to uint8 (H, W, 3); truncated, corrupt or over-budget files raise DataError."""
    arr = imaging.decode_rgb(blob, where)
    if arr.ndim != 3 or arr.shape[0] < 8 or arr.shape[1] < 8:
        raise DataError(f"{where}: image too small or malformed, shape {arr.shape}")
    return arr


class SceneFolderReader(DatasetReader):
    """Generic reader; subclasses fix the class names, the image folder and the metadata."""

    image_dir: ClassVar[str] = "images"        # folder (relative to the root) that holds the classes
    suffixes: ClassVar[tuple[str, ...]] = IMAGE_SUFFIXES

    def image_root(self) -> str:
        return self.image_dir if self.root.fs.isdir(self.root.join(self.image_dir)) else ""

    def discover(self) -> list[SampleRef]:
        start = self.image_root()
        folders = label_folders(self.root, start=start, max_depth=1)
        if not folders:
            raise DataError(f"no class folders with images under {self.root.join(start)}",
                            f"Expected <root>/{self.image_dir}/<class>/<image> (ImageFolder layout).")
        files = list_files(self.root, folders, self.suffixes)
        refs: list[SampleRef] = []
        for folder in folders:
            label = self.label_of(posixpath.basename(folder))
            self.check_label(label, folder)
            chosen = files[folder][: self.limit] if self.limit else files[folder]
            refs += [SampleRef(rel_path=self.root.rel(p), paths=[p], labels=[label]) for p in chosen]
        return refs

    def label_of(self, folder_name: str) -> str:
        """The label of a class folder (the folder name unless a dataset spells it otherwise)."""
        return folder_name

    def decode(self, ref: SampleRef, blobs: list[bytes], sha256: str) -> Decoded:
        return Decoded(ref=ref, sha256=sha256, rgb=decode_rgb(blobs[0], ref.rel_path),
                       gsd_m=self.info.gsd_m, encoded=blobs[0])


class ImageFolderReader(SceneFolderReader):
    """Any ImageFolder dataset: the class folders found are the labels (no fixed class list)."""

    key = "imagefolder"
    name = "ImageFolder dataset"

    def label_sets(self) -> dict[str, tuple[str, ...]]:
        return {self.dataset_id: tuple(sorted({r.labels[0] for r in self.discover()}))}
