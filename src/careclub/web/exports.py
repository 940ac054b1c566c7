"""`?format=xlsx` on a staff list page: the same list, with its filters, as an Excel workbook.

One way for every domain: a page hands over its columns (a header, marked with N_ and shown in the
reader's language, and how to get the cell from a row) and an async source of rows in batches (a
keyset walk, so a large list never sits in memory). openpyxl's write-only mode keeps one row at a
time; the workbook is written to a temporary file and streamed from it in chunks.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from litestar.response import Stream
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from careclub.core import clock
from careclub.core.i18n import gettext as _

CHUNK = 64 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Money:
    """A cell holding money: minor units in, yuan out, with two places and thousands separators."""

    minor: int


@dataclass(frozen=True)
class Column:
    header: str  # an N_() message
    value: Callable[[dict[str, Any]], Any]
    width: int = 16


async def keyset_batches(read: Callable[[tuple[datetime, Any] | None, int], Awaitable[list[dict[str, Any]]]],
                         size: int = 1000) -> AsyncIterator[list[dict[str, Any]]]:
    """A whole list, `size` rows at a time, each batch read after the last row of the one before
    (`read(after, limit)` is the list's own keyset reader, newest first by created_at and id)."""
    after = None
    while True:
        rows = await read(after, size)
        if not rows:
            return
        yield rows
        after = (rows[-1]["created_at"], rows[-1]["id"])


def _cell(sheet: Any, value: Any) -> Any:
    if isinstance(value, Money):
        cell = WriteOnlyCell(sheet, value=Decimal(value.minor) / 100)
        cell.number_format = "#,##0.00"
        return cell
    if isinstance(value, datetime):
        # Excel has no time zones: the company's wall clock, as on the pages.
        local = clock.local(value)
        cell = WriteOnlyCell(sheet, value=local.replace(tzinfo=None) if local else None)
        cell.number_format = "yyyy-mm-dd hh:mm"
        return cell
    return WriteOnlyCell(sheet, value=value)


async def xlsx(filename: str, sheet_title: str, columns: list[Column],
               batches: AsyncIterator[list[dict[str, Any]]]) -> Stream:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=sheet_title[:31])
    for i, column in enumerate(columns):
        sheet.column_dimensions[chr(ord("A") + i)].width = column.width
    bold = Font(bold=True)
    headers = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=str(_(column.header)))
        cell.font = bold
        headers.append(cell)
    sheet.append(headers)
    async for rows in batches:
        for row in rows:
            sheet.append([_cell(sheet, column.value(row)) for column in columns])
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    book.save(path)

    def chunks() -> Iterator[bytes]:
        try:
            with open(path, "rb") as f:
                while block := f.read(CHUNK):
                    yield block
        finally:
            os.unlink(path)

    return Stream(chunks(), media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})
