"""The GraphQL schema: per-domain query and mutation types merged, with the protective extensions."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from api.catalog.queries import CatalogQueries
from api.composites.mutations import CompositeMutations
from api.composites.queries import CompositeQueries
from api.concepts.queries import ConceptQueries
from api.errors import MASKED_MESSAGE, RskgErrorHints, should_mask_error
from api.extensions import QueryCounts
from api.limits import InputLimits, SmallParserCache, SmallValidationCache
from api.mapping_review.mutations import MappingMutations
from api.mapping_review.queries import MappingQueries
from api.ontology_edits.mutations import OntologyMutations
from api.retrieval.queries import RetrievalQueries
from rskg.errors import RskgError

log = logging.getLogger("rskg.api")

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 3000
DOCUMENT_CACHE = 512    # distinct query texts whose parsed document and validation result are kept (LRU)

QUERY_TYPES: tuple[type, ...] = (ConceptQueries, CatalogQueries, MappingQueries, RetrievalQueries, CompositeQueries,
                                  __import__("api.search.queries", fromlist=["x"]).SearchQueries,
                                  __import__("api.explore.queries", fromlist=["x"]).ExploreQueries)
MUTATION_TYPES: tuple[type, ...] = (CompositeMutations, MappingMutations, OntologyMutations)


class RskgSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        """Client mistakes and refusals (RskgError, permission, validation, busy): one log line, no traceback;
        anything else: the full traceback (its client sees only the masked message)."""
        for error in errors:
            orig = error.original_error
            if orig is None or isinstance(orig, RskgError) or (error.extensions or {}).get("code") == "UNAUTHENTICATED":
                log.info("refused: %s", error.message.splitlines()[0] if error.message else "")
            else:
                StrawberryLogger.error(error, execution_context)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", QUERY_TYPES)
    mutation = merge_types("Mutation", MUTATION_TYPES) if MUTATION_TYPES else None
    extensions: list[Any] = [
        InputLimits,                 # document length, fragments, variable strings / numbers: before parsing
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # a client sends the same few query texts again and again: parse and validate each once (the limits
        # above are part of the parse options / validation rules, so they stay in force for cached documents)
        SmallParserCache(maxsize=DOCUMENT_CACHE),          # documents <= 8000 characters only: bounded bytes
        SmallValidationCache(maxsize=DOCUMENT_CACHE),
        RskgErrorHints(),
        MaskErrors(should_mask_error=should_mask_error, error_message=MASKED_MESSAGE),
        QueryCounts,
    ]
    return RskgSchema(query=query, mutation=mutation, extensions=extensions)
