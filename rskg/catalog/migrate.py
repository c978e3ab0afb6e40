"""Ordered, versioned SQL migrations (``migrations/NNNN_name.sql``), each applied once in its own
transaction and recorded in ``schema_migrations`` with its checksum. Applying twice is a no-op."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg

from rskg.errors import MigrationError

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   char(64) NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"badly named migration file {path.name}", "Name it NNNN_lower_snake.sql.")
        found.append(Migration(int(m.group(1)), path.name, path.read_text()))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version number in {directory}")
    return found


def applied(conn: psycopg.Connection) -> dict[int, str]:
    conn.execute(CREATE_TABLE)
    return {v: c for v, c in conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()}


def migrate(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations; return the names applied (empty when up to date)."""
    done = applied(conn)
    names = []
    for mig in discover(directory):
        if mig.version in done:
            if done[mig.version].strip() != mig.checksum:
                raise MigrationError(
                    f"migration {mig.name} was changed after it was applied",
                    "Never edit an applied migration: add a new NNNN_*.sql file instead.",
                )
            continue
        try:
            with conn.transaction():
                conn.execute(mig.sql.encode())
                conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                             (mig.version, mig.name, mig.checksum))
        except psycopg.Error as exc:
            raise MigrationError(f"migration {mig.name} failed: {exc}") from exc
        names.append(mig.name)
    return names
