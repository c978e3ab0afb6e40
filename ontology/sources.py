"""Readers of the source vocabularies in ``<data_dir>/vocab`` and the real image folders.

Everything here is a plain reader: no alignment decisions (those are in ``curation/`` and
``build.py``).  Paths follow /work/shared/data/vocab/README.md.
"""

from __future__ import annotations

import csv
import gzip
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rskg.errors import DataError

# image folders shipped in <data_dir> -> dataset id of datasets.yaml they are a subset of
IMAGE_FOLDERS = {"ucmerced": "ucm", "eurosat_rgb": "eurosat", "nwpu_resisc45": "nwpu_resisc45", "rsscn7": "rsscn7"}
OSN_FILE = "osm/osm_semantic_network/osm_semantic_network.skos.rdf.gz"
OSN_TERM = "http://spatial.ucd.ie/lod/osn/term/"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_SKOS_DEF = "{http://www.w3.org/2004/02/skos/core#}definition"
_RDF_DESC = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description"

LEGEND_FILES = {
    "CLC": "lccs/corine_land_cover_nomenclature.csv",
    "ESA-CCI": "lccs/esa_cci_lc_legend.csv",
    "WorldCover": "lccs/esa_worldcover_classes.csv",
    "CGLS": "lccs/copernicus_cgls_lc100_classes.csv",
    "LCCS": "lccs/fao_lccs_dichotomous_classes.csv",
}


@dataclass
class LegendClass:
    legend: str
    code: str
    name: str
    definition: str = ""
    parent: str | None = None        # code of the parent class in the same legend


@dataclass
class OsmPreset:
    key: str
    value: str
    name: str
    aliases: list[str]
    tags: str
    searchable: bool


@dataclass
class Vocab:
    datasets: list[dict[str, Any]]
    legends: dict[str, dict[str, LegendClass]]
    osm: list[OsmPreset]
    files: dict[str, Path] = field(default_factory=dict)   # provenance name -> path


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise DataError(f"vocabulary file missing: {path}",
                        "Set RSKG_DATA_DIR to the shared data folder (it holds vocab/).")
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_datasets(vocab_dir: Path) -> list[dict[str, Any]]:
    path = vocab_dir / "datasets.yaml"
    if not path.is_file():
        raise DataError(f"{path} not found",
                        "Set RSKG_DATA_DIR to the shared data folder (it holds vocab/datasets.yaml).")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [d for d in doc["datasets"] if d.get("verified")]


def read_legends(vocab_dir: Path) -> dict[str, dict[str, LegendClass]]:
    out: dict[str, dict[str, LegendClass]] = {}
    clc: dict[str, LegendClass] = {}
    for r in _read_csv(vocab_dir / LEGEND_FILES["CLC"]):
        l1, l2 = r["level1_code"], r["level2_code"]
        clc.setdefault(l1, LegendClass("CLC", l1, r["level1"]))
        clc.setdefault(l2, LegendClass("CLC", l2, r["level2"], parent=l1))
        clc[r["code"]] = LegendClass("CLC", r["code"], r["name"], parent=l2)
    out["CLC"] = clc
    out["ESA-CCI"] = {r["code"]: LegendClass("ESA-CCI", r["code"], r["name"], parent=r["parent_code"] or None)
                      for r in _read_csv(vocab_dir / LEGEND_FILES["ESA-CCI"])}
    out["WorldCover"] = {r["code"]: LegendClass("WorldCover", r["code"], r["name"])
                         for r in _read_csv(vocab_dir / LEGEND_FILES["WorldCover"])}
    out["CGLS"] = {r["code"]: LegendClass("CGLS", r["code"], r["name"], definition=r["description"])
                   for r in _read_csv(vocab_dir / LEGEND_FILES["CGLS"])}
    lccs: dict[str, LegendClass] = {}
    for r in _read_csv(vocab_dir / LEGEND_FILES["LCCS"]):
        lccs.setdefault(r["level1_code"], LegendClass("LCCS", r["level1_code"], r["level1"]))
        lccs.setdefault(r["level2_code"], LegendClass("LCCS", r["level2_code"], r["level2"], parent=r["level1_code"]))
        lccs[r["code"]] = LegendClass("LCCS", r["code"], r["name"], definition=r["criteria"], parent=r["level2_code"])
    out["LCCS"] = lccs
    return out


def read_osm_presets(vocab_dir: Path) -> list[OsmPreset]:
    rows = _read_csv(vocab_dir / "osm" / "osm_tags.csv")
    return [OsmPreset(r["key"], r["value"], r["name"], [a for a in r["aliases"].split("|") if a], r["tags"],
                      r["searchable"] != "false") for r in rows if r["value"] not in ("*", "")]


def read_osn_definitions(vocab_dir: Path, tags: set[str]) -> dict[str, str]:
    """skos:definition of OSM Semantic Network terms k:KEY/v:VALUE for the given 'key=value' tags."""
    wanted = {f"{OSN_TERM}k:{t.partition('=')[0]}/v:{t.partition('=')[2]}": t for t in tags}
    path = vocab_dir / OSN_FILE
    if not path.is_file() or not wanted:
        return {}
    out: dict[str, str] = {}
    with gzip.open(path, "rb") as fh:
        for _, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag != _RDF_DESC:
                continue
            tag = wanted.get(elem.get(_RDF_ABOUT, ""))
            if tag:
                defs = sorted((d.text or "").strip() for d in elem.iter(_SKOS_DEF) if d.text)
                english = sorted((len(d), d) for d in defs if _english_score(d) >= 2 and len(d) >= 25)
                if english:
                    out[tag] = english[0][1]     # the shortest English text: the wiki's one-line summary
            elem.clear()
    return out


_EN = {"the", "a", "an", "of", "for", "is", "are", "used", "and", "to", "or", "with", "where", "which", "that", "in"}


def _english_score(text: str) -> int:
    """Crude language filter: the OSN tags many non-English wiki texts as @en."""
    return sum(w in _EN for w in text.lower().split())


def read_vocab(data_dir: Path) -> Vocab:
    vocab_dir = data_dir / "vocab"
    return Vocab(datasets=read_datasets(vocab_dir), legends=read_legends(vocab_dir),
                 osm=read_osm_presets(vocab_dir), files={"vocab": vocab_dir})


def image_folder_names(data_dir: Path) -> dict[str, list[str]]:
    """Dataset id -> class folder names found under <data_dir>/<folder>/images."""
    out: dict[str, list[str]] = {}
    for folder, ds in IMAGE_FOLDERS.items():
        images = data_dir / folder / "images"
        if images.is_dir():
            out[ds] = sorted(p.name for p in images.iterdir() if p.is_dir())
    return out


def ucm_multilabel_names(data_dir: Path) -> set[str]:
    path = data_dir / "ucmerced" / "multilabels.csv"
    return {lab for r in _read_csv(path) for lab in r["labels"].split("|") if lab} if path.is_file() else set()


def sentinel2_label_names(data_dir: Path) -> set[str]:
    path = data_dir / "sentinel2_ms" / "labels.csv"
    return {lab for r in _read_csv(path) for lab in r["labels"].split("|") if lab} if path.is_file() else set()
