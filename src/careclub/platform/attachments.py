"""Attachments: files kept for records of any domain (a payment's receipt scan, a repair's photos).

A file is judged by its content, never by its name or declared type: a JPEG, PNG or WebP image (decoded
and re-encoded with Pillow, which also drops its metadata, the phone's location among it) or a PDF.
Anything else, anything larger than `MAX_BYTES`, and images too large to decode safely are refused with
a 4xx naming the field. A domain registers each kind of owner once with who may see it, and a file is
served only to those who may see its owner."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from litestar.datastructures import UploadFile

from careclub.core.db import current_tenant_id
from careclub.core.errors import AppError, NotFound
from careclub.core.principal import Principal
from careclub.core.storage import storage
from careclub.platform import audit
from careclub.platform.tables import Attachment

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel photo; beyond it, decoding could exhaust memory (a "bomb")

MayRead = Callable[[Principal, uuid.UUID], Awaitable[bool]]
_OWNERS: dict[str, MayRead] = {}


def register_owner(kind: str, may_read: MayRead) -> None:
    _OWNERS[kind] = may_read


@dataclass(frozen=True)
class Checked:
    data: bytes
    content_type: str
    extension: str


class UnsupportedFile(AppError):
    status_code = 415
    code = "unsupported_file"


def _image(data: bytes, kind: str) -> Checked:
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            out = io.BytesIO()
            if kind == "jpeg":
                image.convert("RGB").save(out, "JPEG", quality=88, optimize=True)
            elif kind == "png":
                image.save(out, "PNG", optimize=True)
            else:
                image.save(out, "WEBP", quality=88)
    except Image.DecompressionBombError:
        raise UnsupportedFile("the image is too large to read safely", field="file") from None
    except (OSError, ValueError, SyntaxError):
        raise UnsupportedFile("the file claims to be an image but is not a readable one", field="file") from None
    return Checked(out.getvalue(), f"image/{kind}", "jpg" if kind == "jpeg" else kind)


def check(data: bytes) -> Checked:
    """What the bytes are, judged by their content; images come back re-encoded without metadata."""
    if not data:
        raise AppError("the file is empty", code="validation_failed", status_code=422, field="file")
    if len(data) > MAX_BYTES:
        raise AppError("the file is larger than %(value)s MB", code="payload_too_large",
                       status_code=413, field="file", params={"value": MAX_BYTES // (1024 * 1024)})
    if data.startswith(b"\xff\xd8\xff"):
        return _image(data, "jpeg")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _image(data, "png")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _image(data, "webp")
    if data.startswith(b"%PDF-"):
        return Checked(data, "application/pdf", "pdf")
    raise UnsupportedFile("only photos (JPEG, PNG, WebP) and PDF documents can be attached", field="file")


def _name(filename: str, extension: str) -> str:
    base = PurePath(filename.replace("\\", "/")).name.strip().replace("\x00", "") or "file"
    stem = base.rsplit(".", 1)[0][:150] or "file"
    return f"{stem}.{extension}"


async def attach(principal: Principal | None, kind: str, owner_id: uuid.UUID, *, filename: str,
                 data: bytes) -> dict[str, Any]:
    if kind not in _OWNERS:
        raise ValueError(f"no attachment owner kind {kind!r} is registered")
    checked = await asyncio.to_thread(check, data)
    row = Attachment(owner_kind=kind, owner_id=owner_id, filename=_name(filename, checked.extension),
                     content_type=checked.content_type, size=len(checked.data),
                     sha256=hashlib.sha256(checked.data).hexdigest(),
                     uploaded_by=principal.user_id if principal else None)
    await storage().put(f"{current_tenant_id()}/{row.id}", checked.data)
    await row.save()
    await audit.record("attachment.add", kind, owner_id,
                       after={"attachment": str(row.id), "filename": row.filename, "size": row.size})
    return await _row(row.id)


async def attach_upload(principal: Principal | None, kind: str, owner_id: uuid.UUID, upload: UploadFile | None,
                        *, default_name: str) -> dict[str, Any]:
    """A page's file field kept with its record: refused naming the field when no file was chosen."""
    if upload is None:
        raise AppError("choose a photo or a PDF", code="validation_failed", status_code=422, field="file")
    return await attach(principal, kind, owner_id, filename=upload.filename or default_name, data=await upload.read())


async def _row(attachment_id: uuid.UUID) -> dict[str, Any]:
    row = await Attachment.select().where(Attachment.id == attachment_id).first()
    if row is None:
        raise NotFound("no such attachment", code="attachment_not_found")
    return row


async def list_for(kind: str, owner_id: uuid.UUID) -> list[dict[str, Any]]:
    return await Attachment.select().where(Attachment.owner_kind == kind, Attachment.owner_id == owner_id
                                           ).order_by(Attachment.created_at)


async def read(principal: Principal, attachment_id: uuid.UUID) -> tuple[dict[str, Any], bytes]:
    """The file, for someone who may see its owner (else 404, exactly like a file that does not exist)."""
    row = await _row(attachment_id)
    may_read = _OWNERS.get(row["owner_kind"])
    if may_read is None or not await may_read(principal, row["owner_id"]):
        raise NotFound("no such attachment", code="attachment_not_found")
    return row, await storage().get(f"{row['tenant_id']}/{row['id']}")
