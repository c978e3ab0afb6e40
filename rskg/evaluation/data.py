"""Re-export of :mod:`rskg.corpora.images` for ``rskg/image_training.py`` only (issue 15 rewrites head training;
delete this module once it imports ``rskg.corpora`` directly). New code: import ``rskg.corpora.images``."""

from rskg.corpora.images import EvalImages, from_folder

__all__ = ["EvalImages", "from_folder"]
