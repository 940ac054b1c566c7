"""The interactive API docs, served from vendored copies (no CDN): Swagger UI and ReDoc.

Litestar's render plugins default to CDN scripts, a CDN favicon and Google Fonts; every one of
those is replaced here, so `/schema/swagger` and `/schema/redoc` work on a machine with no
internet. The vendored files and how to refresh them: web/static/vendor/README.md.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin

VENDOR = "/static/vendor"
FAVICON = "<link rel='icon' type='image/svg+xml' href='/static/favicon.svg'>"


class OfflineSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI without its one remaining outside call: the online validator badge, which
    would send the schema's address to validator.swagger.io."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        page = super().render(request, openapi_schema)
        return page.replace(b"deepLinking: true,", b"deepLinking: true,\n                  validatorUrl: null,", 1)


def render_plugins() -> list[Any]:
    return [
        OfflineSwaggerRenderPlugin(
            path="/swagger",
            js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            standalone_preset_js_url=f"{VENDOR}/swagger-ui/swagger-ui-standalone-preset.js",
            favicon=FAVICON,
        ),
        RedocRenderPlugin(path="/redoc", js_url=f"{VENDOR}/redoc/redoc.standalone.js", google_fonts=False,
                          favicon=FAVICON),
    ]


def openapi_router() -> Router:
    """The router Litestar fills with the schema and docs pages: public, and outside any database
    transaction (they read nothing of a tenant's)."""
    return Router("/schema", route_handlers=[], include_in_schema=False,
                  opt={"public": True, "no_transaction": True})
