"""Re-export of :mod:`rskg.corpora.features` for ``rskg/image_training.py`` only (issue 15 rewrites head training;
delete this module once it imports ``rskg.corpora`` directly). New code: import ``rskg.corpora.features``."""

from rskg.corpora.features import raw_features

__all__ = ["raw_features"]
