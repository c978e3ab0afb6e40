"""``rskg serve``: the GraphQL API, the web app, SPARQL endpoint and Browser guide (uvicorn)."""

from __future__ import annotations

import ipaddress
import socket

import typer

from rskg.errors import ConfigError
from rskg.settings import DEFAULT_API_TOKEN, Settings, load_settings

MIN_TOKEN_CHARS = 16


def is_loopback(host: str) -> bool:
    """True when every address ``host`` names is a loopback address (127.0.0.0/8, ::1, localhost)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(str(i[4][0]).split("%")[0]).is_loopback for i in infos)


def check_exposure(settings: Settings, host: str) -> None:
    """Refuse to listen beyond loopback with the public default token, no token or a short one."""
    if is_loopback(host):
        return
    token = settings.api_token or ""
    if token == DEFAULT_API_TOKEN or len(token) < MIN_TOKEN_CHARS:
        what = "the built-in default token" if token == DEFAULT_API_TOKEN else (
            "no API token" if not token else f"an API token shorter than {MIN_TOKEN_CHARS} characters")
        raise ConfigError(
            f"refusing to serve on {host} (not loopback) with {what}: anyone who can reach it could change data",
            "Set a secret token first, e.g. `export RSKG_API_TOKEN=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')`, or serve on 127.0.0.1 only.")


def serve(host: str | None = typer.Option(None, "--host", help="bind address (default RSKG_API_HOST)"),
          port: int | None = typer.Option(None, "--port", help="port (default RSKG_API_PORT)"),
          workers: int = typer.Option(1, "--workers", help="uvicorn worker processes")) -> None:
    """Serve the API: the web app at /, GraphiQL at /graphql, SPARQL at /sparql, guide at /guide/rskg.html."""
    import uvicorn

    settings = load_settings()
    h, p = host or settings.api_host, port or settings.api_port
    check_exposure(settings, h)
    typer.echo(f"rskg API on http://{h}:{p}/  (GraphiQL http://{h}:{p}/graphql, "
               f"Browser guide :guide http://localhost:{p}/guide/rskg.html)")
    if workers > 1:
        uvicorn.run("api.app:app_from_env", factory=True, host=h, port=p, workers=workers, log_level="info")
    else:
        from api.app import create_app

        uvicorn.run(create_app(settings), host=h, port=p, log_level="info")
