"""`search(text)`: free text -> weighted concepts -> retrieval pipeline -> images ranked by a fused score.

1. validate the text, split it into phrases (rskg.search.query);
2. match phrases to concepts (rskg.search.concepts), add the concepts the caption-trained text2concept map
   implies (only when the text matched the label system at all: a query about an unknown thing returns
   nothing, with the reason, instead of whatever the learned map guesses);
3. run the retrieval pipeline (rskg.retrieval.pipeline.retrieve: Eq. 1 expansion -> direct matches ->
   prototype kNN in FAISS) for the weighted concept set;
4. add the images nearest to the text2visual prediction (FAISS kNN), when a model for the index's encoder
   exists (`rskg search-train`);
5. score every candidate exactly (rskg.search.scoring: concept score from the prototypes of the related
   concepts, 1 for a root the sample is labelled with; visual cosine), fuse with the calibration measured
   on the val captions, and return the best with their evidence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from rskg.errors import ValidationError
from rskg.search.concepts import PhraseMatch
from rskg.search.models import concept_weights, merge
from rskg.search.query import validate
from rskg.search.resources import SearchResources, resources
from rskg.search.scoring import Calibration, root_scores
from rskg.services import Services
from rskg.settings import Settings

MAX_LIMIT = 200
POOL_FACTOR = 5
ROUTES = ("fused", "concepts", "visual")


@dataclass(frozen=True)
class WeightedConcept:
    concept_id: str
    name: str
    level: int
    weight: float
    source: str                      # "label system" | "captions"
    phrases: tuple[str, ...]         # the phrases that matched it (empty for caption-learned concepts)


@dataclass(frozen=True)
class HitEvidence:
    root: str                        # the query concept this evidence answers
    concept_id: str                  # related concept whose prototype matched (or the root when labelled)
    prototype_id: str                # "" when the sample is labelled with the root
    similarity: float
    graph_distance: float
    path: tuple[str, ...]
    labelled: bool                   # the sample carries the root (or a subclass) as a label


@dataclass(frozen=True)
class SearchHit:
    sample_id: str
    dataset: str
    score: float
    concept_score: float
    visual_score: float | None
    labels: tuple[str, ...]
    evidence: tuple[HitEvidence, ...]


@dataclass
class SearchResult:
    query: str
    phrases: list[PhraseMatch]
    concepts: list[WeightedConcept]
    hits: list[SearchHit]
    route: str
    explanation: str = ""
    notes: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)


def _concepts(res: SearchResources, phrases: list[PhraseMatch], zero: dict[str, float],
              learned: dict[str, float]) -> list[WeightedConcept]:
    out = []
    for cid, w in sorted(merge(zero, learned).items(), key=lambda kv: (-kv[1], kv[0])):
        c = res.system.concepts[cid]
        src = "label system" if cid in zero and zero[cid] >= learned.get(cid, 0.0) else "captions"
        ph = tuple(p.phrase for p in phrases if any(h.concept_id == cid for h in p.hits))
        out.append(WeightedConcept(cid, c.pref_label, c.level, round(w, 4), src, ph))
    return out


def _explain_empty(phrases: list[PhraseMatch], threshold: float) -> str:
    best = ", ".join(f"'{p.phrase}' (closest: {p.best_name}, {p.best_score:.2f})" for p in phrases)
    return (f"No concept of the label system matches the text (similarity below {threshold:.2f} for {best}). "
            "Describe what the images show with land-cover or object words, e.g. 'river', 'harbor with boats', "
            "'sparse residential area'; `rskg ontology` lists the concepts.")


def search(services: Services, settings: Settings, text: str, limit: int = 20, route: str = "fused",
           datasets: list[str] | None = None) -> SearchResult:
    from rskg.retrieval.caches import image_index
    from rskg.retrieval.knn import knn
    from rskg.retrieval.model import RetrievalRequest
    from rskg.retrieval.pipeline import retrieve

    t0 = time.perf_counter()
    query = validate(text)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"limit {limit} is outside 1..{MAX_LIMIT}", "Ask for e.g. 20 images.")
    if route not in ROUTES:
        raise ValidationError(f"unknown route {route!r}", f"Use one of {', '.join(ROUTES)}.")
    res = resources(services, settings)
    ms: dict[str, float] = {}
    emb = res.text.encode([query])
    models = res.caption_models()
    phrases, zero, learned = concept_weights(res.matcher, query, emb, models.text2concept if models else None)
    ms["concepts"] = round((time.perf_counter() - t0) * 1000, 2)
    out = SearchResult(query, phrases, [], [], route)
    if not zero:
        out.explanation = _explain_empty(phrases, res.matcher.threshold)
        out.timings_ms = {**ms, "total": round((time.perf_counter() - t0) * 1000, 2)}
        return out
    weights = merge(zero, learned) if route != "visual" else zero
    out.concepts = _concepts(res, phrases, zero, learned if route != "visual" else {})
    if models is None:
        out.notes.append("no caption-learned models for this image encoder: concept route only "
                         "(train them with `rskg search-train`)")
    t1 = time.perf_counter()
    pool = POOL_FACTOR * limit
    rr = retrieve(services, settings, RetrievalRequest(labels=sorted(weights), datasets=datasets,
                                                       limit_direct=pool, limit_supplementary=pool,
                                                       similarity_threshold=0.0))
    out.notes += rr.notes
    ms["retrieve"] = round((time.perf_counter() - t1) * 1000, 2)
    index = image_index(services, required=False)
    if index is None:
        out.explanation = "The catalog has no image index yet: ingest a dataset (`rskg ingest ...`)."
        out.timings_ms = {**ms, "total": round((time.perf_counter() - t0) * 1000, 2)}
        return out
    use_visual = models is not None and models.feature_version == index.version and route != "concepts"
    if models is not None and models.feature_version != index.version:
        out.notes.append(f"caption models were fitted for {models.feature_version}, the index holds "
                         f"{index.version}: visual route off (run `rskg search-train`)")
    labelled = {(h.sample_id, h.concept_id) for h in rr.direct}
    meta = {h.sample_id: (h.dataset, h.labels) for h in [*rr.direct, *rr.supplementary]}
    cand = list(dict.fromkeys(h.sample_id for h in [*rr.direct, *rr.supplementary]))
    pred = None
    if use_visual:
        assert models is not None
        pred = models.text2visual.predict(emb)[0]
        allowed = None
        if datasets is not None:
            allowed = [i for i in index.ids if i and i.split(":", 1)[0] in set(datasets)]
        cand += [h.id for h in knn(index, pred[None, :], pool, allowed)[0]]
        cand = list(dict.fromkeys(cand))
    pos = index.positions
    cand = [c for c in cand if c in pos]
    feats = index.reconstruct(np.asarray([pos[c] for c in cand], np.int64)) if cand else np.zeros((0, index.dim))
    store = res.prototypes()
    expanded = res.expander()(sorted(weights))
    roots, mat, evidence = (root_scores(weights, expanded, store.concepts, store.vectors, feats) if store is not None
                            else ([], np.zeros((len(cand), 0)), [[] for _ in cand]))
    for j, root in enumerate(roots):
        for i, sid in enumerate(cand):
            if (sid, root) in labelled:
                mat[i, j] = 1.0
    w = np.asarray([weights[r] for r in roots], np.float32)
    concept = mat @ w / w.sum() if len(roots) else np.zeros(len(cand), np.float32)
    visual = feats @ (pred / max(float(np.linalg.norm(pred)), 1e-12)) if pred is not None else None
    if route == "visual" and visual is not None:
        score = visual
    elif route == "fused" and visual is not None and models is not None:
        score = models.calibration.fuse(concept, visual)
    else:
        score = concept
    order = np.argsort(-score, kind="stable")[:limit]
    sample_meta = _meta(services, [cand[i] for i in order if cand[i] not in meta])
    for i in order:
        sid = cand[int(i)]
        ds, labels = meta.get(sid) or sample_meta.get(sid, (sid.split(":", 1)[0], ()))
        ev = []
        for e in evidence[int(i)]:
            lab = (sid, e.root) in labelled
            ev.append(HitEvidence(e.root, e.root if lab else e.concept_id, "" if lab else store.ids[e.prototype],
                                  1.0 if lab else round(e.similarity, 4), 0.0 if lab else e.distance,
                                  (e.root,) if lab else e.path, lab))
        out.hits.append(SearchHit(sid, ds, round(float(score[i]), 4), round(float(concept[i]), 4),
                                  None if visual is None else round(float(visual[i]), 4), tuple(labels), tuple(ev)))
    if not out.hits:
        out.explanation = ("The text matched concepts, but no image in the catalog"
                           + (f" of datasets {datasets}" if datasets else "") + " is near them.")
    ms["score"] = round((time.perf_counter() - t1) * 1000 - ms["retrieve"], 2)
    out.timings_ms = {**ms, "total": round((time.perf_counter() - t0) * 1000, 2)}
    return out


def _meta(services: Services, ids: list[str]) -> dict[str, tuple[str, tuple[str, ...]]]:
    from rskg.retrieval.supplementary import SAMPLE_META_SQL

    if not ids:
        return {}
    with services.connection() as conn:
        return {sid: (ds, tuple(labels)) for sid, ds, labels in conn.execute(SAMPLE_META_SQL, (ids,)).fetchall()}


__all__ = ["Calibration", "SearchHit", "SearchResult", "WeightedConcept", "search"]
