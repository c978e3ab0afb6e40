"""A TorchGeo-style dataset over an rskg ImageFolder / STAC export (no torchgeo import: it is not installed).

Follows TorchGeo's ``NonGeoDataset`` conventions: ``classes`` as an attribute, ``__getitem__`` returns a
``{"image": FloatTensor (C, H, W), "label": LongTensor ()}`` sample, an optional ``transforms`` callable
applied to that dict, ``__len__``, a ``plot`` helper, and errors that tell the user what to do.

The export's ``items.csv`` is the index: one row per (sample, concept) with the image path; ``classes`` are the
concept ids of the export, sorted, and ``label`` is the class index.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from rskg.errors import DataError

ITEMS_FILE = "items.csv"


class RskgExportDataset(Dataset[dict[str, torch.Tensor]]):
    """Samples of an rskg composite-dataset export (``rskg dataset export ID --format imagefolder|stac``)."""

    def __init__(self, root: str | Path = "data", transforms: Callable[[dict[str, torch.Tensor]],
                 dict[str, torch.Tensor]] | None = None, kinds: tuple[str, ...] = ("direct", "supplementary")) -> None:
        self.root = Path(root)
        self.transforms = transforms
        self._verify()
        with (self.root / ITEMS_FILE).open(newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.DictReader(fh) if r["kind"] in kinds]
        missing = [r["image"] for r in rows if not r.get("image")]
        if missing:
            raise DataError(f"{self.root} is a CSV-only export (items without images)",
                            "Export with `rskg dataset export ID --format imagefolder --out DIR` (or stac).")
        self.rows = rows
        self.classes: list[str] = sorted({r["concept_id"] for r in rows})
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def _verify(self) -> None:
        if not (self.root / ITEMS_FILE).is_file():
            raise DataError(f"no {ITEMS_FILE} in {self.root}: not an rskg export",
                            "Create one with `rskg dataset export ID --format imagefolder --out DIR` and pass DIR.")

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        row = self.rows[index]
        path = self.root / row["image"]
        try:
            with Image.open(path) as im:
                arr = np.asarray(im.convert("RGB"), dtype=np.float32)
        except FileNotFoundError as exc:
            raise DataError(f"image {path} of the export is missing", "Export the dataset again.") from exc
        sample = {"image": torch.from_numpy(arr).permute(2, 0, 1).contiguous(),
                  "label": torch.tensor(self.class_to_idx[row["concept_id"]], dtype=torch.long)}
        if self.transforms is not None:
            sample = self.transforms(sample)
        return sample

    def meta(self, index: int) -> dict[str, Any]:
        """The export row of a sample (source dataset, license, evidence...)."""
        return dict(self.rows[index])

    def plot(self, sample: dict[str, torch.Tensor], show_titles: bool = True, suptitle: str | None = None) -> Any:
        import matplotlib.pyplot as plt

        img = sample["image"].permute(1, 2, 0).numpy()
        fig, ax = plt.subplots(1, 1, figsize=(4, 4))
        ax.imshow(np.clip(img / 255.0, 0, 1))
        ax.axis("off")
        if show_titles:
            ax.set_title(self.classes[int(sample["label"])])
        if suptitle is not None:
            fig.suptitle(suptitle)
        return fig
