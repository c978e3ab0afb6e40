"""UCM-Captions (settings.data_dir/ucmerced/captions.csv): 5 sentences per image with train/val/test splits."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from rskg.errors import DataError, NotFoundError
from rskg.settings import Settings

HEADER = ["image", "sentence_id", "split", "sentence"]
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Caption:
    image: str            # path relative to the dataset folder, e.g. images/harbor/harbor07.jpg
    sentence_id: int
    split: str
    sentence: str


def captions_path(settings: Settings) -> Path:
    return settings.data_dir / "ucmerced" / "captions.csv"


def read_captions(path: Path) -> list[Caption]:
    if not path.is_file():
        raise NotFoundError(f"no captions file at {path}", "Set RSKG_DATA_DIR to the shared data folder.")
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != HEADER:
            raise DataError(f"{path} has header {header}, expected {HEADER}",
                            "Use the UCM-Captions CSV described in the dataset README.")
        out = []
        for n, row in enumerate(reader, start=2):
            if len(row) != 4 or row[2] not in SPLITS:
                raise DataError(f"{path} line {n} is malformed: {row[:4]}", "Restore the file from the shared data.")
            out.append(Caption(row[0], int(row[1]), row[2], row[3].strip()))
    return out


def by_split(captions: list[Caption], split: str) -> list[Caption]:
    return [c for c in captions if c.split == split]
