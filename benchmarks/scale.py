"""`make bench-scale`: the paper's scale, measured on this machine (paper 000 Table 3, Figs. 8-9).

Sections (``python -m benchmarks scale --only ingest,sizes,sizes_ray,concurrency,pool,retrieval,catalog``;
default: all), each merged into the results of earlier runs, so one section can be rerun without losing the others:

* ``ingest``: UCMerced (2,100 JPEGs) end to end with features vs the machine's limit (decode + resample +
  encode, nothing else) measured in the same run -> efficiency (benchmarks/_scale_ingest.py).
* ``sizes``: ingest time per dataset size, local engine, EuroSAT full at 1k / 5k (RSKG_SCALE_SIZES adds 27k).
* ``sizes_ray``: the same on the Ray engine: a real two-node local cluster (one CPU per node) started and stopped by
  the run; run it in a process of its own (Ray reads its auth settings once, at import).
* ``concurrency``: 1 ... 200 parallel GraphQL retrievals against uvicorn (benchmarks/_scale_api.py).
* ``pool`` / ``retrieval``: the real-feature pool (RSKG_SCALE_POOL entries, resumable; benchmarks/_scale_pool.py)
  and index search p50/p99 (batches of 1 and 20 queries) + recall@10 vs exact search for exact, IVF-PQ and
  IVF-PQ + exact re-ranking at 10k / 100k / 1M and the pool's own size (benchmarks/_scale_retrieval.py).
* ``catalog``: RSKG_SCALE_CATALOG_ROWS (default 1.4M) generated rows carrying real pool vectors in PostgreSQL and
  Neo4j: load, sync and filtered-query times (benchmarks/_scale_catalog.py).

Writes ``benchmarks/results/scale.json`` (exactly the headline keys of issue 20; a null value has a
``<key>_reason`` beside it), ``scale_sections.json`` (every measurement, with the 1-min load average
beside each timing) and ``scale.md`` (rendered from both).
"""

from __future__ import annotations

import json
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rskg.settings import Settings, load_settings

IN_MAKE_BENCH = False        # `make bench-scale` only: it ingests whole datasets
RESULTS = Path(__file__).parent / "results"
KEYS = ("ingest_ucm_images_per_s", "ingest_limit_images_per_s", "ingest_efficiency", "retrieval_p99_ms_1m",
        "ratio_1m_to_10k", "concurrency_140_p99_s", "errors_200")
SECTIONS = ("ingest", "sizes", "sizes_ray", "concurrency", "pool", "retrieval", "catalog")


def _sec_ingest(s: Settings) -> Any:
    from benchmarks._scale_ingest import ingest_ucm

    return ingest_ucm(s)


def _sec_sizes(s: Settings) -> Any:
    from benchmarks._scale_ingest import ingest_sizes

    return ingest_sizes(s, os.environ.get("RSKG_SCALE_SIZES", "1k,5k").split(","))


def _sec_sizes_ray(s: Settings) -> Any:
    from benchmarks._scale_ingest import ingest_sizes

    return ingest_sizes(s, os.environ.get("RSKG_SCALE_SIZES", "1k,5k").split(","), engine="ray")


def _sec_concurrency(s: Settings) -> Any:
    from benchmarks._scale_api import ramp

    return ramp(s)


def _sec_pool(s: Settings) -> Any:
    from benchmarks._scale_pool import build_pool

    return build_pool(s, int(os.environ.get("RSKG_SCALE_POOL", "10000")))


def _sec_retrieval(s: Settings) -> Any:
    """RSKG_SCALE_RETRIEVAL_SIZES (default 10000,100000,1000000) picks the sizes rerun; the sizes of an earlier
    run that are not rerun are kept, marked ``from_earlier_run`` (their rows carry their own load)."""
    from benchmarks._scale_retrieval import SIZES, retrieval_curve

    env = os.environ.get("RSKG_SCALE_RETRIEVAL_SIZES")
    sizes = tuple(int(x) for x in env.split(",")) if env else SIZES
    new = retrieval_curve(s, sizes)
    earlier = (_load(RESULTS / "scale_sections.json").get("retrieval") or {}).get("sizes", {})
    kept = {k: {**v, "from_earlier_run": True} for k, v in earlier.items() if k not in new["sizes"]}
    new["sizes"] = dict(sorted({**kept, **new["sizes"]}.items(), key=lambda kv: int(kv[0])))
    return new


