"""Build the label category system from the curated tree + the real source vocabularies.

Derived by code: spelling normalisation of every dataset label (-> concept), dataset spellings as
skos:altLabels, OSM tag matches (iD preset names/aliases), legend code matches by name,
definitions from the CGLS / LCCS legends or the OSM Semantic Network, provenance.
Curated (``ontology/curation``): the hierarchy, definitions of upper levels, label decisions that
normalisation cannot make.  ``build_system`` returns an in-memory ``Built``; ``render.py`` turns it
into the Turtle files of record.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ontology import namespaces as ns
from ontology.curation import CuratedConcept, Curation, load_curation
from ontology.normalize import label_key
from ontology.sources import (
    OSN_TERM,
    Vocab,
    image_folder_names,
    read_osn_definitions,
    read_vocab,
    sentinel2_label_names,
    ucm_multilabel_names,
)
from rskg.errors import ValidationError

LEXICAL = "semapv:LexicalMatching"
MANUAL = "semapv:ManualMappingCuration"
CURATION_SRC = str(ns.SOURCE["curation/concepts.yaml"])
OSM_SRC = str(ns.SOURCE["vocab/osm/osm_tags.csv"])
OSN_SRC = str(ns.SOURCE["vocab/osm/osm_semantic_network"])


@dataclass
class BuiltConcept:
    id: str
    label: str
    parent: str | None
    alt: set[str] = field(default_factory=set)
    definition: str = ""
    definition_source: str = ""
    codes: dict[str, bool] = field(default_factory=dict)       # code -> exact?
    osm: dict[str, bool] = field(default_factory=dict)         # key=value -> exact?
    osm_presets: set[str] = field(default_factory=set)         # "Tennis Court: leisure=pitch;sport=tennis"
    provenance: set[str] = field(default_factory=set)


@dataclass
class BuiltMapping:
    dataset: str
    label: str
    concept: str
    predicate: str
    justification: str
    confidence: float
    kind: str = "class"            # "class" (datasets.yaml) or "folder" (image folder name)
    note: str = ""
    covers: tuple[str, ...] = ()


@dataclass
class Built:
    concepts: dict[str, BuiltConcept]
    datasets: list[dict[str, object]]
    mappings: list[BuiltMapping]
    vocab: Vocab
    curation: Curation


def _concept_keys(c: CuratedConcept) -> set[str]:
    return {label_key(c.label)} | {label_key(a) for a in c.alt}


def _key_index(cur: Curation) -> dict[str, str]:
    index: dict[str, str] = {}
    problems: list[str] = []
    for c in cur.concepts.values():
        for k in _concept_keys(c):
            if index.get(k, c.id) != c.id:
                problems.append(f"'{k}' is a label of both {index[k]} and {c.id}")
            index.setdefault(k, c.id)
    if problems:
        raise ValidationError("curated labels collide after normalisation: " + "; ".join(problems),
                              "Keep each synonym on one concept in ontology/curation/concepts.yaml.")
    return index


def _map_labels(vocab: Vocab, cur: Curation, index: dict[str, str], data_dir: Path) -> list[BuiltMapping]:
    out: list[BuiltMapping] = []
    missing: list[str] = []
    for ds in vocab.datasets:
        dsid = str(ds["id"])
        decisions = cur.overrides.get(dsid, {})
        covers = cur.covers.get(dsid, {})
        by_label: dict[str, BuiltMapping] = {}
        for label in ds["classes"]:
            label = str(label)
            if label in decisions:
                d = decisions[label]
                m = BuiltMapping(dsid, label, d.concept, d.predicate, MANUAL,
                                 1.0 if d.predicate == "skos:exactMatch" else 0.8, note=d.note)
            elif label_key(label) in index:
                m = BuiltMapping(dsid, label, index[label_key(label)], "skos:exactMatch", LEXICAL, 1.0)
            else:
                missing.append(f"{dsid}:{label}")
                continue
            m.covers = tuple(covers.get(label, ()))
            by_label[label] = m
            out.append(m)
        for folder, cls in cur.folders.get(dsid, {}).items():
            base = by_label.get(cls)
            if base is None:
                raise ValidationError(f"folder {dsid}:{folder} points to unknown class {cls!r}",
                                      "Fix 'folders' in ontology/curation/label_map.yaml.")
            out.append(BuiltMapping(dsid, folder, base.concept, base.predicate, MANUAL, base.confidence,
                                    kind="folder", note=f"image folder of class '{cls}'", covers=base.covers))
    if missing:
        raise ValidationError(f"{len(missing)} source labels match no concept: {', '.join(missing)}",
                              "Add them as alt: of a concept or as overrides in ontology/curation/label_map.yaml.")
    _check_real_folders(out, data_dir)
    return out


def _check_real_folders(mappings: list[BuiltMapping], data_dir: Path) -> None:
    """Every class folder of the shipped image data must be a mapped source label."""
    known = {(m.dataset, m.label) for m in mappings}
    unknown = [f"{ds}:{f}" for ds, folders in image_folder_names(data_dir).items() for f in folders
               if (ds, f) not in known]
    for ds, names in (("ucm_multilabel", ucm_multilabel_names(data_dir)),
                      ("bigearthnet_43", sentinel2_label_names(data_dir))):
        unknown += [f"{ds}:{x}" for x in sorted(names) if (ds, x) not in known]
    if unknown:
        raise ValidationError(f"labels of the shipped data are not mapped: {', '.join(unknown)}",
                              "Add the folder under 'folders' in ontology/curation/label_map.yaml.")


def _match_osm(concepts: dict[str, BuiltConcept], cur: Curation, vocab: Vocab) -> None:
    for c in concepts.values():
        cc = cur.concepts[c.id]
        for tag, exact in cc.osm:
            c.osm[tag] = exact
    curated_exact = {t: c.id for c in concepts.values() for t, e in c.osm.items() if e}
    by_key: dict[str, list[Any]] = defaultdict(list)
    for p in vocab.osm:
        for k in {label_key(p.name), *(label_key(a) for a in p.aliases)}:
            by_key[k].append(p)
    for c in concepts.values():
        pref = label_key(c.label)
        keys = {pref} | {label_key(a) for a in c.alt}
        hits = [p for k in sorted(keys) for p in by_key.get(k, [])]
        hits += [p for p in vocab.osm if label_key(p.value) == pref and p.searchable]
        for p in hits:
            tag = f"{p.key}={p.value}"
            if tag in cur.concepts[c.id].osm_exclude:
                continue
            c.osm_presets.add(f"{p.name}: {p.tags}")
            c.provenance.add(OSM_SRC)
            if tag in c.osm:
                continue
            exact = label_key(p.name) == pref and p.tags == tag and curated_exact.get(tag, c.id) == c.id
            if exact:
                curated_exact[tag] = c.id
            c.osm[tag] = exact


def _match_codes(concepts: dict[str, BuiltConcept], cur: Curation, vocab: Vocab) -> None:
    unknown: list[str] = []
    for c in concepts.values():
        for code, exact in cur.concepts[c.id].codes:
            legend, _, value = code.partition(":")
            if value not in vocab.legends.get(legend, {}):
                unknown.append(f"{c.id}: {code}")
            c.codes[code] = exact
    if unknown:
        raise ValidationError("curated legend codes not found in the legends: " + "; ".join(unknown),
                              "Check the code against <data_dir>/vocab/lccs/*.csv.")
    taken = {code for c in concepts.values() for code, e in c.codes.items() if e}
    by_key = {label_key(c.label): c for c in concepts.values()}
    alt_key = {label_key(a): c for c in concepts.values() for a in cur.concepts[c.id].alt}
    for legend, classes in sorted(vocab.legends.items()):
        for code, lc in sorted(classes.items()):
            full = f"{legend}:{code}"
            k = label_key(lc.name)
            target, exact = (by_key[k], True) if k in by_key else (alt_key.get(k), False)
            if target is None or full in target.codes:
                continue
            target.codes[full] = exact and full not in taken
            taken.add(full) if target.codes[full] else None


_MARKERS = re.compile(
    r"\s(Approved|Error|In use|Other languages|Related terms|See |Image shows|This is a stub|name=\*)")
_NOT_A_DEFINITION = ("used to", "use ", "can be", "please", "marks", "to mark", "for ", "this ", "error", "a tag",
                     "an aerodrome", "wildflower")


def _osn_definition(text: str) -> str:
    """One clean sentence from an OSM-wiki definition, or '' when it is tagging advice, not a definition."""
    text = re.sub(r"\s+", " ", html.unescape(text).replace("'''", "").replace("''", "")).strip()
    text = _MARKERS.split(text, maxsplit=1)[0].strip()
    text = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].strip()
    if len(text) < 20 or text.lower().startswith(_NOT_A_DEFINITION):
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _definitions(concepts: dict[str, BuiltConcept], vocab: Vocab, data_dir: Path) -> None:
    osn = read_osn_definitions(data_dir / "vocab", {t for c in concepts.values() for t, e in c.osm.items() if e})
    for c in concepts.values():
        if c.definition:
            c.definition_source = CURATION_SRC
            continue
        for code, exact in sorted(c.codes.items()):
            legend, _, value = code.partition(":")
            lc = vocab.legends[legend][value]
            if exact and lc.definition and legend == "CGLS":
                c.definition = lc.definition.split(". ", 1)[-1] if ". " in lc.definition else lc.definition
                c.definition_source = str(ns.code_iri(code))
                break
        if c.definition:
            continue
        for tag, exact in sorted(c.osm.items()):
            text = _osn_definition(osn.get(tag, "")) if exact else ""
            if text:
                c.definition = text
                key, _, value = tag.partition("=")
                c.definition_source = f"{OSN_TERM}k:{key}/v:{value}"
                c.provenance.add(OSN_SRC)
                break


def _template_definitions(built: Built) -> None:
    labels: dict[str, list[str]] = defaultdict(list)
    for m in built.mappings:
        if m.kind == "class":
            labels[m.concept].append(f"'{m.label}' ({m.dataset})")
    for c in built.concepts.values():
        if c.definition:
            continue
        parent = built.concepts[c.parent].label if c.parent else "the label category system"
        seen = labels.get(c.id, [])[:4]
        tail = f"; labelled {', '.join(seen)} in the source datasets" if seen else ""
        c.definition = f"Scene category '{c.label}', a kind of {parent}{tail}."
        c.definition_source = str(ns.SOURCE["generated"])


def build_system(data_dir: Path, curation: Curation | None = None) -> Built:
    cur = curation or load_curation()
    vocab = read_vocab(data_dir)
    index = _key_index(cur)
    mappings = _map_labels(vocab, cur, index, data_dir)
    for m in mappings:
        for cid in (m.concept, *m.covers):
            if cid not in cur.concepts:
                raise ValidationError(f"{m.dataset}:{m.label} refers to unknown concept {cid!r}",
                                      "Fix ontology/curation/label_map.yaml.")
    concepts = {c.id: BuiltConcept(c.id, c.label, c.parent, alt=set(c.alt), definition=c.definition,
                                   provenance={CURATION_SRC, *(str(ns.dataset_iri(s)) for s in c.src)})
                for c in cur.concepts.values()}
    for m in mappings:
        c = concepts[m.concept]
        c.provenance.add(str(ns.dataset_iri(m.dataset)))
        owner = index.get(label_key(m.label), c.id)
        if m.predicate == "skos:exactMatch" and m.label != c.label and owner == c.id:
            c.alt.add(m.label)      # dataset spelling variant = synonym (unless another concept owns the key)
    _match_osm(concepts, cur, vocab)
    _match_codes(concepts, cur, vocab)
    for c in concepts.values():
        c.provenance.update(str(ns.legend_scheme_iri(code.partition(":")[0])) for code, e in c.codes.items() if e)
    _definitions(concepts, vocab, data_dir)
    built = Built(concepts, vocab.datasets, mappings, vocab, cur)
    _template_definitions(built)
    return built
