"""The OpenAPI document and the interactive docs pages, which must work with no internet."""

from __future__ import annotations

import re
from typing import Any

import pytest

URL = re.compile(r"https?://[^\s\"'<>)]+")
ASSET = re.compile(r"""(?:src|href)\s*=\s*["'](/static/[^"']+)["']""")
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)
# ReDoc's sidebar logo, which redoc-init.js names in order to give that image no source.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# Each page and the script under web/static/docs/ that starts its viewer.
INIT_SCRIPTS = {"/schema/swagger": "/static/docs/swagger-init.js", "/schema/redoc": "/static/docs/redoc-init.js",
                "/schema/oauth2-redirect.html": "/static/docs/oauth2-redirect.js"}


async def test_openapi_document_lists_the_contract_endpoints(client: Any) -> None:
    r = await client.get("/schema/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for path, method in (("/api/v1/signup", "post"), ("/api/v1/auth/token", "post"), ("/health", "get")):
        assert method in paths.get(path, {}), f"{method.upper()} {path} missing from the OpenAPI document"


@pytest.mark.parametrize("page", sorted(INIT_SCRIPTS))
async def test_docs_page_loads_nothing_from_outside(client: Any, page: str) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    outside = URL.findall(html)
    assert outside == [], f"{page} refers to outside URLs: {outside}"
    assets = ASSET.findall(html)
    assert INIT_SCRIPTS[page] in assets, assets
    if page != "/schema/oauth2-redirect.html":
        assert any(a.startswith("/static/vendor/") and a.endswith(".js") for a in assets), assets
    for asset in assets:
        got = await client.get(asset)
        assert got.status_code == 200, asset
        assert len(got.content) > 1000 or asset.startswith("/static/docs/") or asset.endswith(".svg"), asset
        if asset.startswith("/static/docs/"):  # our own start-up scripts call nothing outside either
            named = [u for u in URL.findall(got.text) if u != REDOC_LOGO]  # named only to be refused
            assert named == [], (asset, named)


@pytest.mark.parametrize("page", sorted(INIT_SCRIPTS))
async def test_docs_pages_pass_the_content_security_policy(client: Any, page: str) -> None:
    """No inline script or style (the site's CSP allows neither): the OpenAPI document is fetched from
    /schema/openapi.json, not embedded in the page."""
    r = await client.get(page)
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy
    for attrs, body in SCRIPT.findall(r.text):
        assert "src=" in attrs and not body.strip(), f"inline script on {page}: {body[:80]!r}"
    assert "<style" not in r.text.lower() and "style=" not in r.text.lower()
    assert '"openapi"' not in r.text, "the OpenAPI document is embedded in the page"


async def test_swagger_page_turns_the_online_validator_off(client: Any) -> None:
    # Swagger UI would otherwise send the schema's address to validator.swagger.io.
    html = (await client.get("/schema/swagger")).text
    assert INIT_SCRIPTS["/schema/swagger"] in html
    init = (await client.get(INIT_SCRIPTS["/schema/swagger"])).text
    assert "validatorUrl: null" in init
    assert "data-spec-url='/schema/openapi.json'" in html


async def test_vendored_assets_are_the_real_bundles(client: Any) -> None:
    bundle = await client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle.content
    redoc = await client.get("/static/vendor/redoc/redoc.standalone.js")
    assert b"Redoc" in redoc.content
    css = await client.get("/static/vendor/swagger-ui/swagger-ui.css")
    assert b".swagger-ui" in css.content


async def test_redoc_styles_get_a_fresh_nonce_and_nothing_else_is_loosened(client: Any) -> None:
    nonces = set()
    for _ in range(2):
        r = await client.get("/schema/redoc")
        policy = dict(part.split(" ", 1) for part in r.headers["content-security-policy"].split("; "))
        nonce = re.search(r"data-style-nonce='([^']+)'", r.text)
        assert nonce and f"'nonce-{nonce.group(1)}'" in policy["style-src"].split()
        assert policy["script-src"] == "'self'" and "unsafe" not in r.headers["content-security-policy"]
        nonces.add(nonce.group(1))
    assert len(nonces) == 2
    swagger = await client.get("/schema/swagger")
    assert "nonce" not in swagger.headers["content-security-policy"]
