"""Saved Cypher queries for Neo4j Browser (queries.cypher) and their parser."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

QUERIES_FILE = Path(__file__).with_name("queries.cypher")
_PARAM = re.compile(r"^:param\s+(\w+)\s*=>\s*'([^']*)';\s*$")


@dataclass
class SavedQuery:
    title: str
    cypher: str
    params: dict[str, str] = field(default_factory=dict)


def saved_queries(path: Path = QUERIES_FILE) -> list[SavedQuery]:
    """Parse the numbered blocks of queries.cypher: '// N. title', ':param x => '...';' lines, then Cypher."""
    out: list[SavedQuery] = []
    cur: SavedQuery | None = None
    body: list[str] = []
    for line in path.read_text().splitlines() + ["// 0. end"]:
        head = re.match(r"^//\s*(\d+)\.\s*(.+)$", line)
        if head:
            if cur is not None:
                cur.cypher = "\n".join(body).strip().rstrip(";")
                out.append(cur)
            cur, body = SavedQuery(head.group(2).strip(), ""), []
            continue
        if cur is None or line.startswith("//"):
            continue
        m = _PARAM.match(line)
        if m:
            cur.params[m.group(1)] = m.group(2)
        elif line.strip():
            body.append(line)
    return out[:-1] if out and out[-1].title == "end" else out
