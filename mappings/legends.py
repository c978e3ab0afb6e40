"""Land-cover legends as text evidence for label mapping (issue 16).

The label system links concepts to the classes of the LCCS-family legends it was built from (``Concept.lccs_codes``:
"ESA-CCI:70", "CGLS:111", "CLC:312", "WorldCover:10", "LCCS:A12"). The legends themselves, in
``RSKG_DATA_DIR/vocab/lccs`` (read by ``ontology.sources.read_legends``), carry each class's published name and
(CGLS, FAO LCCS) its definition. This module gives every linked concept its legend classes, so that a new
legend's "Evergreen Needleleaf Forests" meets ESA CCI's "Tree cover, needleleaved, evergreen, closed to open
(>15%)" on the coniferous-forest concept, not only the concept's own names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ontology.model import Concept
from ontology.sources import LegendClass, read_legends


def concept_legends(concepts: Mapping[str, Concept], vocab_dir: Path) -> dict[str, list[LegendClass]]:
    """The legend classes each concept is linked to (concepts without a known code are left out)."""
    legends = {f"{name}:{code}": c for name, classes in read_legends(vocab_dir).items() for code, c in classes.items()}
    out: dict[str, list[LegendClass]] = {}
    for cid, c in concepts.items():
        found = [legends[code] for code in c.lccs_codes if code in legends]
        if found:
            out[cid] = found
    return out


def legend_text(classes: list[LegendClass], max_chars: int = 400) -> str:
    """One text of a concept's legend classes: names first, then the definitions that add to the name."""
    names = list(dict.fromkeys(lc.name for lc in classes))
    defs = list(dict.fromkeys(lc.definition for lc in classes if lc.definition and lc.definition != lc.name))
    text = "legend classes: " + "; ".join(names)
    if defs:
        text += ". " + " ".join(defs)
    return text[:max_chars]
