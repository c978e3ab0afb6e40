"""scale.md from the headline keys and the section results of ``benchmarks.scale`` (nothing measured here)."""

from __future__ import annotations

import json
from typing import Any


def _ingest(sec: dict[str, Any]) -> list[str]:
    e, b, a = sec["end_to_end"], sec["limit_before"], sec["limit_after"]
    old = sec.get("end_to_end_decoded_stacks")

    def cpu(r: dict[str, Any]) -> str:
        return f"{r['cpu_s']} + {r['server_cpu_s']}" if "server_cpu_s" in r else str(r.get("cpu_s", "-"))

    def row(name: str, r: dict[str, Any]) -> str:
        return (f"| {name} | {r['images']} | {r['seconds']} | {r['images_per_s']} | {cpu(r)} | "
                f"{r['load1_start']} -> {r['load1_end']} |")

    lines = [
        "## Ingest throughput: UCMerced end to end vs the machine's limit (same run)",
        "",
        f"Encoder `{sec['encoder']}`; {sec['threads']['decode']} decode threads, encoder threads "
        f"{sec['threads']['encoder']}, batch {sec['batch']}. Limit = read + sha256 + decode + resample + encode "
        "with nothing else, measured before and after the end-to-end runs (mean of the two), after one uncounted "
        "warm-up pass. End to end: "
        f"{sec.get('repeats', 1)} run(s) of each pixel path, alternating, mean shown. CPU = this process (all "
        "threads) + the PostgreSQL and Neo4j servers.",
        "",
        "| run | images | seconds | images/s | CPU s | 1-min load (start -> end) |",
        "|---|---|---|---|---|---|",
        row("limit (before)", b),
    ]
    if old:
        lines.append(row("end to end, decoded pixel stacks (the store before)", old))
    lines += [
        row("**end to end with features** (image files kept as read)", e),
        row("limit (after)", a),
        "",
        f"Efficiency (end to end / mean limit): **{sec['efficiency']}** (target >= 0.8)"
        + (f"; with the decoded stacks of before {sec['efficiency_decoded_stacks']}" if old else "")
        + f"; end to end {e['images_per_s']} images/s (target >= 100 on a quiet machine).",
        "",
        "Stage seconds of the end-to-end run (decode_cpu summed over threads; store/catalog/feature_rows run in "
        "the writer thread beside the encoder; *_wait is what the driver waited): "
        + ", ".join(f"{k} {v}" for k, v in e["stages_s"].items()),
        "",
    ]
    if old:
        lines += ["Same, decoded pixel stacks: " + ", ".join(f"{k} {v}" for k, v in old["stages_s"].items()), ""]
    return lines


def _sizes_ray(sec: dict[str, Any]) -> list[str]:
    return _sizes(sec, "Ray engine: a real two-node local cluster, one CPU per node, decoding; the driver encodes and "
                       "writes the stores")


def _sizes(sec: dict[str, Any], engine: str = "local engine") -> list[str]:
    rows = [f"| {k} | {v['images']} | {v['seconds']} | {v['images_per_s']} | {v['load1_start']} -> "
            f"{v['load1_end']} |" for k, v in sec.items()]
    return [f"## Ingest time per dataset size (Table 3's analogue; {engine}, with features, EuroSAT full)", "",
            "| size | images | seconds | images/s | 1-min load |", "|---|---|---|---|---|", *rows, ""]


def _conc(sec: dict[str, Any]) -> list[str]:
    rows = [f"| {r['concurrency']} | {r['errors']} | {r['rejections']} | {r['p50_s']} | **{r['p99_s']}** | "
            f"{r['max_s']} | {r['wall_s']} | {r['server_cpu_ms_per_request']} | {r['load1_start']} |"
            + (f" {', '.join(r['error_kinds'])}" if r["error_kinds"] else "")
            for r in sec["levels"]]
    return ["## Concurrency ramp (Fig. 9's analogue): parallel GraphQL `retrieve`", "",
            f"Server: {sec['server']}. Data: {sec['data']}. Client: {sec['client']}; a 429/503 is retried "
            "after its Retry-After (latency counted from the first attempt).", "",
            "| parallel | errors | rejections (429/503) | p50 s | p99 s | max s | wall s | server CPU ms/req | "
            "1-min load |", "|---|---|---|---|---|---|---|---|---|", *rows, ""]


