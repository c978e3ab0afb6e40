"""Ground-truth CSV files: header ``image,labels``; ``image`` a path relative to the dataset root (as the
catalog's ``samples.source_path``), ``labels`` a ``|``-separated list (the layout of UCMerced's
``multilabels.csv``). Other columns are ignored."""

from __future__ import annotations

import csv
import posixpath
from dataclasses import dataclass
from pathlib import Path

from rskg.errors import DataError, NotFoundError


@dataclass
class Truth:
    rows: dict[str, set[str]]          # image path -> labels
    labels: list[str]                  # every label, in first-seen order
    path: Path

    def lookup(self, rel_paths: list[str]) -> list[set[str] | None]:
        """Labels of each image (by exact path, else by unique file name); None when the CSV lacks it."""
        by_name: dict[str, list[str]] = {}
        for k in self.rows:
            by_name.setdefault(posixpath.basename(k), []).append(k)
        out: list[set[str] | None] = []
        for p in rel_paths:
            if p in self.rows:
                out.append(self.rows[p])
                continue
            cands = by_name.get(posixpath.basename(p), [])
            out.append(self.rows[cands[0]] if len(cands) == 1 else None)
        return out


def read_truth(path: str | Path) -> Truth:
    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"ground-truth file {p} not found", "Pass a CSV with columns image,labels.")
    with p.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = reader.fieldnames or []
        if "image" not in fields or "labels" not in fields:
            raise DataError(f"{p}: header is {fields}, not image,labels",
                            "Write a header line `image,labels` (labels separated by '|').")
        rows: dict[str, set[str]] = {}
        order: dict[str, None] = {}
        for n, r in enumerate(reader, start=2):
            image = (r.get("image") or "").strip()
            if not image:
                raise DataError(f"{p}, line {n}: empty image path", "Every row needs an image path.")
            labels = [x.strip() for x in (r.get("labels") or "").split("|") if x.strip()]
            rows[image] = set(labels)
            order.update(dict.fromkeys(labels))
    if not rows:
        raise DataError(f"{p} has no rows", "Add one row per image: image,labels.")
    return Truth(rows, list(order), p)
