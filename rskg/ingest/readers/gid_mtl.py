"""GID-MTL (PSC5 / PSC15): Gaofen-2 crops, 224x224 px, with a scene label (``scenes.csv``) and a pixel mask.

Two versions with their own class lists: ``gid_mtl5`` (5 classes, 1,391 images) and ``gid_mtl15`` (15
classes, 767 images). The root may be ``gid_mtl/`` (the version's sub-folder is used) or the version folder
itself. The mask path (``masks/<class>/<n>.png``) is kept in ``ref.meta["mask"]`` for segmentation work;
masks are not ingested here. GSD: not documented by GID-MTL (left unknown unless ``--gsd`` or a
``dataset.yaml`` says it).
"""

from __future__ import annotations

import csv
import io
import posixpath
from typing import ClassVar

from rskg.errors import DataError
from rskg.ingest.readers.scene_folder import SceneFolderReader
from rskg.ingest.records import SampleRef


class GIDMTL5Reader(SceneFolderReader):
    key = "gid_mtl5"
    name = "GID-MTL5 (PSC5, Gaofen-2 scene crops)"
    url = "https://github.com/XiangtaoZheng/GID-MTL"
    license = "research use; cite Tong et al. 2020 (GID)"
    citation = "Tong et al., Remote Sensing of Environment 237, 2020 (GID)"
    sensor = "Gaofen-2 (GF-2) RGB"
    gsd_m = None
    subfolder: ClassVar[str] = "gid_mtl5"
    classes: ClassVar[tuple[str, ...]] = ("builtup", "farmland", "forest", "meadow", "water")

    def version_root(self) -> str:
        return self.subfolder if self.root.fs.isdir(self.root.join(self.subfolder)) else ""

    def discover(self) -> list[SampleRef]:
        base = self.version_root()
        path = self.root.join(base, "scenes.csv") if base else self.root.join("scenes.csv")
        if not self.root.fs.exists(path):
            raise DataError(f"{path} not found",
                            f"Point at gid_mtl/ or gid_mtl/{self.subfolder}/ (it holds scenes.csv and images/).")
        rows = list(csv.DictReader(io.StringIO(self.root.fs.cat_file(path).decode("utf-8-sig"))))
        per_class: dict[str, int] = {}
        refs: list[SampleRef] = []
        for r in sorted(rows, key=lambda r: (r["scene_class"], _num(r["image"]))):
            label = r["scene_class"]
            self.check_label(label, f"{path}: {r['image']}")
            per_class[label] = per_class.get(label, 0) + 1
            if self.limit and per_class[label] > self.limit:
                continue
            rel = posixpath.join(base, r["image"]) if base else r["image"]
            mask = posixpath.splitext(rel.replace("images/", "masks/", 1))[0] + ".png"
            refs.append(SampleRef(rel_path=rel, paths=[self.root.join(rel)], labels=[label],
                                  meta={"mask": self.root.join(mask)}))
        return refs


def _num(image: str) -> tuple[int, str]:
    stem = posixpath.splitext(posixpath.basename(image))[0]
    return (int(stem), stem) if stem.isdigit() else (0, stem)


class GIDMTL15Reader(GIDMTL5Reader):
    key = "gid_mtl15"
    name = "GID-MTL15 (PSC15, Gaofen-2 scene crops)"
    subfolder = "gid_mtl15"
    classes = (
        "industrial_land", "urban_residential", "rural_residential", "traffic_land", "paddy_field",
        "irrigated_land", "dry_cropland", "garden_plot", "arbor_woodland", "shrub_land", "natural_grassland",
        "artificial_grassland", "river", "lake", "pond",
    )
