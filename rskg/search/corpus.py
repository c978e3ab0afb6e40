"""UCMerced + UCM-Captions as the caption-aware learning sees it: sentences, their embeddings, the image
features of every image (from the evaluation's raw-feature cache, keyed by file hash and encoder version),
and each image's concepts in the label system (scene concept, multi-label concepts, their ancestors)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from embeddings.text import TextEncoder
from ontology.model import LabelSystem
from rskg.errors import DataError
from rskg.search.captions import Caption, captions_path, read_captions
from rskg.settings import Settings

if TYPE_CHECKING:
    from embeddings.image import ImageEncoder

SCENE_SET, MULTI_SET = "ucm", "ucm_multilabel"


def ancestors(system: LabelSystem, concept_id: str) -> list[str]:
    """The concept and all its ancestors (breadth first)."""
    out, todo = [concept_id], [concept_id]
    while todo:
        c = system.concepts.get(todo.pop(0))
        for p in (c.parents if c else []):
            if p not in out:
                out.append(p)
                todo.append(p)
    return out


@dataclass
class CaptionCorpus:
    captions: list[Caption]
    sent_emb: np.ndarray              # (S, 384) L2-normalised MiniLM
    image_of: np.ndarray              # (S,) row of the caption's image
    rel_paths: list[str]              # image rows
    scene: list[str]                  # UCMerced class per image
    multilabels: list[list[str]]      # 17-label names per image
    scene_concept: list[str]          # concept of the scene class
    direct_concepts: list[set[str]]   # scene concept + multi-label concepts
    closure: list[set[str]]           # direct concepts + ancestors
    path_concepts: list[set[str]]     # scene concept + its ancestors
    feats: np.ndarray                 # (N, D) L2-normalised image features
    feature_version: str

    def rows(self, split: str) -> np.ndarray:
        """Image rows of a caption split (sorted)."""
        return np.asarray(sorted({int(self.image_of[i]) for i, c in enumerate(self.captions) if c.split == split}))

    def sentences(self, split: str) -> np.ndarray:
        return np.asarray([i for i, c in enumerate(self.captions) if c.split == split])


def load_corpus(settings: Settings, system: LabelSystem, text: TextEncoder, enc: ImageEncoder | None = None,
                pretrained: bool = True) -> CaptionCorpus:
    """``pretrained``: the fused backbone feature (what the evaluation uses: no head that may have seen the
    test images); else the encoder's product feature (head included when one is loaded)."""
    from rskg.corpora.features import encoder as eval_encoder
    from rskg.corpora.features import fused_features
    from rskg.corpora.ucm import load_ucm

    enc = enc if enc is not None else eval_encoder(settings)
    ucm = load_ucm(settings, enc, protocol_head=False)     # the paper 002 protocol head is not used here
    caps = read_captions(captions_path(settings))
    row = {p: i for i, p in enumerate(ucm.images.rel_paths)}
    missing = sorted({c.image for c in caps} - set(row))
    if missing:
        raise DataError(f"{len(missing)} captioned images are not in the UCMerced folder (e.g. {missing[0]})",
                        "Check RSKG_DATA_DIR: captions.csv and images/ must come from the same folder.")
    scene = [str(s) for s in ucm.scene]
    multi = ucm.images.labels_of(MULTI_SET)
    scene_c, direct, closure, paths = [], [], [], []
    for s, labs in zip(scene, multi, strict=True):
        m = system.mapping_for(SCENE_SET, s)
        if m is None:
            raise DataError(f"UCMerced class {s!r} has no mapping in the label system",
                            "Rebuild the label system (`rskg ontology build`).")
        d = {m.concept_id}
        for lab in labs:
            mm = system.mapping_for(MULTI_SET, lab)
            if mm is not None:
                d.add(mm.concept_id)
        scene_c.append(m.concept_id)
        direct.append(d)
        closure.append({a for c in d for a in ancestors(system, c)})
        paths.append(set(ancestors(system, m.concept_id)))
    feats = fused_features(enc, ucm.raw) if pretrained else enc.features_from_raw(ucm.raw)
    version = enc.feature_version if pretrained else enc.version
    emb = text.encode([c.sentence for c in caps])
    return CaptionCorpus(caps, emb, np.asarray([row[c.image] for c in caps]), list(ucm.images.rel_paths), scene,
                         multi, scene_c, direct, closure, paths, np.asarray(feats, np.float32), version)
