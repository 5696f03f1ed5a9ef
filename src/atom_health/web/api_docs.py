"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with every script and style served from
the package: Swagger UI 5 (``swagger-ui-dist``, Apache-2.0; it renders OpenAPI 3.1) and
ReDoc 2 (``redoc`` standalone bundle, MIT) vendored in ``web/docs/`` with their licences.
No CDN, so they work offline and under a CSP with no external source."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS = Path(__file__).parent / "docs"

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="data:,">
  {head}
</head>
<body>
  {body}
</body>
</html>
"""

SWAGGER_PAGE = _PAGE.format(
    title="atom-health API (Swagger UI)",
    head='<link rel="stylesheet" href="docs-assets/swagger-ui.css">\n'
    '  <script src="docs-assets/swagger-ui-bundle.js" defer></script>\n'
    '  <script src="docs-assets/swagger-init.js" defer></script>',
    body='<div id="swagger-ui"></div>',
)
REDOC_PAGE = _PAGE.format(
    title="atom-health API (ReDoc)",
    head='<script src="docs-assets/redoc.standalone.js" defer></script>\n'
    '  <script src="docs-assets/redoc-init.js" defer></script>',
    body='<div id="redoc"></div>',
)


def add_api_docs(app: FastAPI) -> None:
    app.mount("/docs-assets", StaticFiles(directory=DOCS_ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(SWAGGER_PAGE)

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return HTMLResponse(REDOC_PAGE)
