"""EuroSAT RGB, the complete release (27,000 chips, 64x64 px, 10 m) with the fixed 80/20 ``splits.csv``.

Same classes and label vocabulary as :class:`~rskg.ingest.readers.eurosat.EuroSATReader`; every sample
carries its split (``ref.meta["split"]``: train or test) from ``splits.csv`` when the file is there.
"""

from __future__ import annotations

import csv
import io
from typing import ClassVar

from rskg.errors import DataError
from rskg.ingest.readers.eurosat import EuroSATReader
from rskg.ingest.records import SampleRef


class EuroSATFullReader(EuroSATReader):
    key = "eurosat_full"
    name = "EuroSAT (RGB, all 27,000 images)"
    vocabulary = "eurosat"
    splits_file: ClassVar[str] = "splits.csv"

    def splits(self) -> dict[str, str]:
        path = self.root.join(self.splits_file)
        if not self.root.fs.exists(path):
            return {}
        rows = list(csv.DictReader(io.StringIO(self.root.fs.cat_file(path).decode("utf-8-sig"))))
        if rows and not {"image", "split"} <= set(rows[0]):
            raise DataError(f"{path}: columns {sorted(rows[0])} lack image,split",
                            "Use the splits.csv of eurosat_rgb_full (columns image,split).")
        return {r["image"]: r["split"] for r in rows}

    def discover(self) -> list[SampleRef]:
        refs = super().discover()
        split = self.splits()
        for r in refs:
            if r.rel_path in split:
                r.meta["split"] = split[r.rel_path]
        return refs
