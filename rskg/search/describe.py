"""`describe(image)`: image -> text. The image's feature is compared with every concept's k-means prototypes
(best cosine per concept); the concepts are ranked, each with its level and its path to the top of the
hierarchy, and the most specific strong ones make a one-line description. When caption models exist, the train
captions whose text2visual prediction is nearest to the image are returned as example sentences."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rskg.errors import NotFoundError, ValidationError
from rskg.search.corpus import ancestors
from rskg.search.resources import resources
from rskg.services import Services
from rskg.settings import Settings

MAX_IMAGE_BYTES = 20 * 1024 * 1024
SPECIFIC_MARGIN = 0.03


@dataclass(frozen=True)
class DescribedConcept:
    concept_id: str
    name: str
    level: int
    score: float                      # best cosine with one of the concept's prototypes
    path: tuple[str, ...]             # names from the concept up to its top-level ancestor


@dataclass
class Description:
    source: str                       # sample id or "uploaded image"
    concepts: list[DescribedConcept]
    text: str
    captions: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    composition: list[tuple[str, str, float]] = field(default_factory=list)   # (concept id, name, share), top
    composition_model: str | None = None          # the segmentation head's version
    composition_source: str | None = None         # "stored" (catalog) | "segmented" (head applied now)


def _feature(services: Services, sample_id: str | None, image: bytes | None) -> tuple[np.ndarray, str]:
    from rskg.retrieval.caches import image_index
    from rskg.retrieval.model import RetrievalRequest
    from rskg.retrieval.pipeline import example_feature

    if (sample_id is None) == (image is None):
        raise ValidationError("describe needs exactly one of a sample id or an image",
                              "Give a sample id (`rskg describe ucm:images/river/river07.jpg`) or upload one image.")
    if image is not None and len(image) > MAX_IMAGE_BYTES:
        raise ValidationError(f"the image has {len(image)} bytes (at most {MAX_IMAGE_BYTES})", "Send a smaller image.")
    if sample_id is not None and (not sample_id.strip() or len(sample_id) > 500):
        raise ValidationError("the sample id is empty or too long", "Give an id like `ucm:images/river/river07.jpg`.")
    index = image_index(services)
    assert index is not None
    req = RetrievalRequest(labels=[], example_sample_id=sample_id, example_image=image)
    return example_feature(services, req, index.version), sample_id or "uploaded image"


def specific(ranked: list[DescribedConcept], system_parents: dict[str, set[str]], n: int = 3) -> list[DescribedConcept]:
    """The best concepts that are not an ancestor of a better-or-equal (within a margin) concept shown."""
    out: list[DescribedConcept] = []
    for c in ranked:
        if len(out) == n:
            break
        if any(c.concept_id in system_parents.get(o.concept_id, set()) for o in out):
            continue
        out.append(c)
    return out


def _composition(services: Services, out: Description, sample_id: str | None, image: bytes | None,
                 top: int) -> None:
    """The image's land-cover composition: stored for a composed sample, else by the installed head."""
    from rskg import imaging
    from rskg.composition import image as comp

    c = comp.of_sample(services, sample_id) if sample_id is not None else None
    if c is None:
        if comp.installed(services) is None:
            out.notes.append(comp.NO_HEAD)
            return
        c = (comp.of_sample_pixels(services, sample_id) if sample_id is not None
             else comp.of_image(services, imaging.decode_rgb(image or b"", "image")))
        if c is None:
            return
    system = resources(services, services.settings).system
    ranked = sorted(((cid, f) for cid, f in c.fractions.items() if f > 0), key=lambda kv: (-kv[1], kv[0]))[:top]
    out.composition = [(cid, system.concepts[cid].pref_label if cid in system.concepts else cid, round(f, 4))
                       for cid, f in ranked]
    out.composition_model, out.composition_source = c.model_version, c.source


def describe(services: Services, settings: Settings, sample_id: str | None = None, image: bytes | None = None,
             top: int = 10) -> Description:
    if not 1 <= top <= 100:
        raise ValidationError(f"top {top} is outside 1..100", "Ask for e.g. 10 concepts.")
    if image is not None:
        from rskg import imaging
        from rskg.errors import DataError

        try:
            imaging.probe(image, "imageBase64")        # header only: format and pixel budget
        except DataError as exc:
            raise ValidationError(exc.message, exc.hint) from exc
    res = resources(services, settings)
    store = res.prototypes()
    if store is None:
        raise NotFoundError("no prototypes for the current image index",
                            "Build them with `rskg index build` (after ingesting a dataset).")
    vec, source = _feature(services, sample_id, image)
    vec = vec / max(float(np.linalg.norm(vec)), 1e-12)
    sims = store.vectors @ vec
    best: dict[str, float] = {}
    for c, s in zip(store.concepts, sims, strict=True):
        best[c] = max(best.get(c, -1.0), float(s))
    system = res.system
    anc = {c: set(ancestors(system, c)[1:]) for c in best if c in system.concepts}
    ranked = []
    for cid, s in sorted(best.items(), key=lambda kv: (-kv[1], kv[0])):
        c = system.concepts.get(cid)
        if c is None or c.deprecated:
            continue
        path = tuple(system.concepts[a].pref_label for a in ancestors(system, cid) if a in system.concepts)
        ranked.append(DescribedConcept(cid, c.pref_label, c.level, round(s, 4), path))
    # most specific strong concepts: walk the ranking, skipping ancestors of what is already said
    shown = specific([r for r in ranked if r.score >= ranked[0].score - 0.15], anc) if ranked else []
    text = "; ".join(f"{c.name} (level {c.level}: {' < '.join(c.path[1:]) or 'top level'})" for c in shown)
    out = Description(source, ranked[:top], text)
    _composition(services, out, sample_id, image, top)
    models = res.caption_models()
    if models is not None:
        out.captions = res.caption_examples(models, vec)
    else:
        out.notes.append("no caption models for this encoder: no example sentences (run `rskg search-train`)")
    return out
