"""UC Merced Land Use (21 classes x 100 aerial images, ~0.3 m) + its 17-label multi-labels.

Multi-labels (Chaudhuri et al. 2018) are attached to the same samples as a second label set,
``<dataset id>_multilabel`` (``ucm_multilabel`` for the real dataset): one image stays one sample,
one Zarr array and one vector, with LABELED edges to both its scene class and its multi-labels.
"""

from __future__ import annotations

from typing import ClassVar

from rskg.ingest.readers.multilabel_csv import read_multilabel_csv
from rskg.ingest.readers.scene_folder import SceneFolderReader
from rskg.ingest.records import SampleRef


class UCMercedReader(SceneFolderReader):
    key = "ucm"
    name = "UC Merced Land Use"
    url = "http://weegee.vision.ucmerced.edu/datasets/landuse.html"
    license = "public domain imagery (USGS); cite Yang & Newsam 2010"
    citation = "Yang & Newsam, ACM GIS 2010"
    sensor = "aerial RGB (USGS National Map Urban Area Imagery)"
    gsd_m = 0.3048
    classes: ClassVar[tuple[str, ...]] = (
        "agricultural", "airplane", "baseballdiamond", "beach", "buildings", "chaparral",
        "denseresidential", "forest", "freeway", "golfcourse", "harbor", "intersection",
        "mediumresidential", "mobilehomepark", "overpass", "parkinglot", "river", "runway",
        "sparseresidential", "storagetanks", "tenniscourt",
    )
    multilabels: ClassVar[tuple[str, ...]] = (
        "airplane", "bare-soil", "buildings", "cars", "chaparral", "court", "dock", "field", "grass",
        "mobile-home", "pavement", "sand", "sea", "ship", "tanks", "trees", "water",
    )
    default_labels_file = "multilabels.csv"

    @property
    def multilabel_set(self) -> str:
        return f"{self.dataset_id}_multilabel"

    def _labels_path(self) -> str | None:
        if self.labels_file:
            return self.labels_file
        default = self.root.join(self.default_labels_file or "")
        return default if self.root.fs.exists(default) else None

    def label_sets(self) -> dict[str, tuple[str, ...]]:
        sets = super().label_sets()
        if self._labels_path():
            sets[self.multilabel_set] = self.multilabels
        return sets

    def discover(self) -> list[SampleRef]:
        refs = super().discover()
        path = self._labels_path()
        if path is None:
            return refs
        table, self.rejected = read_multilabel_csv(self.root, path, self.multilabels)
        for ref in refs:
            labels = table.get(ref.rel_path)
            if labels:
                ref.extra_labels[self.multilabel_set] = labels
        return refs