def _sec_catalog(s: Settings) -> Any:
    from benchmarks._scale_catalog import catalog_scale

    return catalog_scale(s, int(os.environ.get("RSKG_SCALE_CATALOG_ROWS", "1400000")))


RUNNERS: dict[str, Callable[[Settings], Any]] = {
    "ingest": _sec_ingest, "sizes": _sec_sizes, "sizes_ray": _sec_sizes_ray, "concurrency": _sec_concurrency,
    "pool": _sec_pool, "retrieval": _sec_retrieval, "catalog": _sec_catalog}


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def headline(sections: dict[str, Any]) -> dict[str, Any]:
    """The issue's keys from the section results; null + reason where a section was not measured."""
    out: dict[str, Any] = {}

    def put(key: str, value: Any, reason: str) -> None:
        out[key] = value
        if value is None:
            out[f"{key}_reason"] = reason

    ing = sections.get("ingest")
    why = "the ingest section has not been run (python -m benchmarks scale --only ingest)"
    put("ingest_ucm_images_per_s", ing["end_to_end"]["images_per_s"] if ing else None, why)
    put("ingest_limit_images_per_s", ing["limit_images_per_s"] if ing else None, why)
    put("ingest_efficiency", ing["efficiency"] if ing else None, why)
    # Fig. 8 times the supplementary retrieval against repository size (paper 000 section 4.3.1): the
    # supplementary step of the product's unfiltered retrieval, at the largest catalog step (1M+ vectors) vs 10k
    steps = [st for st in (sections.get("catalog") or {}).get("steps", []) if "none" in st]
    big = [st for st in steps if st["index"]["vectors"] >= 1_000_000]
    small = [st for st in steps if st["catalog_rows"] <= 10_000 or st["index"]["vectors"] <= 10_000]
    p99_1m = big[-1]["none"]["p99_supplementary_ms"] if big else None
    p99_10k = small[0]["none"]["p99_supplementary_ms"] if small else None
    pool = sections.get("pool") or {}
    rate = (pool.get("this_run") or {}).get("vectors_per_s")
    cost = f"{1e6 / rate / 3600:.1f} h at the {rate} vectors/s measured" if rate else "about 3 h at ~100 vectors/s"
    why_1m = (f"no catalog step with 1M indexed vectors: the real-feature pool holds {pool.get('vectors', 0):,} "
              f"vectors (encoding 1M real transforms costs {cost} on this 2-core machine); run --only pool, then "
              "--only catalog")
    put("retrieval_p99_ms_1m", p99_1m, why_1m)
    put("ratio_1m_to_10k", round(p99_1m / p99_10k, 3) if p99_1m and p99_10k else None, why_1m)
    conc = {str(r["concurrency"]): r for r in (sections.get("concurrency") or {}).get("levels", [])}
    why_c = "the concurrency section has not been run (python -m benchmarks scale --only concurrency)"
    put("concurrency_140_p99_s", conc["140"]["p99_s"] if "140" in conc else None, why_c)
    put("errors_200", conc["200"]["errors"] if "200" in conc else None, why_c)
    return {k: out[k] for k in sorted(out, key=lambda k: (KEYS.index(k.removesuffix("_reason")), k))}


def run(settings: Settings, only: list[str] | None = None) -> str:
    from benchmarks._scale_report import render

    names = only or list(SECTIONS)
    bad = [n for n in names if n not in RUNNERS]
    if bad:
        raise SystemExit(f"unknown scale section(s) {bad}; choose from {', '.join(SECTIONS)}")
    sections = _load(RESULTS / "scale_sections.json")
    sections["machine"] = {"arch": platform.machine(), "cores": os.cpu_count(),
                           "load1_at_start": round(os.getloadavg()[0], 2),
                           "note": "each timing has the 1-min load average beside it (the machine may be shared)"}
    for name in names:
        print(f"-- scale section {name}", flush=True)
        sections[name] = RUNNERS[name](settings)
        (RESULTS / "scale_sections.json").write_text(json.dumps(sections, indent=1, sort_keys=True) + "\n")
    head = headline(sections)
    (RESULTS / "scale.json").write_text(json.dumps(head, indent=1) + "\n")
    text = render(head, sections)
    (RESULTS / "scale.md").write_text(text)
    return text


def main(argv: list[str]) -> str:
    only = None
    if "--only" in argv:
        only = [x for x in argv[argv.index("--only") + 1].split(",") if x]
    return run(load_settings(), only)


if __name__ == "__main__":
    print(main(sys.argv[1:]))
