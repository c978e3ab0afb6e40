"""Optional second stage (paper 002, Hierarchical Image Retrieval): re-rank the supplementary shortlist with
the weighted Manhattan distance between class distributions,

    WMD(X, Y) = sum_i w_i * |x_i - y_i|,

fused with the retrieval score: each shortlisted hit is ordered by ``score - lam * WMD`` (``hir_lambda``,
default 0.2). Paper 002 lets the distance *replace* the stage-1 order; measured on UCMerced
(`rskg eval cbir`) that lowers mAP@10 with every feature variant here, while the fused order raises it
(pretrained 0.909 -> 0.916; residential sub-classes with the protocol head 0.790 -> 0.830, with patches).
A large ``hir_lambda`` (e.g. 1000) gives the paper's order back.

The paper derives X and Y from a land-cover segmentation network (share of pixels per class). Two sources
(``hir_source``, setting or request):

* ``composition``: the samples' stored land-cover compositions by rskg's segmentation head (trained on
  GID-MTL's pixel labels; ``rskg.retrieval.hir_composition``): paper 002's own stage 2. Used when the
  shortlisted hits have compositions in the catalog, else the patch source below (the note says so); a
  query whose reference has no composition (an uploaded image with no segmentation head installed) is
  re-ranked by its patch distributions instead of not at all (the note says so too).
* ``patch``: a ``hir_grid`` x ``hir_grid`` grid of patches of the image (default 3, ``embeddings.patches``):
  every patch is encoded with the index's encoder and mapped to class scores, and the image's distribution is
  the mean over its patches (a coarse share of the image per class).

Which is the default, and by how much, is measured by ``python -m benchmarks hir_composition``
(benchmarks/results/hir_composition.md). For the patch source, the class scores of one feature come from

1. the fine-tuned multi-label head of ``embeddings.head_model`` when the image index was built with it
   (its version ends in ``head<digest>`` of the head file on disk): sigmoid label probabilities;
2. otherwise the concept prototypes: for every concept with prototypes, the best cosine similarity of the
   feature to one of its prototypes, turned into a distribution by a softmax with temperature ``TEMPERATURE``.

``hir_grid`` 1 (or no pixels / no encoder matching the index) uses the whole-image feature from the index.
Patch distributions are computed on first use (about 4 ms per patch) and kept in memory per sample.

The reference distribution is the query example's (query by example) or, for a label query, the mean over up
to ``REFERENCE_SAMPLES`` of the query concept's direct samples (their pixels), else over the concept's own
prototypes. Class weights: ``request.hir_weights`` by class (concept id), default 1, and ``QUERY_WEIGHT`` (4,
the paper's emphasised-class weight) for the query concept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from embeddings.faiss_index import VectorIndex
from rskg.retrieval.model import SampleHit
from rskg.retrieval.prototypes import PrototypeStore
from rskg.services import KeyedCache, Services

if TYPE_CHECKING:
    from embeddings.head_model import ProjectionHead

TEMPERATURE = 0.05
QUERY_WEIGHT = 4.0
REFERENCE_SAMPLES = 20
MAX_GRID = 8
HIR_SOURCES = ("both", "composition", "patch")
DEFAULT_KIND = "fine"          # composition view: the 15 fine concepts (chosen over rollup on the archive)


@dataclass(frozen=True)
class Reference:
    """What a query concept's reference distribution is made from (the first that is available is used)."""

    image: tuple[np.ndarray, float | None] | None = None     # uploaded example pixels and GSD
    sample_ids: tuple[str, ...] = ()                          # catalog samples (their pixels)
    features: np.ndarray | None = None                        # feature vectors (prototypes, example feature)


