"""Re-export: label -> concept matching moved to :mod:`rskg.label_concepts` (head training uses it too)."""

from rskg.label_concepts import LabelMatch, carriers, descendants, is_same_concept, label_concepts, match_label

__all__ = ["LabelMatch", "carriers", "descendants", "is_same_concept", "label_concepts", "match_label"]
