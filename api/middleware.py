"""Generic ASGI middleware of the app: a request-body limit (413 before the body is read when Content-Length
says so, else as soon as the streamed body passes it) and security headers on every HTTP response."""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# pages: scripts, styles and data from this server only; thumbnails / map tiles as data: or blob: URLs too
CSP = ("default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# GraphiQL (strawberry) is an inline page loading its scripts from a CDN
GRAPHIQL_CSP = ("default-src 'self'; img-src 'self' data: blob:; script-src 'self' 'unsafe-inline' "
                "https://unpkg.com; style-src 'self' 'unsafe-inline' https://unpkg.com; connect-src 'self'; "
                "font-src 'self' data: https://unpkg.com; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
# pages that still carry inline scripts (until the bundled web app replaces them); 'unsafe-eval' too, which their
# Playwright tests need (page.wait_for_function evaluates strings)
INLINE_CSP = CSP.replace("script-src 'self'", "script-src 'self' 'unsafe-inline' 'unsafe-eval'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'")


def _too_large(limit: int) -> tuple[Message, Message]:
    body = f"request body larger than {limit} bytes\n".encode()
    return ({"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]},
            {"type": "http.response.body", "body": body})


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            for m in _too_large(self.max_bytes):
                await send(m)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                for m in _too_large(self.max_bytes):
                    await send(m)


class _BodyTooLarge(Exception):
    pass


class SecurityHeaders:
    def __init__(self, app: ASGIApp, csp: str = CSP, csp_by_path: dict[str, str] | None = None) -> None:
        self.app, self.csp, self.csp_by_path = app, csp, csp_by_path or {}

    def _csp(self, path: str) -> str:
        for prefix, policy in self.csp_by_path.items():
            if path == prefix or (prefix.endswith("/") and prefix != "/" and path.startswith(prefix)):
                return policy
        return self.csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = self._csp(scope.get("path", "")).encode()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                have = {k.lower() for k, _ in message.get("headers", [])}
                extra: list[Any] = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                                    (b"referrer-policy", b"same-origin"), (b"content-security-policy", policy)]
                message = {**message, "headers": [*message.get("headers", []),
                                                  *(h for h in extra if h[0] not in have)]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
