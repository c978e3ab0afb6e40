"""Robustness under a hostile mix (issue 17): 200 concurrent mixed GraphQL requests with free-text search against
a real ``rskg serve`` process (default limits), and ``concept`` lookups while searches run.

Setup: the label system synced into Neo4j and a small real UCMerced subset (PER_CLASS images per class, no image
features) ingested as ``bench_robust_ucm`` (removed afterwards). ``rskg serve`` runs in its own process on a free
loopback port. An aiohttp client fires, all at once, 200 requests: 80 ``search``, 60 ``concept``, 40 ``retrieve``
and 20 catalog pages; each request has a 60 s client timeout. Reported: timeouts (no answer within 60 s), busy
refusals (HTTP 503 + Retry-After: admission control), errors, latency p50/p99/max of everything answered; the same
mix without search as the baseline of the same run; concept p99 while 60 searches run; the server's peak RSS
(VmHWM of the server process plus its SPARQL worker processes).

Writes benchmarks/results/robustness.md and robustness.json (keys mixed200_timeouts, mixed200_p99_s,
concept_p99_under_search_s, peak_rss_mb). The machine is shared: the load average is reported beside the numbers.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from rskg.errors import ServerError
from rskg.services import Services
from rskg.settings import Settings

RESULTS = Path(__file__).parent / "results"
DATASET = "bench_robust_ucm"
PER_CLASS = 3
TIMEOUT_S = 60.0

SEARCH = "query($t: String!) { search(text: $t, limit: 10) { hits { sampleId score } } }"
CONCEPT = "query($id: ID!) { concept(id: $id) { id name parents { id } } }"
RETRIEVE = "query($r: RetrievalInput!) { retrieve(request: $r) { direct { sampleId } } }"
PAGE = "query($f: SampleFilter) { samples(filter: $f, first: 20) { totalCount edges { node { id } } } }"
TEXTS = ["a river next to a forest", "airplanes parked at an airport", "beach with waves", "dense residential area",
         "harbor with boats", "baseball field", "freeway with cars", "golf course", "storage tanks", "tennis court"]
CONCEPTS = ["river", "forest", "beach", "harbor", "airport", "building", "lake", "sea", "road", "farmland"]


def prepare(svc: Services) -> list[str]:
    from kg.label_graph import store_weights
    from kg.label_sync import sync_label_system
    from kg.retrieval_queries import ADOPT_MAPPINGS
    from ontology.store import load_label_system
    from rskg.ingest.admin import drop_dataset
    from rskg.ingest.pipeline import IngestOptions, ingest

    s = svc.settings
    system = load_label_system(s.ontology_dir)
    sync_label_system(svc.driver, system)
    store_weights(svc.driver, s.alpha, s.beta, s.tau)
    drop_dataset(svc, DATASET, [f"{DATASET}_multilabel"])
    ucm = [m for m in system.mappings if m.dataset == "ucm"]
    svc.driver.execute_query(ADOPT_MAPPINGS, rows=[
        {"dataset": DATASET, "name": m.name, "concept": m.concept_id, "rel": "MAPS_TO", "source": f"ucm:{m.name}"}
        for m in ucm])
    ingest(svc, IngestOptions(url=str(s.data_dir / "ucmerced"), dataset="ucm", dataset_id=DATASET,
                              limit=PER_CLASS, progress=False, workers=2), extractor=None)
    return sorted(m.name for m in ucm)


def start_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-m", "rskg.cli.main", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env={**os.environ, "HF_HUB_OFFLINE": "1"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.terminate()
    raise ServerError(f"rskg serve did not answer on port {port} within 180 s", "Run `rskg serve` by hand.")


def body(kind: str, i: int, labels: list[str]) -> dict[str, Any]:
    if kind == "search":
        return {"query": SEARCH, "variables": {"t": f"{TEXTS[i % len(TEXTS)]} {i}"}}
    if kind == "concept":
        return {"query": CONCEPT, "variables": {"id": CONCEPTS[i % len(CONCEPTS)]}}
    if kind == "retrieve":
        return {"query": RETRIEVE, "variables": {"r": {"labels": [labels[i % len(labels)]], "datasets": [DATASET]}}}
    return {"query": PAGE, "variables": {"f": {"datasets": [DATASET]}}}


async def fire(url: str, plan: list[tuple[str, float]], labels: list[str]) -> list[dict[str, Any]]:
    """One request per (kind, start delay), each on its own connection; outcome ok | busy | timeout | error."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as sess:

        async def one(i: int, kind: str, delay: float) -> dict[str, Any]:
            await asyncio.sleep(delay)
            t0 = time.perf_counter()
            try:
                async with sess.post(url, json=body(kind, i, labels)) as r:
                    data = await r.json(content_type=None)
                    status = r.status
                    retry = r.headers.get("Retry-After")
                dt = time.perf_counter() - t0
                if status == 503 and retry:
                    return {"kind": kind, "s": dt, "outcome": "busy"}
                ok = status == 200 and not data.get("errors")
                return {"kind": kind, "s": dt, "outcome": "ok" if ok else "error",
                        "detail": None if ok else str(data.get("errors", status))[:200]}
            except (TimeoutError, aiohttp.ClientError) as exc:
                return {"kind": kind, "s": time.perf_counter() - t0,
                        "outcome": "timeout" if isinstance(exc, TimeoutError) else "error", "detail": repr(exc)}

        return list(await asyncio.gather(*(one(i, k, d) for i, (k, d) in enumerate(plan))))


