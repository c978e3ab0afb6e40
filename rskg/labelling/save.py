"""Labels brushed in the labelling page -> a new rskg dataset, mapped by the label-mapping workflow.

One save = one label on one selection (whole chips and/or segments of chips):
1. validated first (label, dataset id, non-empty selection, chips and segment ids of the prepared set);
2. the mapping decision is computed (Algorithm 1 for free text; an accepted manual decision when the
   user picked an existing concept) before anything is written;
3. PostgreSQL in one transaction: ``datasets`` row, ``labelling_labels`` rows, ``sample_labels`` rows
   (label_set = the new dataset: its sample membership);
4. Neo4j: Dataset -HAS_LABEL-> SourceLabel, Sample -LABELED-> SourceLabel;
5. the decision stored (``mapping_decisions``) and its MAPS_TO edge set (rskg.label_mapping.apply).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kg import labelling as KQ
from kg import samples as cy
from mappings import decisions as D
from mappings.decisions import MappingDecision
from mappings.merge import check_dataset_id
from rskg.errors import NotFoundError, ValidationError
from rskg.labelling.artifacts import Prepared
from rskg.services import Services

UPSERT_DATASET = """
INSERT INTO datasets (id, name, url, license, citation, multi_label)
VALUES (%s, %s, %s, 'user labels (rskg labelling tool)', %s, true)
ON CONFLICT (id) DO NOTHING
"""
INSERT_LABEL = """
INSERT INTO labelling_labels (dataset_id, source_dataset, sample_id, label, concept_id, level, segments, author)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""
INSERT_MEMBER = """
INSERT INTO sample_labels (sample_id, label_set, label) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING
"""
SELECT_ORIGIN = "SELECT id, dataset_id FROM samples WHERE id = ANY(%s)"
COUNT_MEMBERS = "SELECT count(DISTINCT sample_id) FROM sample_labels WHERE label_set = %s"
EXPORT = """
SELECT l.dataset_id, l.source_dataset, l.sample_id, s.source_path, l.label, l.level,
       array_to_string(l.segments, ' '), l.concept_id, l.author, l.created_at
FROM labelling_labels l JOIN samples s ON s.id = l.sample_id
WHERE l.dataset_id = %s OR l.source_dataset = %s
ORDER BY l.id
"""
EXPORT_COLUMNS = ["dataset", "source_dataset", "sample_id", "source_path", "label", "level", "segments",
                  "concept_id", "author", "created_at"]


@dataclass
class LabelRequest:
    dataset_id: str                      # the user-made dataset the label goes to
    source_dataset: str                  # the prepared dataset whose chips were brushed
    label: str
    chips: list[str] = field(default_factory=list)                  # whole-chip selection
    segments: dict[str, list[int]] = field(default_factory=dict)    # sample id -> segment ids
    concept_id: str | None = None
    author: str = "rskg"

    @classmethod
    def from_json(cls, source_dataset: str, body: Any) -> LabelRequest:
        if not isinstance(body, dict):
            raise ValidationError("the request body must be a JSON object",
                                  'Send {"dataset": ..., "label": ..., "chips": [...]} or "segments": {...}.')
        segs = body.get("segments") or {}
        chips = body.get("chips") or []
        if not isinstance(segs, dict) or not isinstance(chips, list):
            raise ValidationError("'chips' must be a list and 'segments' an object {sample id: [segment ids]}")
        try:
            segments = {str(k): [int(x) for x in v] for k, v in segs.items()}
        except (TypeError, ValueError) as exc:
            raise ValidationError("segment ids must be integers") from exc
        return cls(dataset_id=str(body.get("dataset") or ""), source_dataset=source_dataset,
                   label=str(body.get("label") or ""), chips=[str(c) for c in chips], segments=segments,
                   concept_id=(str(body["concept_id"]) if body.get("concept_id") else None),
                   author=str(body.get("author") or "rskg"))


@dataclass
class SaveResult:
    dataset_id: str
    label: str
    n_samples: int
    n_segments: int
    dataset_samples: int
    decision: MappingDecision

    def as_dict(self) -> dict[str, Any]:
        d = self.decision
        return {"dataset": self.dataset_id, "label": self.label, "samples": self.n_samples,
                "segments": self.n_segments, "dataset_samples": self.dataset_samples,
                "mapping": {"id": d.id, "status": d.status, "concept_id": d.concept_id, "score": d.score,
                            "proposed_parent": d.proposed_parent}}


