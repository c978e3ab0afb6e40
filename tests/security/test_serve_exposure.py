"""`rskg serve` refuses a non-loopback host while the default token (or no / a short token) is in use."""

from __future__ import annotations

from pathlib import Path

import pytest

from rskg.cli.serve import check_exposure, is_loopback
from rskg.errors import ConfigError
from rskg.settings import Settings
from tests.security.conftest import start_serve


@pytest.mark.parametrize("token", ["rskg-dev-token", "", "short"])
def test_serve_refuses_public_host_with_weak_token(tmp_path: Path, token: str) -> None:
    s = start_serve(tmp_path, {"RSKG_API_TOKEN": token}, args=["--host", "0.0.0.0"], wait=False)
    assert s.process.wait(timeout=60) != 0
    out = s.log_text()
    assert "refusing to serve on 0.0.0.0" in out and "RSKG_API_TOKEN" in out, out
    assert "Uvicorn running" not in out


def test_exposure_rules(settings: Settings) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    check_exposure(settings.model_copy(update={"api_token": "rskg-dev-token"}), "127.0.0.1")
    check_exposure(settings.model_copy(update={"api_token": "x" * 32}), "0.0.0.0")
    with pytest.raises(ConfigError, match="default token"):
        check_exposure(settings.model_copy(update={"api_token": "rskg-dev-token"}), "::")
