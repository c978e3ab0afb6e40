"""PostgreSQL 15 + PostGIS (Debian packages) as a private cluster in ``<home>/postgres``.

``initdb`` and ``postgres`` refuse to run as root: when we are root the cluster belongs to the
``postgres`` system user and every server command runs through ``runuser -u postgres --``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from rskg.errors import AuthError, ServerError, ServerUnreachableError, ToolMissingError
from rskg.servers.common import ServerStatus, ensure_ports_free, pid_alive, tail, wait_until
from rskg.settings import Settings

PG_OWNER = "postgres"


class PostgresLocal:
    name = "postgres"

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.data: Path = settings.pg_data
        self.log = settings.home / "logs" / "postgres.log"

    # ------------------------------------------------------------------ helpers
    def _bin(self, tool: str) -> str:
        path = self.s.pg_bin / tool
        if not path.exists():
            raise ToolMissingError(f"PostgreSQL tool not found: {path} (packages postgresql-15, postgis)")
        return str(path)

    @property
    def _as_root(self) -> bool:
        return os.geteuid() == 0

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = (["runuser", "-u", PG_OWNER, "--"] + args) if self._as_root else args
        res = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd="/")
        if check and res.returncode != 0:
            raise ServerError(f"`{' '.join(args[:2])}` failed:\n{(res.stdout + res.stderr)[-3000:]}\n"
                              f"log tail:\n{tail(self.log)}")
        return res

    def _make_traversable(self, path: Path) -> None:
        """The postgres user must be able to reach the data folder (e.g. in a 0700 temp dir)."""
        for parent in path.parents:
            try:
                mode = parent.stat().st_mode
            except OSError:
                continue
            if not mode & stat.S_IXOTH:
                os.chmod(parent, mode | stat.S_IXOTH)

    def _chown(self, path: Path) -> None:
        if self._as_root:
            pw = pwd.getpwnam(PG_OWNER)
            os.chown(path, pw.pw_uid, pw.pw_gid)

    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def init_cluster(self) -> None:
        if self.initialized():
            return
        if self._as_root:
            try:
                pwd.getpwnam(PG_OWNER)
            except KeyError as exc:
                raise ToolMissingError("system user 'postgres' is missing (package postgresql-15)") from exc
        self.data.mkdir(parents=True, exist_ok=True)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data, 0o700)
        self._chown(self.data)
        self._make_traversable(self.data)
        with tempfile.NamedTemporaryFile("w", delete=False, dir="/tmp") as pw:
            pw.write(self.s.pg_password + "\n")
        os.chmod(pw.name, 0o644)
        try:
            self._run([self._bin("initdb"), "-D", str(self.data), "-U", self.s.pg_user,
                       f"--pwfile={pw.name}", "--auth-host=scram-sha-256", "--auth-local=trust",
                       "-E", "UTF8", "--locale=C.UTF-8"])
        finally:
            os.unlink(pw.name)
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                "\n# rskg\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.data}'\nshared_buffers = 256MB\n"
                "max_connections = 200\nfsync = on\n"
            )

    def pid(self) -> int | None:
        try:
            pid = int((self.data / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None
        return pid if pid_alive(pid, must_contain="postgres") else None

    def connect(self, dbname: str | None = None, timeout: int = 3) -> psycopg.Connection:
        try:
            return psycopg.connect(host=self.s.pg_host, port=self.s.pg_port, user=self.s.pg_user,
                                   password=self.s.pg_password, dbname=dbname or self.s.pg_db,
                                   connect_timeout=timeout, autocommit=True)
        except psycopg.OperationalError as exc:
            msg = str(exc)
            if "password authentication failed" in msg:
                raise AuthError(f"PostgreSQL refused user '{self.s.pg_user}': wrong password") from exc
            raise ServerUnreachableError(
                f"PostgreSQL does not answer on {self.s.pg_host}:{self.s.pg_port}: {msg.strip()}") from exc

    def healthy(self) -> bool:
        try:
            with self.connect(dbname="postgres", timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except ServerUnreachableError:
            return False

    def status(self) -> ServerStatus:
        pid = self.pid()
        healthy = self.healthy() if pid else False
        return ServerStatus(self.name, pid is not None, healthy, pid,
                            f"postgresql://{self.s.pg_user}@{self.s.pg_host}:{self.s.pg_port}/{self.s.pg_db}")

    def up(self) -> ServerStatus:
        if self.pid() is None:
            if shutil.which("runuser") is None and self._as_root:
                raise ToolMissingError("runuser is missing (package util-linux)")
            self._bin("postgres")
            ensure_ports_free("PostgreSQL", self.s.pg_host, {"postgres": self.s.pg_port})
            self.init_cluster()
            self._make_traversable(self.data)
            self.log.parent.mkdir(parents=True, exist_ok=True)
            if self._as_root and not self.log.exists():
                self.log.touch()
                self._chown(self.log)
            self._clear_stale_lock()
            self._start()
        if not wait_until(self.healthy, timeout=self.s.startup_timeout_s, interval=0.5):
            raise ServerError(f"PostgreSQL did not answer on port {self.s.pg_port}:\n{tail(self.log)}")
        self.ensure_database()
        return self.status()

    def _clear_stale_lock(self) -> None:
        """After kill -9 the postmaster may linger as a zombie that postgres itself takes for alive."""
        pidfile = self.data / "postmaster.pid"
        try:
            old = int(pidfile.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return
        if pid_alive(old, must_contain="postgres"):
            return
        if not wait_until(lambda: not Path(f"/proc/{old}").exists(), timeout=15, interval=0.2):
            pidfile.unlink(missing_ok=True)  # a zombie nobody reaps: verified dead above

    def _start(self) -> None:
        cmd = [self._bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
               "-t", str(int(self.s.startup_timeout_s)), "-o", f"-p {self.s.pg_port}", "start"]
        for attempt in range(5):
            res = self._run(cmd, check=False)
            if res.returncode == 0:
                return
            # orphaned backends of a killed postmaster still hold the old shared memory for a moment
            if "shared memory block is still in use" not in tail(self.log, 5) or attempt == 4:
                break
            time.sleep(2)
        raise ServerError(f"PostgreSQL did not start:\n{(res.stdout + res.stderr)[-2000:]}\n"
                          f"log tail:\n{tail(self.log)}")

    def ensure_database(self) -> None:
        with self.connect(dbname="postgres") as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.s.pg_db,)).fetchone()
            if not exists:
                conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(self.s.pg_db)))
        with self.connect() as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")

    def down(self) -> None:
        if self.pid() is None:
            return
        # fast = roll back open transactions, then a clean checkpoint: no data loss
        self._run([self._bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "120", "stop"])

    def logs(self, lines: int = 60) -> str:
        return tail(self.log, lines)
