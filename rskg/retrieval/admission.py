"""Calibrated admission of supplementary samples by the concept head.

When the image index was built by the installed concept head (its version names the head's digest) and
the query concept is one of the head's outputs, every supplementary candidate found by the prototypes is
scored with the head's probability for the query concept, computed from its stored embedding (the head's
classifier works on the normalised embedding, so no pixels are re-encoded). It is admitted when that
probability reaches the concept's threshold, learned on held-out labelled data when the head was trained
(``head.cfg.metrics["thresholds"]``: the lowest probability with held-out precision >= 0.7; 0.5 for concepts
without enough held-out samples). The probability is kept in the hit's evidence. Query concepts the head
does not know, example-image queries and indexes of other encoders keep the cosine floor alone.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from embeddings.faiss_index import VectorIndex
from rskg.retrieval.model import Evidence
from rskg.services import Services

DEFAULT_THRESHOLD = 0.5


def admit(services: Services, index: VectorIndex, found: dict[tuple[str, str], Evidence],
          notes: list[str]) -> dict[tuple[str, str], Evidence]:
    from rskg.retrieval.hir import _usable_head

    head = _usable_head(services, index)
    if head is None or (head.cfg.metrics or {}).get("kind") != "concept" or not found:
        return found
    col = {c: j for j, c in enumerate(head.cfg.labels)}
    thresholds: dict[str, float] = dict((head.cfg.metrics or {}).get("thresholds", {}))
    keys = [k for k in found if k[1] in col]
    if not keys:
        return found
    pos = index.positions
    rows = np.asarray([pos[sid] for sid, _ in keys], np.int64)
    z = torch.from_numpy(np.asarray(index.reconstruct(rows), np.float32))
    with torch.no_grad():
        proba = torch.sigmoid(head.classifier(z * head.log_scale.exp())).numpy()
    out = {k: v for k, v in found.items() if k[1] not in col}
    dropped = 0
    for (sid, root), p_row in zip(keys, proba, strict=True):
        p = float(p_row[col[root]])
        if p >= thresholds.get(root, DEFAULT_THRESHOLD):
            out[(sid, root)] = replace(found[(sid, root)], probability=round(p, 4))
        else:
            dropped += 1
    if dropped:
        notes.append(f"concept head admission: {dropped} of {len(keys)} supplementary candidates under the "
                     "concept's calibrated probability threshold")
    return out
