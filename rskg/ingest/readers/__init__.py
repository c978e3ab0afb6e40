"""Dataset readers, one per module; ``READERS`` maps a ``--dataset`` name to its reader class."""

from __future__ import annotations

from rskg.errors import ConfigError
from rskg.ingest.readers.base import DatasetReader
from rskg.ingest.readers.bigearthnet import BigEarthNetS2Reader
from rskg.ingest.readers.eurosat import EuroSATReader
from rskg.ingest.readers.eurosat_full import EuroSATFullReader
from rskg.ingest.readers.gid_mtl import GIDMTL5Reader, GIDMTL15Reader
from rskg.ingest.readers.nwpu_more import NWPUResisc45MoreReader
from rskg.ingest.readers.nwpu_resisc45 import NWPUResisc45Reader
from rskg.ingest.readers.rsscn7 import RSSCN7Reader
from rskg.ingest.readers.scene_folder import ImageFolderReader
from rskg.ingest.readers.ucmerced import UCMercedReader

READERS: dict[str, type[DatasetReader]] = {
    r.key: r for r in (UCMercedReader, EuroSATReader, EuroSATFullReader, NWPUResisc45Reader,
                       NWPUResisc45MoreReader, RSSCN7Reader, GIDMTL5Reader, GIDMTL15Reader,
                       BigEarthNetS2Reader, ImageFolderReader)
}
ALIASES = {"ucmerced": "ucm", "eurosat_rgb": "eurosat", "nwpu": "nwpu_resisc45", "resisc45": "nwpu_resisc45",
           "bigearthnet": "bigearthnet_43", "sentinel2_ms": "bigearthnet_43", "bigearthnet_s2": "bigearthnet_43",
           "eurosat_rgb_full": "eurosat_full", "gid": "gid_mtl5"}


def reader_class(name: str) -> type[DatasetReader]:
    key = ALIASES.get(name, name)
    if key not in READERS:
        raise ConfigError(f"no reader for dataset {name!r}",
                          f"Use one of {', '.join(sorted(READERS))} (imagefolder = any <class>/<image> tree).")
    return READERS[key]


__all__ = ["READERS", "DatasetReader", "reader_class"]
