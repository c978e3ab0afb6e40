"""`rskg eval text2image`: text -> image retrieval on the UCM-Captions test split (210 images, 1,050 sentences).

Queries are the test sentences; the archive is the 210 test images, searched by their pixels only. Everything
learned (ridge maps, fusion weight, prototypes) comes from the train split (1,680 images, 8,400 sentences) and
the val split (tuning). Routes on the same queries:

* ``concepts (label system)``: phrases -> concepts by text similarity to the label system only -> Eq. 1
  expansion -> train-split prototypes -> concept score;
* ``concepts + captions``: the same, with concepts the caption-trained text2concept map adds;
* ``text->visual (ridge)``: cosine of the caption-trained text2visual prediction with the image feature;
* ``fused``: calibrated sum of the last two (weight tuned on val).

Relevance for paper 003's metrics: C(q, i) = labels shared by the query's image and image i, for three label
sets: the 17 UCMerced multi-labels; the scene concept with its ancestors in the label system; the scene
concept alone. R@K: the query's own image within the top K.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from embeddings.faiss_index import l2n
from embeddings.text import TextEncoder
from ontology.store import load_label_system
from rskg.search.corpus import CaptionCorpus, load_corpus
from rskg.search.metrics import paper003
from rskg.search.models import (
    Expander,
    build_matcher,
    concept_weights,
    fit_caption_models,
    merge,
    split_prototypes,
    subclass_edges,
)
from rskg.search.query import validate
from rskg.search.scoring import concept_scores
from rskg.settings import Settings

log = logging.getLogger(__name__)
ROUTES = ("concepts (label system)", "concepts + captions", "text->visual (ridge)", "fused")
RELEVANCE = ("17 multi-labels", "scene concept + ancestors", "scene concept")
NS = (5, 10, 20)
SEED = 0
# paper 003 Table 5, CISEN (RS) ViT-B/32, text -> image, LuoJiaHOG third-level labels (not the same data)
PAPER_CISEN_L3 = {"MAP@5": 0.7037, "MAP@10": 0.6881, "MAP@20": 0.6661, "WMAP@5": 0.8728, "WMAP@10": 0.8499,
                  "WMAP@20": 0.8183, "NDCG@5": 0.7157, "NDCG@10": 0.7100, "NDCG@20": 0.7025, "ACG@5": 0.7783,
                  "ACG@10": 0.7612, "ACG@20": 0.7374}


@dataclass
class T2IResult:
    metrics: dict[str, dict[str, dict[str, float]]]      # route -> relevance -> metric -> value
    recall: dict[str, dict[str, float]]                  # route -> R@1/R@5/R@10/mR
    n_queries: int
    n_archive: int
    unmatched_queries: int                               # sentences with no label-system concept
    model_meta: dict[str, Any]
    lam: float
    edges: str
    feature_version: str
    seconds: dict[str, float] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)


def gains(corpus: CaptionCorpus, q_rows: np.ndarray, a_rows: np.ndarray, relevance: str) -> np.ndarray:
    if relevance == RELEVANCE[0]:
        sets = [set(x) for x in corpus.multilabels]
    elif relevance == RELEVANCE[1]:
        sets = corpus.path_concepts
    else:
        sets = [{c} for c in corpus.scene_concept]
    return np.asarray([[len(sets[int(q)] & sets[int(a)]) for a in a_rows] for q in q_rows], np.float64)


def rank(scores: np.ndarray, seed: int = SEED) -> np.ndarray:
    """Row-wise order by descending score, ties broken by a fixed random permutation (not by file order)."""
    tie = np.random.default_rng(seed).permutation(scores.shape[1])
    return np.stack([np.lexsort((tie, -row)) for row in scores])


def evaluate(order: np.ndarray, targets: np.ndarray, g: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    pos = np.argmax(order == targets[:, None], axis=1)
    rec = {f"R@{k}": float((pos < k).mean()) for k in (1, 5, 10)}
    rec["mR"] = float(np.mean(list(rec.values())))
    ranked = np.take_along_axis(g, order[:, : max(NS)], axis=1)
    return rec, paper003(ranked, g, NS)


def run_t2i(settings: Settings, services: Any | None = None, n_examples: int = 3) -> T2IResult:
    t0 = time.perf_counter()
    system = load_label_system(settings.ontology_dir)
    text = TextEncoder(settings)
    corpus = load_corpus(settings, system, text)
    matcher = build_matcher(settings, system, text)
    edges, edge_src = subclass_edges(system), "SUBCLASS_OF from the Turtle files (Neo4j not used)"
    if services is not None:
        from rskg.retrieval.labels import label_graph

        edges, edge_src = label_graph(services)[0], "Neo4j label graph (SUBCLASS_OF, SIMILAR_TO, ADJACENT_TO)"
    t_load = time.perf_counter()
    expand = Expander.of(edges, settings)
    models = fit_caption_models(corpus, matcher, expand)
    t_fit = time.perf_counter()
    train_r, test_r, test_s = corpus.rows("train"), corpus.rows("test"), corpus.sentences("test")
    protos = split_prototypes(corpus, train_r)
    feats = corpus.feats[test_r]
    pos = {int(r): j for j, r in enumerate(test_r)}
    targets = np.asarray([pos[int(corpus.image_of[s])] for s in test_s])
    q_rows = corpus.image_of[test_s]
    scores = {r: np.zeros((len(test_s), len(test_r)), np.float32) for r in ROUTES}
    unmatched = 0
    per_query = []
    for qi, si in enumerate(test_s):
        t = time.perf_counter()
        query = validate(corpus.captions[int(si)].sentence)
        emb = corpus.sent_emb[si:si + 1]
        _, zero, learned = concept_weights(matcher, query, emb, models.text2concept)
        unmatched += not zero
        for route, w in ((ROUTES[0], zero), (ROUTES[1], merge(zero, learned))):
            scores[route][qi], _ = concept_scores(w, expand(sorted(w)), protos.concepts, protos.vectors, feats,
                                                  with_evidence=False)
        scores[ROUTES[2]][qi] = l2n(models.text2visual.predict(emb))[0] @ feats.T
        scores[ROUTES[3]][qi] = models.calibration.fuse(scores[ROUTES[1]][qi], scores[ROUTES[2]][qi])
        per_query.append(time.perf_counter() - t)
    g = {rel: gains(corpus, q_rows, test_r, rel) for rel in RELEVANCE}
    metrics: dict[str, dict[str, dict[str, float]]] = {}
    recall: dict[str, dict[str, float]] = {}
    examples = []
    for route in ROUTES:
        order = rank(scores[route])
        metrics[route] = {}
        for rel in RELEVANCE:
            recall[route], metrics[route][rel] = evaluate(order, targets, g[rel])
        if route == ROUTES[3]:
            for qi in np.linspace(0, len(test_s) - 1, n_examples).astype(int):
                top = [corpus.rel_paths[int(test_r[j])].split("/")[-1] for j in order[qi][:5]]
                examples.append({"query": corpus.captions[int(test_s[qi])].sentence,
                                 "image": corpus.rel_paths[int(q_rows[qi])].split("/")[-1], "top5": top})
    secs = {"load (features, sentences, matcher)": t_load - t0, "fit (ridge, val tuning)": t_fit - t_load,
            "search, per query (ms)": 1000 * float(np.mean(per_query)), "total": time.perf_counter() - t0}
    return T2IResult(metrics, recall, len(test_s), len(test_r), unmatched, models.meta, models.calibration.lam,
                     edge_src, corpus.feature_version, secs, examples)
