"""BigEarthNet-S2 v1.0 patches: a folder per patch with 12 single-band GeoTIFFs (10/20/60 m) and CORINE
multi-labels (43-class nomenclature) from ``labels.csv`` or the patch's ``*_labels_metadata.json``.

Bands are resampled onto the 10 m grid (band mapping: ``rskg/ingest/bands/sentinel2_bigearthnet.yaml``)
and kept as a (12, 120, 120) uint16 array; the visual path is PCA-3 of the standardised bands. The
footprint is the real UTM extent of the 10 m band reprojected to WGS 84; the acquisition time comes
from the patch name (``S2A_MSIL2A_20170617T113321_36_85`` -> 2017-06-17 11:33:21 UTC).
"""

from __future__ import annotations

import csv
import io
import json
import posixpath
import re
from datetime import UTC, datetime
from typing import Any, ClassVar

import numpy as np

from rskg.errors import DataError
from rskg.ingest.discovery import label_folders
from rskg.ingest.multispectral import (
    BandMap,
    apply_visual,
    fit_visual,
    footprint_wgs84,
    load_band_map,
    read_single_band,
    resample,
)
from rskg.ingest.readers.base import DatasetReader
from rskg.ingest.records import Decoded, Rejected, SampleRef

_TIME = re.compile(r"_(\d{8})T(\d{5,6})_")


