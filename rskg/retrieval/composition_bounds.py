"""Composition bounds from a client (retrieval, GraphQL sample search, CLI) -> CompositionBounds on concept ids
for the one sample-filter builder (rskg.catalog.filters).

A bound's concept is resolved like a query label (:func:`rskg.retrieval.labels.resolve`: concept id, prefLabel,
altLabel, source label; "water" -> ``water_area``). It must be a concept the stored compositions measure (the
segmentation head's fine concepts and their ancestors); otherwise a ValidationError lists the measured ones,
or says to run ``rskg composition backfill`` when nothing is composed yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rskg import validation
from rskg.catalog.filters import CompositionBound
from rskg.errors import ValidationError
from rskg.retrieval.labels import lexicon, resolve
from rskg.services import Services

IS_MEASURED = "SELECT 1 FROM sample_composition WHERE concept_id = %s LIMIT 1"
# the distinct concept ids by a loose index scan of sample_composition_concept_idx (error path only)
MEASURED = """
WITH RECURSIVE t(c) AS (
  SELECT min(concept_id) FROM sample_composition
  UNION ALL
  SELECT (SELECT min(concept_id) FROM sample_composition WHERE concept_id > t.c) FROM t WHERE t.c IS NOT NULL)
SELECT c FROM t WHERE c IS NOT NULL
"""


@dataclass(frozen=True)
class ResolvedBound:
    query: str                  # what the client typed
    bound: CompositionBound     # on the concept id
    how: str                    # how the concept was found ("id", "altLabel", ...)

    def describe(self) -> str:
        b = self.bound
        rng = (f">= {b.min:g}" if b.max is None else f"<= {b.max:g}" if b.min is None
               else f"in {b.min:g}..{b.max:g}")
        return f"composition {self.query!r} -> {b.concept} (by {self.how}) {rng}"


def measured_concepts(services: Services) -> list[str]:
    with services.connection() as conn:
        return [r[0] for r in conn.execute(MEASURED).fetchall()]


def _not_measured(services: Services, what: str) -> ValidationError:
    ids = measured_concepts(services)
    if not ids:
        return ValidationError(f"{what}: no sample has a composition yet",
                               "Train a segmentation head (`rskg composition train`) and compose the samples "
                               "(`rskg composition backfill`).")
    return ValidationError(f"{what}: the compositions do not measure it",
                           "Use one of the measured concepts: " + ", ".join(ids) + ".")


def resolve_bounds(services: Services, bounds: Sequence[CompositionBound] | None) -> list[ResolvedBound] | None:
    """Validate and resolve each bound's concept (text) to a measured concept id; None stays None."""
    if bounds is None:
        return None
    checked = validation.composition_bounds([(b.concept, b.min, b.max) for b in bounds])
    assert checked is not None
    lex = lexicon(services)
    out: list[ResolvedBound] = []
    with services.connection() as conn:
        for text, lo, hi in checked:
            matches, _ = resolve(lex, [text])
            if not matches:
                raise ValidationError(f"composition concept {text!r} matches no concept of the label system",
                                      "Give a concept id or label, e.g. water_area or 'water area'.")
            measured = [m for m in matches if conn.execute(IS_MEASURED, (m.concept_id,)).fetchone()]
            if not measured:
                raise _not_measured(services, f"composition concept {text!r} ({matches[0].concept_id})")
            if len(measured) > 1:
                raise ValidationError(f"composition concept {text!r} is ambiguous: "
                                      + ", ".join(m.concept_id for m in measured),
                                      "Give one of these concept ids.")
            m = measured[0]
            out.append(ResolvedBound(text, CompositionBound(m.concept_id, lo, hi), m.how))
    return out
