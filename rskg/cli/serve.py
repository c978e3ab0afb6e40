"""``rskg serve``: the GraphQL API, the web app, SPARQL endpoint and Browser guide (uvicorn)."""

from __future__ import annotations

import typer

from rskg.settings import load_settings


def serve(host: str | None = typer.Option(None, "--host", help="bind address (default RSKG_API_HOST)"),
          port: int | None = typer.Option(None, "--port", help="port (default RSKG_API_PORT)"),
          workers: int = typer.Option(1, "--workers", help="uvicorn worker processes")) -> None:
    """Serve the API: the web app at /, GraphiQL at /graphql, SPARQL at /sparql, guide at /guide/rskg.html."""
    import uvicorn

    settings = load_settings()
    h, p = host or settings.api_host, port or settings.api_port
    typer.echo(f"rskg API on http://{h}:{p}/  (GraphiQL http://{h}:{p}/graphql, "
               f"Browser guide :guide http://localhost:{p}/guide/rskg.html)")
    if workers > 1:
        uvicorn.run("api.app:app_from_env", factory=True, host=h, port=p, workers=workers, log_level="info")
    else:
        from api.app import create_app

        uvicorn.run(create_app(settings), host=h, port=p, log_level="info")
