"""Limits on what a GraphQL request may carry, checked before it is executed (a SchemaExtension):
the document's length, every variable's strings (length, NUL characters) and numbers (finite only),
with a ValidationError naming the variable. Uploaded-image arguments get the upload size limit instead."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from strawberry.extensions import ParserCache, SchemaExtension, ValidationCache

from api.uploads import MAX_BASE64_CHARS
from rskg.errors import ValidationError

MAX_DOCUMENT_CHARS = 100_000
MAX_STRING_CHARS = 10_000
MAX_LIST_ITEMS = 1_000
MAX_FRAGMENTS = 50
MAX_CACHED_CHARS = 8_000      # longer documents are parsed and validated every time, never cached
IMAGE_ARGUMENTS = {"exampleImageBase64", "imageBase64"}
_FRAGMENT = re.compile(r"\bfragment\s+[_A-Za-z]\w*\s+on\b")
_IMAGE_VARIABLE = re.compile(r"\b(?:" + "|".join(IMAGE_ARGUMENTS) + r")\s*:\s*\$([_A-Za-z]\w*)")


def check_value(path: str, value: Any, key: str = "") -> None:
    if isinstance(value, str):
        limit = MAX_BASE64_CHARS if key in IMAGE_ARGUMENTS else MAX_STRING_CHARS
        if len(value) > limit:
            raise ValidationError(f"{path} has {len(value)} characters (at most {limit})", "Send a shorter value.")
        if "\x00" in value:
            raise ValidationError(f"{path} contains a NUL character", "Remove the \\u0000 from the value.")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{path} is {value} (not a finite number)", "Send a finite number.")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_value(f"{path}.{k}", v, str(k))
    elif isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS:
            raise ValidationError(f"{path} has {len(value)} items (at most {MAX_LIST_ITEMS})", "Send fewer items.")
        for i, v in enumerate(value):
            check_value(f"{path}[{i}]", v, key)


def check_request(query: str | None, variables: dict[str, Any] | None) -> None:
    if query is not None:
        if len(query) > MAX_DOCUMENT_CHARS:
            raise ValidationError(f"the GraphQL document has {len(query)} characters (at most "
                                  f"{MAX_DOCUMENT_CHARS})", "Send a shorter query; pass long values as variables.")
        if "\x00" in query or "\\u0000" in query:
            raise ValidationError("the GraphQL document contains a NUL character", "Remove it from the query.")
        n = len(_FRAGMENT.findall(query))
        if n > MAX_FRAGMENTS:
            raise ValidationError(f"the GraphQL document defines {n} fragments (at most {MAX_FRAGMENTS})",
                                  "Inline the fields or use fewer fragments.")
    images = set(_IMAGE_VARIABLE.findall(query or ""))      # variables passed as an uploaded image
    for name, value in (variables or {}).items():
        check_value(f"${name}", value, "exampleImageBase64" if name in images else name)


class InputLimits(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        ctx = self.execution_context
        check_request(ctx.query, ctx.variables)
        yield


class SmallParserCache(ParserCache):
    """ParserCache for documents up to MAX_CACHED_CHARS: with a count of N entries the cache holds at most about
    N x MAX_CACHED_CHARS characters of documents (and their ASTs), whatever clients send."""

    def on_parse(self) -> Iterator[None]:
        if len(self.execution_context.query or "") <= MAX_CACHED_CHARS:
            yield from super().on_parse()
        else:
            yield


class SmallValidationCache(ValidationCache):
    def on_validate(self) -> Iterator[None]:
        if len(self.execution_context.query or "") <= MAX_CACHED_CHARS:
            yield from super().on_validate()
        else:
            yield