def mixed(with_search: bool) -> list[tuple[str, float]]:
    kinds = ["search"] * 80 + ["concept"] * 60 + ["retrieve"] * 40 + ["page"] * 20
    if not with_search:
        kinds = ["concept"] * 100 + ["retrieve"] * 67 + ["page"] * 33
    order = np.random.default_rng(17).permutation(len(kinds))
    return [(kinds[j], 0.0) for j in order]


def summary(res: list[dict[str, Any]], kind: str | None = None) -> dict[str, Any]:
    rows = [r for r in res if kind is None or r["kind"] == kind]
    answered = [r["s"] for r in rows if r["outcome"] in ("ok", "busy")]
    busy = [r["s"] for r in rows if r["outcome"] == "busy"]
    count = {o: sum(r["outcome"] == o for r in rows) for o in ("ok", "busy", "timeout", "error")}
    q = (lambda xs, p: round(float(np.percentile(xs, p)), 3) if xs else None)  # noqa: E731
    return {"n": len(rows), **count, "p50_s": q(answered, 50), "p99_s": q(answered, 99),
            "max_s": round(max(answered), 3) if answered else None, "busy_p99_s": q(busy, 99),
            "errors_seen": sorted({str(r.get("detail")) for r in rows if r["outcome"] == "error"})[:3]}


def peak_rss_mb(pid: int) -> float:
    def hwm(p: int) -> float:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    kids: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids |= {int(k) for k in (task / "children").read_text().split()}
    return round(hwm(pid) + sum(hwm(k) for k in kids), 1)


