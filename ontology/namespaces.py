"""IRIs of the label category system (one place, so every module spells them the same)."""

from __future__ import annotations

from urllib.parse import quote, unquote

from rdflib import Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, RDF, RDFS, SKOS, XSD

BASE = "https://w3id.org/rskg/"
RSKG = Namespace(BASE + "ontology#")          # classes and properties of the rskg vocabulary
CONCEPT = Namespace(BASE + "concept/")         # unified label categories: CONCEPT[id]
DATASET = Namespace(BASE + "dataset/")         # datasets and their source labels
SCHEME = Namespace(BASE + "scheme/")           # external legends (CLC, ESA-CCI, ...) and their codes
SOURCE = Namespace(BASE + "source/")           # provenance resources (curation files, vocab files)
CHANGE = Namespace(BASE + "change/")           # edit log entries
ONTOLOGY_IRI = URIRef(BASE + "ontology")
CONCEPT_SCHEME = URIRef(BASE + "concept-scheme")
OSM_TAG_BASE = "https://wiki.openstreetmap.org/wiki/Tag:"

PREFIXES = {
    "rskg": RSKG, "concept": CONCEPT, "dataset": DATASET, "scheme": SCHEME, "src": SOURCE,
    "change": CHANGE, "skos": SKOS, "owl": OWL, "rdf": RDF, "rdfs": RDFS, "dcterms": DCTERMS,
    "prov": PROV, "xsd": XSD, "osmtag": Namespace(OSM_TAG_BASE),
}

# Legend schemes the concepts align to: short name -> (scheme slug, title)
LEGENDS = {
    "CLC": ("clc", "CORINE Land Cover nomenclature (EEA)"),
    "ESA-CCI": ("esa-cci", "ESA CCI Land Cover legend (UN-LCCS derived)"),
    "WorldCover": ("worldcover", "ESA WorldCover 10 m classes"),
    "CGLS": ("cgls", "Copernicus Global Land Service LC100 classes (UN-LCCS based)"),
    "LCCS": ("lccs", "FAO LCCS dichotomous-phase major land-cover types"),
}
_SLUG_TO_LEGEND = {slug: name for name, (slug, _) in LEGENDS.items()}


def concept_iri(concept_id: str) -> URIRef:
    return CONCEPT[concept_id]


def concept_id(iri: object) -> str | None:
    s = str(iri)
    return s[len(str(CONCEPT)):] if s.startswith(str(CONCEPT)) else None


def dataset_iri(dataset_id: str) -> URIRef:
    return DATASET[dataset_id]


def source_label_iri(dataset_id: str, label: str) -> URIRef:
    """IRI of a dataset's source label; the label text is percent-encoded, so it is lossless."""
    return URIRef(f"{DATASET}{dataset_id}/label/{quote(label, safe='')}")


def legend_scheme_iri(legend: str) -> URIRef:
    return SCHEME[LEGENDS[legend][0]]


def code_iri(code: str) -> URIRef:
    """'CLC:111' -> https://w3id.org/rskg/scheme/clc/111"""
    legend, _, value = code.partition(":")
    if legend not in LEGENDS or not value:
        raise ValueError(f"unknown legend code {code!r}; expected one of {sorted(LEGENDS)} as 'SCHEME:code'")
    return URIRef(f"{SCHEME}{LEGENDS[legend][0]}/{quote(value, safe='')}")


def code_from_iri(iri: object) -> str | None:
    s = str(iri)
    if not s.startswith(str(SCHEME)):
        return None
    slug, _, value = s[len(str(SCHEME)):].partition("/")
    legend = _SLUG_TO_LEGEND.get(slug)
    return f"{legend}:{unquote(value)}" if legend and value else None


def osm_tag_iri(tag: str) -> URIRef:
    """'man_made=storage_tank' -> https://wiki.openstreetmap.org/wiki/Tag:man_made=storage_tank"""
    key, sep, value = tag.partition("=")
    if not sep or not key or not value:
        raise ValueError(f"OSM tag {tag!r} must look like key=value")
    return URIRef(OSM_TAG_BASE + f"{key}={value}")


def osm_tag_from_iri(iri: object) -> str | None:
    s = str(iri)
    return unquote(s[len(OSM_TAG_BASE):]) if s.startswith(OSM_TAG_BASE) else None
