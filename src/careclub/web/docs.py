"""The interactive API docs, served from vendored copies (no CDN): Swagger UI and ReDoc."""

from __future__ import annotations

from typing import Any

from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin


def render_plugins() -> list[Any]:
    return [
        SwaggerRenderPlugin(
            path="/swagger",
            js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            css_url="/static/vendor/swagger-ui/swagger-ui.css",
            standalone_preset_js_url="/static/vendor/swagger-ui/swagger-ui-standalone-preset.js",
        ),
        RedocRenderPlugin(path="/redoc", js_url="/static/vendor/redoc/redoc.standalone.js",
                          google_fonts=False),
    ]
