"""A real multi-node Ray cluster on this machine: ``ray start --head`` plus ``ray start --address`` nodes.

Each node is its own ``ray start --block`` process (own raylet, object store and workers) in its own
process group, so ``down`` stops exactly this cluster (``ray stop`` would kill every Ray process of the
user) and a test can kill one node as a crash would. All nodes bind and advertise ``ray_host``
(loopback by default) and use Ray's token authentication with this cluster's own token
(``RSKG_HOME/ray/auth_token``, made by ``up``), which drivers of ``rskg ingest --address`` present too. On real hosts the same two commands run on each machine — see docs/ingest.md.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path

from rskg.atomic import write_text
from rskg.errors import ConfigError, ServerError
from rskg.servers.common import ServerStatus, ensure_ports_free, pid_alive, port_open, read_pid, tail, wait_until
from rskg.settings import Settings


def ray_executable() -> str:
    """The ``ray`` command of this Python environment."""
    beside = Path(sys.executable).with_name("ray")
    found = str(beside) if beside.exists() else shutil.which("ray")
    if not found:
        raise ConfigError("the `ray` command is not installed",
                          "Install Ray with `pip install 'rskg[ray]'` (make setup does).")
    return found


def token_file(settings: Settings) -> Path:
    """The local cluster's auth token (Ray token authentication: every node and driver must present it)."""
    return settings.home / "ray" / "auth_token"


def auth_env(settings: Settings) -> dict[str, str]:
    """RAY_AUTH_* for a process that joins or drives the local cluster ({} while it has no token)."""
    path = token_file(settings)
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(path)} if path.exists() else {}


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment without the RAY_* variables an in-process Ray instance leaves behind (its
    session and auth settings would make the new nodes fail the cluster's auth), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return env | extra


def _gone(pid: int) -> bool:
    return not pid_alive(pid)


def alive_nodes(address: str, auth: dict[str, str] | None = None) -> int:
    """Number of live nodes in the cluster at ``address`` (connects a short-lived driver with ``auth``)."""
    import ray

    # a driver already connected to this cluster is reused; one connected elsewhere (e.g. an in-process
    # instance of --engine ray without --address) is not asked: a short-lived driver process is.
    if ray.is_initialized() and ray.get_runtime_context().gcs_address == address:
        return sum(1 for n in ray.nodes() if n["Alive"])
    code = ("import ray, sys; ray.init(address=sys.argv[1], log_to_driver=False, configure_logging=False); "
            "print(sum(1 for n in ray.nodes() if n['Alive']))")
    out = subprocess.run([sys.executable, "-c", code, address], capture_output=True, text=True, timeout=120,
                         env=_clean_env(auth or {}))
    try:
        return int(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return 0


class RayLocalCluster:
    """``nodes`` Ray nodes on this machine: node 0 is the head, the others join it."""

    name = "ray"

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.dir = settings.home / "ray"
        # Ray's socket paths must stay short (AF_UNIX limit), so its session files go under /tmp.
        self.temp_dir = Path("/tmp") / f"rskg-ray-{settings.ray_port}"

    @property
    def address(self) -> str:
        return f"{self.s.ray_host}:{self.s.ray_port}"

    def _pidfile(self, i: int) -> Path:
        return self.dir / f"node-{i}.pid"

    def _log(self, i: int) -> Path:
        return self.dir / f"node-{i}.log"

    def node_pids(self) -> list[int]:
        """Pids of the node processes started by ``up`` that are still alive, head first."""
        pids = []
        for f in sorted(self.dir.glob("node-*.pid"), key=lambda p: int(p.stem.split("-")[1])):
            pid = read_pid(f)
            if pid and pid_alive(pid, "ray"):
                pids.append(pid)
        return pids

    def _start_node(self, i: int, cpus: int) -> None:
        cmd = [ray_executable(), "start", "--block", "--disable-usage-stats", f"--num-cpus={cpus}",
               f"--node-ip-address={self.s.ray_host}"]
        if i == 0:
            cmd += ["--head", f"--port={self.s.ray_port}", "--include-dashboard=false", f"--temp-dir={self.temp_dir}"]
        else:
            cmd += [f"--address={self.address}"]
        env = _clean_env(auth_env(self.s))
        with open(self._log(i), "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=env, start_new_session=True)
        self._pidfile(i).write_text(f"{proc.pid}\n")

    def up(self, nodes: int = 2, cpus_per_node: int = 1, timeout_s: float = 120.0) -> ServerStatus:
        """Start the head and ``nodes - 1`` worker nodes; wait until all of them are alive."""
        if nodes < 1:
            raise ConfigError(f"a cluster needs at least one node, not {nodes}", "Use --nodes 2 (or more).")
        st = self.status()
        if st.healthy and len(self.node_pids()) == nodes:
            return st
        self.down()
        ensure_ports_free("the Ray head", self.s.ray_host, {"GCS": self.s.ray_port})
        self.dir.mkdir(parents=True, exist_ok=True)
        if not token_file(self.s).exists():
            write_text(token_file(self.s), secrets.token_hex(32), mode=0o600)
        self._start_node(0, cpus_per_node)
        if not wait_until(lambda: port_open(self.s.ray_host, self.s.ray_port), timeout_s,
                          abort=lambda: not self.node_pids()):
            self.down()
            raise ServerError(f"the Ray head did not start on {self.address}",
                              f"Last lines of {self._log(0)}:\n{tail(self._log(0))}")
        for i in range(1, nodes):
            self._start_node(i, cpus_per_node)
        if not wait_until(lambda: alive_nodes(self.address, auth_env(self.s)) >= nodes, timeout_s, interval=2.0):
            msg = "\n".join(f"{self._log(i)}:\n{tail(self._log(i), 15)}" for i in range(nodes))
            self.down()
            raise ServerError(f"the Ray cluster at {self.address} did not reach {nodes} live nodes", msg)
        return self.status()

    def kill_node(self, i: int) -> None:
        """SIGKILL node ``i``'s process group, as a crashed machine would vanish (for resumability tests)."""
        pid = read_pid(self._pidfile(i))
        if pid and pid_alive(pid):
            os.killpg(pid, signal.SIGKILL)

    def down(self) -> None:
        """Stop every node of this cluster (workers first, then the head) and forget their pids."""
        files = sorted(self.dir.glob("node-*.pid"), key=lambda p: -int(p.stem.split("-")[1]))
        for f in files:
            pid = read_pid(f)
            if pid and pid_alive(pid):
                try:
                    os.killpg(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                if not wait_until(partial(_gone, pid), 10.0, interval=0.2):
                    os.killpg(pid, signal.SIGKILL)
            f.unlink(missing_ok=True)

    def status(self) -> ServerStatus:
        pids = self.node_pids()
        healthy = bool(pids) and port_open(self.s.ray_host, self.s.ray_port)
        detail = f"{len(pids)} node process(es), head {self.address}" if pids else f"head {self.address}"
        return ServerStatus(self.name, bool(pids), healthy, pids[0] if pids else None, detail)
