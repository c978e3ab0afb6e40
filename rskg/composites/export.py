"""Exports of a composite dataset: ImageFolder, STAC ItemCollection (label extension), CSV.

Every export leaves out the items whose latest decision is ``reject`` (``include_pending=False`` also leaves
out supplementary items nobody accepted yet) and writes:

* ``items.csv``  one row per item: sample, concept, kind, score, decision, source dataset with its license and
  citation, source path, footprint (WKT), acquisition time, evidence (JSON);
* ``ATTRIBUTION.md``  every source dataset with its URL, license and citation (their terms travel with the data).

``imagefolder`` and ``stac`` also write the pixels: the source file's own bytes and type where the sample is one
JPEG / PNG / TIFF file still found under the folder it was ingested from (``<concept id>/<sample>.jpg``), else
``<concept id>/<sample>.png`` rendered from the Zarr store (RGB, or the PCA-3 visual of multispectral samples).
``stac`` adds ``collection.json``: a STAC 1.1 ItemCollection whose items carry the footprint as geometry (null
where the dataset has none), the label extension (``label:classes`` over the concept ids, task classification,
method manual for direct matches and automated for supplementary ones), ``license`` as an SPDX id where the
dataset's licence text starts with one (else ``other`` with a ``license`` link to the dataset's page), and the
acquisition time as ``datetime`` where known; where it is not, ``datetime`` is null and the interval
``start_datetime`` = UNKNOWN_START .. ``end_datetime`` = the ingestion time says only that it was acquired before
ingestion (``rskg:datetime_source`` says which). An ImageFolder/STAC export opens with
:class:`rskg.composites.torchgeo_compat.RskgExportDataset`.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from rskg.catalog.zarr_store import PixelStore
from rskg.composites.composite import get_composite
from rskg.composites.items import Item, items
from rskg.errors import ValidationError
from rskg.services import Services

FORMATS = ("imagefolder", "stac", "csv")
UNKNOWN_START = datetime(1900, 1, 1, tzinfo=UTC)   # lower bound of an unknown acquisition time (STAC interval)
# file types kept as they are (bytes copied) and their STAC media types
KEPT_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".tif": "image/tiff",
              ".tiff": "image/tiff"}
SOURCE_ROOTS = """
SELECT DISTINCT ON (dataset_id) dataset_id, url FROM ingest_jobs
WHERE dataset_id = ANY(%s) ORDER BY dataset_id, id DESC
"""
ITEMS_FILE = "items.csv"
STAC_FILE = "collection.json"

CSV_COLUMNS = ("sample_id", "concept_id", "kind", "score", "decision", "dataset", "dataset_name", "license",
               "citation", "source_path", "image", "footprint_wkt", "acquired_at", "gsd_m", "sensor",
               "source_labels", "evidence")


@dataclass
class ExportReport:
    composite_id: str
    format: str
    out: Path
    items: int
    rejected_left_out: int
    pending_left_out: int
    files: list[str]


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(sample_id: str) -> str:
    return _SAFE.sub("_", sample_id).strip("_")


def _source_roots(services: Services, datasets: set[str]) -> dict[str, Path]:
    """dataset id -> the local folder it was last ingested from (URLs of other kinds are left out)."""
    with services.connection() as conn:
        rows = conn.execute(SOURCE_ROOTS, (sorted(datasets),)).fetchall()
    return {ds: Path(url) for ds, url in rows if url and "://" not in url}


def _source_file(roots: dict[str, Path], it: Item) -> Path | None:
    root = roots.get(it.dataset)
    if root is None:
        return None
    path = root / it.source_path
    return path if path.suffix.lower() in KEPT_TYPES and path.is_file() else None


def image_stem(it: Item) -> str:
    """File name of the exported image without its type: the sample id without the source file's suffix."""
    sid = it.sample_id
    suffix = Path(it.source_path).suffix
    if suffix.lower() in KEPT_TYPES and sid.endswith(suffix):
        sid = sid[: -len(suffix)]
    return file_stem(sid)


def _write_images(services: Services, chosen: list[Item], out: Path) -> None:
    pixels = PixelStore(services.settings.zarr_path)
    roots = _source_roots(services, {it.dataset for it in chosen})
    for it in chosen:
        src = _source_file(roots, it)
        rel = f"{it.concept_id}/{image_stem(it)}{src.suffix.lower() if src else '.png'}"
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src is not None:
            shutil.copyfile(src, dest)       # the original bytes and file type
        else:
            rgb = pixels.read_rgb(it.storage)
            Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(dest)
        it.image = rel


_SPDX_HEAD = re.compile(r"^\s*([A-Za-z0-9.+-]+)")


