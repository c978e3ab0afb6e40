"""Read-only SPARQL 1.1 over the label system (rdflib), with SPARQL-protocol result formats."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from pyparsing import ParseResults
from rdflib import Graph
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.query import Result

from ontology.render import new_graph
from ontology.store import load_graph, version_of
from rskg.errors import ValidationError

# Update operations of SPARQL 1.1 Update; comments and string literals are stripped before the check.
# Keywords only: not variables (?copy, $add), prefixed names (ex:add, add:x) or parts of longer names.
_UPDATE = re.compile(r"(?<![?$:\w-])(INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)(?![\w:-])",
                     re.IGNORECASE)
_STRINGS = re.compile(r"(\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|\"(?:[^\"\\\n]|\\.)*\"|'(?:[^'\\\n]|\\.)*'|<[^<>\s]*>)")
_COMMENT = re.compile(r"#[^\n]*")

JSON, CSV, TSV, TURTLE, XML = ("application/sparql-results+json", "text/csv", "text/tab-separated-values",
                               "text/turtle", "application/sparql-results+xml")
FORMATS = {"json": JSON, "csv": CSV, "tsv": TSV, "turtle": TURTLE, "xml": XML}


_BINDINGS = [JSON, XML, CSV, TSV]
_GRAPH = [TURTLE]
_ALIASES = {"application/json": JSON, "application/xml": XML, "text/xml": XML}


def _accepted(header: str) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    for i, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        if not fields[0]:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        out.append((-q + i * 1e-6, _ALIASES.get(fields[0].lower(), fields[0].lower())))
    return sorted(out)


def negotiate(accept: str | None, is_graph: bool, fmt: str | None = None) -> str | None:
    """Media type to answer with, or None when nothing acceptable can be produced (406)."""
    offered = _GRAPH if is_graph else _BINDINGS
    if fmt:
        wanted = FORMATS.get(fmt)
        return wanted if wanted in offered else None
    if not accept:
        return offered[0]
    for negq, mt in _accepted(accept):
        if negq >= 0:           # q=0 means "not acceptable"
            continue
        if mt in offered:
            return mt
        if mt in ("*/*", "application/*", "text/*"):
            prefix = mt.split("/")[0]
            return next((o for o in offered if prefix == "*" or o.startswith(prefix + "/")), None)
    return None


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


def _node_names(node: object, out: set[str], depth: int = 0) -> set[str]:
    if depth > 200:
        raise ValidationError("SPARQL query is nested too deeply", "Use at most 200 nested groups.")
    if isinstance(node, CompValue):
        out.add(node.name)
        for v in node.values():
            _node_names(v, out, depth + 1)
    elif isinstance(node, list | tuple | ParseResults):
        for v in node:
            _node_names(v, out, depth + 1)
    return out


def check_local_only(query: str) -> None:
    """Refuse what would make the server fetch a URL: ``SERVICE`` (federated query) and ``FROM``/``FROM NAMED``
    (rdflib loads those graphs from the web). Raises ValidationError for a query that does not parse."""
    try:
        tree = parseQuery(query)
    except RecursionError as exc:
        raise ValidationError("SPARQL query is nested too deeply", "Use fewer nested groups.") from exc
    except Exception as exc:  # pyparsing errors
        raise ValidationError(f"SPARQL query failed: {exc}", "Check the query syntax and prefixes.") from exc
    names = _node_names(tree, set())
    if "ServiceGraphPattern" in names:
        raise ValidationError("SPARQL SERVICE is not allowed: this endpoint never fetches remote data",
                              "Query the label system only; federate on your side.")
    if "DatasetClause" in names:
        raise ValidationError("SPARQL FROM / FROM NAMED is not allowed: this endpoint never loads remote graphs",
                              "Drop the FROM clause: the default graph is the whole label system.")


def run_query(graph: Graph, query: str) -> QueryResult:
    if not query or not query.strip():
        raise ValidationError("empty SPARQL query", "Pass a SELECT, ASK, CONSTRUCT or DESCRIBE query.")
    check_read_only(query)
    check_local_only(query)
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
