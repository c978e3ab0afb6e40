"""Label-system growth, dataset by dataset (paper 000 Fig. 4 for this repository).

The curated datasets join in the order of ``vocab/datasets.yaml``, then every onboarded dataset (label sets
with mapping decisions in PostgreSQL, in the order of their first decision). After each one the report
counts what the label system holds *in use*: the concepts that some source label so far maps to (curated,
auto-accepted or accepted mappings) together with their ancestors, the source labels, the datasets, and the
SUBCLASS_OF / SIMILAR_TO / ADJACENT_TO edges among the concepts in use (edges as stored in Neo4j now).
A new concept created from a proposal counts from the dataset whose label proposed it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kg import mappings_graph as G
from mappings.cooccurrence import ancestors
from ontology.model import LabelSystem
from ontology.sources import read_datasets
from rskg.services import Services

ONBOARDED = """
SELECT dataset_id, source_label, concept_id, min(decided_at) OVER (PARTITION BY dataset_id) AS first_at
FROM mapping_decisions
WHERE NOT superseded AND status IN ('auto', 'accepted', 'curated') AND concept_id IS NOT NULL
ORDER BY first_at, dataset_id, source_label
"""


@dataclass
class Step:
    dataset: str
    kind: str                 # "curated" | "onboarded"
    labels_added: int
    datasets: int
    source_labels: int
    concepts: int
    subclass_of: int
    similar_to: int
    adjacent_to: int


def _order(system: LabelSystem, data_dir: Any) -> list[str]:
    try:
        listed = [str(d["id"]) for d in read_datasets(data_dir / "vocab")]
    except Exception:  # noqa: BLE001 - no vocab folder: fall back to the ontology's own order
        listed = []
    ids = [d for d in listed if d in system.datasets] + sorted(set(system.datasets) - set(listed))
    with_maps = {m.dataset for m in system.mappings}
    return ids + sorted(with_maps - set(ids))


def growth(svc: Services, system: LabelSystem) -> list[Step]:
    by_ds: dict[str, list[tuple[str, str]]] = {}
    for m in system.mappings:
        by_ds.setdefault(m.dataset, []).append((m.name, m.concept_id))
        by_ds[m.dataset] += [(m.name, c) for c in m.covers]
    steps_in = [(d, "curated") for d in _order(system, svc.settings.data_dir)]
    with svc.connection() as conn:
        for ds, label, cid, _ in conn.execute(ONBOARDED).fetchall():
            if ds in by_ds and (str(ds), "curated") in steps_in:
                continue
            if (str(ds), "onboarded") not in steps_in:
                steps_in.append((str(ds), "onboarded"))
            by_ds.setdefault(str(ds), []).append((str(label), str(cid)))
    active = system.active()
    ids = sorted(active)
    similar = [(r["a"], r["b"]) for r in G.read_similar(svc.driver, ids)]
    adjacent = [(r["a"], r["b"]) for r in G.read_adjacent(svc.driver, ids)]
    in_use: set[str] = set()
    labels: set[tuple[str, str]] = set()
    out: list[Step] = []
    for n, (ds, kind) in enumerate(steps_in, start=1):
        pairs = [(lb, c) for lb, c in by_ds.get(ds, []) if c in active]
        before = len(labels)
        for lb, c in pairs:
            labels.add((ds, lb))
            in_use.add(c)
            in_use |= ancestors(system, c) & set(active)
        sub = sum(1 for c in in_use for p in active[c].parents if p in in_use)
        out.append(Step(ds, kind, len(labels) - before, n, len(labels), len(in_use), sub,
                        sum(1 for a, b in similar if a in in_use and b in in_use),
                        sum(1 for a, b in adjacent if a in in_use and b in in_use)))
    return out


def as_rows(steps: list[Step]) -> list[dict[str, Any]]:
    return [asdict(s) for s in steps]


def markdown(steps: list[Step]) -> str:
    lines = ["| # | dataset | kind | +labels | source labels | concepts in use | SUBCLASS_OF | SIMILAR_TO "
             "| ADJACENT_TO |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {s.datasets} | {s.dataset} | {s.kind} | {s.labels_added} | {s.source_labels} | {s.concepts} | "
              f"{s.subclass_of} | {s.similar_to} | {s.adjacent_to} |" for s in steps]
    return "\n".join(lines)
