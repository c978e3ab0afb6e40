"""Per-concept k-means prototypes (paper 000 section 3.3, Algorithm 2 GET_PROTOTYPE_FEATURE).

``rskg index build``: for every active concept, the image features of the samples labelled with it or with
one of its subclasses (``Sample-LABELED-SourceLabel-MAPS_TO|COVERS-Concept``) -> k-means with k = 10 (fewer
when the concept has fewer samples) -> L2-normalised centroids. Vectors go to ONE file,
``settings.index_dir/prototypes.npz`` (temp file + ``os.replace``), and every prototype becomes a
``(:Prototype {id, k, vector_ref, n_members})-[:PROTOTYPE_OF]->(:Concept)`` node; stale nodes of the same
store are removed, so a rebuild is idempotent (seeded k-means: same data, same vectors, same version).

``allow`` restricts the fit to a sample-id allowlist (``--train-split``: the training split), so evaluation
on held-out samples is fair.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings.prototypes import kmeans_prototypes
from kg.prototypes import DELETE_STALE_PROTOTYPES, PROTOTYPES_OF, UPSERT_PROTOTYPES
from kg.retrieval_queries import CONCEPT_MEMBERS
from rskg import artifacts, atomic
from rskg.errors import NotFoundError, ValidationError
from rskg.retrieval.caches import LEXICON_TTL_S, _mtime, image_index
from rskg.retrieval.features import load_features
from rskg.retrieval.labels import subclass_closure
from rskg.services import KeyedCache, Services
from rskg.settings import Settings

FORMAT = "rskg-prototypes-1"
DEFAULT_K = 10
KMEANS = "spherical-faiss"        # in each concept's member digest: a change of algorithm refits every concept


@dataclass
class PrototypeStore:
    ids: list[str]
    concepts: list[str]
    ks: list[int]
    n_members: list[int]
    vectors: np.ndarray
    version: str
    encoder_version: str
    fit: str                              # "all" | "allowlist:<n>"
    row: dict[str, int] = field(default_factory=dict)
    member_digest: dict[str, str] = field(default_factory=dict)   # concept -> sha of its member ids (+ k, seed)

    def __post_init__(self) -> None:
        self.row = {i: r for r, i in enumerate(self.ids)}


@dataclass
class BuildReport:
    concepts: int
    prototypes: int
    samples_used: int
    skipped_concepts: int                 # concepts with labelled samples but no feature among them
    version: str
    seconds: float
    path: Path
    rebuilt: int | None = None            # concepts fitted again (only_changed); None: all of them


def store_key(settings: Settings) -> str:
    """Key of this home's prototype store (Prototype.store in Neo4j)."""
    return hashlib.sha1(str(settings.index_dir.resolve()).encode()).hexdigest()[:12]


def prototype_path(settings: Settings) -> Path:
    return artifacts.prototypes_path(settings)


def concept_members(services: Services) -> dict[str, set[str]]:
    """Active concept -> samples labelled with it or with any of its subclasses."""
    own = {str(r["concept_id"]): set(r["samples"]) for r in services.driver.execute_query(CONCEPT_MEMBERS).records}
    from rskg.retrieval.labels import label_graph

    _, names = label_graph(services)
    closure = subclass_closure(services, sorted(set(names) | set(own)))
    out: dict[str, set[str]] = {}
    for cid, subs in closure.items():
        m: set[str] = set()
        for s in subs:
            m |= own.get(s, set())
        if m:
            out[cid] = m
    return out


def _write(path: Path, st: PrototypeStore) -> None:
    meta = {"format": FORMAT, "version": st.version, "encoder_version": st.encoder_version, "fit": st.fit,
            "member_digest": st.member_digest}
    atomic.savez(path, fsync=True, ids=np.asarray(st.ids, dtype=str), concepts=np.asarray(st.concepts, dtype=str),
                 ks=np.asarray(st.ks, np.int32), n_members=np.asarray(st.n_members, np.int64),
                 vectors=st.vectors.astype(np.float32),
                 meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))


def read_store(path: Path) -> PrototypeStore:
    if not path.exists():
        raise NotFoundError(f"no prototypes at {path}", "Build them with `rskg index build`.")
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(z["meta"].tobytes().decode())
        if meta.get("format") != FORMAT:
            raise ValidationError(f"{path} is not an rskg prototype file", "Rebuild with `rskg index build`.")
        return PrototypeStore([str(i) for i in z["ids"]], [str(c) for c in z["concepts"]],
                              [int(k) for k in z["ks"]], [int(n) for n in z["n_members"]],
                              np.asarray(z["vectors"], np.float32), meta["version"], meta["encoder_version"],
                              meta["fit"], member_digest=dict(meta.get("member_digest") or {}))


def _previous(settings: Settings, encoder_version: str, fit: str) -> PrototypeStore | None:
    """The stored prototypes when they can be reused (same encoder and fit), else None."""
    try:
        old = read_store(prototype_path(settings))
    except (NotFoundError, ValidationError, OSError, KeyError, ValueError):
        return None
    return old if old.encoder_version == encoder_version and old.fit == fit else None


