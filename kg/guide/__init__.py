"""Saved Cypher queries for Neo4j Browser (``queries.cypher``) and their one parser.

The file is a sequence of numbered blocks: ``// N. title``, optional ``// note`` lines,
``:param name => 'value';`` lines (Browser syntax), then the query. The API renders the blocks as
a Browser guide (api/guide.py); ``saved_queries`` gives them as runnable (query, parameters) pairs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

QUERIES_FILE = Path(__file__).with_name("queries.cypher")
_TITLE = re.compile(r"^//\s*(\d+)\.\s*(.+)$")
_PARAM = re.compile(r"^:param\s+(\w+)\s*=>\s*'([^']*)';\s*$")


@dataclass
class Slide:
    title: str
    params: list[str] = field(default_factory=list)     # the ':param ...;' lines as written
    query: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class SavedQuery:
    title: str
    cypher: str
    params: dict[str, str] = field(default_factory=dict)


def parse(text: str) -> tuple[list[str], list[Slide]]:
    """(intro comment lines, one Slide per numbered block)."""
    intro: list[str] = []
    slides: list[Slide] = []
    for line in text.splitlines():
        m = _TITLE.match(line.strip())
        if m:
            slides.append(Slide(title=m.group(2).strip()))
        elif not slides:
            if line.startswith("//"):
                intro.append(line.lstrip("/ ").rstrip())
        elif line.strip().startswith(":param"):
            slides[-1].params.append(line.strip())
        elif line.strip().startswith("//"):
            slides[-1].notes.append(line.lstrip("/ ").rstrip())
        elif line.strip():
            slides[-1].query.append(line.rstrip())
    return intro, slides


def saved_queries(path: Path = QUERIES_FILE) -> list[SavedQuery]:
    out = []
    for s in parse(path.read_text(encoding="utf-8"))[1]:
        params = {m.group(1): m.group(2) for p in s.params if (m := _PARAM.match(p))}
        out.append(SavedQuery(s.title, "\n".join(s.query).strip().rstrip(";"), params))
    return out
