"""Plain data view of the label category system (read from the Turtle files of record).

This is the contract between ``ontology`` (which builds, edits and loads the system) and the
packages that use it (``mappings``, ``kg``, ``rskg`` pipelines, ``api``). It holds no logic that
needs rdflib, so every consumer can depend on it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Concept:
    id: str                                   # stable slug, e.g. "storage_tank"; IRI = RSKG namespace + id
    pref_label: str                           # skos:prefLabel (English, unique among siblings)
    level: int                                # 1 = top level; children are parent level + 1
    parents: list[str] = field(default_factory=list)      # skos:broader / rdfs:subClassOf ids
    alt_labels: list[str] = field(default_factory=list)   # synonyms and spelling variants
    definition: str = ""                      # skos:definition
    osm_tags: list[str] = field(default_factory=list)     # "key=value" strings, e.g. "man_made=storage_tank"
    lccs_codes: list[str] = field(default_factory=list)   # e.g. "ESA-CCI:210", "CLC:512", "LCCS:A12"
    deprecated: bool = False                  # owl:deprecated
    replaced_by: str | None = None            # dcterms:isReplacedBy (id of the active concept)
    provenance: list[str] = field(default_factory=list)   # where the concept came from (dcterms:source)


@dataclass
class DatasetInfo:
    id: str                                   # e.g. "ucm", "eurosat", "nwpu_resisc45"
    name: str
    multi_label: bool = False
    classes: list[str] = field(default_factory=list)      # original spelling, original order
    url: str = ""
    license: str = ""
    gsd_m: float | None = None
    image_size: str = ""
    num_images: int | None = None


@dataclass(frozen=True)
class SourceLabelMapping:
    dataset: str                              # DatasetInfo.id
    name: str                                 # the label exactly as the dataset spells it
    concept_id: str                           # the active concept it maps to
    predicate: str = "skos:exactMatch"        # SSSOM predicate (exactMatch / broadMatch / narrowMatch / closeMatch)
    justification: str = "semapv:ManualMappingCuration"
    confidence: float = 1.0
    covers: tuple[str, ...] = ()              # concepts a disjunctive label also covers ("river_lake" -> river, lake)


@dataclass
class LabelSystem:
    concepts: dict[str, Concept]
    datasets: dict[str, DatasetInfo]
    mappings: list[SourceLabelMapping]
    version: str = ""                         # content hash of the Turtle files

    def active(self) -> dict[str, Concept]:
        return {k: c for k, c in self.concepts.items() if not c.deprecated}

    def children(self, concept_id: str) -> list[Concept]:
        return [c for c in self.concepts.values() if concept_id in c.parents and not c.deprecated]

    def mapping_for(self, dataset: str, name: str) -> SourceLabelMapping | None:
        for m in self.mappings:
            if m.dataset == dataset and m.name == name:
                return m
        return None
