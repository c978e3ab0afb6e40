"""SSSOM TSV export / import of mapping decisions (sssom-py).

Row layout: ``subject_id = rskgsrc:<dataset>/<url-quoted label>``, ``subject_label`` = label,
``predicate_id`` (skos:exactMatch, …; skos:broadMatch for "new concept proposed under P"),
``object_id = rskg:<concept id>``, ``mapping_justification`` (semapv:LexicalMatching,
semapv:SemanticSimilarityThresholdMatching, semapv:ManualMappingCuration), ``confidence`` = score,
``author_label``, ``mapping_date``, ``comment = status=<status>``. A rejected decision is a negative
mapping: the rejected target with ``predicate_modifier: Not`` (SSSOM 0.9.1+); importing it stores a
rejection, so the label is not mapped (or proposed) there again. Import validates every row before
anything is stored.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, unquote

from mappings import decisions as D
from mappings.decisions import MappingDecision
from ontology.model import LabelSystem
from rskg.errors import NotFoundError, ValidationError

PREFIXES = {
    "rskg": "https://w3id.org/rskg/concept/",
    "rskgsrc": "https://w3id.org/rskg/source/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "semapv": "https://w3id.org/semapv/vocab/",
}
REQUIRED = ("subject_id", "predicate_id", "object_id", "mapping_justification")
NOT = "Not"                      # SSSOM predicate_modifier of a negative mapping
_HINT = "Fix the file (see docs/mapping.md, 'SSSOM') and import again; nothing was changed."


def _subject(d: MappingDecision) -> str:
    return f"rskgsrc:{d.dataset}/{quote(d.label, safe='')}"


def export_tsv(decisions: Sequence[MappingDecision], system: LabelSystem | None, path: Path,
               mapping_set_id: str = "https://w3id.org/rskg/mappings") -> int:
    import pandas as pd
    from curies import Converter
    from sssom.util import MappingSetDataFrame
    from sssom.writers import write_table

    rows = []
    for d in sorted(decisions, key=lambda d: (d.dataset, d.label)):
        negative = d.status == D.REJECTED
        target = (d.concept_id or d.proposed_parent) if negative else d.graph_target
        if target is None:
            continue
        concept = system.concepts.get(target) if system else None
        rows.append({
            "subject_id": _subject(d), "subject_label": d.label, "predicate_id": d.predicate,
            "predicate_modifier": NOT if negative else None,
            "object_id": f"rskg:{target}", "object_label": concept.pref_label if concept else "",
            "mapping_justification": d.justification or D.SEMANTIC,
            "confidence": float(d.score) if d.score is not None else None,   # none for a manual remap
            "author_label": d.author, "comment": f"status={d.status}",
            "mapping_date": d.decided_at.date().isoformat() if d.decided_at else "",
        })
    cols = ["subject_id", "subject_label", "predicate_id", "predicate_modifier", "object_id", "object_label",
            "mapping_justification", "confidence", "author_label", "mapping_date", "comment"]
    msdf = MappingSetDataFrame(df=pd.DataFrame(rows, columns=cols), converter=Converter.from_prefix_map(PREFIXES),
                               metadata={"mapping_set_id": mapping_set_id,
                                         "license": "https://creativecommons.org/licenses/by/4.0/"})
    buf = io.StringIO()
    write_table(msdf, buf)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return len(rows)


def _parse_subject(sid: str, line: int) -> tuple[str, str]:
    if not sid.startswith("rskgsrc:") or "/" not in sid:
        raise ValidationError(f"SSSOM row {line}: subject_id {sid!r} is not rskgsrc:<dataset>/<label>", _HINT)
    ds, label = sid[len("rskgsrc:"):].split("/", 1)
    label = unquote(label)
    if not ds or not label.strip():
        raise ValidationError(f"SSSOM row {line}: subject_id {sid!r} has an empty dataset or label", _HINT)
    return ds, label


def import_tsv(path: Path, system: LabelSystem, author: str = "sssom-import") -> list[MappingDecision]:
    """Parse and validate the whole file; return the decisions (not stored)."""
    from sssom.parsers import parse_sssom_table

    if not path.is_file():
        raise NotFoundError(f"SSSOM file {path} does not exist", "Give the path of an SSSOM TSV file.")
    try:
        msdf = parse_sssom_table(str(path), prefix_map=PREFIXES)
    except Exception as exc:  # sssom-py raises several parser/validation types
        raise ValidationError(f"{path} is not a readable SSSOM TSV: {exc}", _HINT) from exc
    df = msdf.df
    missing = [c for c in REQUIRED if c not in df.columns]
    if df.empty or missing:
        raise ValidationError(f"{path}: no SSSOM mappings found (missing columns: {', '.join(missing) or 'none'})",
                              _HINT)
    out: list[MappingDecision] = []
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(df.to_dict("records"), start=1):
        ds, label = _parse_subject(str(r["subject_id"]), i)
        if (ds, label) in seen:
            raise ValidationError(f"SSSOM row {i}: {ds}/{label} is mapped twice", _HINT)
        seen.add((ds, label))
        obj = str(r["object_id"])
        if not obj.startswith("rskg:"):
            raise ValidationError(f"SSSOM row {i}: object_id {obj!r} is not an rskg concept (rskg:<id>)", _HINT)
        cid = obj[len("rskg:"):]
        if cid not in system.active():
            raise NotFoundError(f"SSSOM row {i}: concept {cid!r} is not an active concept of the label system",
                                "Check the id (`rskg ontology sparql`) or add the concept first; nothing was changed.")
        pred, just = str(r["predicate_id"]), str(r["mapping_justification"])
        if pred not in D.PREDICATES:
            raise ValidationError(f"SSSOM row {i}: predicate {pred!r} not one of {', '.join(D.PREDICATES)}", _HINT)
        if just not in D.JUSTIFICATIONS:
            raise ValidationError(f"SSSOM row {i}: justification {just!r} not one of {', '.join(D.JUSTIFICATIONS)}",
                                  _HINT)
        conf_raw = r.get("confidence")
        no_conf = conf_raw is None or conf_raw == "" or (isinstance(conf_raw, float) and math.isnan(conf_raw))
        conf = None if no_conf else float(conf_raw)
        if conf is not None and not 0.0 <= conf <= 1.0:
            raise ValidationError(f"SSSOM row {i}: confidence {conf} outside [0, 1]", _HINT)
        comment = str(r.get("comment") or "")
        status = comment.split("=", 1)[1] if comment.startswith("status=") else ""
        modifier = r.get("predicate_modifier")
        modifier = "" if modifier is None or (isinstance(modifier, float) and math.isnan(modifier)) else str(modifier)
        if modifier not in ("", NOT):
            raise ValidationError(f"SSSOM row {i}: predicate_modifier {modifier!r} is not 'Not'", _HINT)
        if modifier == NOT:
            status = D.REJECTED
        elif status not in D.STATUSES or status == D.REJECTED:
            status = D.CURATED if just == D.MANUAL else D.AUTO
        who = r.get("author_label")
        who = author if who is None or (isinstance(who, float) and math.isnan(who)) else str(who)
        proposal = status == D.PROPOSED or (status == D.REJECTED and pred == "skos:broadMatch")
        out.append(MappingDecision(dataset=ds, label=label, concept_id=None if proposal else cid, status=status,
                                   score=conf, justification=just, predicate=pred,
                                   proposed_parent=cid if proposal else None, author=who))
    return out
