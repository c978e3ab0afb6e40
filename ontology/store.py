"""Read and write the Turtle files of record; the ``LabelSystem`` loader.

``load_graph(dir)`` merges every ``*.ttl`` of the ontology directory into one rdflib Graph;
``load_label_system(dir)`` reads that graph into the plain ``ontology.model.LabelSystem``.
Writes are deterministic (rdflib ``longturtle``: sorted subjects, predicates and objects) and
atomic per file (temp file + ``os.replace``).  ``version`` is the SHA-256 of the files' bytes.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, SKOS
from rdflib.term import Node

from ontology import namespaces as ns
from ontology.model import Concept, DatasetInfo, LabelSystem, SourceLabelMapping
from ontology.render import FILES, new_graph
from rskg import atomic
from rskg.errors import DataError, NotFoundError, ValidationError


def ttl_files(ontology_dir: Path) -> list[Path]:
    files = sorted(Path(ontology_dir).glob("*.ttl"))
    if not files:
        raise NotFoundError(f"no Turtle files in {ontology_dir}",
                            "Run `rskg ontology build` to generate ontology/data/*.ttl "
                            "(or point RSKG_ONTOLOGY_DIR at them).")
    return files


def version_of(ontology_dir: Path) -> str:
    h = hashlib.sha256()
    for f in ttl_files(ontology_dir):
        h.update(f.name.encode())
        h.update(b"\0")
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def parse_file(path: Path) -> Graph:
    g = new_graph()
    try:
        g.parse(path, format="turtle")
    except Exception as exc:  # rdflib raises several parser exception types
        raise DataError(f"cannot parse {path}: {exc}",
                        "Fix the Turtle syntax or rebuild with `rskg ontology build --force`.") from exc
    return g


_PARSED: dict[str, Graph] = {}      # sha256 of a file's bytes -> its parsed graph (never mutated)
_PARSED_MAX = 16


def _parsed(path: Path) -> Graph:
    data = path.read_bytes()
    key = hashlib.sha256(data).hexdigest()
    if key not in _PARSED:
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.pop(next(iter(_PARSED)))
        _PARSED[key] = parse_file(path)
    return _PARSED[key]


def load_graphs(ontology_dir: Path) -> dict[str, Graph]:
    """One graph per file of record (what edits work on); fresh copies, safe to mutate."""
    out: dict[str, Graph] = {}
    for f in ttl_files(ontology_dir):
        g = new_graph()
        g += _parsed(f)
        out[f.name] = g
    return out


def load_graph(ontology_dir: Path) -> Graph:
    """All Turtle files of the directory merged into one graph (what SPARQL queries)."""
    g = new_graph()
    for f in ttl_files(ontology_dir):
        g += _parsed(f)
    return g


def serialize(g: Graph) -> str:
    return g.serialize(format="longturtle")


def write_graphs(ontology_dir: Path, graphs: dict[str, Graph], only: set[str] | None = None) -> None:
    """Serialise the graphs (all, or the file names in ``only``) first, then replace the files;
    a serialisation failure leaves the old files intact."""
    ontology_dir = Path(ontology_dir)
    ontology_dir.mkdir(parents=True, exist_ok=True)
    texts = {name: serialize(g) for name, g in graphs.items() if only is None or name in only}
    for name, text in sorted(texts.items()):
        atomic.write_text(ontology_dir / name, text, mode=0o644)


def _str(g: Graph, s: Node | None, p: URIRef) -> str:
    v = g.value(s, p) if s is not None else None
    return str(v) if v is not None else ""


def _py(node: Node | None) -> Any:
    return node.toPython() if isinstance(node, Literal) else None


def graph_to_label_system(g: Graph, version: str = "") -> LabelSystem:
    concepts: dict[str, Concept] = {}
    for s in sorted(set(g.subjects(RDF.type, SKOS.Concept)) & set(g.subjects(RDF.type, OWL.Class)), key=str):
        cid = ns.concept_id(s)
        if cid is None:
            continue
        osm, codes = [], []
        for p in (SKOS.exactMatch, SKOS.closeMatch):
            for o in g.objects(s, p):
                tag, code = ns.osm_tag_from_iri(o), ns.code_from_iri(o)
                if tag:
                    osm.append(tag)
                elif code:
                    codes.append(code)
        replaced = g.value(s, DCTERMS.isReplacedBy)
        concepts[cid] = Concept(
            id=cid, pref_label=_str(g, s, SKOS.prefLabel), level=0,
            parents=sorted(x for x in (ns.concept_id(o) for o in g.objects(s, SKOS.broader)) if x),
            alt_labels=sorted(str(o) for o in g.objects(s, SKOS.altLabel)),
            definition=_str(g, s, SKOS.definition), osm_tags=sorted(set(osm)), lccs_codes=sorted(set(codes)),
            deprecated=str(g.value(s, OWL.deprecated) or "").lower() == "true",
            replaced_by=ns.concept_id(replaced) if replaced is not None else None,
            provenance=sorted(str(o) for o in g.objects(s, DCTERMS.source)))
    _levels(concepts)
    datasets: dict[str, DatasetInfo] = {}
    for d in sorted(g.subjects(RDF.type, ns.RSKG.Dataset), key=str):
        dsid = _str(g, d, ns.RSKG.datasetId)
        n_img = g.value(d, ns.RSKG.numImages)
        multi = g.value(d, ns.RSKG.multiLabel)
        datasets[dsid] = DatasetInfo(
            id=dsid, name=_str(g, d, DCTERMS.title), multi_label=bool(_py(multi)),
            url=_str(g, d, ns.RSKG.landingPage), license=_str(g, d, DCTERMS.license),
            gsd_m=_gsd(_str(g, d, ns.RSKG.gsd)), image_size=_str(g, d, ns.RSKG.imageSize),
            num_images=int(str(n_img)) if n_img is not None else None)
    classes: dict[str, list[tuple[int, str]]] = defaultdict(list)
    mappings: list[SourceLabelMapping] = []
    for sl in sorted(g.subjects(RDF.type, ns.RSKG.SourceLabel), key=str):
        dsid = _str(g, g.value(sl, ns.RSKG.inDataset), ns.RSKG.datasetId) if g.value(sl, ns.RSKG.inDataset) else ""
        text = _str(g, sl, ns.RSKG.labelText)
        target = ns.concept_id(g.value(sl, ns.RSKG.mapsTo))
        if not dsid or target is None:
            raise ValidationError(f"source label {sl} has no dataset or no concept", "Rebuild the ontology.")
        pos = g.value(sl, ns.RSKG.position)
        if pos is not None:
            classes[dsid].append((int(str(pos)), text))
        conf = g.value(sl, ns.RSKG.confidence)
        mappings.append(SourceLabelMapping(
            dataset=dsid, name=text, concept_id=target,
            predicate=_str(g, sl, ns.RSKG.mappingPredicate) or "skos:exactMatch",
            justification=_str(g, sl, ns.RSKG.mappingJustification) or "semapv:ManualMappingCuration",
            confidence=float(str(conf)) if conf is not None else 1.0,
            covers=tuple(sorted(x for x in (ns.concept_id(o) for o in g.objects(sl, ns.RSKG.covers)) if x))))
    for dsid, items in classes.items():
        if dsid in datasets:
            datasets[dsid].classes = [t for _, t in sorted(items)]
    mappings.sort(key=lambda m: (m.dataset, m.name))
    return LabelSystem(concepts=concepts, datasets=datasets, mappings=mappings, version=version)


def _gsd(text: str) -> float | None:
    try:
        return float(text.split()[0]) if text else None
    except ValueError:
        return None      # ranges such as "0.5-8" have no single value


def _levels(concepts: dict[str, Concept]) -> None:
    """level = 1 for roots, parent level + 1 otherwise (the deepest parent wins for multi-parent)."""
    memo: dict[str, int] = {}

    def level(cid: str, stack: frozenset[str]) -> int:
        if cid in memo:
            return memo[cid]
        if cid in stack:
            raise ValidationError(f"cycle in the concept hierarchy through {cid!r}",
                                  "Move a concept to break the cycle.")
        parents = [p for p in concepts[cid].parents if p in concepts]
        memo[cid] = 1 + max((level(p, stack | {cid}) for p in parents), default=0)
        return memo[cid]

    for cid in concepts:
        concepts[cid].level = level(cid, frozenset())


def load_label_system(ontology_dir: Path) -> LabelSystem:
    return graph_to_label_system(load_graph(ontology_dir), version=version_of(ontology_dir))


__all__ = ["load_graph", "load_graphs", "load_label_system", "version_of", "write_graphs", "serialize", "FILES"]
