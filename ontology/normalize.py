"""Spelling normalisation of labels: the derivable part of label -> concept alignment.

``label_key`` folds case, separators (``_ - & / , .``), camelCase and English plurals, so that
"storagetanks", "storage_tank", "StorageTanks" and "Storage tank" share one key.  Words are
joined without separators because some datasets (UCMerced) drop them ("denseresidential").
"""

from __future__ import annotations

import re

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_WORD = re.compile(r"[a-z0-9]+")
_KEEP_S = ("ss", "us", "is", "ys")


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(_KEEP_S):
        return word[:-1]
    return word


def words(label: str) -> list[str]:
    """Lower-case words of a label, camelCase split: 'dRiverLake' -> ['d', 'river', 'lake']."""
    return _WORD.findall(_CAMEL.sub(r"\1 \2", label).lower())


def label_key(label: str) -> str:
    """Comparison key of a label (see module doc)."""
    return "".join(_singular(w) for w in words(label))


def display_label(label: str) -> str:
    """Readable lower-case form of a dataset spelling: 'StorageTanks' -> 'storage tanks'."""
    return " ".join(words(label))


def slug(label: str) -> str:
    """snake_case id candidate for a new concept: 'Storage tank' -> 'storage_tank'."""
    return "_".join(words(label))
