"""Guard: the six top-level packages are this repository's, not same-named PyPI distributions."""

import importlib
from pathlib import Path

import pytest

from rskg.settings import REPO_ROOT

PACKAGES = ["ontology", "kg", "embeddings", "mappings", "api", "rskg"]


@pytest.mark.parametrize("name", PACKAGES)
def test_package_comes_from_this_repo(name: str) -> None:
    mod = importlib.import_module(name)
    assert mod.__file__ is not None
    assert Path(mod.__file__).resolve().parent == REPO_ROOT / name


def test_settings_read_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from rskg.settings import load_settings

    monkeypatch.setenv("RSKG_PG_PORT", "61234")
    monkeypatch.setenv("RSKG_HOME", "/tmp/rskg-elsewhere")
    s = load_settings()
    assert s.pg_port == 61234
    assert s.home == Path("/tmp/rskg-elsewhere")
    assert s.neo4j_home == Path("/tmp/rskg-elsewhere/neo4j")
    assert "port=61234" in s.pg_dsn


def test_relative_paths_resolve_against_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from rskg.settings import load_settings

    monkeypatch.chdir(tmp_path)
    s = load_settings(home=Path(".rskg"))
    assert s.home == REPO_ROOT / ".rskg"


def test_errors_carry_hints() -> None:
    from rskg.errors import JavaMissingError, PortInUseError, RskgError

    err = PortInUseError("port 7687 taken")
    assert isinstance(err, RskgError)
    assert "RSKG_NEO4J_BOLT_PORT" in err.hint
    assert "Java" in JavaMissingError("x").hint
