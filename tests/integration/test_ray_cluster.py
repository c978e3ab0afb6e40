"""``--engine ray`` against a real two-node Ray cluster (``ray start --head`` + ``ray start --address``).

The same real images are ingested once with the local engine and once on the cluster, into two dataset
ids; rows, pixels, vectors and graph nodes must be the same. Then a worker node is killed mid-ingest: the
run either finishes on the surviving node or stops, and a rerun leaves exactly the expected data.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kg import samples as cy
from rskg.catalog import samples as catalog
from rskg.catalog.zarr_store import FeatureStore, PixelStore
from rskg.servers.common import port_bindable
from rskg.servers.ray_local import RayLocalCluster, alive_nodes, auth_env
from rskg.settings import load_settings
from tests.integration.test_ingest import Ctx, ctx  # noqa: F401  (the module's ingest context fixture)

pytestmark = [pytest.mark.neo4j, pytest.mark.postgres, pytest.mark.model, pytest.mark.slow]

LOCAL, RAY, KILL = "test_ingest_raycl_local", "test_ingest_raycl_ray", "test_ingest_raycl_kill"


@pytest.fixture(scope="module")
def cluster(ctx: Ctx) -> Iterator[RayLocalCluster]:  # noqa: F811
    pytest.importorskip("ray.data")
    port = next(p for p in range(6450, 6600) if port_bindable("127.0.0.1", p))
    cl = RayLocalCluster(load_settings(home=ctx.settings.home, ray_port=port))
    cl.up(nodes=2, cpus_per_node=1)
    yield cl
    cl.down()


def _snapshot(ctx: Ctx, ds: str) -> dict[str, tuple]:  # noqa: F811
    """Per source path: catalog row, pixel checksum, feature vector, Neo4j labels."""
    with ctx.svc.connection() as conn:
        rows = conn.execute("SELECT id, source_path, labels, sha256, gsd_m, width, height, bands, storage, "
                            "ST_AsText(footprint) FROM samples WHERE dataset_id = %s", (ds,)).fetchall()
    pixels = PixelStore(ctx.settings.zarr_path)
    fs = FeatureStore(pixels.root, ds, ctx.encoder.version, ctx.encoder.dim)  # type: ignore[attr-defined]
    ids, _, vecs, _ = fs.load()
    vec_of = {i.split(":", 1)[1]: v for i, v in zip(ids, vecs, strict=True)}
    graph = {r["path"]: sorted(r["labels"]) for r in ctx.svc.driver.execute_query(
        "MATCH (s:Sample {dataset: $ds})-[:LABELED]->(l:SourceLabel) "
        "RETURN split(s.id, ':')[1] AS path, collect(l.name) AS labels", ds=ds).records}
    out = {}
    for _sid, path, labels, sha, gsd, w, h, bands, storage, fp in rows:
        rgb = pixels.read_rgb(storage)
        out[path] = (tuple(labels), sha, gsd, w, h, tuple(bands), fp, rgb.shape, float(rgb.astype(np.int64).sum()),
                     vec_of[path], graph.get(path))
    return out


def test_cluster_has_two_live_nodes(cluster: RayLocalCluster) -> None:
    assert cluster.status().healthy and len(cluster.node_pids()) == 2
    assert alive_nodes(cluster.address, auth_env(cluster.s)) == 2


def _cli_env(ctx: Ctx) -> dict[str, str]:  # noqa: F811
    """A driver process of its own (an in-process Ray of an earlier test keeps its auth token in this one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    return {**env, "RSKG_HOME": str(ctx.settings.home), "HF_HUB_OFFLINE": "1"}


def test_ray_cluster_ingest_equals_local(ctx: Ctx, cluster: RayLocalCluster, data_dir: Path) -> None:  # noqa: F811
    rep_l = ctx.run(data_dir / "rsscn7", "rsscn7", LOCAL, limit=5, batch_size=8)
    ctx.created.append((RAY, []))
    out = subprocess.run([sys.executable, "-m", "rskg.cli.main", "ingest", str(data_dir / "rsscn7"), "--dataset",
                          "rsscn7", "--id", RAY, "--limit", "5", "--batch-size", "8", "--engine", "ray", "--address",
                          cluster.address, "--quiet", "--no-map"], env=_cli_env(ctx), capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    assert rep_l.ingested == 35 and "35 ingested" in out.stdout and "0 quarantined" in out.stdout, out.stdout
    assert alive_nodes(cluster.address, auth_env(cluster.s)) == 2
    a, b = _snapshot(ctx, LOCAL), _snapshot(ctx, RAY)
    assert a.keys() == b.keys() and len(a) == 35
    for path in a:
        va, vb = a[path], b[path]
        assert va[:9] == vb[:9], path
        np.testing.assert_allclose(va[9], vb[9], atol=1e-5)
        assert va[10] == vb[10]
    ctx.assert_consistent(RAY, 35)
    with ctx.svc.connection() as conn:
        engine = conn.execute("SELECT engine FROM ingest_jobs WHERE dataset_id = %s", (RAY,)).fetchone()
    assert engine == ("ray",)


def test_worker_node_killed_mid_ingest_resumes(ctx: Ctx, cluster: RayLocalCluster, data_dir: Path) -> None:  # noqa: F811
    """Kill the second node while a CLI ingest runs on the cluster; a rerun ends with exact counts."""
    n = 105
    ctx.created.append((KILL, []))
    env = _cli_env(ctx)
    cmd = [sys.executable, "-m", "rskg.cli.main", "ingest", str(data_dir / "rsscn7"), "--dataset", "rsscn7",
           "--id", KILL, "--limit", "15", "--batch-size", "8", "--engine", "ray", "--address", cluster.address,
           "--quiet", "--no-map"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    at_kill, deadline = 0, time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with ctx.svc.connection() as conn:
                at_kill = catalog.count(conn, KILL)
            if at_kill >= 16:
                cluster.kill_node(1)
                break
            time.sleep(0.1)
        out, _ = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert 16 <= at_kill < n, out.decode(errors="replace")
    # Ray's head notices a vanished node by missed health checks (seconds; longer on a loaded machine)
    alive, deadline = 2, time.monotonic() + 90
    while alive != 1 and time.monotonic() < deadline:
        alive = alive_nodes(cluster.address, auth_env(cluster.s))
        time.sleep(0 if alive == 1 else 2)
    assert alive == 1
    # whatever the first run did (Ray retries lost tasks on the surviving node, or the run stops),
    # the rerun leaves every sample exactly once
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    with ctx.svc.connection() as conn:
        statuses = [s for (s,) in conn.execute("SELECT status FROM ingest_jobs WHERE dataset_id = %s "
                                               "ORDER BY id", (KILL,)).fetchall()]
    assert statuses[-1] == "done" and statuses[0] in ("done", "failed")
    ctx.assert_consistent(KILL, n)
    assert ctx.svc.driver.execute_query(cy.COUNT_SAMPLES, dataset=KILL).records[0]["n"] == n
