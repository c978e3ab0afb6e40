"""Wikipedia summaries for label text augmentation (paper 000 §3.3.1), cached on disk.

The cache (``settings.cache_dir/wikipedia/<sha>.json``) is always read first, so everything works
offline. The network step runs only when ``settings.wiki_online`` is true; it fails fast
(``settings.wiki_timeout_s``, no retries) and any failure falls back silently to "no summary".
A summary that was fetched is written to the cache, so a later offline run sees it; a title that
Wikipedia does not know is cached as an empty summary.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from rskg import artifacts, atomic
from rskg.settings import Settings

log = logging.getLogger(__name__)
USER_AGENT = "rskg/0.1 (remote-sensing label mapping; https://github.com/)"


class WikiSummaries:
    def __init__(self, settings: Settings, online: bool | None = None, max_chars: int = 300) -> None:
        self.dir = artifacts.wikipedia_cache_dir(settings)
        self.online = settings.wiki_online if online is None else online
        self.timeout = settings.wiki_timeout_s
        self.max_chars = max_chars
        self._client: Any = None  # wikipediaapi.Wikipedia (untyped, imported lazily)
        self._offline_after_error = False

    def _path(self, title: str) -> Path:
        return self.dir / f"{hashlib.sha256(title.strip().lower().encode()).hexdigest()[:24]}.json"

    def cached(self, title: str) -> str | None:
        p = self._path(title)
        if not p.is_file():
            return None
        try:
            return str(json.loads(p.read_text())["summary"])
        except (ValueError, KeyError):
            return None

    def store(self, title: str, summary: str) -> None:
        atomic.write_text(self._path(title), json.dumps({"title": title, "summary": summary}))

    def _fetch(self, title: str) -> str | None:
        if not self.online or self._offline_after_error:
            return None
        try:
            import wikipediaapi

            if self._client is None:
                self._client = wikipediaapi.Wikipedia(user_agent=USER_AGENT, language="en",
                                                      max_retries=0, timeout=self.timeout)
            page = self._client.page(title)
            return str(page.summary) if page.exists() else ""
        except Exception as exc:  # no network, DNS, HTTP error...: fall back silently
            log.debug("wikipedia fetch of %r failed (%s); working from the cache", title, exc)
            self._offline_after_error = True   # one failure is enough: do not wait on every label
            return None

    def summary(self, title: str) -> str:
        """Cached summary, else (online only) fetched and cached; '' when none is known."""
        hit = self.cached(title)
        if hit is None:
            fetched = self._fetch(title)
            if fetched is None:
                return ""
            self.store(title, fetched)
            hit = fetched
        text = " ".join(hit.split())
        return text[:self.max_chars].rsplit(" ", 1)[0] if len(text) > self.max_chars else text
