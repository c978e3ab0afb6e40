"""ADJACENT_TO from label co-occurrence (paper 000 §3.3, Eq. 1 third case).

A *sample* contributes the set of concepts its labels map to (through the label system's curated
mappings). Sources on the real data:
- UCMerced: ``ucmerced/multilabels.csv`` — the 17 multi-labels of each of the 2,100 images
  (dataset ``ucm_multilabel``) plus the image's scene class, its folder name (dataset ``ucm``), so
  scene classes become adjacent to the objects their images contain;
- Sentinel-2: ``sentinel2_ms/labels.csv`` — the CORINE multi-labels of BigEarthNet patches
  (dataset ``bigearthnet_43``).
- overlapping footprints (``add_cross``): catalog samples of two datasets whose footprints intersect
  (PostGIS, ``rskg.adjacency``); the concepts of one co-occur with those of the other.
cooccurrence(A, B) = number of samples whose concept set holds both A and B. Pairs where one concept
is an ancestor of the other are skipped (that relation is SUBCLASS_OF, "no direct relationship" in
the paper), as are pairs below ``settings.adjacency_min_cooccurrence`` and pairs whose lift
n_ab * N / (n_a * n_b) is below ``settings.adjacency_min_lift``: a label present in half of all images
("trees") co-occurs often with everything without being associated with anything, and with raw counts
alone every query reached 284 of the 293 concepts (measured; see docs/mapping.md).
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ontology.model import LabelSystem
from rskg.errors import DataError

Sample = list[tuple[str, str]]          # (dataset id, label) pairs of one sample


def ucm_samples(data_dir: Path, scene_ds: str = "ucm", multi_ds: str = "ucm_multilabel") -> list[Sample]:
    path = data_dir / "ucmerced" / "multilabels.csv"
    if not path.is_file():
        raise DataError(f"missing {path}", "Set RSKG_DATA_DIR to the shared data folder.")
    out = []
    with path.open(newline="") as f:
        for row in csv.DictReader(f):
            parts = Path(row["image"]).parts
            scene = parts[-2] if len(parts) >= 2 else None
            labels = [(multi_ds, lb) for lb in row["labels"].split("|") if lb]
            out.append(([(scene_ds, scene)] if scene else []) + labels)
    return out


def s2_samples(data_dir: Path, ds: str = "bigearthnet_43") -> list[Sample]:
    path = data_dir / "sentinel2_ms" / "labels.csv"
    if not path.is_file():
        raise DataError(f"missing {path}", "Set RSKG_DATA_DIR to the shared data folder.")
    with path.open(newline="") as f:
        return [[(ds, lb) for lb in row["labels"].split("|") if lb] for row in csv.DictReader(f)]


def ancestors(system: LabelSystem, cid: str) -> set[str]:
    out: set[str] = set()
    stack = list(system.concepts[cid].parents) if cid in system.concepts else []
    while stack:
        p = stack.pop()
        if p not in out:
            out.add(p)
            stack += system.concepts[p].parents if p in system.concepts else []
    return out


@dataclass
class Cooccurrence:
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)
    sources: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    unmapped: Counter[tuple[str, str]] = field(default_factory=Counter)
    singles: Counter[str] = field(default_factory=Counter)     # samples holding each concept
    n_samples: int = 0

    def add(self, system: LabelSystem, samples: Iterable[Sample], source: str,
            lookup: dict[tuple[str, str], str] | None = None) -> None:
        """Count ``samples``; labels become concepts through ``lookup`` (default: the curated mappings)."""
        if lookup is None:
            lookup = {(m.dataset, m.name): m.concept_id for m in system.mappings}
        anc: dict[str, set[str]] = {}
        for sample in samples:
            concepts = set()
            for key in sample:
                cid = lookup.get(key)
                if cid is None:
                    self.unmapped[key] += 1
                else:
                    concepts.add(cid)
            self.n_samples += 1
            self.singles.update(concepts)
            ordered = sorted(concepts)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    aa = anc.setdefault(a, ancestors(system, a))
                    bb = anc.setdefault(b, ancestors(system, b))
                    if a in bb or b in aa:
                        continue
                    self.counts[(a, b)] += 1
                    self.sources[(a, b)].add(source)

    def add_cross(self, system: LabelSystem, pairs: Iterable[tuple[Sample, Sample]], source: str,
                  lookup: dict[tuple[str, str], str]) -> None:
        """Samples of two datasets whose footprints overlap: each overlapping pair counts as one sample holding
        the concepts of both, but only the concept pairs with one end in each (within a sample its own
        multi-labels already count)."""
        anc: dict[str, set[str]] = {}
        for left, right in pairs:
            ca = {lookup[k] for k in left if k in lookup}
            cb = {lookup[k] for k in right if k in lookup}
            for key in [*left, *right]:
                if key not in lookup:
                    self.unmapped[key] += 1
            self.n_samples += 1
            self.singles.update(ca | cb)
            seen: set[tuple[str, str]] = set()
            for a in ca:
                for b in cb:
                    if a == b:
                        continue
                    x, y = min(a, b), max(a, b)
                    aa = anc.setdefault(x, ancestors(system, x))
                    bb = anc.setdefault(y, ancestors(system, y))
                    if x in bb or y in aa or (x, y) in seen:
                        continue
                    seen.add((x, y))
                    self.counts[(x, y)] += 1
                    self.sources[(x, y)].add(source)

    def lift(self, a: str, b: str) -> float:
        n_ab = self.counts[(min(a, b), max(a, b))]
        return n_ab * self.n_samples / (self.singles[a] * self.singles[b]) if n_ab else 0.0

    def rows(self, min_count: int, min_lift: float = 0.0) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for (a, b), n in sorted(self.counts.items()):
            lift = self.lift(a, b)
            if n >= min_count and lift >= min_lift:
                out.append({"a": a, "b": b, "cooccurrence": n, "lift": round(lift, 4),
                            "sources": sorted(self.sources[(a, b)])})
        return out


def real_cooccurrence(system: LabelSystem, data_dir: Path) -> Cooccurrence:
    co = Cooccurrence()
    co.add(system, ucm_samples(data_dir), "ucmerced")
    co.add(system, s2_samples(data_dir), "sentinel2_ms")
    return co
