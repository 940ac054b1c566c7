"""Reading a table a person uploads (xlsx or CSV) into rows, for every domain's import.

The file is judged by its content (an xlsx is a zip holding `xl/workbook.xml`; anything else must
decode as UTF-8, with or without BOM, or as GB18030, which is what Excel on a Chinese Windows saves
CSV in). The first non-empty row is the header; headers are matched to the importer's fields by any
of their names (English or Chinese), case and spaces ignored. What comes back is every data row as a
dict of field -> text with its row number, so an importer can report problems row by row and import
nothing when any row is wrong (or, when the person chooses, only the valid rows)."""

from __future__ import annotations

import copy
import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from careclub.core.errors import AppError, FieldErrors, ValidationFailed
from careclub.core.i18n import N_

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000


@dataclass(frozen=True)
class Field:
    name: str  # the key in each row dict
    headers: tuple[str, ...]  # what a header cell may say (compared lower-case, without spaces)
    required: bool = True


@dataclass
class RowProblem:
    """What is wrong with one row: the error keeps its template and values, so a page shows it in the
    reader's language (core.error_messages.error_text) and the API in English."""

    row: int
    field: str
    error: AppError


@dataclass
class Table:
    rows: list[tuple[int, dict[str, str]]]


_UNIT = re.compile(r"[（(][^）)]*[）)]")


def _norm(text: Any) -> str:
    """A header compared without spaces, case, or a unit in brackets ("基数（元）", "Base (yuan)")."""
    return _UNIT.sub("", "".join(str(text or "").split())).lower()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_rows(data: bytes) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises a zoo of exceptions for broken files
        raise ValidationFailed("the file is not a readable Excel workbook", field="file") from None
    try:
        sheet = book.worksheets[0]
        out = []
        for values in sheet.iter_rows(values_only=True):
            out.append([_cell_text(v) for v in values])
            if len(out) > MAX_ROWS + 1:
                break
        return out
    finally:
        book.close()


def _csv_rows(data: bytes) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # gb18030 decodes nearly anything; kept for clarity
        raise ValidationFailed("the file is neither an Excel workbook nor a CSV text file", field="file")
    if "\x00" in text:
        raise ValidationFailed("the file is neither an Excel workbook nor a CSV text file", field="file")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text), dialect)][: MAX_ROWS + 2]


def read_table(data: bytes, fields: list[Field]) -> Table:
    """Rows of an uploaded xlsx or CSV matched to `fields`. A missing required column, an empty file or
    one too large is refused at once (422 naming the file); per-row problems are for the importer."""
    if not data:
        raise ValidationFailed("the file is empty", field="file")
    if len(data) > MAX_BYTES:
        raise AppError("the file is larger than %(value)s MB", code="payload_too_large", status_code=413,
                       field="file", params={"value": MAX_BYTES // (1024 * 1024)})
    is_xlsx = data[:4] == b"PK\x03\x04" and _holds_workbook(data)
    grid = _xlsx_rows(data) if is_xlsx else _csv_rows(data)
    grid = [r for r in grid if any(c for c in r)]
    if not grid:
        raise ValidationFailed("the file holds no rows", field="file")
    if len(grid) > MAX_ROWS + 1:
        raise ValidationFailed("the file holds more than %(max)s rows; split it", field="file",
                               params={"max": MAX_ROWS})
    header = [_norm(h) for h in grid[0]]
    where: dict[str, int] = {}
    for f in fields:
        for i, h in enumerate(header):
            if h in {_norm(x) for x in (f.name, *f.headers)}:
                where[f.name] = i
                break
    missing = [" / ".join(f.headers[:2]) if f.headers else f.name for f in fields
               if f.required and f.name not in where]
    if missing:
        raise ValidationFailed("the header row lacks the column(s) %(columns)s", field="file",
                               params={"columns": ", ".join(missing)})
    rows = []
    for number, values in enumerate(grid[1:], start=2):
        rows.append((number, {name: (values[i] if i < len(values) else "") for name, i in where.items()}))
    return Table(rows=rows)


def _holds_workbook(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "xl/workbook.xml" in z.namelist()
    except zipfile.BadZipFile:
        return False


class RowsRefused(FieldErrors):
    """An import with wrong rows, when the person did not choose to import only the valid ones: nothing
    is imported (the request's transaction rolls back), and each row's problem is reported. The API lists
    them under the error's documented `fields`, each named `rows[N].column`; pages use `problems`."""

    code = "import_rows_refused"

    def __init__(self, problems: list[RowProblem]) -> None:
        ValidationFailed.__init__(self, N_("%(count)s row(s) could not be imported; nothing was imported"),
                                  field="file", params={"count": len(problems)})
        self.errors = [_at_row(p) for p in problems]
        self.problems = problems


def _at_row(problem: RowProblem) -> AppError:
    """The row's error, named after its row and column (a copy: the row problem keeps its own field)."""
    error = copy.copy(problem.error)
    error.field = f"rows[{problem.row}].{problem.field}"
    return error
