"""One retrieval request (paper 000 Algorithm 2, DESIGN.md section 3): filter -> labels -> Dijkstra ->
direct matches -> prototype kNN supplementary samples -> optional HIR re-rank. See docs/retrieval.md."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from embeddings.faiss_index import l2n
from rskg import validation
from rskg.errors import ConfigError, DataError, ValidationError
from rskg.retrieval import filters
from rskg.retrieval.admission import admissible, admission, admit, probabilities
from rskg.retrieval.caches import image_index
from rskg.retrieval.composition_bounds import resolve_bounds
from rskg.retrieval.direct import direct_matches
from rskg.retrieval.features import sample_feature
from rskg.retrieval.hir import HIR_SOURCES, MAX_GRID, REFERENCE_SAMPLES, Reference, rerank
from rskg.retrieval.labels import expand, lexicon, resolve, subclass_closure
from rskg.retrieval.model import RelatedConcept, RetrievalRequest, RetrievalResult, SampleHit
from rskg.retrieval.neighbours import neighbours
from rskg.retrieval.prototypes import prototype_store
from rskg.retrieval.supplementary import Query, prototype_queries, search, to_hits
from rskg.services import KeyedCache, Services
from rskg.settings import Settings

EXAMPLE = "example"
MAX_LABELS = 50


class _Timer:
    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.ms[name] = round((time.perf_counter() - t0) * 1000, 3)


def _validate(req: RetrievalRequest) -> None:
    if not req.labels and req.example_sample_id is None and req.example_image is None:
        raise ValidationError("a retrieval needs labels or an example",
                              "Give at least one label (e.g. `rskg retrieve river`) or an example sample/image.")
    if len(req.labels) > MAX_LABELS:
        raise ValidationError(f"{len(req.labels)} labels in one request", f"Ask for at most {MAX_LABELS}.")
    validation.count(req.k_per_prototype, "k_per_prototype", 1, 10_000)
    validation.count(req.limit_direct, "limit_direct", 0, 100_000)
    validation.count(req.limit_supplementary, "limit_supplementary", 0, 10_000)
    validation.count(req.hir_shortlist, "hir_shortlist", 1, 10_000)
    validation.count(req.max_related, "max_related", 0, 10_000)
    if req.similarity_threshold is not None and not -1.0 <= req.similarity_threshold <= 1.0:
        raise ValidationError("similarity_threshold is a cosine similarity in [-1, 1]", "Use e.g. 0.6.")
    for name in ("alpha", "beta", "tau", "max_distance"):
        v = getattr(req, name)
        if v is not None and v < 0:
            raise ValidationError(f"{name} must not be negative", "Leave it unset to use the settings.")
    if req.example_sample_id is not None and req.example_image is not None:
        raise ValidationError("a retrieval takes one example: a sample id or an image, not both",
                              "Drop one of the two.")
    if req.hir_grid is not None and not 1 <= req.hir_grid <= MAX_GRID:
        raise ValidationError(f"hir_grid must be within 1..{MAX_GRID}", "Use 3 (a 3x3 patch grid) or 1 (whole images).")
    if req.hir_lambda is not None and not 0.0 <= req.hir_lambda <= 1e6:
        raise ValidationError("hir_lambda must be within 0..1e6", "Use e.g. 0.2; 1000 gives paper 002's pure order.")
    if req.hir_source is not None and req.hir_source not in HIR_SOURCES:
        raise ValidationError(f"hir_source must be one of {', '.join(HIR_SOURCES)}",
                              "Use 'both', 'composition' (stored pixel fractions) or 'patch' (patch probabilities).")
    if req.example_gsd_m is not None and not 0.0 < req.example_gsd_m <= 10_000.0:
        raise ValidationError("example_gsd_m must be within (0, 10000] metres", "Use e.g. 0.3 for UCMerced.")
    if req.example_image is not None:
        from rskg import imaging

        try:
            imaging.probe(req.example_image, "example_image")      # header only: format and pixel budget
        except DataError as exc:
            raise ValidationError(exc.message, exc.hint) from exc
    filters.validate(req)


def _example_rgb(req: RetrievalRequest) -> np.ndarray:
    """The uploaded example image as RGB pixels; ValidationError when the bytes are no readable image or the
    image is above the pixel budget (checked before decoding)."""
    from rskg import imaging

    assert req.example_image is not None
    try:
        return imaging.decode_rgb(req.example_image, "example_image")
    except DataError as exc:
        raise ValidationError(exc.message, exc.hint) from exc


class ExampleEncoderCache(KeyedCache[Any]):
    """The image encoder that embeds example images (built once per process)."""


def _image_encoder(services: Services) -> Any:
    from embeddings.image import ImageEncoder

    return ImageEncoder(services.settings)


def example_feature(services: Services, req: RetrievalRequest, encoder_version: str) -> np.ndarray:
    if req.example_sample_id is not None:
        index = image_index(services)
        assert index is not None
        pos = index.positions
        if req.example_sample_id in pos and (index.kind == "flat" or index.refined):   # exact stored vectors
            return index.reconstruct(np.asarray([pos[req.example_sample_id]], np.int64))[0]
        return l2n(sample_feature(services.settings, encoder_version, req.example_sample_id))
    assert req.example_image is not None

    enc = services.cache(ExampleEncoderCache).get(None, lambda: _image_encoder(services))
    if enc.version != encoder_version:
        raise ValidationError(f"the image encoder ({enc.version}) differs from the index's ({encoder_version})",
                              "Rebuild the image index with the current encoder (re-ingest) and retry.")
    return l2n(enc.encode([_example_rgb(req)], [req.example_gsd_m])[0])


@dataclass(frozen=True)
class Knobs:
    """The request's parameters with the settings' defaults filled in: the ONE place a retrieval reads its
    configuration (everything below gets these values, or ``services.settings`` for paths)."""

    alpha: float
    beta: float
    tau: float
    max_distance: float
    threshold: float
    hir_grid: int
    hir_lambda: float
    hir_source: str
    hir_composition_lambda: float
    hir_patch_lambda: float | None          # "both": λ on the patch WMD (None: hir_composition_lambda)

    @classmethod
    def of(cls, settings: Settings, r: RetrievalRequest) -> Knobs:
        def pick(own: Any, default: Any) -> Any:
            return default if own is None else own

        return cls(pick(r.alpha, settings.alpha), pick(r.beta, settings.beta), pick(r.tau, settings.tau),
                   pick(r.max_distance, settings.max_distance),
                   pick(r.similarity_threshold, settings.retrieval_similarity_threshold),
                   pick(r.hir_grid, settings.hir_grid), pick(r.hir_lambda, settings.hir_lambda),
                   pick(r.hir_source, settings.hir_source), pick(r.hir_lambda, settings.hir_composition_lambda),
                   # a request's own hir_lambda is one λ for every distribution (as before)
                   settings.hir_patch_lambda if r.hir_lambda is None else r.hir_lambda)


def retrieve(services: Services, settings: Settings, request: RetrievalRequest) -> RetrievalResult:
    """Run one retrieval. ``settings`` must be ``services.settings`` (one Settings per call path: the
    caches, paths and defaults all come from it); another one is a ConfigError."""
    t = _Timer()
    t0 = time.perf_counter()
    if settings is not services.settings and settings != services.settings:
        raise ConfigError("retrieve() got settings that differ from services.settings",
                          "Pass services.settings (build Services(settings) with the settings you mean).")
    _validate(request)
    bounds = resolve_bounds(services, request.composition) if request.composition else None
    if bounds is not None:                  # the filter below works on the resolved concept ids
        request = dataclasses.replace(request, composition=[b.bound for b in bounds])
    knobs = Knobs.of(services.settings, request)
    res = RetrievalResult(request, [], [], [], [], [])
    res.notes.extend(b.describe() for b in bounds or [])
    with t("filter"), services.connection() as conn:
        candidates = filters.candidate_ids(conn, request)
    res.candidates = None if candidates is None else len(candidates)

    with t("labels"):
        lex = lexicon(services)
        res.matches, res.unmatched = resolve(lex, request.labels)
    roots = list(dict.fromkeys(m.concept_id for m in res.matches))

    with t("expand"):
        related = expand(services, roots, knobs.alpha, knobs.beta, knobs.tau, knobs.max_distance) if roots else []
        res.related = [RelatedConcept(r.concept_id, lex.names.get(r.concept_id, r.concept_id), r.distance,
                                      r.source, r.path, r.relations) for r in related if r.concept_id not in roots]

    with t("direct"):
        closure = subclass_closure(services, roots) if roots else {}
        rows = direct_matches(services, lex, closure, candidates, request) if closure else []
        res.direct = [SampleHit(r.sample_id, r.dataset, r.root, "direct", 1.0, r.labels) for r in rows]
        if request.limit_direct is not None:
            per: dict[str, int] = {}
            kept = []
            for h in res.direct:
                per[h.concept_id] = per.get(h.concept_id, 0) + 1
                if per[h.concept_id] <= request.limit_direct:
                    kept.append(h)
            res.direct = kept
    excluded: dict[str, set[str]] = {}
    for r in rows:
        excluded.setdefault(r.root, set()).add(r.sample_id)

    with t("supplementary"):
        index = image_index(services, required=False)
        store = prototype_store(services)
        queries: list[Query] = []
        if index is None:
            res.notes.append("no image index: supplementary search skipped (ingest a dataset first)")
        else:
            res.versions["image_index"] = index.version
            if store is None:
                if roots:
                    res.notes.append("no prototypes: supplementary search skipped (run `rskg index build`)")
            elif store.encoder_version != index.version:
                res.notes.append("prototypes were built for another encoder: rebuild with `rskg index build`")
                store = None
            else:
                res.versions["prototypes"] = store.version
                # query concepts and their subclasses (distance 0) always, then the nearest related ones
                own = [r for r in related if r.distance == 0.0]
                near = [r for r in related if r.distance > 0.0][: max(0, request.max_related)]
                if len(related) > len(own) + len(near):
                    res.notes.append(f"supplementary search used the {len(near)} nearest of "
                                     f"{len(related) - len(own)} related concepts (max_related)")
                queries = prototype_queries(services, store, own + near)
            if request.example_sample_id is not None or request.example_image is not None:
                vec = example_feature(services, request, index.version)
                label = request.example_sample_id or "image"
                queries.append(Query(EXAMPLE, EXAMPLE, f"example:{label}", vec, 0.0, ()))
                if request.example_sample_id:
                    excluded.setdefault(EXAMPLE, set()).add(request.example_sample_id)
            threshold = knobs.threshold
            nb = neighbours(services, index, store) if store is not None else None
            q_roots = sorted({q.root for q in queries})
            admitted = admissible(services, index, q_roots, res.notes) if queries else {}
            proba = probabilities(services, index, q_roots) if queries else {}
            found = search(index, queries, request.k_per_prototype, candidates, excluded, threshold, nb, store,
                           request.limit_supplementary, admitted, proba) if queries else {}
            found = admit(services, index, found, res.notes)
            res.supplementary = to_hits(services, found, request.limit_supplementary)

    if request.rerank_hir and res.supplementary and index is not None and store is not None:
        with t("hir"):
            refs: dict[str, Reference] = {}
            for root in roots:
                rows_of = [i for i, c in enumerate(store.concepts) if c == root]
                direct_ids = tuple(h.sample_id for h in res.direct if h.concept_id == root)[:REFERENCE_SAMPLES]
                refs[root] = Reference(sample_ids=direct_ids,
                                       features=store.vectors[rows_of] if rows_of else None)
            ex = [q for q in queries if q.root == EXAMPLE]
            if ex:
                pixels = None if request.example_image is None else (_example_rgb(request), request.example_gsd_m)
                refs[EXAMPLE] = Reference(image=pixels, features=ex[0].vector[None, :],
                                          sample_ids=(request.example_sample_id,) if request.example_sample_id
                                          else ())
            grid, lam = knobs.hir_grid, knobs.hir_lambda
            res.supplementary, source = rerank(services, index, store, res.supplementary, refs,
                                               {r: closure.get(r, {r}) for r in roots}, request.hir_weights,
                                               request.hir_shortlist, grid, lam, knobs.hir_source,
                                               knobs.hir_composition_lambda, patch_lam=knobs.hir_patch_lambda)
            res.notes.append(f"HIR class distributions: {source}")
    elif request.rerank_hir:
        res.notes.append("HIR re-rank skipped: no supplementary samples or no prototypes")
    res.timings_ms = {**t.ms, "total": round((time.perf_counter() - t0) * 1000, 3)}
    return res


def warm_up(services: Services) -> None:
    """Load what the first retrieval would otherwise load (image index, the concept head's admission
    probabilities, prototypes and their links and neighbour lists, lexicon, label graph), so a server's first
    requests do not pay for it. Errors are left for the first request to report.

    Then everything alive is frozen out of Python's cyclic garbage collector (``gc.freeze``): the loaded caches
    and libraries (~285k tracked objects) were traversed by every full collection, which a request building
    thousands of hits triggers; at 200k catalog rows that put CPU p99 per request at 246 ms vs 86 ms frozen
    (p50 68 ms either way; benchmarks/_scale_catalog.py's requests)."""
    import gc

    from rskg.retrieval.neighbours import fill
    from rskg.retrieval.prototypes import prototypes_of

    try:
        lexicon(services)
        subclass_closure(services, [])
        index = image_index(services, required=False)
        if index is not None:
            admission(services, index)   # the concept head's probabilities over the whole index (1.6 s cold at 7k)
        store = prototype_store(services)
        if index is not None and store is not None and store.encoder_version == index.version:
            prototypes_of(services, sorted(set(store.concepts)))
            fill(neighbours(services, index, store), index, store, np.arange(len(store.ids)))
    finally:
        gc.collect()
        gc.freeze()
