"""Neo4j Community + APOC core + Neo4j Browser as a local process of the project.

Jars come from Maven Central through ``servers/neo4j/pom.xml`` into ``<home>/neo4j/lib`` and
``<home>/neo4j/plugins``; the server runs with ``org.neo4j.server.CommunityEntryPoint``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from rskg.errors import AuthError, JavaMissingError, ServerError, ServerUnreachableError, ToolMissingError
from rskg.servers.common import (
    ServerStatus,
    ensure_ports_free,
    pid_alive,
    read_pid,
    tail,
    wait_until,
)
from rskg.settings import REPO_ROOT, Settings

ENTRY_POINT = "org.neo4j.server.CommunityEntryPoint"
POM = REPO_ROOT / "servers" / "neo4j" / "pom.xml"


class Neo4jLocal:
    name = "neo4j"

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.home: Path = settings.neo4j_home
        self.pid_file = self.home / "run" / "rskg-neo4j.pid"
        self.console_log = self.home / "logs" / "console.log"

    # ------------------------------------------------------------------ provisioning
    def java_path(self) -> str:
        java = shutil.which(self.s.java)
        if java is None:
            raise JavaMissingError(f"Java runtime not found: '{self.s.java}' is not an executable on PATH")
        out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
        first = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else ""
        try:
            major = int(first.split('"')[1].split(".")[0])
        except (IndexError, ValueError):
            major = 0
        if major and major < 17:
            raise JavaMissingError(f"Neo4j 5.26 needs Java 17 or newer; '{java}' is {first}")
        return java

    def provisioned(self) -> bool:
        return (self.home / "lib" / f"neo4j-{self.s.neo4j_version}.jar").exists() and any(
            (self.home / "plugins").glob("apoc-core-*.jar")
        )

    def provision(self) -> None:
        """Fetch the jars with Maven (idempotent: skipped when they are present)."""
        if self.provisioned():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise ToolMissingError("Maven (mvn) is needed once to fetch the Neo4j jars from Maven Central")
        self.home.mkdir(parents=True, exist_ok=True)
        cmd = [mvn, "-q", "-B", "-f", str(POM), "package",
               f"-Dneo4j.home={self.home}", f"-Dneo4j.version={self.s.neo4j_version}"]
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if res.returncode != 0 or not self.provisioned():
            raise ServerError(
                "could not fetch the Neo4j jars from Maven Central:\n" + (res.stdout + res.stderr)[-3000:],
                "Check that Maven Central is reachable (`mvn -v`, proxy settings) and retry `rskg servers up`.",
            )

    def write_conf(self) -> None:
        h = self.home
        for d in ("conf", "data", "logs", "run", "import", "plugins"):
            (h / d).mkdir(parents=True, exist_ok=True)
        auth = "false" if self.s.neo4j_password is None else "true"
        conf = f"""# written by rskg (rskg/servers/neo4j_local.py); edit the RSKG_* settings instead