def _pool(sec: dict[str, Any]) -> list[str]:
    return ["## Real-feature pool", "", sec.get("summary", json.dumps(sec)), ""]


def _retrieval(sec: dict[str, Any]) -> list[str]:
    out = ["## Index search vs index size, real-feature vectors (recall and nprobe curve)", "",
           sec.get("note", ""), "",
           "| vectors | index | nprobe | refine factor | recall@10 vs exact | p50 ms (1 query) | p99 ms (1 query) | "
           "p50 ms (20 queries) | p99 ms (20 queries) | build s | index MB | 1-min load |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for n, r in sec.get("sizes", {}).items():
        n = f"{n} (earlier run)" if r.get("from_earlier_run") else n
        for c in r.get("curve", []):
            b = "**" if c.get("chosen") else ""
            out.append(f"| {n} | {b}{c['index']}{b} | {c.get('nprobe', '')} | {c.get('refine_factor', '')} | "
                       f"{b}{c['recall10']}{b} | {c['p50_ms']} | {b}{c['p99_ms']}{b} | {c.get('batch20_p50_ms', '')} | "
                       f"{c.get('batch20_p99_ms', '')} | {c.get('build_s', '')} | {c.get('index_mb', '')} | "
                       f"{c['load1']} |")
    return [*out, ""]


def _catalog(sec: dict[str, Any]) -> list[str]:
    if "rows" not in sec:
        return ["## Catalog at scale", "", sec.get("note", ""), ""]
    out = ["## Retrieval vs repository size, whole product pipeline, catalog at scale (Fig. 8's analogue)", "",
           f"Up to {sec['rows']:,} catalog rows: {sec.get('real_rows_in_catalog', 0):,} real rows (benchmarks/"
           "retrieval.py's subsets, with their prototypes) + generated rows (dataset `bench_scale_generated`, "
           f"sensor `generated`), each carrying one of {sec['pool_vectors']:,} real pool vectors and its source "
           "image's label in the source's label set (so the product's mappings make it a direct match; "
           f"{sec.get('generated_labels_mapped', '?')} mapped). At each step the image index = the real features + "
           "the generated rows' vectors (one per row while the pool lasts), pinned, and the product's `retrieve` "
           "is timed (one request at a time, labels cycling over benchmarks/retrieval.py's LABELS; 'bbox' = "
           "Europe, 'bbox+time' = Europe 2018-2019). Paper 000 Fig. 8 times the *supplementary* retrieval: that "
           "is the `suppl.` columns; `total` adds label resolution, Dijkstra and the direct matches, whose number "
           "grows with the catalog (every generated row is a direct match of its concept). Generated rows are "
           "dropped afterwards.", "",
           "| catalog rows | index vectors | index | filter | requests | p50 total ms | p99 total ms | p50 suppl. ms | "
           "p99 suppl. ms | p50 direct ms | p99 direct ms | direct matches (mean) | supplementary (mean) | "
           "CPU ms (p50) | 1-min load |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for st in sec.get("steps", []):
        for f in ("none", "bbox", "bbox_time"):
            r = st.get(f)
            if not r:
                continue
            out.append(f"| {st['catalog_rows']:,} | {st['index']['vectors']:,} | {st['index']['index']} | "
                       f"{f.replace('_', '+')} | {r['requests']} | {r['p50_ms']} | {r['p99_ms']} | "
                       f"{r['p50_supplementary_ms']} | {r['p99_supplementary_ms']} | {r['p50_direct_ms']} | "
                       f"{r['p99_direct_ms']} | {r['mean_direct']:,} | {r['mean_supplementary']} | {r['p50_cpu_ms']} | "
                       f"{r['load1']} |")
    out += ["", "| catalog rows | index build | build s | warm-up s | RSS MB (Neo4j / PostgreSQL / this process) |",
            "|---|---|---|---|---|"]
    for st in sec.get("steps", []):
        m = st.get("rss_mb", {})
        out.append(f"| {st['catalog_rows']:,} | {st['index']['how']} | {st['index']['seconds']} | "
                   f"{st.get('warm_up_s', '')} | {m.get('neo4j')} / {m.get('postgres')} / "
                   f"{m.get('benchmark_process')} |")
    out += ["", "| step (whole run) | seconds / latency | 1-min load |", "|---|---|---|"]
    for k in ("pg_copy", "neo4j_sync", "reconcile_check", "drop"):
        if k in sec:
            fixed = (f" (nodes added / removed / samples with edges fixed: {sec[k]['changes']})"
                     if "changes" in sec[k] else "")
            out.append(f"| {k}{fixed} | {sec[k]['seconds']} s | {sec[k]['load1_start']} |")
    for k in ("query_label_only", "query_bbox_time"):
        if k in sec:
            out.append(f"| {k} (count of candidates) | p50 {sec[k]['p50_ms']} ms, p99 {sec[k]['p99_ms']} ms | "
                       f"{sec[k]['load1']} |")
    if "error" in sec:
        out.append(f"\n**Stopped with an error**: {sec['error']}")
    if "server_rss_mb_after_sync" in sec:
        out.append(f"\nServer resident memory after the last sync (MB; PostgreSQL = all its processes, shared pages "
                   f"counted per process): {sec['server_rss_mb_after_sync']}.")
    if "peak_rss_mb" in sec:
        out.append(f"\nPeak resident memory over the whole section (MB, sampled every "
                   f"{sec['peak_rss_mb'].get('sample_every_s')} s; `benchmark_process` = this process's ru_maxrss: "
                   "it runs the API's retrieval code with the index pinned, i.e. what the API process holds, "
                   "plus the benchmark's own pool copy; uvicorn itself is not started by this section): "
                   f"{sec['peak_rss_mb']}.")
    return [*out, ""]


def render(head: dict[str, Any], sections: dict[str, Any]) -> str:
    m = sections.get("machine", {})
    out = ["# The paper's scale on this machine (issue 20; paper 000 Table 3, Figs. 8-9)", "",
           f"Machine: {m.get('arch')}, {m.get('cores')} CPU cores; {m.get('note')}. Every timing has the 1-min "
           "load average beside it. Produced by `make bench-scale` (`python -m benchmarks scale --only ...` reruns "
           "one section and merges it).", "", "## Headline (scale.json)", "", "| key | value |", "|---|---|"]
    out += [f"| {k} | {v} |" for k, v in head.items()]
    out.append("")
    for name, fn in (("ingest", _ingest), ("sizes", _sizes), ("sizes_ray", _sizes_ray), ("concurrency", _conc),
                     ("pool", _pool),
                     ("retrieval", _retrieval), ("catalog", _catalog)):
        if sections.get(name):
            out += fn(sections[name])
        else:
            out += [f"## {name}", "", "Not measured yet.", ""]
    out += ["## Not measured here (say so rather than extrapolate)", "", *_gaps(sections), ""]
    return "\n".join(out)


def _gaps(sections: dict[str, Any]) -> list[str]:
    gaps = []
    sizes = sections.get("sizes") or {}
    missing = [k for k in ("1k", "5k", "27k", "all") if k not in sizes]
    if missing:
        gaps.append(f"- Ingest time per size: {', '.join(missing)} not run (RSKG_SCALE_SIZES=27k for EuroSAT full; "
                    "'all' of ../shared/data is not wired as one size yet).")
    ray_missing = [k for k in ("1k", "5k", "27k", "all") if k not in (sections.get("sizes_ray") or {})]
    if ray_missing:
        gaps.append(f"- Ray engine per size: {', '.join(ray_missing)} not run (`--only sizes_ray`; its correctness vs "
                    "the local engine is tests/integration/test_ray_cluster.py).")
    ret = (sections.get("retrieval") or {}).get("sizes", {})
    if "100000" not in ret or "1000000" not in ret:
        gaps.append(f"- Retrieval at 100k / 1M real-feature vectors: the pool holds "
                    f"{(sections.get('pool') or {}).get('vectors', 0):,} (RSKG_SCALE_POOL=1000200 --only pool "
                    "resumes it; see the pool section for its cost).")
    cat = sections.get("catalog") or {}
    if cat.get("rows", 0) < 1_400_000:
        gaps.append(f"- Catalog at 1.4M rows: this run used {cat.get('rows', 0):,} (RSKG_SCALE_CATALOG_ROWS).")
    if not cat.get("steps"):
        gaps.append("- The whole retrieval pipeline over the catalog at scale: the catalog section has no steps yet.")
    return gaps
