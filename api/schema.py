"""The GraphQL schema: per-domain query and mutation types merged, with the protective extensions."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.extensions import (
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.tools import merge_types

from api.catalog.queries import CatalogQueries
from api.composites.mutations import CompositeMutations
from api.composites.queries import CompositeQueries
from api.concepts.queries import ConceptQueries
from api.errors import MASKED_MESSAGE, RskgErrorHints, should_mask_error
from api.extensions import QueryCounts
from api.mapping_review.mutations import MappingMutations
from api.mapping_review.queries import MappingQueries
from api.ontology_edits.mutations import OntologyMutations
from api.retrieval.queries import RetrievalQueries

MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_TOKENS = 3000
DOCUMENT_CACHE = 512    # distinct query texts whose parsed document and validation result are kept (LRU)

QUERY_TYPES: tuple[type, ...] = (ConceptQueries, CatalogQueries, MappingQueries, RetrievalQueries, CompositeQueries,
                                  __import__("api.search.queries", fromlist=["x"]).SearchQueries,
                                  __import__("api.explore.queries", fromlist=["x"]).ExploreQueries)
MUTATION_TYPES: tuple[type, ...] = (CompositeMutations, MappingMutations, OntologyMutations)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", QUERY_TYPES)
    mutation = merge_types("Mutation", MUTATION_TYPES) if MUTATION_TYPES else None
    extensions: list[Any] = [
        QueryDepthLimiter(max_depth=MAX_DEPTH),
        MaxAliasesLimiter(max_alias_count=MAX_ALIASES),
        MaxTokensLimiter(max_token_count=MAX_TOKENS),
        # a client sends the same few query texts again and again: parse and validate each once (the limits
        # above are part of the parse options / validation rules, so they stay in force for cached documents)
        ParserCache(maxsize=DOCUMENT_CACHE),
        ValidationCache(maxsize=DOCUMENT_CACHE),
        RskgErrorHints(),
        MaskErrors(should_mask_error=should_mask_error, error_message=MASKED_MESSAGE),
        QueryCounts,
    ]
    return strawberry.Schema(query=query, mutation=mutation, extensions=extensions)
