"""Concurrency ramp of ``benchmarks.scale`` (Fig. 9's curve): 1, 10, 20, 50, 100, 140, 200 parallel GraphQL
``retrieve`` requests against a real uvicorn server (the setup, server and data of benchmarks/api.py).

Per level: p50 / p99 / max latency of the requests' final answers, errors (anything but a 200 with data in the
end), rejections (HTTP 429/503 from admission control, api/admission.py, each checked for a Retry-After
header), and the server's CPU time per request (user + system of the uvicorn process tree, delta over the
burst / requests). A rejected request is retried after its Retry-After (at most RETRIES times) and its latency
counts from its first attempt, so rejections show up as latency, and as errors only if it never got through.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from benchmarks._scale_ingest import load1
from benchmarks.api import DATASET, QUERY, REQUEST_TIMEOUT_S, WORKERS, pct, served, tree_cpu_s
from rskg.settings import Settings

LEVELS = (1, 10, 20, 50, 100, 140, 200)
RETRIES = 3


async def burst(url: str, labels: list[str], n: int) -> dict[str, Any]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    rejected: list[int] = []
    no_retry_after: list[int] = []
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int) -> tuple[float, str | None]:
            body = {"query": QUERY, "variables": {"r": {"labels": [labels[i % len(labels)]],
                                                        "datasets": [DATASET], "limitSupplementary": 50}}}
            t0 = time.perf_counter()
            for _attempt in range(RETRIES + 1):
                try:
                    async with session.post(url, json=body) as r:
                        status, retry_after = r.status, r.headers.get("Retry-After")
                        data = await r.json() if status == 200 else None
                except (TimeoutError, aiohttp.ClientError) as exc:
                    return time.perf_counter() - t0, type(exc).__name__
                if status in (429, 503):
                    rejected.append(status)
                    if retry_after is None:
                        no_retry_after.append(status)
                    await asyncio.sleep(float(retry_after or 1))
                    continue
                dt = time.perf_counter() - t0
                if data is None:
                    return dt, f"HTTP {status}"
                if data.get("errors"):
                    return dt, str(data["errors"][0]["message"])[:120]
                if not data["data"]["retrieve"]["direct"]:
                    return dt, "empty result"
                return dt, None
            return time.perf_counter() - t0, f"still rejected after {RETRIES} retries"

        t0 = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - t0
    lat = [r[0] for r in results]
    errors = [r[1] for r in results if r[1]]
    return {"concurrency": n, "requests": n, "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
            "rejections": len(rejected), "rejections_without_retry_after": len(no_retry_after),
            "p50_s": round(statistics.median(lat), 3), "p99_s": round(pct(lat, 99), 3),
            "max_s": round(max(lat), 3), "wall_s": round(wall, 2)}


def ramp(settings: Settings) -> dict[str, Any]:
    levels = []
    with served(settings, "rskg-bench-ramp-") as sv:
        asyncio.run(burst(sv.url, sv.labels, 1))           # warm-up: loads the index and prototypes
        for n in LEVELS:
            load0, cpu0 = load1(), tree_cpu_s(sv.proc.pid)
            res = asyncio.run(burst(sv.url, sv.labels, n))
            res["server_cpu_ms_per_request"] = round((tree_cpu_s(sv.proc.pid) - cpu0) / n * 1000, 1)
            res["load1_start"], res["load1_end"] = load0, load1()
            levels.append(res)
            print(f"   {n:4d} parallel: p50 {res['p50_s']} s p99 {res['p99_s']} s errors {res['errors']} "
                  f"rejections {res['rejections']} (load {load0})", flush=True)
    return {"server": f"uvicorn, {WORKERS} worker processes (api.app:app_from_env)",
            "data": "UCMerced 20 images per class (420 samples), real encoder, prototypes built",
            "client": "aiohttp in the benchmark process, one connection per request, all started at once",
            "levels": levels}
