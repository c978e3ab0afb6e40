"""Reader of the curated, human-reviewed tables in ``ontology/curation/``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rskg.errors import ValidationError

CURATION_DIR = Path(__file__).resolve().parent / "curation"
ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
KEYS = {"id", "label", "alt", "def", "codes", "osm", "osm_exclude", "src", "children"}


@dataclass
class CuratedConcept:
    id: str
    label: str
    parent: str | None
    alt: list[str] = field(default_factory=list)
    definition: str = ""
    codes: list[tuple[str, bool]] = field(default_factory=list)   # (code, exact?)
    osm: list[tuple[str, bool]] = field(default_factory=list)     # (key=value, exact?)
    osm_exclude: list[str] = field(default_factory=list)
    src: list[str] = field(default_factory=list)


@dataclass
class LabelDecision:
    concept: str
    predicate: str = "skos:exactMatch"
    note: str = ""


@dataclass
class Curation:
    concepts: dict[str, CuratedConcept]          # in file order (parents before children)
    overrides: dict[str, dict[str, LabelDecision]]
    folders: dict[str, dict[str, str]]
    covers: dict[str, dict[str, list[str]]]
    dataset_meta: dict[str, dict[str, str]]


def _split(items: list[str] | None) -> list[tuple[str, bool]]:
    return [(s[1:].strip(), False) if s.startswith("~") else (s.strip(), True) for s in items or []]


def _walk(nodes: list[dict[str, Any]], parent: str | None, out: dict[str, CuratedConcept]) -> None:
    for n in nodes:
        cid = n.get("id", "")
        if not ID_RE.match(cid):
            raise ValidationError(f"curated concept id {cid!r} is not a snake_case slug",
                                  "Use lower-case letters, digits and '_' (e.g. storage_tank).")
        if set(n) - KEYS:
            raise ValidationError(f"concept {cid!r} has unknown keys {sorted(set(n) - KEYS)}",
                                  "Quote values that contain ', ' or ': ' in concepts.yaml; allowed keys: "
                                  + ", ".join(sorted(KEYS)))
        if cid in out:
            raise ValidationError(f"curated concept id {cid!r} appears twice in concepts.yaml",
                                  "Give each concept one entry; add synonyms with alt:.")
        out[cid] = CuratedConcept(
            id=cid, label=n.get("label") or cid.replace("_", " "), parent=parent,
            alt=list(n.get("alt") or []), definition=n.get("def", "") or "",
            codes=_split(n.get("codes")), osm=_split(n.get("osm")),
            osm_exclude=list(n.get("osm_exclude") or []), src=list(n.get("src") or []))
        _walk(n.get("children") or [], cid, out)


def load_curation(curation_dir: Path = CURATION_DIR) -> Curation:
    doc = yaml.safe_load((curation_dir / "concepts.yaml").read_text(encoding="utf-8"))
    concepts: dict[str, CuratedConcept] = {}
    _walk(doc["concepts"], None, concepts)
    lm = yaml.safe_load((curation_dir / "label_map.yaml").read_text(encoding="utf-8")) or {}
    overrides: dict[str, dict[str, LabelDecision]] = {}
    for ds, labels in (lm.get("overrides") or {}).items():
        for label, dec in labels.items():
            d = LabelDecision(dec) if isinstance(dec, str) else LabelDecision(
                dec["concept"], dec.get("predicate", "skos:exactMatch"), dec.get("note", ""))
            overrides.setdefault(ds, {})[str(label)] = d
    meta_path = curation_dir / "dataset_meta.yaml"
    meta = yaml.safe_load(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    return Curation(concepts=concepts, overrides=overrides, folders=lm.get("folders") or {},
                    covers=lm.get("covers") or {}, dataset_meta=meta or {})
