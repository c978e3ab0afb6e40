"""Removing an ingested dataset from every store (`rskg drop`, tests, re-ingesting from scratch).

:func:`drop_dataset` deletes the rows and nodes; :func:`drop_ingested` is the user's command around it: it refuses
while an ingest of the dataset runs, says what it will delete (:func:`plan_drop`), forgets the mapping decisions of
the dataset's own label sets (not of curated, ontology label sets: those stay, and so do their SourceLabel nodes),
rebuilds the image index from the remaining datasets' stored feature rows, and then lets the label system follow:
ADJACENT_TO restated where the dataset's co-occurrences counted, prototypes refitted where members left.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kg import samples as cy
from mappings import decision_table
from rskg.catalog import samples as catalog
from rskg.catalog.zarr_store import PixelStore
from rskg.errors import NotFoundError, ValidationError
from rskg.ingest.features import image_index_path, index_lock
from rskg.services import Services

if TYPE_CHECKING:
    from ontology.model import LabelSystem
    from rskg.adjacency import AdjacencyReport
    from rskg.retrieval.prototypes import BuildReport

LABEL_SETS_OF = """
SELECT DISTINCT sl.label_set FROM sample_labels sl JOIN samples s ON s.id = sl.sample_id
WHERE s.dataset_id = %s ORDER BY 1
"""
DECISIONS_OF = "SELECT count(*) FROM mapping_decisions WHERE dataset_id = ANY(%s) AND NOT superseded"
KNOWN_DATASETS = "SELECT id FROM datasets ORDER BY id"


def drop_dataset(services: Services, dataset_id: str, label_sets: list[str] | None = None,
                 keep_own_label_set: bool = False) -> int:
    """Delete a dataset's rows, Sample/SourceLabel/Dataset nodes, Zarr arrays and index vectors (the index is
    rebuilt from the other datasets' stored feature rows); returns the index vectors removed. ``label_sets``:
    further label sets whose SourceLabel and Dataset nodes go too (e.g. the dataset's multi-label vocabulary);
    ``keep_own_label_set``: the dataset's own label set is a curated (ontology) one, its nodes stay."""
    with services.connection() as conn:
        catalog.delete_dataset(conn, dataset_id)
    services.driver.execute_query(cy.DELETE_DATASET_SAMPLES, dataset=dataset_id)
    for ls in [*([] if keep_own_label_set else [dataset_id]), *(label_sets or [])]:
        services.driver.execute_query(cy.DELETE_LABEL_SET, dataset=ls)
        services.driver.execute_query(cy.DELETE_DATASET_NODE, dataset=ls)
    pixels = PixelStore(services.settings.zarr_path)
    pixels.delete_dataset(dataset_id)
    return _drop_vectors(services, dataset_id, pixels)


def _drop_vectors(services: Services, dataset_id: str, pixels: PixelStore) -> int:
    """Rebuild the image index without the dataset's vectors; returns how many left (0: nothing rebuilt)."""
    path = image_index_path(services.settings)
    if not path.exists():
        return 0
    from embeddings.faiss_index import IndexParams, VectorIndex
    from rskg.ingest.reconcile import index_from_features

    with index_lock(services.settings):
        idx = VectorIndex.load(path)
        gone = sum(1 for i in idx.ids if i and i.startswith(f"{dataset_id}:"))
        if gone:
            params = IndexParams.from_settings(services.settings)
            index_from_features(pixels.root, idx.version, idx.dim, params).save(path)
    return gone


@dataclass
class DropReport:
    dataset: str
    samples: int = 0
    label_sets: list[str] = field(default_factory=list)      # the dataset's own label sets (nodes + decisions go)
    curated: list[str] = field(default_factory=list)         # ontology label sets its samples used (kept)
    decisions: int = 0                                       # mapping decisions forgotten (or to forget)
    keep_mappings: bool = False
    multi_label: bool = False
    vectors: int = 0                                         # image-index vectors removed
    adjacency: AdjacencyReport | None = None
    prototypes: BuildReport | None = None
    done: bool = False

    def summary(self) -> str:
        verb = "dropped" if self.done else "would drop"
        out = (f"dataset {self.dataset}: {verb} {self.samples} samples (catalog rows, Sample nodes, pixels, "
               f"features{', ' + str(self.vectors) + ' index vectors' if self.done else ''}); "
               f"label sets {', '.join(self.label_sets) or 'none'}")
        if self.curated:
            out += f"; curated label sets kept: {', '.join(self.curated)}"
        out += (f"; {self.decisions} mapping decisions " + ("kept" if self.keep_mappings else
                                                            ("forgotten" if self.done else "to forget")))
        if self.adjacency is not None:
            out += f"\n{self.adjacency.summary()}"
        if self.prototypes is not None:
            p = self.prototypes
            out += f"\nprototypes: {p.rebuilt} of {p.concepts} concepts refitted (members changed), version {p.version}"
        return out


def plan_drop(services: Services, dataset_id: str, keep_mappings: bool = False,
              system: LabelSystem | None = None) -> DropReport:
    """What :func:`drop_ingested` would delete; changes nothing. Unknown ids raise NotFoundError."""
    from ontology.store import load_label_system
    from rskg.onboard import has_multi_label_samples

    system = system or load_label_system(services.settings.ontology_dir)
    with services.connection() as conn:
        known = [str(r[0]) for r in conn.execute(KNOWN_DATASETS).fetchall()]
        if dataset_id not in known:
            raise NotFoundError(f"no ingested dataset {dataset_id!r} (ingested: {', '.join(known) or 'none'})",
                                "`rskg drop` takes a catalog id as given to `rskg ingest --id`.")
        sets = {dataset_id, *(str(r[0]) for r in conn.execute(LABEL_SETS_OF, (dataset_id,)).fetchall())}
        curated_ids = set(system.datasets)
        rep = DropReport(dataset_id, catalog.count(conn, dataset_id), keep_mappings=keep_mappings,
                         label_sets=sorted(sets - curated_ids), curated=sorted(sets & curated_ids))
        rep.decisions = int(conn.execute(DECISIONS_OF, (rep.label_sets,)).fetchone()[0])
    rep.multi_label = has_multi_label_samples(services, dataset_id)
    return rep


def drop_ingested(services: Services, dataset_id: str, keep_mappings: bool = False) -> DropReport:
    """`rskg drop DATASET`: remove an ingested dataset everywhere and let the label system follow."""
    from ontology.store import load_label_system
    from rskg.adjacency import refresh_adjacency
    from rskg.onboard import refresh_prototypes

    system = load_label_system(services.settings.ontology_dir)
    rep = plan_drop(services, dataset_id, keep_mappings, system)
    with services.connection() as lock_conn:
        if not catalog.try_lock(lock_conn, dataset_id):
            raise ValidationError(f"an ingest of {dataset_id!r} is running", "Wait for it to finish, then drop.")
        try:
            rep.vectors = drop_dataset(services, dataset_id, [s for s in rep.label_sets if s != dataset_id],
                                       keep_own_label_set=dataset_id in rep.curated)
            if not keep_mappings:
                with services.connection() as conn:
                    for ls in rep.label_sets:
                        decision_table.delete_dataset(conn, ls)
        finally:
            catalog.unlock(lock_conn, dataset_id)
    rep.done = True
    if rep.multi_label:
        rep.adjacency = refresh_adjacency(services, system, dataset_id)
    rep.prototypes = refresh_prototypes(services)
    services.invalidate_caches()
    return rep
