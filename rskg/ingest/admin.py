"""Removing a dataset from every store (tests, and re-ingesting from scratch)."""

from __future__ import annotations

from kg import samples as cy
from rskg.catalog import samples as catalog
from rskg.catalog.zarr_store import PixelStore
from rskg.ingest.features import image_index_path, index_lock
from rskg.services import Services


def drop_dataset(services: Services, dataset_id: str, label_sets: list[str] | None = None) -> None:
    """Delete a dataset's rows, Sample/SourceLabel/Dataset nodes, Zarr arrays and index vectors."""
    with services.connection() as conn:
        catalog.delete_dataset(conn, dataset_id)
    services.driver.execute_query(cy.DELETE_DATASET_SAMPLES, dataset=dataset_id)
    for ls in [dataset_id, *(label_sets or [])]:
        services.driver.execute_query(cy.DELETE_LABEL_SET, dataset=ls)
        services.driver.execute_query(cy.DELETE_DATASET_NODE, dataset=ls)
    PixelStore(services.settings.zarr_path).delete_dataset(dataset_id)
    path = image_index_path(services.settings)
    if path.exists():
        from embeddings.faiss_index import VectorIndex

        with index_lock(services.settings):
            idx = VectorIndex.load(path)
            keep = [p for p, i in enumerate(idx.ids) if i and not i.startswith(f"{dataset_id}:")]
            if len(keep) != sum(1 for i in idx.ids if i):
                import numpy as np

                vecs = idx.reconstruct(np.asarray(keep, np.int64), normalise=False)
                VectorIndex.build([idx.ids[p] for p in keep], vecs, idx.params, idx.version).save(path)
