"""Image bombs: refused from the header, before decoding, with a clear message; the server's memory stays put."""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rskg import imaging
from rskg.errors import DataError
from tests.security.bombs import png_bomb
from tests.security.conftest import Served

RETRIEVE = """query($img: String!) { retrieve(request: {labels: ["river"], exampleImageBase64: $img}) {
  supplementary { sampleId } } }"""
DESCRIBE = "query($img: String!) { describe(imageBase64: $img) { source } }"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def test_decoder_refuses_bombs_before_decoding() -> None:
    for side in (12_000, 20_000):
        with pytest.raises(imaging.ImageTooLarge, match="megapixel budget"):
            imaging.decode_rgb(png_bomb(side), "x.png")
    with pytest.raises(DataError, match="unknown format") as err:
        imaging.decode_rgb(b"plain text", "upload")
    assert "BytesIO" not in str(err.value)


def test_uploaded_bombs_are_refused_and_cost_no_memory(serve: Served) -> None:
    bombs = [base64.b64encode(png_bomb(side)).decode() for side in (12_000, 20_000)]
    before = rss_mb(serve.process.pid)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda q: serve.gql(*q, timeout=60),
                                [(RETRIEVE, {"img": bombs[0]}), (RETRIEVE, {"img": bombs[1]}),
                                 (DESCRIBE, {"img": bombs[0]})]))
    for r in answers:
        body = r.json()
        assert r.status_code in (200, 503), r.text
        if r.status_code == 200:
            err = body["errors"][0]
            assert "megapixel budget" in err["message"], err
            assert "BytesIO" not in r.text and "Unexpected error" not in r.text
    assert sum(r.status_code == 200 for r in answers) >= 1
    assert rss_mb(serve.process.pid) - before < 300
