"""Turn a ``Built`` label system into the rdflib graphs of the Turtle files of record.

Files (all in ``ontology/data``):
  concepts.ttl    owl:Ontology header, rskg vocabulary, the concept scheme and every concept
  alignments.ttl  legend schemes (CLC, ESA-CCI, WorldCover, CGLS, LCCS) with all their codes, and
                  the OSM tag resources the concepts point to
  datasets.ttl    rskg:Dataset individuals and their rskg:SourceLabel individuals with mappings
  changelog.ttl   the edit log (prov:Activity per edit); empty after a build
"""

from __future__ import annotations

from decimal import Decimal

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

from ontology import namespaces as ns
from ontology.build import Built, BuiltConcept
from ontology.sources import LEGEND_FILES

CONCEPTS, ALIGNMENTS, DATASETS, CHANGELOG = "concepts.ttl", "alignments.ttl", "datasets.ttl", "changelog.ttl"
FILES = (CONCEPTS, ALIGNMENTS, DATASETS, CHANGELOG)
MATCH = {"skos:exactMatch": SKOS.exactMatch, "skos:closeMatch": SKOS.closeMatch,
         "skos:broadMatch": SKOS.broadMatch, "skos:narrowMatch": SKOS.narrowMatch,
         "skos:relatedMatch": SKOS.relatedMatch}
EN = "en"


def new_graph() -> Graph:
    g = Graph()
    for prefix, namespace in ns.PREFIXES.items():
        g.bind(prefix, namespace, override=True, replace=True)
    return g


