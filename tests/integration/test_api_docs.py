"""The OpenAPI document and the interactive docs pages, which must work with no internet."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

URL = re.compile(r"https?://[^\s\"'<>)]+")
ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/static/[^"']+)["']""")
# Where each page embeds the OpenAPI document: the JSON starts right after this marker.
SPEC_MARKERS = {"/schema/swagger": "spec: ", "/schema/redoc": "Redoc.init("}


def without_embedded_schema(page: str, marker: str) -> str:
    """The page with the embedded OpenAPI JSON cut out (its own URLs are the API's business)."""
    start = page.index(marker) + len(marker)
    _, end = json.JSONDecoder().raw_decode(page, start)
    return page[:start] + page[end:]


async def test_openapi_document_lists_the_contract_endpoints(client: Any) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path, method in (("/api/v1/signup", "post"), ("/api/v1/auth/token", "post"), ("/health", "get")):
        assert method in paths.get(path, {}), f"{method.upper()} {path} missing from the OpenAPI document"


@pytest.mark.parametrize("page", sorted(SPEC_MARKERS))
async def test_docs_page_loads_nothing_from_outside(client: Any, page: str) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    outside = URL.findall(without_embedded_schema(html, SPEC_MARKERS[page]))
    assert outside == [], f"{page} refers to outside URLs: {outside}"
    assets = ASSET.findall(html)
    assert any(a.startswith("/static/vendor/") and a.endswith(".js") for a in assets), assets
    for asset in assets:
        got = await client.get(asset)
        assert got.status_code == 200, asset
        assert len(got.content) > 1000 or asset.endswith(".svg"), asset


async def test_swagger_page_turns_the_online_validator_off(client: Any) -> None:
    # Swagger UI would otherwise send the schema's address to validator.swagger.io.
    html = (await client.get("/schema/swagger")).text
    assert "validatorUrl: null" in html


async def test_vendored_assets_are_the_real_bundles(client: Any) -> None:
    bundle = await client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.content
    redoc = await client.get("/static/vendor/redoc/redoc.standalone.js")
    assert b"Redoc" in redoc.content
    css = await client.get("/static/vendor/swagger-ui/swagger-ui.css")
    assert b".swagger-ui" in css.content
