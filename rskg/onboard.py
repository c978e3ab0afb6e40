"""Post-ingest onboarding: a dataset's label sets join the label system (paper 000 Algorithm 1).

``rskg ingest`` calls :func:`onboard_label_sets` after the samples are in. For every label set the reader
wrote (class folders, a multi-label vocabulary) the labels that answer no concept yet (no MAPS_TO or COVERS
edge in Neo4j, no current mapping decision in PostgreSQL) are mapped by :func:`rskg.label_mapping.map_vocabulary`:

* ``auto`` decisions set a usable MAPS_TO edge at once, so direct retrieval by concept finds the samples
  (the retrieval lexicon is re-read within ``LEXICON_TTL_S``; this process's cache is invalidated here);
* ``pending`` ones wait in the review queue (`rskg map review`, GraphQL ``mappingReview``, /review/mappings);
* ``proposed`` ones (no equivalent concept) wait there too, as a new concept under a proposed parent.

Label sets of ontology datasets are curated (`rskg sync`) and are left alone; a label that already has a
decision (any status, a human's included) is not re-decided, so a second ingest maps nothing and stores
nothing. The text encoder is only loaded when there is something to map.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kg import mappings_graph as G
from mappings import decision_table as store
from mappings.decisions import MappingDecision
from rskg.adjacency import AdjacencyReport
from rskg.services import Services

if TYPE_CHECKING:
    from rskg.retrieval.prototypes import BuildReport


@dataclass
class OnboardReport:
    label_sets: dict[str, int] = field(default_factory=dict)     # label set -> labels it has
    mapped: list[MappingDecision] = field(default_factory=list)  # decisions stored by this run
    already: int = 0                                             # labels mapped before this run
    skipped_sets: list[str] = field(default_factory=list)        # ontology (curated) label sets
    note: str = ""                                               # why nothing was mapped, if so
    adjacency: AdjacencyReport | None = None                     # ADJACENT_TO rewritten (multi-label data)
    prototypes: BuildReport | None = None                        # prototypes refitted where members changed

    def counts(self) -> dict[str, int]:
        c = Counter(d.status for d in self.mapped)
        return {s: c.get(s, 0) for s in ("auto", "pending", "proposed")}

    def summary(self) -> str:
        out = self._mapping_summary() + (f"\n{self.adjacency.summary()}" if self.adjacency else "")
        if self.prototypes is not None:
            p = self.prototypes
            out += (f"\nprototypes: {p.rebuilt} of {p.concepts} concepts refitted (members changed), "
                    f"version {p.version}")
        return out

    def _mapping_summary(self) -> str:
        if self.note:
            return f"label mapping: {self.note}"
        c = self.counts()
        return (f"label mapping: {sum(self.label_sets.values())} labels in {len(self.label_sets)} label set(s); "
                f"{c['auto']} auto-accepted, {c['pending']} pending review, {c['proposed']} new concept "
                f"proposed, {self.already} already mapped"
                + (f"; curated (ontology) label sets left alone: {', '.join(self.skipped_sets)}"
                   if self.skipped_sets else ""))


def _todo(svc: Services, label_set: str, names: Sequence[str]) -> list[str]:
    with svc.connection() as conn:
        decided = set(store.current_map(conn, label_set))
    mapped = G.mapped_source_labels(svc.driver, [f"{label_set}:{n}" for n in names])
    return [n for n in names if n not in decided and f"{label_set}:{n}" not in mapped]


def onboard_label_sets(svc: Services, label_sets: Mapping[str, Sequence[str]], author: str = "rskg-ingest",
                       dataset: str | None = None, samples_changed: bool = False) -> OnboardReport:
    """Map the not-yet-mapped labels of ``label_sets`` (label set id -> label names); then, for a
    ``dataset`` with multi-label samples, rewrite the ADJACENT_TO edges around the concepts it touches
    (``rskg.adjacency``), and refit the prototypes whose members changed (when this home has a prototype
    store; ``samples_changed``: the ingest added or relabelled samples). Idempotent."""
    rep = _map_label_sets(svc, label_sets, author)
    if dataset is not None and rep.note == "" and has_multi_label_samples(svc, dataset):
        from ontology.store import load_label_system
        from rskg.adjacency import refresh_adjacency

        rep.adjacency = refresh_adjacency(svc, load_label_system(svc.settings.ontology_dir), dataset)
        svc.invalidate_caches()
    if dataset is not None and (rep.mapped or samples_changed):
        rep.prototypes = refresh_prototypes(svc)
    return rep


def refresh_prototypes(svc: Services) -> BuildReport | None:
    """Prototypes of the concepts whose members changed, when this home has a prototype store."""
    from rskg.retrieval.caches import image_index
    from rskg.retrieval.prototypes import build_prototypes, prototype_path

    if not prototype_path(svc.settings).exists() or image_index(svc, required=False) is None:
        return None
    svc.invalidate_caches()
    return build_prototypes(svc, svc.settings, only_changed=True)


MULTI_LABEL_SAMPLE = """
SELECT 1 FROM sample_labels sl JOIN samples s ON s.id = sl.sample_id WHERE s.dataset_id = %s
GROUP BY sl.sample_id HAVING count(*) > 1 LIMIT 1
"""


def has_multi_label_samples(svc: Services, dataset: str) -> bool:
    """Whether some sample of the dataset carries two labels or more (its co-occurrences feed ADJACENT_TO)."""
    with svc.connection() as conn:
        return conn.execute(MULTI_LABEL_SAMPLE, (dataset,)).fetchone() is not None


def _map_label_sets(svc: Services, label_sets: Mapping[str, Sequence[str]], author: str) -> OnboardReport:
    from ontology.store import load_label_system
    from rskg.label_mapping import MappingContext, map_vocabulary

    rep = OnboardReport()
    system = load_label_system(svc.settings.ontology_dir)
    todo: dict[str, list[str]] = {}
    for ls, names in label_sets.items():
        names = [n for n in dict.fromkeys(names) if n and n.strip()]
        if ls in system.datasets:
            rep.skipped_sets.append(ls)
            continue
        rep.label_sets[ls] = len(names)
        todo[ls] = _todo(svc, ls, names)
        rep.already += len(names) - len(todo[ls])
    if not any(todo.values()):
        return rep
    if G.count_concepts(svc.driver) == 0:
        rep.note = ("skipped: the label system is not in Neo4j (run `rskg sync`, then rerun the ingest "
                    "or `rskg map add`)")
        return rep
    ctx = MappingContext.open(svc, system)
    try:
        for ls, names in todo.items():
            if names:
                _, stored = map_vocabulary(ctx, ls, names, author)
                rep.mapped += stored
    finally:
        if ctx.encoder is not None:
            ctx.encoder.close()
    svc.invalidate_caches()
    return rep


CATALOG_LABEL_SETS = """
SELECT DISTINCT sl.label_set, sl.label FROM sample_labels sl JOIN samples s ON s.id = sl.sample_id
WHERE s.dataset_id = %s ORDER BY sl.label_set, sl.label
"""


def refresh_dataset(svc: Services, dataset: str, author: str = "rskg-refresh") -> OnboardReport:
    """`rskg refresh DATASET`: the onboarding of an already ingested dataset (e.g. one ingested with
    --no-map), from its catalog labels; the same steps as the ingest, idempotent."""
    from rskg.errors import NotFoundError

    sets: dict[str, list[str]] = {}
    with svc.connection() as conn:
        for ls, label in conn.execute(CATALOG_LABEL_SETS, (dataset,)).fetchall():
            sets.setdefault(str(ls), []).append(str(label))
    if not sets:
        raise NotFoundError(f"dataset {dataset!r} has no labelled samples in the catalog",
                            "Ingest it first: `rskg ingest URL --id NAME`.")
    return onboard_label_sets(svc, sets, author, dataset=dataset, samples_changed=True)
