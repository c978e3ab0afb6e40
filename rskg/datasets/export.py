"""Exports of a composite dataset: ImageFolder, STAC ItemCollection (label extension), CSV.

Every export leaves out the items whose latest decision is ``reject`` (``include_pending=False`` also leaves
out supplementary items nobody accepted yet) and writes:

* ``items.csv``  one row per item: sample, concept, kind, score, decision, source dataset with its license and
  citation, source path, footprint (WKT), acquisition time, evidence (JSON);
* ``ATTRIBUTION.md``  every source dataset with its URL, license and citation (their terms travel with the data).

``imagefolder`` and ``stac`` also write the pixels: ``<concept id>/<sample>.png`` (RGB, or the PCA-3 visual of
multispectral samples, from the Zarr store). ``stac`` adds ``collection.json``: a STAC ItemCollection whose
items carry the footprint as geometry (null where the dataset has none), the label extension
(``label:classes`` over the concept ids, task classification, method manual for direct matches and automated
for supplementary ones) and the source dataset's attribution. An ImageFolder/STAC export opens with
:class:`rskg.datasets.torchgeo_compat.RskgExportDataset`.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from rskg.catalog.zarr_store import PixelStore
from rskg.datasets.composite import _uuid, get_composite
from rskg.errors import ValidationError
from rskg.services import Services

FORMATS = ("imagefolder", "stac", "csv")
ITEMS_FILE = "items.csv"
STAC_FILE = "collection.json"

SELECT_ITEMS = """
SELECT i.sample_id, i.concept_id, i.kind, i.score, i.evidence, coalesce(f.decision, 'pending'),
       s.dataset_id, d.name, d.url, d.license, d.citation, s.source_path, s.storage,
       ST_AsGeoJSON(s.footprint), ST_AsText(s.footprint), s.acquired_at, s.created_at, s.gsd_m, s.sensor,
       s.width, s.height, s.labels
FROM composite_items i
JOIN samples s ON s.id = i.sample_id
JOIN datasets d ON d.id = s.dataset_id
LEFT JOIN LATERAL (
    SELECT decision FROM feedback fb
    WHERE fb.composite_id = i.composite_id AND fb.sample_id = i.sample_id AND fb.concept_id = i.concept_id
    ORDER BY fb.decided_at DESC, fb.id DESC LIMIT 1) f ON true
WHERE i.composite_id = %s
ORDER BY i.concept_id, i.kind, i.score DESC, i.sample_id
"""

CSV_COLUMNS = ("sample_id", "concept_id", "kind", "score", "decision", "dataset", "dataset_name", "license",
               "citation", "source_path", "image", "footprint_wkt", "acquired_at", "gsd_m", "sensor",
               "source_labels", "evidence")


@dataclass
class Item:
    sample_id: str
    concept_id: str
    kind: str
    score: float
    evidence: dict[str, Any]
    decision: str              # 'accept' | 'reject' | 'pending'
    dataset: str
    dataset_name: str
    url: str
    license: str
    citation: str
    source_path: str
    storage: str
    geometry: dict[str, Any] | None
    footprint_wkt: str | None
    acquired_at: datetime | None
    ingested_at: datetime
    gsd_m: float | None
    sensor: str | None
    width: int | None
    height: int | None
    source_labels: list[str]
    image: str = ""            # relative path of the exported image ('' for csv)


@dataclass
class ExportReport:
    composite_id: str
    format: str
    out: Path
    items: int
    rejected_left_out: int
    pending_left_out: int
    files: list[str]


def items(services: Services, composite_id: str) -> list[Item]:
    cid = _uuid(composite_id)
    with services.connection() as conn:
        rows = conn.execute(SELECT_ITEMS, (cid,)).fetchall()
    out = []
    for r in rows:
        ev = r[4] if isinstance(r[4], dict) else json.loads(r[4] or "{}")
        geom = json.loads(r[13]) if r[13] else None
        out.append(Item(r[0], r[1], r[2], float(r[3] or 0.0), ev, r[5], r[6], r[7] or r[6], r[8] or "", r[9] or "",
                        r[10] or "", r[11], r[12], geom, r[14], r[15], r[16], r[17], r[18], r[19], r[20],
                        list(r[21] or [])))
    return out


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(sample_id: str) -> str:
    return _SAFE.sub("_", sample_id).strip("_")


def _write_images(services: Services, chosen: list[Item], out: Path) -> None:
    pixels = PixelStore(services.settings.zarr_path)
    for it in chosen:
        rel = f"{it.concept_id}/{file_stem(it.sample_id)}.png"
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        rgb = pixels.read_rgb(it.storage)
        Image.fromarray(np.asarray(rgb, dtype=np.uint8)).save(dest)
        it.image = rel


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
        when = it.acquired_at or it.ingested_at
        props: dict[str, Any] = {
            "rskg:sample_id": it.sample_id, "rskg:concept_id": it.concept_id, "rskg:kind": it.kind,
            "rskg:score": it.score, "rskg:decision": it.decision, "rskg:evidence": it.evidence,
            "rskg:source_labels": it.source_labels, "rskg:source_path": it.source_path,
            "rskg:datetime_source": "acquired" if it.acquired_at else "ingested (acquisition time unknown)",
            "rskg:source_dataset": it.dataset, "rskg:source_dataset_name": it.dataset_name,
            "license": it.license or "various", "sci:citation": it.citation, "concept_id": it.concept_id,
        }
        if it.gsd_m is not None:
            props["gsd"] = it.gsd_m
        item = pystac.Item(id=f"{file_stem(it.sample_id)}__{it.concept_id}", geometry=geom, bbox=bbox,
                           datetime=when if when.tzinfo else when.replace(tzinfo=UTC), properties=props)
        lab = LabelExtension.ext(item, add_if_missing=True)
        lab.apply(label_description=f"scene label '{it.concept_id}' ({it.kind})", label_type=LabelType.VECTOR,
                  label_properties=["concept_id"],
                  label_classes=[LabelClasses.create(classes=classes, name="concept_id")],
                  label_tasks=[LabelTask.CLASSIFICATION],
                  label_methods=[LabelMethod.MANUAL if it.kind == "direct" or it.decision == "accept"
                                 else LabelMethod.AUTOMATED])
        if it.image:
            item.add_asset("image", pystac.Asset(href=it.image, media_type=pystac.MediaType.PNG, roles=["data"]))
        if it.url:
            item.add_link(pystac.Link(rel="cite-as", target=it.url, title=it.dataset_name))
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