class Distributions:
    """Maps image features to class distributions (head probabilities or prototype softmax)."""

    def __init__(self, services: Services, index: VectorIndex, store: PrototypeStore) -> None:
        self.head = _usable_head(services, index)
        if self.head is not None:
            self.classes = list(self.head.cfg.labels)
            self.source = "head"
        else:
            self.classes = sorted(set(store.concepts))
            self.source = "prototypes"
            col = {c: i for i, c in enumerate(self.classes)}
            self._proto_col = np.asarray([col[c] for c in store.concepts], np.int64)
            self._protos = store.vectors

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        feats = np.atleast_2d(feats).astype(np.float32)
        if self.head is not None:
            import torch

            with torch.no_grad():
                z = torch.from_numpy(feats)
                p = torch.sigmoid(self.head.classifier(z * self.head.log_scale.exp())).numpy()
        else:
            sims = feats @ self._protos.T
            best = np.full((len(feats), len(self.classes)), -1.0, np.float32)
            np.maximum.at(best.T, self._proto_col, sims.T)
            e = np.exp((best - best.max(axis=1, keepdims=True)) / TEMPERATURE)
            p = e
        return (p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def weights(self, root_classes: set[str], overrides: dict[str, float] | None) -> np.ndarray:
        return class_weights(self.classes, root_classes, overrides)


def class_weights(classes: Sequence[str], root_classes: set[str], overrides: dict[str, float] | None,
                  query_weight: float = QUERY_WEIGHT) -> np.ndarray:
    """WMD weight per class: ``query_weight`` for the query concept's classes, an override where one is given,
    else 1 (for the patch distributions and the pixel compositions alike)."""
    w = np.ones(len(classes), np.float32)
    for i, c in enumerate(classes):
        if c in root_classes:
            w[i] = query_weight
        if overrides and c in overrides:
            w[i] = float(overrides[c])
    return w


class HeadCache(KeyedCache["ProjectionHead"]):
    """The projection head file, keyed by (path, mtime)."""


def _usable_head(services: Services, index: VectorIndex) -> ProjectionHead | None:
    from embeddings.head_model import file_digest, load_head
    from rskg.artifacts import head_path

    hp = head_path(services.settings.home)
    if not hp.exists() or not index.version.endswith(f"head{file_digest(hp)}"):
        return None
    return services.cache(HeadCache).get((str(hp), hp.stat().st_mtime_ns), lambda: load_head(hp))


def wmd(x: np.ndarray, ys: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (np.abs(ys - x[None, :]) * w[None, :]).sum(axis=1)


@dataclass
class _PatchCache:
    dists: dict[str, np.ndarray] = field(default_factory=dict)


class PatchEncoderCache(KeyedCache[list[Any]]):
    """[the image encoder whose version matches the index, or None], per index version."""


class PatchDistCache(KeyedCache[_PatchCache]):
    """Patch distributions per (index version, distribution source, classes, store version, grid)."""


def _index_encoder(services: Services, index: VectorIndex) -> Any:
    """An image encoder whose features are the index's (with or without the installed head), or None."""
    from embeddings.image import ImageEncoder

    def load() -> Any:
        for use_head in (None, False):
            try:
                enc = ImageEncoder(services.settings, use_head=use_head)
            except Exception:  # noqa: BLE001 - no encoder: HIR falls back to whole-image features
                return None
            if enc.version == index.version:
                return enc
        return None

    return services.cache(PatchEncoderCache).get(index.version, lambda: [load()])[0]


class PatchDistributions:
    """Class distributions of images from their grid x grid patches (see the module docstring)."""

    def __init__(self, services: Services, index: VectorIndex, dist: Distributions, grid: int,
                 store_version: str) -> None:
        self.services, self.dist, self.grid = services, dist, grid
        self.enc = _index_encoder(services, index)
        key = (index.version, dist.source, tuple(dist.classes), store_version, grid)
        self._cache: _PatchCache = services.cache(PatchDistCache).get(key, _PatchCache)

    @property
    def usable(self) -> bool:
        return self.enc is not None

    def _of_images(self, images: list[np.ndarray], gsds: list[float | None]) -> np.ndarray:
        from embeddings.patches import grid_patches, image_distributions

        patches = [p for img in images for p in grid_patches(img, self.grid)]
        n = self.grid * self.grid
        feats = self.enc.encode(patches, [g for g in gsds for _ in range(n)])
        return image_distributions(self.dist(feats), self.grid)

    def image(self, rgb: np.ndarray, gsd: float | None) -> np.ndarray:
        return self._of_images([rgb], [gsd])[0]

    def samples(self, sample_ids: list[str]) -> dict[str, np.ndarray]:
        """Distributions of the samples whose pixels are in the store (others are left out)."""
        from rskg.catalog.zarr_store import PixelStore

        known = self._cache.dists
        missing = [s for s in dict.fromkeys(sample_ids) if s not in known]
        if missing:
            with self.services.connection() as conn:
                rows = conn.execute("SELECT id, storage, gsd_m FROM samples WHERE id = ANY(%s) AND storage IS NOT NULL",
                                    (missing,)).fetchall()
            pixels = PixelStore(self.services.settings.zarr_path)
            images, gsds, ids = [], [], []
            for sid, storage, gsd in rows:
                try:
                    img = pixels.read_rgb(storage)
                except (KeyError, OSError, ValueError):
                    continue
                if img.ndim == 3 and min(img.shape[:2]) >= self.grid:
                    images.append(img)
                    gsds.append(None if gsd is None else float(gsd))
                    ids.append(str(sid))
            for start in range(0, len(ids), 32):
                d = self._of_images(images[start:start + 32], gsds[start:start + 32])
                for j, sid in enumerate(ids[start:start + 32]):
                    known[sid] = d[j]
        return {s: known[s] for s in sample_ids if s in known}


def rerank(services: Services, index: VectorIndex, store: PrototypeStore, hits: list[SampleHit],
           references: dict[str, Reference], root_classes: dict[str, set[str]],
           overrides: dict[str, float] | None, shortlist: int, grid: int = 3, lam: float = 0.2,
           source: str = "patch", composition_lam: float | None = None, kind: str = DEFAULT_KIND,
           patch_lam: float | None = None) -> tuple[list[SampleHit], str]:
    """Per query concept, the first ``shortlist`` hits re-ordered by ``score - lam * WMD`` to that concept's
    reference distribution; the rest keep their order after them. Returns the hits and a note on the source
    of the distributions. ``source`` "composition": the distributions are the samples' stored land-cover
    compositions (``rskg.retrieval.hir_composition``, view ``kind``, ``composition_lam`` instead of ``lam``,
    default ``lam``); where no hit of the request has one, the patch distributions are used instead (the note
    says so). "both": each sample's patch distribution and composition, concatenated: ordered by
    ``score - composition_lam * WMD(fractions) - patch_lam * WMD(patch)`` (``patch_lam`` None: ``composition_lam``;
    ``both_weights``)."""
    if source == "composition":
        done = _rerank_composition(services, hits, references, root_classes, overrides, shortlist,
                                   lam if composition_lam is None else composition_lam, kind)
        if done is not None and not done[2]:
            return done[0], done[1]
        if done is not None:        # queries without a composition of their own: their patch distributions
            comp_out, note, missing = done
            patched, pnote = rerank(services, index, store, [h for h in comp_out if h.concept_id in missing],
                                    references, root_classes, overrides, shortlist, grid, lam, "patch")
            by_root = {r: [h for h in comp_out if h.concept_id == r]
                       for r in dict.fromkeys(h.concept_id for h in comp_out)}
            for r in missing:
                by_root[r] = [h for h in patched if h.concept_id == r]
            return [h for g in by_root.values() for h in g], (
                f"{note}; for {', '.join(sorted(missing))} (no composition of the query: no segmentation head "
                f"installed, or none stored) {pnote}")
    dist = Distributions(services, index, store)
    patches = PatchDistributions(services, index, dist, grid, store.version) if grid > 1 else None
    use_patches = patches is not None and patches.usable
    pos = index.positions
    comp = _composition(services, kind) if source == "both" else None
    both = False
    out: list[SampleHit] = []
    for root in dict.fromkeys(h.concept_id for h in hits):
        group = [h for h in hits if h.concept_id == root]
        head, tail = group[:shortlist], group[shortlist:]
        ref = references.get(root)
        x: np.ndarray | None = None
        hit_d: dict[str, np.ndarray] = {}
        if ref is not None and use_patches:
            assert patches is not None
            if ref.image is not None:
                x = patches.image(*ref.image)
            elif ref.sample_ids:
                rd = patches.samples(list(ref.sample_ids))
                x = np.mean(list(rd.values()), axis=0) if rd else None
            hit_d = patches.samples([h.sample_id for h in head])
        if ref is not None and x is None and ref.features is not None:
            x = dist(ref.features).mean(axis=0)
        if ref is not None and not hit_d:
            known_ids = [h.sample_id for h in head if h.sample_id in pos]
            if known_ids:
                feats = index.reconstruct(np.asarray([pos[s] for s in known_ids], np.int64))
                hit_d = dict(zip(known_ids, dist(feats), strict=True))
        if x is None or not hit_d:
            out.extend(group)
            continue
        w = dist.weights(root_classes.get(root, {root}), overrides)
        lam_root = lam
        if comp is not None:
            cx, chd = _composition_of(comp, ref, head)
            if cx is not None and chd:
                both = True
                x = np.concatenate([x, cx])
                hit_d = {s: np.concatenate([d, chd[s]]) for s, d in hit_d.items() if s in chd}
                lam_c = lam if composition_lam is None else composition_lam
                w, lam_root = both_weights(w, comp.weights(root_classes.get(root, {root}), overrides, QUERY_WEIGHT),
                                           lam_c, lam_c if patch_lam is None else patch_lam)
        out.extend(_fuse(head, x, hit_d, w, lam_root))
        out.extend(tail)
    how = f"{grid}x{grid} patches" if use_patches else "whole images" + (
        " (no image encoder matches the index: patches off)" if grid > 1 else "")
    if both:
        assert comp is not None
        lam_c = lam if composition_lam is None else composition_lam
        lam_p = lam_c if patch_lam is None else patch_lam
        return out, (f"{dist.source} over {how} + {comp.source}, fused with the retrieval score (lambda "
                     f"{lam_p:g} patch / {lam_c:g} fractions)")
    note = (" (no stored compositions for these hits: patch distributions instead)"
            if source in ("composition", "both") else "")
    return out, f"{dist.source} over {how}, fused with the retrieval score (lambda {lam:g}){note}"


def both_weights(w_patch: np.ndarray, w_comp: np.ndarray, lam_comp: float, lam_patch: float
                 ) -> tuple[np.ndarray, float]:
    """(weights of the concatenated [patch, fractions] vector, λ) such that ``λ * WMD`` with them equals
    ``lam_patch * WMD(patch) + lam_comp * WMD(fractions)`` (λ = lam_comp, the patch weights scaled by
    lam_patch / lam_comp; lam_comp 0: λ = lam_patch and the fractions weighted 0)."""
    if lam_comp > 0:
        return np.concatenate([w_patch * (lam_patch / lam_comp), w_comp]).astype(np.float32), lam_comp
    return np.concatenate([w_patch, w_comp * 0.0]).astype(np.float32), lam_patch


def _composition(services: Services, kind: str) -> Any:
    from rskg.retrieval.hir_composition import CompositionDistributions

    return CompositionDistributions(services, kind)


def _composition_of(comp: Any, ref: Reference | None, head: list[SampleHit]
                    ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """(the reference's composition, the hits' stored compositions): the reference from the uploaded image,
    else the mean over its samples' stored compositions; (None, {}) without one."""
    hit_d: dict[str, np.ndarray] = comp.samples([h.sample_id for h in head])
    x: np.ndarray | None = None
    if ref is not None and ref.image is not None:
        x = comp.image(ref.image[0])
    elif ref is not None and ref.sample_ids:
        rd = comp.samples(list(ref.sample_ids))
        x = np.mean(list(rd.values()), axis=0) if rd else None
    return x, hit_d


def _fuse(head: list[SampleHit], x: np.ndarray, hit_d: dict[str, np.ndarray], w: np.ndarray, lam: float
          ) -> list[SampleHit]:
    """``head`` ordered by score - lam * WMD to ``x`` (hits without a distribution after them)."""
    known = [h for h in head if h.sample_id in hit_d]
    if not known:
        return head
    d = wmd(x, np.stack([hit_d[h.sample_id] for h in known]), w)
    ranked = sorted(zip(known, d, strict=True), key=lambda t: (-t[0].score + lam * float(t[1]), -t[0].score))
    return [*(replace(h, hir_distance=round(float(di), 6)) for h, di in ranked),
            *(h for h in head if h.sample_id not in hit_d)]


def _rerank_composition(services: Services, hits: list[SampleHit], references: dict[str, Reference],
                        root_classes: dict[str, set[str]], overrides: dict[str, float] | None, shortlist: int,
                        lam: float, kind: str) -> tuple[list[SampleHit], str, set[str]] | None:
    """The composition version of :func:`rerank`; None when no shortlisted hit has a stored composition. The
    third value: the query concepts with a reference but no composition of it (an uploaded image and no
    segmentation head; reference samples without stored compositions), left in stage-1 order here."""
    comp = _composition(services, kind)
    groups = {root: [h for h in hits if h.concept_id == root] for root in dict.fromkeys(h.concept_id for h in hits)}
    if not comp.samples([h.sample_id for g in groups.values() for h in g[:shortlist]]):
        return None
    out: list[SampleHit] = []
    missing: set[str] = set()
    for root, group in groups.items():
        head, tail = group[:shortlist], group[shortlist:]
        x, hit_d = _composition_of(comp, references.get(root), head)
        if x is None and references.get(root) is not None:
            missing.add(root)
        if x is None or not hit_d:
            out.extend(group)
            continue
        w = comp.weights(root_classes.get(root, {root}), overrides, QUERY_WEIGHT)
        out.extend(_fuse(head, x, hit_d, w, lam))
        out.extend(tail)
    return out, f"{comp.source}, fused with the retrieval score (lambda {lam:g})", missing
