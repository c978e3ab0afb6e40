"""Scores of archive images for one query, shared by the search service and the text2image evaluation.

Concept route (paper 000's supplementary score, summed over the weighted query concepts):

    s_root(x) = max over related concepts r of root (Dijkstra distance d <= max_distance, root itself at 0),
                over the prototypes p of r, of cos(p, x) / (1 + d)
    concept(x) = sum_root w_root * s_root(x) / sum_root w_root        (roots without prototypes left out)

Visual route: cos(predicted image vector of the text, x).
Fused: (1 - lam) * (concept - mu_c) / sd_c + lam * (visual - mu_v) / sd_v, with mu/sd measured on the
validation split (so the scale is fixed, not taken from the candidates at hand).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Expanded:
    root: str
    concept_id: str
    distance: float
    path: tuple[str, ...]


@dataclass(frozen=True)
class Best:
    root: str
    concept_id: str
    prototype: int            # row in the prototype matrix
    similarity: float
    distance: float
    path: tuple[str, ...]


@dataclass(frozen=True)
class Calibration:
    mu_c: float
    sd_c: float
    mu_v: float
    sd_v: float
    lam: float

    def fuse(self, concept: np.ndarray, visual: np.ndarray) -> np.ndarray:
        zc = (concept - self.mu_c) / max(self.sd_c, 1e-6)
        zv = (visual - self.mu_v) / max(self.sd_v, 1e-6)
        return (1.0 - self.lam) * zc + self.lam * zv

    def as_dict(self) -> dict[str, float]:
        return {"mu_c": self.mu_c, "sd_c": self.sd_c, "mu_v": self.mu_v, "sd_v": self.sd_v, "lam": self.lam}


def root_scores(weights: dict[str, float], related: list[Expanded], proto_concepts: list[str],
                protos: np.ndarray, feats: np.ndarray) -> tuple[list[str], np.ndarray, list[list[Best]]]:
    """Roots that have prototypes, (N, R) s_root per image, and per image its best evidence per root."""
    rows_of: dict[str, list[int]] = {}
    for j, c in enumerate(proto_concepts):
        rows_of.setdefault(c, []).append(j)
    sims = feats @ protos.T if protos.size else np.zeros((len(feats), 0), np.float32)
    roots: list[str] = []
    cols_out: list[np.ndarray] = []
    evidence: list[list[Best]] = [[] for _ in range(len(feats))]
    for root in weights:
        cands = [r for r in related if r.root == root and r.concept_id in rows_of]
        if not cands:
            continue
        best = np.full(len(feats), -np.inf, np.float32)
        ev: list[Best | None] = [None] * len(feats)
        for r in cands:
            cols = np.asarray(rows_of[r.concept_id])
            sub = sims[:, cols]
            j = np.argmax(sub, axis=1)
            for i in np.flatnonzero(sub[np.arange(len(feats)), j] / (1.0 + r.distance) > best):
                best[i] = sub[i, j[i]] / (1.0 + r.distance)
                ev[i] = Best(root, r.concept_id, int(cols[j[i]]), float(sub[i, j[i]]), r.distance, r.path)
        roots.append(root)
        cols_out.append(best)
        for k, e in enumerate(ev):
            if e is not None:
                evidence[k].append(e)
    mat = np.stack(cols_out, axis=1) if cols_out else np.zeros((len(feats), 0), np.float32)
    return roots, mat, evidence


def concept_scores(weights: dict[str, float], related: list[Expanded], proto_concepts: list[str],
                   protos: np.ndarray, feats: np.ndarray,
                   with_evidence: bool = True) -> tuple[np.ndarray, list[list[Best]]]:
    """(N,) concept-route score of each row of ``feats`` and, per image, the best evidence per root
    (empty lists when ``with_evidence`` is off)."""
    n = len(feats)
    if n == 0 or protos.size == 0:
        return np.zeros(n, np.float32), [[] for _ in range(n)]
    rows_of: dict[str, list[int]] = {}
    for j, c in enumerate(proto_concepts):
        rows_of.setdefault(c, []).append(j)
    sims = feats @ protos.T                                            # (N, P)
    total = np.zeros(n, np.float32)
    wsum = 0.0
    evidence: list[list[Best]] = [[] for _ in range(n)]
    for root, w in weights.items():
        cands = [r for r in related if r.root == root and r.concept_id in rows_of]
        if not cands:
            continue
        best = np.full(n, -np.inf, np.float32)
        arg = np.zeros(n, np.int64)
        which = np.zeros(n, np.int64)
        for k, r in enumerate(cands):
            cols = rows_of[r.concept_id]
            sub = sims[:, cols]
            j = np.argmax(sub, axis=1)
            s = sub[np.arange(n), j] / (1.0 + r.distance)
            better = s > best
            best[better], arg[better], which[better] = s[better], np.asarray(cols)[j[better]], k
        total += w * best
        wsum += w
        for i in range(n if with_evidence else 0):
            r = cands[int(which[i])]
            evidence[i].append(Best(root, r.concept_id, int(arg[i]), float(sims[i, arg[i]]), r.distance, r.path))
    if wsum == 0:
        return np.zeros(n, np.float32), evidence
    return total / wsum, evidence


def visual_scores(predicted: np.ndarray, feats: np.ndarray) -> np.ndarray:
    p = np.asarray(predicted, np.float32).reshape(-1)
    p = p / max(float(np.linalg.norm(p)), 1e-12)
    return feats @ p
