"""Errors as clients see them.

- Mutations return ``<X>Success | Error`` unions; an ``RskgError`` becomes ``Error {message, hint, code}``.
- Other exceptions are masked (``MaskErrors``): the client sees "Unexpected error." and the server log
  has the stack trace. RskgErrors raised by queries, permission refusals and validation errors (depth,
  aliases, tokens, syntax) are shown, with the RskgError ``hint`` in ``extensions``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from rskg.errors import RskgError

log = logging.getLogger("rskg.api")

MASKED_MESSAGE = "Unexpected error. The server log has the details."


@strawberry.type(description="A refused or failed mutation; `hint` says how to fix it.")
class Error:
    message: str
    hint: str
    code: str

    @classmethod
    def of(cls, exc: RskgError) -> Error:
        return cls(message=exc.message, hint=exc.hint or "", code=type(exc).__name__)


def _shown(error: GraphQLError) -> bool:
    orig = error.original_error
    if orig is None:                       # validation / syntax errors: built by graphql-core from the document
        return True
    if isinstance(orig, RskgError):
        return True
    if error.path is None and error.message.startswith("Variable '$"):   # a variable's value failed coercion
        return True
    return bool(error.extensions and error.extensions.get("code") == "UNAUTHENTICATED")


def should_mask_error(error: GraphQLError) -> bool:
    if _shown(error):
        return False
    log.error("masked internal error at %s", error.path, exc_info=error.original_error)
    return True


def add_hints(errors: list[GraphQLError] | None) -> None:
    """``extensions: {code, hint}`` on errors that come from an RskgError (also those raised before execution)."""
    for err in errors or []:
        orig = err.original_error
        if isinstance(orig, RskgError) and "code" not in (err.extensions or {}):
            err.extensions = {**(err.extensions or {}), "code": type(orig).__name__, "hint": orig.hint}


class RskgErrorHints(SchemaExtension):
    """Adds ``extensions: {code, hint}`` to errors that come from an RskgError."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        for err in getattr(result, "errors", None) or []:
            if isinstance(err.original_error, RecursionError) or "maximum recursion depth" in err.message:
                err.message = "the query nests too deeply (fragments or selections)"
                err.extensions = {**(err.extensions or {}), "code": "ValidationError",
                                  "hint": "Use fewer nested fragments or selections."}
                continue
            orig = err.original_error
            if isinstance(orig, RskgError):
                err.extensions = {**(err.extensions or {}), "code": type(orig).__name__, "hint": orig.hint}