server.default_listen_address={self.s.neo4j_host}
server.bolt.listen_address=:{self.s.neo4j_bolt_port}
server.http.listen_address=:{self.s.neo4j_http_port}
server.https.enabled=false
dbms.security.auth_enabled={auth}
server.directories.data={h / 'data'}
server.directories.logs={h / 'logs'}
server.directories.plugins={h / 'plugins'}
server.directories.run={h / 'run'}
server.directories.import={h / 'import'}
server.memory.heap.initial_size=512m
server.memory.heap.max_size={self.s.neo4j_heap}
server.memory.pagecache.size={self.s.neo4j_pagecache}
dbms.usage_report.enabled=false
dbms.security.procedures.unrestricted=apoc.*
dbms.security.procedures.allowlist=apoc.*
db.tx_log.rotation.retention_policy=2 files
"""
        (h / "conf" / "neo4j.conf").write_text(conf)

    def set_initial_password(self, java: str) -> None:
        """Set the initial password before the first start when auth is enabled."""
        if self.s.neo4j_password is None or (self.home / "data" / "dbms").exists():
            return
        cmd = [java, "-cp", f"{self.home}/lib/*", "org.neo4j.server.startup.Neo4jAdminCommand",
               "dbms", "set-initial-password", self.s.neo4j_password]
        env = {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.home / "conf")}
        res = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        if res.returncode != 0:
            raise ServerError("neo4j-admin set-initial-password failed:\n" + (res.stdout + res.stderr)[-2000:])

    # ------------------------------------------------------------------ lifecycle
    def pid(self) -> int | None:
        pid = read_pid(self.pid_file)
        return pid if pid_alive(pid, must_contain=str(self.home)) else None

    def healthy(self) -> bool:
        from neo4j import GraphDatabase
        from neo4j.exceptions import AuthError as NeoAuthError

        try:
            with GraphDatabase.driver(self.s.neo4j_uri, auth=self.s.neo4j_auth,
                                      connection_timeout=2.0) as drv:
                drv.verify_connectivity()
            return True
        except NeoAuthError as exc:
            raise AuthError(f"Neo4j at {self.s.neo4j_uri} refused the credentials: {exc.message}") from exc
        except Exception:
            return False

    def status(self) -> ServerStatus:
        pid = self.pid()
        healthy = self.healthy() if pid else False
        return ServerStatus(
            self.name, pid is not None, healthy, pid, f"bolt={self.s.neo4j_uri}",
            (self.s.browser_url,),
        )

    def up(self) -> ServerStatus:
        pid = self.pid()
        if pid is not None:
            if wait_until(self.healthy, timeout=self.s.startup_timeout_s, interval=1.0,
                          abort=lambda: self.pid() is None):
                return self.status()
            raise ServerError(f"Neo4j (pid {pid}) is running but does not answer on {self.s.neo4j_uri}:\n"
                              + tail(self.console_log))
        # stale pid file after kill -9 / crash: the store recovers on the next start
        self.pid_file.unlink(missing_ok=True)
        java = self.java_path()
        ensure_ports_free("Neo4j", self.s.neo4j_host,
                          {"bolt": self.s.neo4j_bolt_port, "http": self.s.neo4j_http_port})
        self.provision()
        self.write_conf()
        self.set_initial_password(java)
        cmd = [
            java, "-Xms512m", f"-Xmx{self.s.neo4j_heap}", "-XX:+UseG1GC",
            "--add-opens=java.base/java.nio=ALL-UNNAMED", "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-cp", f"{self.home}/plugins/*:{self.home}/lib/*", ENTRY_POINT,
            f"--home-dir={self.home}", f"--config-dir={self.home / 'conf'}", "--console-mode",
        ]
        self.console_log.parent.mkdir(parents=True, exist_ok=True)
        with open(self.console_log, "ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.home, start_new_session=True)
        self.pid_file.write_text(str(proc.pid))
        ok = wait_until(self.healthy, timeout=self.s.startup_timeout_s, interval=1.0,
                        abort=lambda: proc.poll() is not None)
        if not ok:
            if proc.poll() is None:
                proc.kill()
            self.pid_file.unlink(missing_ok=True)
            raise ServerError(
                f"Neo4j did not become ready on {self.s.neo4j_uri} within {self.s.startup_timeout_s:.0f} s. "
                f"Last lines of {self.console_log}:\n{tail(self.console_log)}"
            )
        return self.status()

    def down(self, timeout: float = 90.0) -> None:
        """Graceful shutdown (SIGTERM lets Neo4j checkpoint); SIGKILL only if it hangs."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return
        os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not pid_alive(pid), timeout=timeout, interval=0.5):
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
        self.pid_file.unlink(missing_ok=True)

    def logs(self, lines: int = 60) -> str:
        return tail(self.console_log, lines)


def ensure_reachable(settings: Settings) -> None:
    if not Neo4jLocal(settings).healthy():
        raise ServerUnreachableError(f"Neo4j does not answer on {settings.neo4j_uri}")
