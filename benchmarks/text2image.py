"""Text -> image retrieval on the UCM-Captions test split; writes benchmarks/results/text2image.md.

Run: ``.venv/bin/python benchmarks/text2image.py`` or ``rskg eval text2image``.
"""

from __future__ import annotations

from pathlib import Path

from rskg.search.t2i_eval import T2IResult, run_t2i
from rskg.search.t2i_report import markdown
from rskg.settings import Settings, load_settings

OUT = Path(__file__).resolve().parent / "results" / "text2image.md"


def run(settings: Settings, use_graph: bool = True, out: Path | None = OUT) -> T2IResult:
    services = None
    if use_graph:
        from rskg.errors import RskgError
        from rskg.services import Services

        try:
            services = Services(settings)
            services.driver  # noqa: B018 - connect now: fall back to the Turtle hierarchy when Neo4j is down
        except RskgError:
            services = None
    try:
        result = run_t2i(settings, services)
    finally:
        if services is not None:
            services.close()
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(markdown(result, "2 shared CPU cores"))
    return result


if __name__ == "__main__":
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    r = run(load_settings())
    print(markdown(r))