def spdx_license(text: str) -> str | None:
    """The SPDX id a licence text starts with ('MIT (contains ...)' -> 'MIT'), else None."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    m = _SPDX_HEAD.match(text or "")
    if not m:
        return None
    try:
        return str(canonicalize_license_expression(m.group(1)))
    except InvalidLicenseExpression:
        return None


def _write_csv(chosen: list[Item], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for it in chosen:
            w.writerow([it.sample_id, it.concept_id, it.kind, f"{it.score:.6f}", it.decision, it.dataset,
                        it.dataset_name, it.license, it.citation, it.source_path, it.image, it.footprint_wkt or "",
                        it.acquired_at.isoformat() if it.acquired_at else "", it.gsd_m if it.gsd_m is not None else "",
                        it.sensor or "", "|".join(it.source_labels), json.dumps(it.evidence, sort_keys=True)])


def _write_attribution(chosen: list[Item], path: Path, name: str) -> None:
    seen: dict[str, Item] = {}
    for it in chosen:
        seen.setdefault(it.dataset, it)
    lines = [f"# Attribution for composite dataset '{name}'", "",
             "Samples come from these source datasets; their licenses and terms apply to the samples taken from "
             "them.", ""]
    for ds, it in sorted(seen.items()):
        n = sum(1 for x in chosen if x.dataset == ds)
        lines.append(f"- **{it.dataset_name}** (`{ds}`, {n} items): {it.url or 'no URL recorded'}; license: "
                     f"{it.license or 'not recorded'}; cite: {it.citation or 'not recorded'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _stac(chosen: list[Item], classes: list[str], composite: Any, path: Path) -> None:
    import pystac
    from pystac.extensions.label import LabelClasses, LabelExtension, LabelMethod, LabelTask, LabelType

    stac_items = []
    for it in chosen:
        geom = it.geometry
        bbox = None
        if geom is not None:
            from shapely.geometry import shape

            bbox = list(shape(geom).bounds)
        spdx = spdx_license(it.license)
        props: dict[str, Any] = {
            "rskg:sample_id": it.sample_id, "rskg:concept_id": it.concept_id, "rskg:kind": it.kind,
            "rskg:score": it.score, "rskg:decision": it.decision, "rskg:evidence": it.evidence,
            "rskg:source_labels": it.source_labels, "rskg:source_path": it.source_path,
            "rskg:datetime_source": "acquired" if it.acquired_at else
            "unknown (acquired before the ingestion time end_datetime)",
            "rskg:source_dataset": it.dataset, "rskg:source_dataset_name": it.dataset_name,
            "license": spdx or "other", "rskg:license_text": it.license or "not recorded",
            "sci:citation": it.citation, "concept_id": it.concept_id,
        }
        start = end = None
        if it.acquired_at is None:
            ingested = it.ingested_at if it.ingested_at.tzinfo else it.ingested_at.replace(tzinfo=UTC)
            start, end = UNKNOWN_START, ingested
        if it.gsd_m is not None:
            props["gsd"] = it.gsd_m
        when = it.acquired_at
        item = pystac.Item(id=f"{file_stem(it.sample_id)}__{it.concept_id}", geometry=geom, bbox=bbox,
                           datetime=None if when is None else when if when.tzinfo else when.replace(tzinfo=UTC),
                           start_datetime=start, end_datetime=end, properties=props)
        lab = LabelExtension.ext(item, add_if_missing=True)
        lab.apply(label_description=f"scene label '{it.concept_id}' ({it.kind})", label_type=LabelType.VECTOR,
                  label_properties=["concept_id"],
                  label_classes=[LabelClasses.create(classes=classes, name="concept_id")],
                  label_tasks=[LabelTask.CLASSIFICATION],
                  label_methods=[LabelMethod.MANUAL if it.kind == "direct" or it.decision == "accept"
                                 else LabelMethod.AUTOMATED])
        if it.image:
            item.add_asset("image", pystac.Asset(href=it.image, media_type=KEPT_TYPES[Path(it.image).suffix],
                                                 roles=["data"]))
        if it.url:
            item.add_link(pystac.Link(rel="cite-as", target=it.url, title=it.dataset_name))
            if spdx is None:
                item.add_link(pystac.Link(rel="license", target=it.url, title=f"licence of {it.dataset_name}"))
        stac_items.append(item)
    coll = pystac.ItemCollection(stac_items, extra_fields={
        "rskg:composite_id": composite.id, "rskg:name": composite.name, "rskg:labels": composite.labels,
        "rskg:ontology_version": composite.ontology_version, "rskg:index_version": composite.index_version})
    path.write_text(json.dumps(coll.to_dict(), indent=1, default=str), encoding="utf-8")


def export(services: Services, composite_id: str, fmt: str, out: Path, include_pending: bool = True) -> ExportReport:
    if fmt not in FORMATS:
        raise ValidationError(f"export format {fmt!r} unknown", f"Use one of: {', '.join(FORMATS)}.")
    comp = get_composite(services, composite_id)
    every = items(services, comp.id)
    rejected = [i for i in every if i.decision == "reject"]
    pending_out = [] if include_pending else [i for i in every if i.kind == "supplementary" and i.decision == "pending"]
    drop = {id(i) for i in rejected + pending_out}
    chosen = [i for i in every if id(i) not in drop]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fmt in ("imagefolder", "stac"):
        _write_images(services, chosen, out)
    _write_csv(chosen, out / ITEMS_FILE)
    _write_attribution(chosen, out / "ATTRIBUTION.md", comp.name)
    files = [ITEMS_FILE, "ATTRIBUTION.md"]
    if fmt == "stac":
        _stac(chosen, sorted({i.concept_id for i in every}), comp, out / STAC_FILE)
        files.append(STAC_FILE)
    return ExportReport(comp.id, fmt, out, len(chosen), len(rejected), len(pending_out), files)
