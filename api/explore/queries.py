"""Queries of the web app: typeahead over every spelling, repository statistics (paper 000 Fig. 11), footprints."""

from __future__ import annotations

import json
import re
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from api.concepts.loaders import ACTIVE_STATUSES
from api.concepts.types import Concept
from api.context import Info
from api.explore import queries_text as q
from rskg.catalog import samples as catalog_sql
from rskg.errors import ValidationError

MAX_TEXT = 100
MAX_FOOTPRINTS = 20000
_NON_WORD = re.compile(r"[\s_\-/]+")


def normalise(text: str) -> str:
    """The form every spelling is compared in: lower case without spaces, underscores, hyphens, slashes."""
    return _NON_WORD.sub("", text.lower())


@strawberry.type
class Spelling:
    text: str
    how: str = strawberry.field(description="prefLabel, id, altLabel or sourceLabel")
    dataset: str | None = strawberry.field(description="label set of a sourceLabel spelling")


@strawberry.type(description="A concept found by its spellings (its own labels or datasets' source labels).")
class ConceptSuggestion:
    concept: Concept
    spelling: str = strawberry.field(description="the best matching spelling")
    how: str
    spellings: list[Spelling] = strawberry.field(description="every matching spelling, best first")


@strawberry.type
class ConceptDatasetCount:
    concept_id: str
    concept_name: str
    dataset: str
    samples: int


@strawberry.type
class DatasetStats:
    id: str
    name: str
    url: str | None
    license: str | None
    citation: str | None
    gsd_m: float | None
    multi_label: bool
    sensors: list[str]
    samples: int
    georeferenced: int
    registered_at: datetime
    acquired_from: datetime | None
    acquired_to: datetime | None


@strawberry.type
class GrowthPoint:
    day: datetime
    datasets: int
    mapped_labels: int
    samples: int


@strawberry.type(description="What the repository holds: samples per concept and dataset, datasets, growth.")
class RepositoryStats:
    samples: int
    datasets: list[DatasetStats]
    per_concept_dataset: list[ConceptDatasetCount] = strawberry.field(
        description="samples whose source labels map (MAPS_TO, active) directly to the concept, per dataset")
    growth: list[GrowthPoint]


_HOW_ORDER = {"prefLabel": 0, "id": 1, "altLabel": 2, "sourceLabel": 3}


def _rank(text: str, norm: str, spelling: str, how: str) -> tuple[int, int, int]:
    s = normalise(spelling)
    exact = 0 if spelling.lower() == text.lower() else 1 if s == norm else 2 if s.startswith(norm) else 3
    return exact, _HOW_ORDER.get(how, 4), len(s)


@strawberry.type(description="What the web app needs to know about this server.")
class WebConfig:
    tile_url: str = strawberry.field(description="XYZ tile URL template (RSKG_WEB_TILE_URL); empty = offline base "
                                                 "layer only")
    neo4j_browser_url: str


@strawberry.type
class DatasetCount:
    dataset: str
    samples: int