def build_prototypes(services: Services, settings: Settings, k: int = DEFAULT_K,
                     allow: set[str] | None = None, seed: int = 0, only_changed: bool = False) -> BuildReport:
    """Fit every concept's prototypes; ``only_changed`` keeps the stored centroids of the concepts whose
    member list (and k, seed, encoder) is unchanged and fits only the others (same result, less work)."""
    t0 = time.perf_counter()
    index = image_index(services)
    assert index is not None
    members = concept_members(services)
    ids, matrix = load_features(settings, index.version)
    if not ids:
        raise NotFoundError(f"no stored features for encoder {index.version}",
                            "Ingest datasets first (`rskg ingest ...`): ingestion stores the features.")
    row = {s: i for i, s in enumerate(ids)}
    st_ids: list[str] = []
    st_concepts: list[str] = []
    ks: list[int] = []
    n_members: list[int] = []
    vecs: list[np.ndarray] = []
    used: set[str] = set()
    skipped = 0
    # version = hash of the inputs (encoder, k, seed, every concept's member list): same inputs, same version
    h = hashlib.sha256(f"{index.version}|{k}|{seed}".encode())
    key = store_key(settings)
    fit = "all" if allow is None else f"allowlist:{len(allow)}"
    old = _previous(settings, index.version, fit) if only_changed else None
    digests: dict[str, str] = {}
    rebuilt = 0
    for cid in sorted(members):
        chosen = sorted(s for s in members[cid] if s in row and (allow is None or s in allow))
        if not chosen:
            skipped += 1
            continue
        used.update(chosen)
        h.update(("\n" + cid + "\t" + "\t".join(chosen)).encode())
        digests[cid] = hashlib.sha256(f"{k}|{seed}|{KMEANS}|{chr(9).join(chosen)}".encode()).hexdigest()[:16]
        if old is not None and old.member_digest.get(cid) == digests[cid]:
            centers = old.vectors[[i for i, c in enumerate(old.concepts) if c == cid]]
        else:
            rebuilt += 1
            centers = kmeans_prototypes(matrix[[row[s] for s in chosen]], k, seed)
        for j, c in enumerate(centers):
            st_ids.append(f"{key}:{cid}:{j}")
            st_concepts.append(cid)
            ks.append(j)
            n_members.append(len(chosen))
            vecs.append(c)
    vectors = np.vstack(vecs).astype(np.float32) if vecs else np.zeros((0, index.dim), np.float32)
    version = h.hexdigest()[:12]
    st = PrototypeStore(st_ids, st_concepts, ks, n_members, vectors, version, index.version, fit,
                        member_digest=digests)
    path = prototype_path(settings)
    _write(path, st)
    rows = [{"id": i, "concept": c, "k": kk, "vector_ref": f"{artifacts.PROTOTYPE_FILE}#{r}", "n_members": n}
            for r, (i, c, kk, n) in enumerate(zip(st_ids, st_concepts, ks, n_members, strict=True))]
    for s in range(0, len(rows), 1000):
        services.driver.execute_query(UPSERT_PROTOTYPES, rows=rows[s:s + 1000], store=key, version=version)
    services.driver.execute_query(DELETE_STALE_PROTOTYPES, store=key, ids=st_ids)
    services.cache(PrototypeStoreCache).invalidate()
    return BuildReport(len(set(st_concepts)), len(st_ids), len(used), skipped, version,
                       time.perf_counter() - t0, path, rebuilt if only_changed else None)


class PrototypeStoreCache(KeyedCache[PrototypeStore]):
    """The prototype file, keyed by its mtime; :func:`build` invalidates it."""


class PrototypeLinksCache(KeyedCache[dict[str, list[tuple[str, int]]]]):
    """Concept -> prototype rows from Neo4j, per store version (refreshed after LEXICON_TTL_S)."""


def prototype_store(services: Services) -> PrototypeStore | None:
    path = prototype_path(services.settings)
    m = _mtime(path)
    if m is None:
        return None
    return services.cache(PrototypeStoreCache).get(m, lambda: read_store(path))


def _links(services: Services, st: PrototypeStore) -> dict[str, list[tuple[str, int]]]:
    recs = services.driver.execute_query(PROTOTYPES_OF, store=store_key(services.settings),
                                         ids=sorted(set(st.concepts))).records
    out: dict[str, list[tuple[str, int]]] = {}
    for r in recs:
        pid = str(r["id"])
        if pid in st.row:
            out.setdefault(str(r["concept_id"]), []).append((pid, st.row[pid]))
    return out


def prototypes_of(services: Services, concept_ids: list[str]) -> dict[str, list[tuple[str, int]]]:
    """Concept -> [(prototype id, row in the store)] via (:Prototype)-[:PROTOTYPE_OF]->(:Concept); the links
    of the whole store are read once per store version (and after LEXICON_TTL_S)."""
    st = prototype_store(services)
    if st is None or not concept_ids:
        return {}
    links = services.cache(PrototypeLinksCache).get(st.version, lambda: _links(services, st), ttl=LEXICON_TTL_S)
    return {c: links[c] for c in concept_ids if c in links}


TRAIN_SPLIT_SQL = "SELECT id, split FROM samples"


def train_split(services: Services, train_fraction: float = 0.8) -> set[str]:
    """The training split: samples.split = 'train' where ingestion set splits; otherwise a deterministic
    hash split (blake2b of the sample id, ``train_fraction`` of the samples)."""
    with services.connection() as conn:
        rows = conn.execute(TRAIN_SPLIT_SQL).fetchall()
    if any(split for _, split in rows):
        return {i for i, split in rows if split == "train"}
    return {i for i, _ in rows if in_hash_train(i, train_fraction)}


def in_hash_train(sample_id: str, train_fraction: float = 0.8) -> bool:
    h = int.from_bytes(hashlib.blake2b(sample_id.encode(), digest_size=4).digest(), "big")
    return (h % 10_000) < train_fraction * 10_000
