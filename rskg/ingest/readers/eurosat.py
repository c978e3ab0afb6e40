"""EuroSAT RGB: Sentinel-2 RGB patches, 64x64 px, 10 m, 10 classes spelled in CamelCase."""

from __future__ import annotations

from typing import ClassVar

from rskg.ingest.readers.scene_folder import SceneFolderReader


class EuroSATReader(SceneFolderReader):
    key = "eurosat"
    name = "EuroSAT (RGB)"
    url = "https://github.com/phelber/EuroSAT"
    license = "MIT (contains modified Copernicus Sentinel data)"
    citation = "Helber et al., IEEE JSTARS 12(7), 2019"
    sensor = "Sentinel-2 MSI (B04, B03, B02)"
    gsd_m = 10.0
    classes: ClassVar[tuple[str, ...]] = (
        "AnnualCrop", "Forest", "HerbaceousVegetation", "Highway", "Industrial", "Pasture",
        "PermanentCrop", "Residential", "River", "SeaLake",
    )
