"""Serving attachments: the same file to the API (bearer token) and to pages (session), only to those who
may see the record it belongs to. A file from another company, or one the caller may not see, answers
404 exactly like one that does not exist."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import FromPath

from careclub.core.principal import principal_in
from careclub.platform import attachments
from careclub.platform.permissions import Perm

FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'none'"


async def _serve(request: Request[Any, Any, Any], attachment_id: uuid.UUID) -> Response[bytes]:
    principal = principal_in(request.scope)
    assert principal is not None, "the guard lets no anonymous request reach here"
    row, data = await attachments.read(principal, attachment_id)
    disposition = "inline" if row["content_type"].startswith("image/") else "attachment"
    return Response(data, media_type=row["content_type"], headers={
        "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(row['filename'])}",
        "Cache-Control": "private, no-store",
        # A file, not a page: nothing may run (no source at all, and sandboxed); the browser's own image
        # viewer styles itself inline, which is all 'unsafe-inline' allows here.
        "Content-Security-Policy": FILE_POLICY})


@get("/api/v1/attachments/{attachment_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, tags=["files"],
     media_type="application/octet-stream")
async def attachment_api(request: Request[Any, Any, Any], attachment_id: FromPath[uuid.UUID]) -> Response[bytes]:
    """An attached file (a photo or a PDF), for those who may see the record it belongs to."""
    return await _serve(request, attachment_id)


@get("/attachments/{attachment_id:uuid}", opt={"permission": Perm.AUTHENTICATED}, include_in_schema=False)
async def attachment_page(request: Request[Any, Any, Any], attachment_id: FromPath[uuid.UUID]) -> Response[bytes]:
    return await _serve(request, attachment_id)


ROUTES = [attachment_api, attachment_page]