@strawberry.type
class ExploreQueries:
    @strawberry.field(description="Settings of the web app: map tiles, Neo4j Browser address.")
    def web_config(self, info: Info) -> WebConfig:
        s = info.context.settings
        return WebConfig(tile_url=s.web_tile_url, neo4j_browser_url=s.browser_url)

    @strawberry.field(description="Samples labelled with the concept or a subclass (active mappings), per dataset.")
    async def concept_sample_counts(self, info: Info, id: strawberry.ID) -> list[DatasetCount]:
        from api.concepts.loaders import label_pairs

        pairs = await info.context.loader(label_pairs).load(str(id))
        if not pairs:
            return []
        rows = await info.context.db.sql(q.SAMPLES_PER_DATASET_OF_PAIRS, ([p[0] for p in pairs], [p[1] for p in pairs]))
        return [DatasetCount(dataset=d, samples=int(n)) for d, n in rows]

    @strawberry.field(description="Typeahead: concepts whose id, name, synonym or any dataset's source label "
                                  "contains the text (compared without case, spaces, '_', '-', '/'); one row "
                                  "per concept with every matching spelling, best first.")
    async def suggest_concepts(self, info: Info, text: str, limit: int = 12) -> list[ConceptSuggestion]:
        norm = normalise(text)
        if not norm:
            raise ValidationError("the search text has no letters", "Type part of a label, e.g. 'storage tank'.")
        if len(text) > MAX_TEXT:
            raise ValidationError(f"the search text is longer than {MAX_TEXT} characters", "Shorten it.")
        rows = await info.context.db.cypher(q.SUGGEST_SPELLINGS, norm=norm, active=ACTIVE_STATUSES)
        by: dict[str, tuple[dict, list[tuple[tuple[int, int, int], Spelling]]]] = {}
        for r in rows:
            node, found = by.setdefault(r["node"]["id"], (r["node"], []))
            if any(sp.text == r["spelling"] and sp.dataset == r["dataset"] for _, sp in found):
                continue
            found.append((_rank(text, norm, r["spelling"], r["how"]),
                          Spelling(text=r["spelling"], how=r["how"], dataset=r["dataset"])))
        out = []
        for node, found in by.values():
            found.sort(key=lambda x: (x[0], x[1].dataset or "", x[1].text))
            out.append((found[0][0], ConceptSuggestion(concept=Concept.from_node(node), spelling=found[0][1].text,
                                                       how=found[0][1].how, spellings=[sp for _, sp in found])))
        out.sort(key=lambda x: (x[0], str(x[1].concept.id)))
        return [s for _, s in out[:max(1, min(limit, 100))]]

    @strawberry.field(description="Repository statistics: datasets (license, citation, GSD, sensors, counts), "
                                  "samples per concept and dataset, cumulative growth per day.")
    async def repository_stats(self, info: Info) -> RepositoryStats:
        db = info.context.db
        maps = await db.cypher(q.ACTIVE_MAPPINGS, active=ACTIVE_STATUSES)
        names = {m["concept"]: m["name"] or m["concept"] for m in maps}
        counts = await db.sql(q.SAMPLES_PER_CONCEPT_DATASET, ([m["concept"] for m in maps],
                                                             [m["label_set"] for m in maps],
                                                             [m["label"] for m in maps]))
        ds = [DatasetStats(id=r[0], name=r[1], url=r[2], license=r[3], citation=r[4], gsd_m=r[5],
                           multi_label=bool(r[6]), registered_at=r[7], samples=int(r[8]), georeferenced=int(r[9]),
                           sensors=sorted(r[10] or []), acquired_from=r[11], acquired_to=r[12])
              for r in await db.sql(catalog_sql.DATASET_STATS)]
        growth = [GrowthPoint(day=r[0], datasets=int(r[1]), mapped_labels=int(r[2]), samples=int(r[3]))
                  for r in await db.sql(q.GROWTH, (ACTIVE_STATUSES,))]
        return RepositoryStats(
            samples=sum(d.samples for d in ds), datasets=ds, growth=growth,
            per_concept_dataset=[ConceptDatasetCount(concept_id=c, concept_name=names.get(c, c), dataset=d,
                                                     samples=int(n)) for c, d, n in counts])

    @strawberry.field(description="Envelopes of georeferenced samples as a GeoJSON FeatureCollection "
                                  "(properties id, dataset), optionally of some datasets only.")
    async def footprints(self, info: Info, datasets: list[str] | None = None, limit: int = 5000) -> JSON:
        n = max(1, min(limit, MAX_FOOTPRINTS))
        rows = await info.context.db.sql(q.FOOTPRINTS, (datasets, datasets, n))
        return JSON({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": json.loads(g), "properties": {"id": sid, "dataset": ds}}
            for sid, ds, g in rows]})
