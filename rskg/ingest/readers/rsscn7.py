"""RSSCN7: Google Earth scenes, 7 classes. The release spells its folders with an ordering letter
(``aGrass`` ... ``gParking``); the folder names are the source labels, as the dataset spells them."""

from __future__ import annotations

from typing import ClassVar

from rskg.ingest.readers.scene_folder import SceneFolderReader


class RSSCN7Reader(SceneFolderReader):
    key = "rsscn7"
    name = "RSSCN7"
    url = "https://github.com/palewithout/RSSCN7"
    license = "research use; cite Zou et al. 2015"
    citation = "Zou et al., IEEE GRSL 12(11), 2015"
    sensor = "Google Earth RGB"
    gsd_m = None
    classes: ClassVar[tuple[str, ...]] = (
        "aGrass", "bField", "cIndustry", "dRiverLake", "eForest", "fResident", "gParking",
    )
