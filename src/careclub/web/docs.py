"""The interactive API docs, served from vendored copies (no CDN): Swagger UI and ReDoc.

Litestar's render plugins default to CDN scripts, a CDN favicon and Google Fonts; every one of
those is replaced here, so `/schema/swagger` and `/schema/redoc` work on a machine with no
internet. The vendored files and how to refresh them: web/static/vendor/README.md.

Litestar's pages also start their viewer with an inline `<script>` holding the whole OpenAPI
document, and style the body with an inline `<style>`; the site's Content-Security-Policy
(core/security_headers.py) allows neither. These pages are drawn here instead: the viewer loads the
document from `/schema/openapi.json`, started by a small script under `web/static/docs/` that reads
what it needs from `data-*` attributes. Swagger UI's OAuth2 redirect page gets the same treatment.
"""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request, Router
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin

from careclub.core.security_headers import STYLE_NONCE

VENDOR = "/static/vendor"
DOCS = "/static/docs"
FAVICON = "<link rel='icon' type='image/svg+xml' href='/static/favicon.svg'>"


def _head(title: str, favicon: str, *assets: str) -> str:
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title>{favicon}"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<link rel='stylesheet' href='{DOCS}/docs.css'>{''.join(assets)}</head>")


class OfflineSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI from the vendored bundle, started by /static/docs/swagger-init.js (which also
    turns off the online validator badge, which would send the schema's address to
    validator.swagger.io)."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        csrf = request.app.csrf_config
        # Swagger UI's "try it out" sends the CSRF cookie back as a header (Litestar's own page does too).
        csrf_attrs = (f" data-csrf-cookie='{escape(csrf.cookie_name)}' data-csrf-header='{escape(csrf.header_name)}'"
                      if csrf and not csrf.cookie_httponly else "")
        head = _head(openapi_schema["info"]["title"], self.favicon,
                     f"<link rel='stylesheet' href='{escape(self.css_url)}'>",
                     f"<script src='{escape(self.js_url)}'></script>",
                     f"<script src='{escape(self.standalone_preset_js_url)}'></script>",
                     f"<script src='{DOCS}/swagger-init.js' defer></script>")
        body = (f"<body><div id='swagger-container' data-spec-url='{escape(self.get_openapi_json_route(request))}'"
                f"{csrf_attrs}></div></body></html>")
        return (head + body).encode()

    @staticmethod
    def render_oauth2_redirect() -> bytes:
        """Swagger UI's OAuth2 redirect page, its script moved to /static/docs/oauth2-redirect.js."""
        script = f"<script src='{DOCS}/oauth2-redirect.js' defer></script>"
        return (_head("Swagger UI: OAuth2 Redirect", FAVICON, script) + "<body></body></html>").encode()


class OfflineRedocRenderPlugin(RedocRenderPlugin):
    """ReDoc from the vendored bundle, started by /static/docs/redoc-init.js."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        head = _head(openapi_schema["info"]["title"], self.favicon,
                     f"<script src='{escape(self.js_url)}'></script>",
                     f"<script src='{DOCS}/redoc-init.js' defer></script>")
        nonce = request.scope.get("state", {}).get(STYLE_NONCE, "")
        body = (f"<body><div id='redoc-container' data-spec-url='{escape(self.get_openapi_json_route(request))}'"
                f" data-style-nonce='{escape(nonce)}'></div></body></html>")
        return (head + body).encode()


def render_plugins() -> list[Any]:
    return [
        OfflineSwaggerRenderPlugin(
            path="/swagger",
            js_url=f"{VENDOR}/swagger-ui/swagger-ui-bundle.js",
            css_url=f"{VENDOR}/swagger-ui/swagger-ui.css",
            standalone_preset_js_url=f"{VENDOR}/swagger-ui/swagger-ui-standalone-preset.js",
            favicon=FAVICON,
        ),
        OfflineRedocRenderPlugin(path="/redoc", js_url=f"{VENDOR}/redoc/redoc.standalone.js", google_fonts=False,
                                 favicon=FAVICON),
    ]


def openapi_router() -> Router:
    """The router Litestar fills with the schema and docs pages: public, and outside any database
    transaction (they read nothing of a tenant's)."""
    return Router("/schema", route_handlers=[], include_in_schema=False,
                  opt={"public": True, "no_transaction": True})