def run(settings: Settings) -> dict[str, Any]:
    load0 = os.getloadavg()
    proc = None
    with Services(settings) as svc:
        try:
            labels = prepare(svc)
            from benchmarks.api import free_port

            port = free_port()
            proc = start_server(port)
            url = f"http://127.0.0.1:{port}/graphql"
            asyncio.run(fire(url, [("search", 0.0), ("concept", 0.0), ("retrieve", 0.0)], labels))   # warm
            baseline = asyncio.run(fire(url, mixed(False), labels))
            mix = asyncio.run(fire(url, mixed(True), labels))
            under = asyncio.run(fire(url, [("search", 0.0)] * 60 + [("concept", 0.2 + 0.1 * i) for i in range(40)],
                                     labels))
            rss = peak_rss_mb(proc.pid)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
            from rskg.ingest.admin import drop_dataset

            drop_dataset(svc, DATASET, [f"{DATASET}_multilabel"])
    load1 = os.getloadavg()
    m = summary(mix)
    out: dict[str, Any] = {
        "mixed200_timeouts": m["timeout"], "mixed200_p99_s": m["p99_s"],
        "concept_p99_under_search_s": summary(under, "concept")["p99_s"], "peak_rss_mb": rss,
        "mixed200": m, "mixed200_by_kind": {k: summary(mix, k) for k in ("search", "concept", "retrieve", "page")},
        "baseline_no_search": summary(baseline), "under_search": {k: summary(under, k) for k in ("search", "concept")},
        "load_avg_before": [round(x, 2) for x in load0], "load_avg_after": [round(x, 2) for x in load1],
        "cores": os.cpu_count(), "python": platform.python_version(),
        "limits": {"search": [settings.api_search_running, settings.api_search_queue],
                   "retrieve": [settings.api_retrieve_running, settings.api_retrieve_queue],
                   "queue_wait_s": settings.api_queue_wait_s},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "robustness.json").write_text(json.dumps(out, indent=2) + "\n")
    (RESULTS / "robustness.md").write_text(report(out))
    return out


def report(o: dict[str, Any]) -> str:
    def row(name: str, s: dict[str, Any]) -> str:
        return (f"| {name} | {s['n']} | {s['ok']} | {s['busy']} | **{s['timeout']}** | {s['error']} | {s['p50_s']} | "
                f"**{s['p99_s']}** | {s['max_s']} | {s['busy_p99_s']} |")

    lines = [
        "# Robustness: 200 concurrent mixed requests with search (issue 17)",
        "",
        "`make bench` (`python -m benchmarks robustness`): a real `rskg serve` (one process, default limits: search "
        f"{o['limits']['search'][0]} running + {o['limits']['search'][1]} waiting, retrieve "
        f"{o['limits']['retrieve'][0]} + {o['limits']['retrieve'][1]}, longest wait {o['limits']['queue_wait_s']} s),"
        " an aiohttp client firing every request at once, 60 s client timeout. busy = HTTP 503 + Retry-After "
        "(admission control refused it at once).",
        "",
        f"Machine: {o['cores']} cores, **shared with other jobs**: load average {o['load_avg_before']} before, "
        f"{o['load_avg_after']} after (1/5/15 min).",
        "",
        "| run | requests | ok | busy (503) | timeouts | errors | p50 s | p99 s | max s | busy p99 s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        row("mix with search (80 search, 60 concept, 40 retrieve, 20 pages)", o["mixed200"]),
        *(row(f"  of which {k}", s) for k, s in o["mixed200_by_kind"].items()),
        row("baseline: mix without search (100 concept, 67 retrieve, 33 pages)", o["baseline_no_search"]),
        row("60 searches at once", o["under_search"]["search"]),
        row("40 concept lookups during them (one per 0.1 s)", o["under_search"]["concept"]),
        "",
        f"- mixed200_timeouts: **{o['mixed200_timeouts']}**, mixed200_p99_s: **{o['mixed200_p99_s']}**",
        f"- concept_p99_under_search_s: **{o['concept_p99_under_search_s']}** (target < 0.5 s)",
        f"- peak_rss_mb (server + SPARQL workers, VmHWM): **{o['peak_rss_mb']}**",
        "",
        "Caveat: the benchmark dataset has no image features, so `search` runs the text encoder and the concept "
        "route only (about 0.1 s each here; no supplementary image search, no caption-learned map). A full "
        "install spends more per search; the admission limits are the same, so more searches wait or get 503, "
        "while the other kinds keep their own workers. Numbers vary with the machine's load (shared).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    from rskg.settings import load_settings

    print(json.dumps(run(load_settings()), indent=2))
