"""Re-export: the image sets moved to :mod:`rskg.imagesets` (product code uses them for head training)."""

from rskg.imagesets import SAMPLES_SQL, EvalImages, from_catalog, from_folder

__all__ = ["SAMPLES_SQL", "EvalImages", "from_catalog", "from_folder"]