def validate(req: LabelRequest, prep: Prepared) -> LabelRequest:
    label = " ".join(req.label.split())
    if not label:
        raise ValidationError("no label given", "Type a label (free text) or pick a concept; nothing was saved.")
    ds = check_dataset_id(req.dataset_id)
    segs = {s: sorted(set(v)) for s, v in req.segments.items() if v}
    chips = sorted(set(req.chips) - set(segs))
    if not chips and not segs:
        raise ValidationError("the selection is empty: no chips and no segments were brushed",
                              "Brush a region of the map that contains points, then save; nothing was saved.")
    for sid in [*chips, *segs]:
        prep.index(sid)
    for sid, ids in segs.items():
        n = len(prep.embeddings[prep.index(sid)])
        bad = [i for i in ids if not 0 <= i < n]
        if bad:
            raise ValidationError(f"segment ids {bad[:5]} do not exist in chip {sid} ({n} segments)",
                                  "Brush segments in the segment map of the prepared chips.")
    return LabelRequest(ds, req.source_dataset, label, chips, segs, req.concept_id, req.author.strip() or "rskg")


def decide(ctx: Any, req: LabelRequest) -> MappingDecision:
    """The label's mapping decision, computed before anything is written."""
    from mappings.merge import merge_new_labels

    if req.concept_id:
        if req.concept_id not in ctx.system.active():
            raise NotFoundError(f"concept {req.concept_id!r} is not an active concept of the label system",
                                "Pick a concept from the list, or leave it empty to map the free text.")
        return MappingDecision(dataset=req.dataset_id, label=req.label, concept_id=req.concept_id,
                               status=D.ACCEPTED, score=None, justification=D.MANUAL, predicate="skos:exactMatch",
                               author=req.author)
    from mappings import decision_table as store

    with ctx.services.connection() as conn:
        existing = store.current_map(conn, req.dataset_id)
    return merge_new_labels(req.dataset_id, [req.label], ctx.system, ctx.encoder, ctx.settings, ctx.osm,
                            model=ctx.model, existing=existing, author=req.author)[0]


def _rows(req: LabelRequest) -> Iterable[tuple[str, str, list[int]]]:
    for sid in req.chips:
        yield sid, "chip", []
    for sid, ids in req.segments.items():
        yield sid, "segment", ids


def save(services: Services, ctx: Any, prep: Prepared, req: LabelRequest) -> SaveResult:
    """Store one label on a selection (see the module docstring); ``ctx`` is a rskg.label_mapping.MappingContext."""
    from rskg.label_mapping import apply

    req = validate(req, prep)
    decision = decide(ctx, req)
    rows = list(_rows(req))
    ids = [r[0] for r in rows]
    with services.connection() as conn, conn.transaction():
        origin = dict(conn.execute(SELECT_ORIGIN, (ids,)).fetchall())
        missing = set(ids) - set(origin)
        if missing:
            raise NotFoundError(f"{len(missing)} sample(s) are no longer in the catalog: {sorted(missing)[:5]}",
                                f"Prepare {req.source_dataset} again (`rskg label prepare {req.source_dataset}`).")
        conn.execute(UPSERT_DATASET, (req.dataset_id, req.dataset_id, f"rskg-labelling:{req.source_dataset}",
                                      f"labelled by {req.author} on {req.source_dataset} (paper 001 tool)"))
        with conn.cursor() as cur:
            cur.executemany(INSERT_LABEL, [(req.dataset_id, req.source_dataset, sid, req.label, req.concept_id,
                                            level, segs, req.author) for sid, level, segs in rows])
            cur.executemany(INSERT_MEMBER, [(sid, req.dataset_id, req.label) for sid in ids])
        row = conn.execute(COUNT_MEMBERS, (req.dataset_id,)).fetchone()
        n_members = int(row[0]) if row else 0
    drv = services.driver
    drv.execute_query(cy.MERGE_DATASET, id=req.dataset_id, name=req.dataset_id,
                      url=f"rskg-labelling:{req.source_dataset}", license="user labels (rskg labelling tool)")
    drv.execute_query(cy.MERGE_DATASET_LABELS, dataset=req.dataset_id, names=[req.label])
    lab = {"id": f"{req.dataset_id}:{req.label}", "dataset": req.dataset_id, "name": req.label}
    drv.execute_query(cy.MERGE_SAMPLES, rows=[{"id": sid, "dataset": origin[sid], "labels": [lab]} for sid in ids])
    drv.execute_query(cy.SET_DATASET_COUNT, id=req.dataset_id, n=n_members)
    stored = apply(ctx, [decision])
    final = stored[0] if stored else decision
    if final.id is None:
        from mappings import decision_table as store

        with services.connection() as conn:
            final = store.current_map(conn, req.dataset_id).get(req.label, final)
    return SaveResult(req.dataset_id, req.label, len(ids), sum(len(s) for s in req.segments.values()),
                      n_members, final)


def export_rows(services: Services, dataset: str) -> list[tuple[Any, ...]]:
    """Every saved label whose user-made dataset or source dataset is ``dataset``."""
    with services.connection() as conn:
        return list(conn.execute(EXPORT, (dataset, dataset)).fetchall())


def dataset_labels(services: Services, dataset: str) -> list[dict[str, Any]]:
    return [dict(r) for r in services.driver.execute_query(KQ.DATASET_LABELS, dataset=dataset).records]