def _vocabulary(g: Graph) -> None:
    """Header and the rskg terms; SKOS/DC terms used on classes are annotation properties (OWL 2 DL)."""
    o = ns.ONTOLOGY_IRI
    g.add((o, RDF.type, OWL.Ontology))
    g.add((o, DCTERMS.title, Literal("rskg label category system", lang=EN)))
    g.add((o, DCTERMS.description, Literal(
        "Unified remote-sensing scene label categories (OWL 2 classes + SKOS) aligned to OSM tags and "
        "LCCS-based legends, with the datasets and source labels that map to them.", lang=EN)))
    g.add((o, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by-sa/4.0/")))
    for p in (SKOS.prefLabel, SKOS.altLabel, SKOS.hiddenLabel, SKOS.definition, SKOS.broader, SKOS.exactMatch,
              SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch, SKOS.inScheme,
              SKOS.topConceptOf, SKOS.notation, DCTERMS.source, DCTERMS.isReplacedBy, DCTERMS.title,
              DCTERMS.description, DCTERMS.license, DCTERMS.identifier, DCTERMS.created, DCTERMS.creator,
              ns.RSKG.mapsTo, ns.RSKG.covers, ns.RSKG.mappingPredicate, ns.RSKG.mappingJustification,
              ns.RSKG.confidence, ns.RSKG.note, ns.RSKG.definitionSource, ns.RSKG.osmPreset, ns.RSKG.labelKind,
              ns.RSKG.osmKey, ns.RSKG.osmValue, ns.RSKG.operation, ns.RSKG.parameters):
        g.add((p, RDF.type, OWL.AnnotationProperty))
    for cls, label in ((ns.RSKG.Dataset, "dataset"), (ns.RSKG.SourceLabel, "source label"),
                       (ns.RSKG.OsmTag, "OpenStreetMap tag")):
        g.add((cls, RDF.type, OWL.Class))
        g.add((cls, RDFS.label, Literal(label, lang=EN)))
    g.add((ns.RSKG.inDataset, RDF.type, OWL.ObjectProperty))
    g.add((ns.RSKG.inDataset, RDFS.domain, ns.RSKG.SourceLabel))
    g.add((ns.RSKG.inDataset, RDFS.range, ns.RSKG.Dataset))
    for p, dom, rng in ((ns.RSKG.labelText, ns.RSKG.SourceLabel, XSD.string),
                        (ns.RSKG.datasetId, ns.RSKG.Dataset, XSD.string),
                        (ns.RSKG.multiLabel, ns.RSKG.Dataset, XSD.boolean),
                        (ns.RSKG.numImages, ns.RSKG.Dataset, XSD.integer),
                        (ns.RSKG.numClasses, ns.RSKG.Dataset, XSD.integer),
                        (ns.RSKG.imageSize, ns.RSKG.Dataset, XSD.string),
                        (ns.RSKG.gsd, ns.RSKG.Dataset, XSD.string),
                        (ns.RSKG.landingPage, ns.RSKG.Dataset, XSD.string),
                        (ns.RSKG.position, ns.RSKG.SourceLabel, XSD.integer)):
        g.add((p, RDF.type, OWL.DatatypeProperty))
        g.add((p, RDFS.domain, dom))
        g.add((p, RDFS.range, rng))
    s = ns.CONCEPT_SCHEME
    g.add((s, RDF.type, SKOS.ConceptScheme))
    g.add((s, SKOS.prefLabel, Literal("rskg label category system", lang=EN)))


def add_concept(g: Graph, c: BuiltConcept) -> None:
    iri = ns.concept_iri(c.id)
    g.add((iri, RDF.type, OWL.Class))
    g.add((iri, RDF.type, SKOS.Concept))
    g.add((iri, SKOS.inScheme, ns.CONCEPT_SCHEME))
    g.add((iri, SKOS.notation, Literal(c.id)))
    g.add((iri, SKOS.prefLabel, Literal(c.label, lang=EN)))
    g.add((iri, RDFS.label, Literal(c.label, lang=EN)))
    if c.parent:
        g.add((iri, SKOS.broader, ns.concept_iri(c.parent)))
        g.add((iri, RDFS.subClassOf, ns.concept_iri(c.parent)))
    else:
        g.add((iri, SKOS.topConceptOf, ns.CONCEPT_SCHEME))
    for a in sorted(c.alt - {c.label}):
        g.add((iri, SKOS.altLabel, Literal(a, lang=EN)))
    if c.definition:
        g.add((iri, SKOS.definition, Literal(c.definition, lang=EN)))
    if c.definition_source:
        g.add((iri, ns.RSKG.definitionSource, URIRef(c.definition_source)))
    for code, exact in c.codes.items():
        g.add((iri, SKOS.exactMatch if exact else SKOS.closeMatch, ns.code_iri(code)))
    for tag, exact in c.osm.items():
        g.add((iri, SKOS.exactMatch if exact else SKOS.closeMatch, ns.osm_tag_iri(tag)))
    for p in c.osm_presets:
        g.add((iri, ns.RSKG.osmPreset, Literal(p)))
    for src in c.provenance:
        g.add((iri, DCTERMS.source, URIRef(src)))


def _alignments(g: Graph, built: Built) -> None:
    for legend, classes in built.vocab.legends.items():
        scheme = ns.legend_scheme_iri(legend)
        g.add((scheme, RDF.type, SKOS.ConceptScheme))
        g.add((scheme, SKOS.prefLabel, Literal(ns.LEGENDS[legend][1], lang=EN)))
        g.add((scheme, DCTERMS.source, ns.SOURCE["vocab/" + LEGEND_FILES[legend]]))
        for code, lc in classes.items():
            iri = ns.code_iri(f"{legend}:{code}")
            g.add((iri, RDF.type, SKOS.Concept))
            g.add((iri, SKOS.inScheme, scheme))
            g.add((iri, SKOS.notation, Literal(f"{legend}:{code}")))
            g.add((iri, SKOS.prefLabel, Literal(lc.name, lang=EN)))
            if lc.definition:
                g.add((iri, SKOS.definition, Literal(lc.definition, lang=EN)))
            if lc.parent:
                g.add((iri, SKOS.broader, ns.code_iri(f"{legend}:{lc.parent}")))
    names: dict[str, set[str]] = {}
    for p in built.vocab.osm:
        names.setdefault(f"{p.key}={p.value}", set()).add(p.name)
    for tag in sorted({t for c in built.concepts.values() for t in c.osm}):
        add_osm_tag(g, tag, names.get(tag, set()))


def add_osm_tag(g: Graph, tag: str, preset_names: set[str] | None = None) -> None:
    iri = ns.osm_tag_iri(tag)
    key, _, value = tag.partition("=")
    g.add((iri, RDF.type, ns.RSKG.OsmTag))
    g.add((iri, SKOS.notation, Literal(tag)))
    g.add((iri, ns.RSKG.osmKey, Literal(key)))
    g.add((iri, ns.RSKG.osmValue, Literal(value)))
    for n in sorted(preset_names or ()):
        g.add((iri, RDFS.label, Literal(n, lang=EN)))


def _datasets(g: Graph, built: Built) -> None:
    meta = built.curation.dataset_meta
    for ds in built.datasets:
        dsid = str(ds["id"])
        iri = ns.dataset_iri(dsid)
        g.add((iri, RDF.type, ns.RSKG.Dataset))
        g.add((iri, ns.RSKG.datasetId, Literal(dsid)))
        g.add((iri, DCTERMS.title, Literal(str(ds["name"]))))
        g.add((iri, ns.RSKG.multiLabel, Literal(bool(ds.get("multi_label")))))
        classes = list(ds["classes"])  # type: ignore[call-overload]
        g.add((iri, ns.RSKG.numClasses, Literal(len(classes))))
        if isinstance(ds.get("num_images"), int):
            g.add((iri, ns.RSKG.numImages, Literal(ds["num_images"])))
        for key, prop in (("image_size", ns.RSKG.imageSize), ("gsd_m", ns.RSKG.gsd)):
            if ds.get(key) not in (None, ""):
                g.add((iri, prop, Literal(str(ds[key]))))
        if ds.get("source"):
            g.add((iri, DCTERMS.source, Literal(str(ds["source"]))))
        m = meta.get(dsid, {})
        if m.get("url"):
            g.add((iri, ns.RSKG.landingPage, Literal(m["url"])))
        if m.get("license"):
            g.add((iri, DCTERMS.license, Literal(m["license"])))
    positions = {(str(ds["id"]), str(lab)): i for ds in built.datasets
                 for i, lab in enumerate(list(ds["classes"]))}  # type: ignore[call-overload]
    for mp in built.mappings:
        add_source_label(g, mp.dataset, mp.label, mp.concept, mp.predicate, mp.justification, mp.confidence,
                         kind=mp.kind, note=mp.note, covers=mp.covers, position=positions.get((mp.dataset, mp.label)))


def add_source_label(g: Graph, dataset: str, label: str, concept: str, predicate: str, justification: str,
                     confidence: float, *, kind: str = "class", note: str = "", covers: tuple[str, ...] = (),
                     position: int | None = None) -> URIRef:
    iri = ns.source_label_iri(dataset, label)
    g.add((iri, RDF.type, ns.RSKG.SourceLabel))
    g.add((iri, ns.RSKG.inDataset, ns.dataset_iri(dataset)))
    g.add((iri, ns.RSKG.labelText, Literal(label)))
    g.add((iri, ns.RSKG.labelKind, Literal(kind)))
    if position is not None:
        g.add((iri, ns.RSKG.position, Literal(position)))
    set_mapping(g, iri, concept, predicate, justification, confidence)
    for cid in covers:
        g.add((iri, ns.RSKG.covers, ns.concept_iri(cid)))
    if note:
        g.add((iri, ns.RSKG.note, Literal(note)))
    return iri


def set_mapping(g: Graph, label_iri: URIRef, concept: str, predicate: str, justification: str,
                confidence: float) -> None:
    for p in (ns.RSKG.mapsTo, ns.RSKG.mappingPredicate, ns.RSKG.mappingJustification, ns.RSKG.confidence,
              *MATCH.values()):
        g.remove((label_iri, p, None))
    target = ns.concept_iri(concept)
    g.add((label_iri, ns.RSKG.mapsTo, target))
    g.add((label_iri, MATCH[predicate], target))
    g.add((label_iri, ns.RSKG.mappingPredicate, Literal(predicate)))
    g.add((label_iri, ns.RSKG.mappingJustification, Literal(justification)))
    g.add((label_iri, ns.RSKG.confidence, Literal(Decimal(str(round(float(confidence), 4))))))


def changelog_header(g: Graph) -> None:
    log = ns.CHANGE["log"]
    g.add((log, RDF.type, PROV.Bundle))
    g.add((log, RDFS.label, Literal("rskg label system edit log", lang=EN)))


def render(built: Built) -> dict[str, Graph]:
    graphs = {name: new_graph() for name in FILES}
    _vocabulary(graphs[CONCEPTS])
    for c in built.concepts.values():
        add_concept(graphs[CONCEPTS], c)
    _alignments(graphs[ALIGNMENTS], built)
    _datasets(graphs[DATASETS], built)
    changelog_header(graphs[CHANGELOG])
    return graphs

