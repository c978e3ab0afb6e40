"""Bearer-token authentication: queries are open, every mutation needs ``Authorization: Bearer <token>``."""

from __future__ import annotations

import hmac
from typing import Any

from strawberry.permission import BasePermission
from strawberry.types import Info

UNAUTHENTICATED = (
    "This mutation needs the API token: send the header 'Authorization: Bearer <token>' "
    "(the token is RSKG_API_TOKEN on the server)."
)


def bearer_token(headers: Any) -> str | None:
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def token_ok(given: str | None, expected: str) -> bool:
    return given is not None and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


class TokenRequired(BasePermission):
    message = UNAUTHENTICATED
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        ctx = info.context
        return token_ok(bearer_token(ctx.request.headers), ctx.settings.api_token)
