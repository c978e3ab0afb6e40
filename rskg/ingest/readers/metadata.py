"""Per-dataset metadata: what a reader knows, overlaid by a ``dataset.yaml`` next to the images and ``--gsd``.

A dataset folder may hold ``dataset.yaml`` (or ``rskg.yaml``) with any of the keys of :class:`DatasetInfo`::

    name: My aerial scenes
    gsd_m: 0.5            # ground sample distance in metres per pixel (null: unknown)
    sensor: aerial RGB
    bands: [R, G, B]
    license: CC-BY-4.0
    citation: "Doe et al., 2024"
    url: https://example.org/data

Precedence: ``--gsd`` (``IngestOptions.gsd_m``) > the file > the reader's built-in values. An
``imagefolder`` dataset with a GSD is then resampled to the encoder's reference scale like the built-in
ones, and the GSD is stored per sample in the catalog.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any

import yaml

from rskg.errors import DataError
from rskg.ingest.discovery import Root

METADATA_FILES = ("dataset.yaml", "rskg.yaml")


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    gsd_m: float | None = None
    sensor: str | None = None
    bands: list[str] = field(default_factory=lambda: ["R", "G", "B"])
    license: str = ""
    citation: str = ""
    url: str = ""
    source: str = "reader"          # where the values came from: reader, <file>, --gsd


def check_gsd(value: Any, where: str) -> float | None:
    if value is None:
        return None
    try:
        g = float(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: gsd_m {value!r} is not a number",
                        "Give the ground sample distance in metres per pixel, e.g. gsd_m: 0.5") from exc
    if not math.isfinite(g) or g <= 0:
        raise DataError(f"{where}: gsd_m {value!r} must be a positive number of metres per pixel",
                        "Use e.g. gsd_m: 0.5 (or null when it is not known).")
    return g


def read_metadata_file(root: Root) -> tuple[dict[str, Any], str | None]:
    """The first metadata file found at the dataset root, parsed and checked ({} when there is none)."""
    for name in METADATA_FILES:
        path = root.join(name)
        if not root.fs.exists(path):
            continue
        try:
            doc = yaml.safe_load(root.fs.cat_file(path).decode("utf-8")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: not valid YAML ({exc})", "Fix the dataset metadata file.") from exc
        if not isinstance(doc, dict):
            raise DataError(f"{path}: expected a mapping of metadata keys", "See docs/ingest.md (dataset.yaml).")
        known = {f.name for f in fields(DatasetInfo)} - {"source"}
        unknown = sorted(set(doc) - known)
        if unknown:
            raise DataError(f"{path}: unknown keys {unknown}", f"Allowed keys: {', '.join(sorted(known))}.")
        if "gsd_m" in doc:
            doc["gsd_m"] = check_gsd(doc["gsd_m"], path)
        if "bands" in doc and not (isinstance(doc["bands"], list) and all(isinstance(b, str) for b in doc["bands"])):
            raise DataError(f"{path}: bands must be a list of band names", "e.g. bands: [R, G, B]")
        return {k: (str(v) if k not in ("gsd_m", "bands") and v is not None else v) for k, v in doc.items()}, name
    return {}, None


def resolve_info(base: DatasetInfo, root: Root, gsd_m: float | None = None) -> DatasetInfo:
    """Reader values, then the dataset's metadata file, then an explicit ``--gsd``."""
    doc, name = read_metadata_file(root)
    info = replace(base, **doc, source=name) if doc and name else base
    if gsd_m is not None:
        info = replace(info, gsd_m=check_gsd(gsd_m, "--gsd"), source="--gsd")
    return info
