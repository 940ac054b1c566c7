"""What every domain's request and response bodies share.

Request bodies derive from `Input` (unknown fields refused). A field that lands in a table column
takes its bounds from the column itself, `Annotated[str, col(Plan.name)]`, so the schema and the
database cannot drift apart: text too long for its column or an integer outside its column's range
is refused by the decoder with the field named, instead of failing in PostgreSQL as a 500. Each
request struct names the tables it writes (`__writes__`); a test walks every varchar and integer
column of those tables and checks the struct carries a bound no larger than the column's.

Response bodies are msgspec structs too (`X`, `XList`), so the OpenAPI document describes them;
`out()` shapes what a service answered (a dict or a row) into one.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar, TypeVar

import msgspec
from piccolo.columns import BigInt, Column, Integer, SmallInt, Varchar
from piccolo.table import Table

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)
INT16 = (-(2**15), 2**15 - 1)

# Free text with no column of its own (a comment kept in JSON, a reason in the audit log): bounded all
# the same, because nothing a client sends should be unbounded.
TEXT_MAX = 4000


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body. `__writes__` lists the tables its fields land in (checked by a test)."""

    __writes__: ClassVar[tuple[type[Table], ...]] = ()


def int_range(column: Column) -> tuple[int, int]:
    if isinstance(column, SmallInt):
        return INT16
    if isinstance(column, BigInt):
        return INT64
    return INT32


def col(column: Column, *, ge: int | None = None, le: int | None = None, min_length: int | None = None,
        max_length: int | None = None, pattern: str | None = None, description: str | None = None) -> msgspec.Meta:
    """The bounds of a request field that lands in `column`: a varchar's length, an integer's range,
    narrowed (never widened) by the business bounds given here."""
    kwargs: dict[str, Any] = {}
    if isinstance(column, Varchar) and column.length is not None:
        kwargs["max_length"] = min(column.length, max_length) if max_length is not None else column.length
        if min_length is not None:
            kwargs["min_length"] = min_length
    elif isinstance(column, Integer):
        lo, hi = int_range(column)
        kwargs["ge"] = lo if ge is None else max(lo, ge)
        kwargs["le"] = hi if le is None else min(hi, le)
    else:
        if max_length is not None:
            kwargs["max_length"] = max_length
        if min_length is not None:
            kwargs["min_length"] = min_length
        if ge is not None:
            kwargs["ge"] = ge
        if le is not None:
            kwargs["le"] = le
    if pattern is not None:
        kwargs["pattern"] = pattern
    if description is not None:
        kwargs["description"] = description
    return msgspec.Meta(**kwargs)


def text(max_length: int = TEXT_MAX, **kwargs: Any) -> msgspec.Meta:
    """Bounds for text with no varchar column behind it (a Text column, JSON, a search term)."""
    return msgspec.Meta(max_length=max_length, **kwargs)


S = TypeVar("S", bound=msgspec.Struct)


class UnshapedField(UserWarning):
    """A service answered a key the response struct does not declare: it would silently vanish."""


def out(kind: type[S], value: Any) -> S:
    """What a service answered (a dict or a row object), as the response struct `kind`.

    The struct is the one source of the body: a key it does not declare is dropped, and warned
    about (an error in the tests), so an answer can never quietly lose a field."""
    if isinstance(value, kind):
        return value
    if isinstance(value, dict):
        # By the names the body uses: a joined column reads "org_unit.name", a field renamed to match.
        extra = set(value) - set(kind.__struct_encode_fields__)
        if extra:
            warnings.warn(f"{kind.__name__} does not declare {sorted(extra)}", UnshapedField, stacklevel=2)
    return msgspec.convert(value, kind, from_attributes=True)


def out_list(kind: type[S], values: Any) -> list[S]:
    return [out(kind, v) for v in values]
