"""OSM vocabulary: tag descriptions, label → OSM tag lookup, and the structural similarity of
paper 000 §3.3.1 (co-citation on the OSM Semantic Network, Ballatore et al. 2013).

Sources (``settings.data_dir / "vocab/osm"``):
- ``osm_semantic_network/osm_semantic_network.skos.rdf.gz``: SKOS RDF/XML, one node per OSM key
  (``…/term/k:KEY``) or tag (``…/term/k:KEY/v:VALUE``), with English definitions and the links
  ``osnp:link``, ``skos:related``, ``osnp:combinedWith``, ``osnp:implies``.
- ``osm_tags.csv``: iD tagging-schema presets (name, terms, aliases, the full tag set of a preset).

Structural similarity (defined precisely)
-----------------------------------------
Let G be the undirected graph whose nodes are OSM tags ``k=v`` (and keys ``k``) and whose edges are
(i) the OSN relations link / related / combinedWith / implies between two nodes, and (ii) the
co-mention of two tags in the tag set of one iD preset (e.g. ``natural=water`` + ``water=lake``).
The edge ``k=v → k`` (a tag and its own key) is NOT added: every value of a key would then be
co-cited by the key and ``landuse=*`` values would all look alike.
For a set of tags T (a concept's ``osm_tags``) the closed neighbourhood is
``N[T] = T ∪ {u : (t, u) ∈ G, t ∈ T}``. The structural similarity is the cosine co-citation

    struct_sim(A, B) = |N[T_A] ∩ N[T_B]| / sqrt(|N[T_A]| · |N[T_B]|)      ∈ [0, 1]

so two concepts are similar when they share tags, cite each other, or are cited by the same
tags. It is 0 when either side has no OSM tag (structure then gives no evidence).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import json
import logging
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, cast

from rskg import artifacts, atomic
from rskg.errors import DataError
from rskg.settings import Settings

OSN_FILE = Path("vocab/osm/osm_semantic_network/osm_semantic_network.skos.rdf.gz")
TAGS_FILE = Path("vocab/osm/osm_tags.csv")
_OSN = "http://spatial.ucd.ie/lod/osn/"
_REL = ("property/link", "property/combinedWith", "property/implies")
_SKOS = "http://www.w3.org/2004/02/skos/core#"
_CACHE_VERSION = "1"


def norm(text: str) -> str:
    """Canonical form for lexical matching: camelCase split, separators → space, lower case."""
    text = re.sub(r"^[a-z](?=[A-Z][a-z])", "", text.strip())   # RSSCN7 folder prefix: dRiverLake
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"[_\-/&.,()]+", " ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def tag_of_uri(uri: str) -> str | None:
    """``…/term/k:natural/v:water`` → ``natural=water``; ``…/term/k:natural`` → ``natural``."""
    if not uri.startswith(_OSN + "term/k:"):
        return None
    rest = uri[len(_OSN + "term/k:"):]
    if "/v:" in rest:
        k, v = rest.split("/v:", 1)
        return f"{k}={v}"
    return rest


@dataclass
class OsmVocab:
    neighbours: dict[str, set[str]] = field(default_factory=dict)   # undirected graph G (see module doc)
    definitions: dict[str, str] = field(default_factory=dict)       # tag → English OSN definition
    names: dict[str, str] = field(default_factory=dict)             # tag → iD preset name
    terms: dict[str, list[str]] = field(default_factory=dict)       # tag → iD terms + aliases
    lexicon: dict[str, set[str]] = field(default_factory=dict)      # norm(name/term/value) → tags

    # ---- descriptions ----------------------------------------------------------------------
    def describe(self, tag: str, max_chars: int = 240) -> str:
        """Short English description of a tag: preset name, terms, first part of the OSN definition."""
        parts = []
        if tag in self.names:
            parts.append(self.names[tag])
        if self.terms.get(tag):
            parts.append(", ".join(self.terms[tag][:8]))
        d = self.definitions.get(tag, "")
        if d:
            parts.append(d[:max_chars].rsplit(" ", 1)[0] if len(d) > max_chars else d)
        return ". ".join(parts)

    def lookup(self, label: str) -> list[str]:
        """getOSMTag of Algorithm 1: tags whose preset name, term, alias or value equals the label."""
        key = norm(label)
        hits = self.lexicon.get(key) or self.lexicon.get(key.rstrip("s")) or set()
        if not hits and " " in key:
            hits = self.lexicon.get(key.replace(" ", "")) or set()
        return sorted(hits)

    # ---- structure --------------------------------------------------------------------------
    def closed_neighbourhood(self, tags: list[str] | tuple[str, ...]) -> set[str]:
        out: set[str] = set(tags)
        for t in tags:
            out |= self.neighbours.get(t, set())
        return out

    def struct_sim(self, tags_a: list[str] | tuple[str, ...], tags_b: list[str] | tuple[str, ...]) -> float:
        if not tags_a or not tags_b:
            return 0.0
        na, nb = self.closed_neighbourhood(tags_a), self.closed_neighbourhood(tags_b)
        return len(na & nb) / math.sqrt(len(na) * len(nb))


def _file_hash(paths: list[Path]) -> str:
    h = hashlib.sha256(_CACHE_VERSION.encode())
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def _parse_osn(path: Path, vocab: OsmVocab) -> None:
    import rdflib

    logging.getLogger("rdflib").setLevel(logging.ERROR)
    g = rdflib.Graph()
    try:
        with gzip.open(path) as f:
            g.parse(cast(IO[bytes], f), format="xml")
    except Exception as exc:  # rdflib raises many parser types
        raise DataError(f"cannot parse the OSM Semantic Network {path}: {exc}") from exc
    rels = {rdflib.URIRef(_OSN + r) for r in _REL} | {rdflib.URIRef(_SKOS + "related")}
    for s, p, o in g:
        if p in rels:
            a, b = tag_of_uri(str(s)), tag_of_uri(str(o))
            if a and b and a != b and not (("=" in a) != ("=" in b) and (a.split("=")[0] == b.split("=")[0])):
                vocab.neighbours.setdefault(a, set()).add(b)
                vocab.neighbours.setdefault(b, set()).add(a)
    definition = rdflib.URIRef(_SKOS + "definition")
    for s, o in g.subject_objects(definition):
        t = tag_of_uri(str(s))
        if t and getattr(o, "language", None) == "en" and t not in vocab.definitions:
            vocab.definitions[t] = " ".join(str(o).split())
    for t in list(vocab.definitions) + list(vocab.neighbours):
        if "=" in t:
            vocab.lexicon.setdefault(norm(t.split("=", 1)[1]), set()).add(t)


def _parse_presets(path: Path, vocab: OsmVocab) -> None:
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row["value"] in ("*", "") or row.get("searchable") == "false":
                continue
            tag = f"{row['key']}={row['value']}"
            vocab.names.setdefault(tag, row["name"])
            extra = [t for t in (row["terms"] + "|" + row["aliases"]).split("|") if t]
            vocab.terms.setdefault(tag, [])
            vocab.terms[tag] += [t for t in extra if t not in vocab.terms[tag]]
            if row.get("description") and tag not in vocab.definitions:
                vocab.definitions[tag] = row["description"]
            for name in [row["name"], row["value"], *extra]:
                vocab.lexicon.setdefault(norm(name), set()).add(tag)
            tags = [t for t in row["tags"].split(";") if "=" in t and not t.endswith("=*")]
            for a in tags:
                for b in tags:
                    if a != b:
                        vocab.neighbours.setdefault(a, set()).add(b)


def load_osm_vocab(settings: Settings) -> OsmVocab:
    """Parse both OSM sources once; the result is cached as JSON under ``cache_dir`` (keyed by the
    files' content hash), so later loads take well under a second."""
    osn, tags = settings.data_dir / OSN_FILE, settings.data_dir / TAGS_FILE
    for p in (osn, tags):
        if not p.is_file():
            raise DataError(f"OSM vocabulary file missing: {p}", "Set RSKG_DATA_DIR to the shared data folder.")
    cache = artifacts.osm_vocab_cache(settings, _file_hash([osn, tags]))
    if cache.is_file():
        raw = json.loads(cache.read_text())
        return OsmVocab(neighbours={k: set(v) for k, v in raw["neighbours"].items()},
                        definitions=raw["definitions"], names=raw["names"], terms=raw["terms"],
                        lexicon={k: set(v) for k, v in raw["lexicon"].items()})
    vocab = OsmVocab()
    _parse_osn(osn, vocab)
    _parse_presets(tags, vocab)
    atomic.write_text(cache, json.dumps({"neighbours": {k: sorted(v) for k, v in vocab.neighbours.items()},
                                         "definitions": vocab.definitions, "names": vocab.names,
                                         "terms": vocab.terms,
                                         "lexicon": {k: sorted(v) for k, v in vocab.lexicon.items()}}))
    return vocab


def tag_index(vocab: OsmVocab) -> dict[str, list[str]]:
    """Reverse lexicon (tag → its normalised names); handy for explanations."""
    out: dict[str, list[str]] = defaultdict(list)
    for name, tags in vocab.lexicon.items():
        for t in tags:
            out[t].append(name)
    return dict(out)
