"""NWPU-RESISC45, the second draw (``nwpu_resisc45_more/``: 1,000 more images of the same 10 classes)."""

from __future__ import annotations

from rskg.ingest.readers.nwpu_resisc45 import NWPUResisc45Reader


class NWPUResisc45MoreReader(NWPUResisc45Reader):
    key = "nwpu_resisc45_more"
    name = "NWPU-RESISC45 (second draw, 10 classes)"
    vocabulary = "nwpu_resisc45"
