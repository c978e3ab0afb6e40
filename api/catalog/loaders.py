"""Per-request DataLoaders of datasets and samples (PostgreSQL / Neo4j, one round trip per batch)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from api.catalog import sql
from api.context import Context
from api.loaders import cypher_loader


def sample_by_id(ctx: Context) -> DataLoader[str, tuple[Any, ...] | None]:
    async def load(ids: list[str]) -> Sequence[tuple[Any, ...] | None]:
        rows = await ctx.db.sql(sql.SAMPLES_BY_ID, (list(ids),))
        by = {r[0]: r for r in rows}
        return [by.get(i) for i in ids]

    return DataLoader(load_fn=load)


def label_sets(ctx: Context) -> DataLoader[str, list[tuple[str, str]]]:
    async def load(ids: list[str]) -> Sequence[list[tuple[str, str]]]:
        out: dict[str, list[tuple[str, str]]] = {i: [] for i in ids}
        for sid, ls, lab in await ctx.db.sql(sql.LABEL_SETS_BY_SAMPLE, (list(ids),)):
            out[sid].append((ls, lab))
        return [out[i] for i in ids]

    return DataLoader(load_fn=load)


def composition(ctx: Context) -> DataLoader[str, list[tuple[str, float, str]]]:
    async def load(ids: list[str]) -> Sequence[list[tuple[str, float, str]]]:
        out: dict[str, list[tuple[str, float, str]]] = {i: [] for i in ids}
        for sid, cid, frac, model in await ctx.db.sql(sql.COMPOSITION_BY_SAMPLE, (list(ids),)):
            out[sid].append((cid, float(frac), model))
        return [out[i] for i in ids]

    return DataLoader(load_fn=load)


def has_mask(ctx: Context) -> DataLoader[str, bool]:
    async def load(ids: list[str]) -> Sequence[bool]:
        masked = {r[0] for r in await ctx.db.sql(sql.MASKED_SAMPLES, (list(ids),))}
        return [i in masked for i in ids]

    return DataLoader(load_fn=load)


def dataset_by_id(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, sql.DATASETS_BY_ID, "node")


def dataset_labels(ctx: Context) -> DataLoader[str, Any]:
    return cypher_loader(ctx.db, sql.DATASET_LABELS, "items", list)