def acquisition_time(patch: str) -> datetime | None:
    """Time from a Sentinel-2 product/patch name; 5-digit times are zero-padded (T94033 = 09:40:33)."""
    m = _TIME.search(patch)
    if not m:
        return None
    try:
        return datetime.strptime(m.group(1) + m.group(2).zfill(6), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


class BigEarthNetS2Reader(DatasetReader):
    key = "bigearthnet_43"
    name = "BigEarthNet-S2 v1.0 (CORINE 43 labels)"
    url = "https://bigearthnet.eu"
    license = "CDLA-Permissive-1.0 (contains modified Copernicus Sentinel-2 data)"
    citation = "Sumbul et al., IGARSS 2019"
    sensor = "Sentinel-2 MSI L2A"
    gsd_m = 10.0
    multi_label = True
    default_labels_file = "labels.csv"
    patch_dir: ClassVar[str] = "bigearthnet_s2"
    band_map_name: ClassVar[str] = "sentinel2_bigearthnet"
    classes: ClassVar[tuple[str, ...]] = (
        "Continuous urban fabric", "Discontinuous urban fabric", "Industrial or commercial units",
        "Road and rail networks and associated land", "Port areas", "Airports", "Mineral extraction sites",
        "Dump sites", "Construction sites", "Green urban areas", "Sport and leisure facilities",
        "Non-irrigated arable land", "Permanently irrigated land", "Rice fields", "Vineyards",
        "Fruit trees and berry plantations", "Olive groves", "Pastures",
        "Annual crops associated with permanent crops", "Complex cultivation patterns",
        "Land principally occupied by agriculture, with significant areas of natural vegetation",
        "Agro-forestry areas", "Broad-leaved forest", "Coniferous forest", "Mixed forest",
        "Natural grassland", "Moors and heathland", "Sclerophyllous vegetation",
        "Transitional woodland/shrub", "Beaches, dunes, sands", "Bare rock", "Sparsely vegetated areas",
        "Burnt areas", "Inland marshes", "Peatbogs", "Salt marshes", "Salines", "Intertidal flats",
        "Water courses", "Water bodies", "Coastal lagoons", "Estuaries", "Sea and ocean",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bands: BandMap = load_band_map(self.band_map_name)

    # --- discovery -------------------------------------------------------------------------------
    def _labels_table(self) -> dict[str, list[str]]:
        path = self.labels_file or self.root.join(self.default_labels_file or "")
        if not self.root.fs.exists(path):
            return {}
        text = self.root.fs.cat_file(path).decode("utf-8-sig")
        rows = csv.reader(io.StringIO(text))
        header = next(rows, [])
        if "patch" not in header or "labels" not in header:
            raise DataError(f"{path}: header {header} lacks 'patch' and 'labels'",
                            "Use the labels.csv of the dataset (columns patch,labels,...; labels '|'-separated).")
        ip, lp = header.index("patch"), header.index("labels")
        table: dict[str, list[str]] = {}
        name = posixpath.basename(path)
        for lineno, row in enumerate(rows, start=2):
            where = SampleRef(rel_path=f"{name}#L{lineno}", paths=[path], labels=[])
            if len(row) != len(header):
                self.rejected.append(Rejected(where, f"annotation row has {len(row)} fields, expected {len(header)}"))
                continue
            labels = [x for x in row[lp].split("|") if x]
            bad = [x for x in labels if x not in self.classes]
            if not labels or bad:
                self.rejected.append(Rejected(where, f"patch {row[ip]!r}: "
                                              + (f"unknown labels {bad}" if bad else "empty label set")))
                continue
            table[row[ip]] = labels
        return table

    def discover(self) -> list[SampleRef]:
        start = self.patch_dir if self.root.fs.isdir(self.root.join(self.patch_dir)) else ""
        folders = label_folders(self.root, start=start, max_depth=1)
        if not folders:
            raise DataError(f"no patch folders under {self.root.join(start)}",
                            f"Expected <root>/{self.patch_dir}/<patch>/<patch>_B02.tif ... (BigEarthNet layout).")
        table = self._labels_table()
        refs = []
        for folder in folders[: self.limit] if self.limit else folders:
            patch = posixpath.basename(folder)
            paths = [self.root.join(folder, self.bands.file_pattern.format(patch=patch, band=b))
                     for b in self.bands.names]
            labels = table.get(patch)
            meta: dict[str, object] = {"patch": patch}
            if labels is None:
                meta["json"] = self.root.join(folder, f"{patch}_labels_metadata.json")
            refs.append(SampleRef(rel_path=folder, paths=paths, labels=labels or [], meta=meta))
        return refs

    # --- decoding --------------------------------------------------------------------------------
    def read(self, ref: SampleRef) -> list[bytes]:
        missing = [p for p in ref.paths if not self.root.fs.exists(p)]
        if missing:
            names = ", ".join(posixpath.basename(p) for p in missing)
            raise DataError(f"{ref.rel_path}: {len(ref.paths) - len(missing)} of {len(ref.paths)} band files "
                            f"present, missing {names}", "A BigEarthNet patch needs all 12 band files.")
        blobs = super().read(ref)
        if not ref.labels and "json" in ref.meta:
            try:
                meta = json.loads(self.root.fs.cat_file(str(ref.meta["json"])))
                ref.labels = list(meta["labels"])
            except (OSError, ValueError, KeyError) as exc:
                raise DataError(f"{ref.rel_path}: no labels in the labels file and no readable "
                                f"*_labels_metadata.json ({exc})") from exc
        return blobs

    def decode(self, ref: SampleRef, blobs: list[bytes], sha256: str) -> Decoded:
        for lab in ref.labels:
            if lab not in self.classes:
                raise DataError(f"{ref.rel_path}: unknown label {lab!r}")
        arrays, grids = {}, {}
        for band, blob in zip(self.bands.names, blobs, strict=True):
            arrays[band], grids[band] = read_single_band(blob, f"{ref.rel_path} {band}")
        ref_grid = grids[self.bands.reference]
        for band, g in grids.items():
            if g.crs != ref_grid.crs or np.abs(np.subtract(g.bounds, ref_grid.bounds)).max() > 1.0:
                raise DataError(f"{ref.rel_path}: band {band} does not cover the extent of "
                                f"{self.bands.reference} (bounds {g.bounds} vs {ref_grid.bounds})")
        stack = np.stack([resample(arrays[b], grids[b], ref_grid) for b in self.bands.names])
        return Decoded(ref=ref, sha256=sha256, rgb=None, bands=stack, band_names=self.bands.names,
                       footprint_wkt=footprint_wgs84(ref_grid),
                       acquired_at=acquisition_time(str(ref.meta.get("patch", ref.rel_path))),
                       gsd_m=self.bands.target_gsd_m)

    def visual(self, batch: list[Decoded], state: dict[str, Any]) -> dict[str, Any] | None:
        """PCA-3 of the standardised bands; the basis is fitted once per dataset and kept."""
        new = None
        if "pca" not in state and batch:
            state = {**state, "pca": fit_visual([d.bands for d in batch if d.bands is not None],
                                                self.bands.components, self.bands.clip_percentiles),
                     "band_names": self.bands.names}
            new = state
        for d in batch:
            assert d.bands is not None
            d.rgb = apply_visual(d.bands, state["pca"])
        return new
