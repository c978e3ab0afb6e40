"""Building and caching what a search needs: the concept matcher, the caption-learned models, prototypes.

* :func:`matcher` embeds the concept views once (TextEncoder disk cache) and keeps one matcher per
  label-system version in ``services.cache(SearchResourcesCache)``;
* :func:`fit_caption_models` fits text2visual and text2concept on the train captions, tunes the ridge
  strength and the fusion weight on the val captions, and returns them with the fusion calibration;
* :func:`caption_models` loads them from ``settings.cache_dir/search/`` (keyed by feature version, label
  system version and captions file hash) or fits and stores them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from embeddings.faiss_index import l2n
from embeddings.prototypes import kmeans_prototypes
from embeddings.text import TextEncoder
from kg.label_graph import build_adjacency, dijkstra
from ontology.model import LabelSystem
from rskg import artifacts
from rskg.search.concepts import ConceptMatcher, PhraseMatch, weigh
from rskg.search.corpus import CaptionCorpus
from rskg.search.learned import LinearMap, model_key, multi_hot
from rskg.search.query import split_phrases, validate
from rskg.search.scoring import Calibration, Expanded, concept_scores
from rskg.settings import Settings

log = logging.getLogger(__name__)
ALPHAS = (1.0, 10.0, 100.0)
# Fusion weights tried on the val captions. Capped at 0.9: at 1.0 the concept route (and with it the
# "labelled with the query concept" evidence) would drop out of the fused score entirely.
LAMBDAS = tuple(round(x * 0.1, 1) for x in range(10))
LEARNED_TOP = 3
LEARNED_MIN = 0.25
PROTO_K = 10


def build_matcher(settings: Settings, system: LabelSystem, text: TextEncoder) -> ConceptMatcher:
    from mappings.osm import load_osm_vocab

    try:
        osm = load_osm_vocab(settings)
        tags = {t for c in system.active().values() for t in c.osm_tags}
        describe = {t: osm.describe(t, 200) for t in sorted(tags)}
    except Exception as exc:  # the OSM vocabulary is an optional view; names and definitions still work
        log.warning("OSM descriptions unavailable for concept matching: %s", exc)
        describe = {}
    return ConceptMatcher(system, text, describe)


def subclass_edges(system: LabelSystem) -> list[dict[str, object]]:
    return [{"a": c.id, "b": p, "type": "SUBCLASS_OF", "score": None, "cooccurrence": None}
            for c in system.active().values() for p in c.parents]


class Expander:
    """Eq. 1 Dijkstra from each root separately (a concept may be related to several roots), memoised."""

    def __init__(self, edges: list[dict[str, object]], alpha: float, beta: float, tau: float,
                 max_distance: float) -> None:
        self.adj = build_adjacency(edges, alpha, beta, tau)
        self.max_distance = max_distance
        self._memo: dict[str, list[Expanded]] = {}

    @classmethod
    def of(cls, edges: list[dict[str, object]], settings: Settings) -> Expander:
        return cls(edges, settings.alpha, settings.beta, settings.tau, settings.max_distance)

    def __call__(self, roots: list[str]) -> list[Expanded]:
        out = []
        for root in roots:
            if root not in self._memo:
                found = dijkstra(self.adj, [root], self.max_distance).values()
                self._memo[root] = sorted((Expanded(root, r.concept_id, r.distance, r.path) for r in found),
                                          key=lambda e: (e.distance, e.concept_id))
            out += self._memo[root]
        return out


def concept_weights(matcher: ConceptMatcher, text: str, emb: np.ndarray | None = None,
                    t2c: LinearMap | None = None) -> tuple[list[PhraseMatch], dict[str, float], dict[str, float]]:
    """(phrase matches, label-system weights, caption-learned weights) of one validated query."""
    phrases = split_phrases(text)
    whole = phrases[-1] if len(phrases) > 1 else None
    matches = matcher.match(phrases, whole)
    zero = weigh(matches)
    learned: dict[str, float] = {}
    if t2c is not None and emb is not None:
        s = t2c.predict(emb)[0]
        for j in np.argsort(-s)[:LEARNED_TOP]:
            if s[j] >= LEARNED_MIN:
                learned[t2c.outputs[int(j)]] = round(float(s[j]), 4)
    return matches, zero, learned


def prewarm(matcher: ConceptMatcher, sentences: list[str]) -> None:
    """Encode the phrases of many queries in one batch (fills the vector cache; later matches only read it)."""
    phrases = sorted({p for s in sentences for p in split_phrases(validate(s))})
    matcher.encoder.encode(phrases)


def merge(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    out = dict(a)
    for k, v in b.items():
        out[k] = max(out.get(k, 0.0), v)
    return out


@dataclass
class Prototypes:
    concepts: list[str]
    vectors: np.ndarray


def split_prototypes(corpus: CaptionCorpus, rows: np.ndarray, k: int = PROTO_K) -> Prototypes:
    """k-means prototypes of every concept from the images ``rows`` carrying it (closure: subclasses count)."""
    members: dict[str, list[int]] = {}
    for i in rows:
        for c in corpus.closure[int(i)]:
            members.setdefault(c, []).append(int(i))
    concepts, vecs = [], []
    for c in sorted(members):
        cent = kmeans_prototypes(corpus.feats[members[c]], k)
        concepts += [c] * len(cent)
        vecs.append(cent)
    return Prototypes(concepts, np.vstack(vecs).astype(np.float32))


@dataclass
class CaptionModels:
    text2visual: LinearMap
    text2concept: LinearMap
    calibration: Calibration
    feature_version: str
    meta: dict[str, object]


def _route_scores(corpus: CaptionCorpus, matcher: ConceptMatcher, protos: Prototypes, expand: Expander,
                  t2v: LinearMap, t2c: LinearMap, sents: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    feats = corpus.feats[rows]
    pred = l2n(t2v.predict(corpus.sent_emb[sents]))
    vis = pred @ feats.T
    con = np.zeros_like(vis)
    for qi, si in enumerate(sents):
        text = validate(corpus.captions[int(si)].sentence)
        _, zero, learned = concept_weights(matcher, text, corpus.sent_emb[si:si + 1], t2c)
        w = merge(zero, learned)
        con[qi], _ = concept_scores(w, expand(sorted(w)), protos.concepts, protos.vectors, feats, with_evidence=False)
    return con, vis


def mean_recall(scores: np.ndarray, targets: np.ndarray) -> float:
    """(R@1 + R@5 + R@10) / 3 of (Q, N) scores whose correct column per query is ``targets``."""
    own = scores[np.arange(len(scores)), targets]
    rank = (scores > own[:, None]).sum(axis=1)
    return float(np.mean([(rank < k).mean() for k in (1, 5, 10)]))


def fit_caption_models(corpus: CaptionCorpus, matcher: ConceptMatcher, expand: Expander) -> CaptionModels:
    train_s, val_s = corpus.sentences("train"), corpus.sentences("val")
    train_r, val_r = corpus.rows("train"), corpus.rows("val")
    x, y = corpus.sent_emb[train_s], corpus.feats[corpus.image_of[train_s]]
    val_pos = {int(r): j for j, r in enumerate(val_r)}
    val_t = np.asarray([val_pos[int(corpus.image_of[s])] for s in val_s])
    tried = {}
    for a in ALPHAS:
        m = LinearMap.fit(x, y, a)
        tried[a] = mean_recall(l2n(m.predict(corpus.sent_emb[val_s])) @ corpus.feats[val_r].T, val_t)
    alpha = max(tried, key=lambda a: tried[a])
    t2v = LinearMap.fit(x, y, alpha, meta={"target": "image feature", "feature_version": corpus.feature_version,
                                           "val_mean_recall": tried})
    vocab = sorted({c for i in train_r for c in corpus.direct_concepts[int(i)]})
    yc = multi_hot([corpus.direct_concepts[int(i)] for i in corpus.image_of[train_s]], vocab)
    t2c = LinearMap.fit(x, yc, 10.0, outputs=vocab, meta={"target": "scene + multi-label concepts"})
    protos = split_prototypes(corpus, train_r)
    prewarm(matcher, [c.sentence for c in corpus.captions if c.split != "train"])
    con, vis = _route_scores(corpus, matcher, protos, expand, t2v, t2c, val_s, val_r)
    base = Calibration(float(con.mean()), float(con.std()), float(vis.mean()), float(vis.std()), 0.0)
    by_lam = {}
    for lam in LAMBDAS:
        cal = Calibration(base.mu_c, base.sd_c, base.mu_v, base.sd_v, lam)
        by_lam[lam] = mean_recall(cal.fuse(con, vis), val_t)
    lam = max(by_lam, key=lambda v: by_lam[v])
    cal = Calibration(base.mu_c, base.sd_c, base.mu_v, base.sd_v, lam)
    meta = {"ridge_alpha_val_mean_recall": tried, "lambda_val_mean_recall": by_lam, "n_train_sentences": len(train_s),
            "n_val_sentences": len(val_s)}
    return CaptionModels(t2v, t2c, cal, corpus.feature_version, meta)


def models_dir(settings: Settings, key: str) -> Path:
    return artifacts.caption_models_dir(settings, key)


def models_key(settings: Settings, feature_version: str, system: LabelSystem) -> str:
    from rskg.search.captions import captions_path

    cap = hashlib.sha256(captions_path(settings).read_bytes()).hexdigest()[:12]
    return model_key(feature_version, system.version, cap, settings.alpha, settings.beta, settings.tau,
                     settings.max_distance, "v1")


def save_models(m: CaptionModels, folder: Path) -> None:
    m.text2visual.save(folder / "text2visual.npz")
    m.text2concept.save(folder / "text2concept.npz")
    (folder / "calibration.json").write_text(json.dumps(
        {"feature_version": m.feature_version, "calibration": m.calibration.as_dict(), "meta": m.meta},
        indent=1, default=str))


def load_models(folder: Path) -> CaptionModels | None:
    if not (folder / "calibration.json").is_file():
        return None
    info = json.loads((folder / "calibration.json").read_text())
    return CaptionModels(LinearMap.load(folder / "text2visual.npz"), LinearMap.load(folder / "text2concept.npz"),
                         Calibration(**info["calibration"]), info["feature_version"], info["meta"])
