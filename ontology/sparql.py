"""Read-only SPARQL 1.1 over the label system (rdflib), with SPARQL-protocol result formats."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph
from rdflib.query import Result

from ontology.render import new_graph
from ontology.store import load_graph, version_of
from rskg.errors import ValidationError

# Update operations of SPARQL 1.1 Update; comments and string literals are stripped before the check.
_UPDATE = re.compile(r"\b(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)\b", re.IGNORECASE)
_STRINGS = re.compile(r"(\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|<[^<>\s]*>)")
_COMMENT = re.compile(r"#[^\n]*")

JSON, CSV, TSV, TURTLE, XML = ("application/sparql-results+json", "text/csv", "text/tab-separated-values",
                               "text/turtle", "application/sparql-results+xml")
FORMATS = {"json": JSON, "csv": CSV, "tsv": TSV, "turtle": TURTLE, "xml": XML}


@dataclass
class QueryResult:
    kind: str              # SELECT | ASK | CONSTRUCT | DESCRIBE
    result: Result

    @property
    def is_graph(self) -> bool:
        return self.kind in ("CONSTRUCT", "DESCRIBE")

    def rows(self) -> list[dict[str, str | None]]:
        if self.kind != "SELECT":
            raise ValidationError("rows() is only defined for SELECT queries")
        names = [str(v) for v in self.result.vars or []]
        out: list[dict[str, str | None]] = []
        for row in self.result:
            values = list(row) if isinstance(row, tuple) else []
            out.append({n: (str(values[i]) if values[i] is not None else None) for i, n in enumerate(names)})
        return out

    def serialize(self, media_type: str) -> tuple[bytes, str]:
        """Body and content type in the requested format (graphs: Turtle; bindings: JSON/CSV/TSV/XML)."""
        if self.is_graph:
            g = new_graph()
            for t in self.result.graph or []:
                g.add(t)
            return g.serialize(format="turtle").encode(), "text/turtle; charset=utf-8"
        fmt = {JSON: "json", CSV: "csv", TSV: "tsv", XML: "xml"}.get(media_type)
        if fmt is None:
            raise ValidationError(f"{media_type} is not a result format for {self.kind} queries",
                                  "Ask for application/sparql-results+json, text/csv, text/tab-separated-values or "
                                  "application/sparql-results+xml.")
        if fmt == "csv" and self.kind == "ASK":
            return f"boolean\r\n{str(bool(self.result.askAnswer)).lower()}\r\n".encode(), "text/csv; charset=utf-8"
        body = self.result.serialize(format=fmt)
        return (body if isinstance(body, bytes) else str(body).encode()), media_type + "; charset=utf-8"

    def table(self) -> str:
        """Plain text table for the CLI."""
        if self.kind == "ASK":
            return str(bool(self.result.askAnswer)).lower()
        if self.is_graph:
            return self.serialize(TURTLE)[0].decode()
        rows = self.rows()
        names = [str(v) for v in self.result.vars or []]
        widths = {n: max([len(n)] + [len(r[n] or "") for r in rows]) for n in names}
        lines = ["  ".join(n.ljust(widths[n]) for n in names), "  ".join("-" * widths[n] for n in names)]
        lines += ["  ".join((r[n] or "").ljust(widths[n]) for n in names) for r in rows]
        return "\n".join(lines)


def check_read_only(query: str) -> None:
    bare = _COMMENT.sub(" ", _STRINGS.sub(" ", query))
    m = _UPDATE.search(bare)
    if m:
        raise ValidationError(f"SPARQL update operation {m.group(1).upper()} is not allowed: the endpoint is read-only",
                              "Change the label system with `rskg ontology add|rename|move|merge|synonym|align`.")


def run_query(graph: Graph, query: str) -> QueryResult:
    if not query or not query.strip():
        raise ValidationError("empty SPARQL query", "Pass a SELECT, ASK, CONSTRUCT or DESCRIBE query.")
    check_read_only(query)
    try:
        result = graph.query(query)
    except Exception as exc:  # pyparsing / rdflib evaluation errors
        raise ValidationError(f"SPARQL query failed: {exc}", "Check the query syntax and prefixes.") from exc
    return QueryResult(kind=str(result.type), result=result)


def result_to_csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def result_to_json(body: bytes) -> dict[str, object]:
    out: dict[str, object] = json.loads(body)
    return out


class GraphCache:
    """Holds the merged graph of an ontology directory; reloads it when the files change."""

    def __init__(self, ontology_dir: Path) -> None:
        self.ontology_dir = Path(ontology_dir)
        self._lock = threading.Lock()
        self._version = ""
        self._graph: Graph | None = None

    def graph(self) -> Graph:
        version = version_of(self.ontology_dir)
        with self._lock:
            if self._graph is None or version != self._version:
                self._graph, self._version = load_graph(self.ontology_dir), version
            return self._graph

    @property
    def version(self) -> str:
        return self._version
