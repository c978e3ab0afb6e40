"""The committed web bundle (api/pages/static/app/) is built from the current web/ sources (make web), and
follows the pages' rules: no inline scripts or styles, nothing loaded from another origin."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"
APP = ROOT / "api" / "pages" / "static" / "app"


def sources_hash() -> str:
    """The same hash as web/build.mjs sourcesHash()."""
    inputs = ["package.json", "package-lock.json", "build.mjs",
              *sorted(f"src/{p.name}" for p in (WEB / "src").iterdir())]
    h = hashlib.sha256()
    for f in inputs:
        h.update(f.encode() + b"\0" + (WEB / f).read_bytes() + b"\0")
    return h.hexdigest()


def test_bundle_is_built_from_the_current_sources() -> None:
    info = json.loads((APP / "build-info.json").read_text())
    assert info["sources"] == sources_hash(), "api/pages/static/app is out of date: run `make web` and commit it"
    for f in ("app.js", "app.css", "countries-110m.json"):
        assert (APP / f).stat().st_size > 1000, f


def test_app_shell_has_no_inline_script_or_style_and_no_remote_urls() -> None:
    html = (ROOT / "api" / "pages" / "app.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert "<style" not in html and " style=" not in html
    for src in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert src.startswith("/") or src == "data:,", src
    bundle = (APP / "app.js").read_text()
    # no CDN: every URL the bundle fetches is relative to this server
    assert not re.search(r"fetch\(\s*[\"'`]https?://", bundle)
    assert "unpkg.com" not in bundle and "cdn." not in (APP / "app.css").read_text()
