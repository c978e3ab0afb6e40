"""`make bench`: run every benchmark module's ``run(settings)`` (or those named on the command line).

Each module writes its own ``benchmarks/results/<name>.md``. A module with ``IN_MAKE_BENCH = False`` (scale:
`make bench-scale`) runs only when named. ``--only a,b`` is passed on to a module's ``run(settings, only=...)``
(``python -m benchmarks scale --only ingest,concurrency``).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from rskg.settings import load_settings  # noqa: E402


def main(argv: list[str]) -> int:
    settings = load_settings()
    here = Path(__file__).parent
    only: list[str] | None = None
    names = list(argv)
    if "--only" in names:
        i = names.index("--only")
        only = [x for x in (names[i + 1] if i + 1 < len(names) else "").split(",") if x]
        del names[i : i + 2]
    found = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    failed = []
    mods = {name: importlib.import_module(f"benchmarks.{name}") for name in names or found}
    # a module with RUN_AFTER = (names...) runs after those (e.g. one that needs the head another trains)
    order = [n for n in mods if not getattr(mods[n], "RUN_AFTER", ())] + \
            [n for n in mods if getattr(mods[n], "RUN_AFTER", ())]
    for name in order:
        mod = mods[name]
        if not hasattr(mod, "run") or (not names and not getattr(mod, "IN_MAKE_BENCH", True)):
            continue
        t0 = time.perf_counter()
        print(f"== benchmark {name}", flush=True)
        try:
            if only is not None:
                mod.run(settings, only=only)
            else:
                mod.run(settings)
        except Exception as exc:  # one failing benchmark must not hide the others' results
            failed.append(name)
            print(f"!! {name} failed: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        print(f"== {name}: {time.perf_counter() - t0:.0f} s -> benchmarks/results/{name}.md", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
