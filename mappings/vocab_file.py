"""Read a new dataset's label vocabulary from a .yaml/.yml, .csv or .txt file, and check it.

A vocabulary may carry each label's own description (the legend's class definition), used as text evidence
by the mapper: a ``description`` (or ``definition``) column in a .csv, or ``{name: ..., description: ...}``
entries in a YAML list / ``classes``. Plain label lists stay valid.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from rskg.errors import NotFoundError, ValidationError


def check_labels(labels: list[Any], where: str) -> list[str]:
    """Every label a non-empty string, no duplicates (after trimming); raise ValidationError otherwise."""
    out, seen = [], set()
    for i, lb in enumerate(labels):
        if not isinstance(lb, str) or not lb.strip():
            raise ValidationError(f"{where}: label #{i + 1} is empty ({lb!r})",
                                  "Remove the empty entry or give the label its name; nothing was changed.")
        name = lb.strip()
        if name in seen:
            raise ValidationError(f"{where}: label {name!r} appears twice",
                                  "List each label once; nothing was changed.")
        seen.add(name)
        out.append(name)
    if not out:
        raise ValidationError(f"{where}: no labels", "Give at least one label; nothing was changed.")
    return out


def _from_yaml(data: Any, path: Path, dataset: str | None) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict) and isinstance(data.get("classes"), list):
        return list(data["classes"])
    if isinstance(data, dict) and isinstance(data.get("datasets"), list):   # datasets.yaml layout
        for entry in data["datasets"]:
            if isinstance(entry, dict) and entry.get("id") == dataset:
                return list(entry.get("classes") or [])
        ids = [e.get("id") for e in data["datasets"] if isinstance(e, dict)]
        raise NotFoundError(f"{path}: no dataset {dataset!r} in this file",
                            f"Pick one of: {', '.join(map(str, ids[:30]))}.")
    raise ValidationError(f"{path}: expected a YAML list of labels or a mapping with 'classes'",
                          "Write the file as `- label` lines or `classes: [...]`; nothing was changed.")


def _split_entries(raw: list[Any], where: str) -> tuple[list[Any], list[str]]:
    """YAML entries: a label, or a mapping with ``name``/``label`` and optional ``description``/``definition``."""
    labels: list[Any] = []
    descs: list[str] = []
    for i, e in enumerate(raw):
        if isinstance(e, dict):
            name = e.get("name", e.get("label"))
            if name is None:
                raise ValidationError(f"{where}: entry #{i + 1} has no 'name'",
                                      "Give each entry `name:` (and optionally `description:`); nothing was changed.")
            labels.append(name)
            descs.append(str(e.get("description") or e.get("definition") or "").strip())
        else:
            labels.append(e)
            descs.append("")
    return labels, descs


def read_vocabulary(path: Path, dataset: str | None = None) -> list[str]:
    """The labels of a vocabulary file (see :func:`read_vocabulary_entries` for their descriptions)."""
    return [lb for lb, _ in read_vocabulary_entries(path, dataset)]


def read_vocabulary_entries(path: Path, dataset: str | None = None) -> list[tuple[str, str]]:
    """(label, description or "") per label, in file order."""
    if not path.is_file():
        raise NotFoundError(f"vocabulary file {path} does not exist",
                            "Give the path of a .yaml, .csv or .txt file with the dataset's labels.")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    raw: list[Any]
    descs: list[str]
    if suffix in (".yaml", ".yml"):
        try:
            raw, descs = _split_entries(_from_yaml(yaml.safe_load(text), path, dataset), str(path))
        except yaml.YAMLError as exc:
            raise ValidationError(f"{path} is not valid YAML: {exc}") from exc
    elif suffix == ".csv":
        rows = list(csv.reader(text.splitlines()))
        if not rows:
            raise ValidationError(f"{path} is empty", "Give at least one label; nothing was changed.")
        header = [h.strip().lower() for h in rows[0]]
        col = next((header.index(h) for h in ("label", "name", "class") if h in header), None)
        dcol = next((header.index(h) for h in ("description", "definition") if h in header), None)
        body = rows[1:] if col is not None else rows
        raw = [r[col or 0] if len(r) > (col or 0) else "" for r in body]
        descs = [r[dcol].strip() if dcol is not None and len(r) > dcol else "" for r in body]
    elif suffix == ".txt":
        lines = text.splitlines()
        while lines and not lines[-1].strip():
            lines.pop()
        raw, descs = lines, [""] * len(lines)
    else:
        raise ValidationError(f"{path}: unknown vocabulary format {suffix!r}",
                              "Use a .yaml/.yml list, a .csv with a 'label' column, or a .txt, one label a line.")
    return list(zip(check_labels(raw, str(path)), descs, strict=True))
