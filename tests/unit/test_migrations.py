"""Migration discovery rules (the application itself is tested against the real server)."""

from pathlib import Path

import pytest

from rskg.catalog.migrate import discover
from rskg.errors import MigrationError


def test_real_migrations_are_ordered() -> None:
    migs = discover()
    assert migs[0].version == 1
    assert [m.version for m in migs] == sorted(m.version for m in migs)
    assert all(len(m.checksum) == 64 for m in migs)


def test_badly_named_file_rejected(tmp_path: Path) -> None:
    (tmp_path / "1_init.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="badly named"):
        discover(tmp_path)


def test_duplicate_version_rejected(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0001_b.sql").write_text("SELECT 2;")
    with pytest.raises(MigrationError, match="share a version"):
        discover(tmp_path)
