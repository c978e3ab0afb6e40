"""NWPU-RESISC45: Google Earth scenes, 256x256 px, GSD 0.2-30 m (unknown per image), 45 classes in
snake_case. Local subsets may hold fewer classes; every folder must still be one of the 45."""

from __future__ import annotations

from typing import ClassVar

from rskg.ingest.readers.scene_folder import SceneFolderReader


class NWPUResisc45Reader(SceneFolderReader):
    key = "nwpu_resisc45"
    name = "NWPU-RESISC45"
    url = "http://www.escience.cn/people/JunweiHan/NWPU-RESISC45.html"
    license = "research use; cite Cheng et al. 2017"
    citation = "Cheng, Han, Lu, Proc. IEEE 105(10), 2017"
    sensor = "Google Earth RGB"
    gsd_m = None
    classes: ClassVar[tuple[str, ...]] = (
        "airplane", "airport", "baseball_diamond", "basketball_court", "beach", "bridge", "chaparral",
        "church", "circular_farmland", "cloud", "commercial_area", "dense_residential", "desert",
        "forest", "freeway", "golf_course", "ground_track_field", "harbor", "industrial_area",
        "intersection", "island", "lake", "meadow", "medium_residential", "mobile_home_park",
        "mountain", "overpass", "palace", "parking_lot", "railway", "railway_station",
        "rectangular_farmland", "river", "roundabout", "runway", "sea_ice", "ship", "snowberg",
        "sparse_residential", "stadium", "storage_tank", "tennis_court", "terrace",
        "thermal_power_station", "wetland",
    )
