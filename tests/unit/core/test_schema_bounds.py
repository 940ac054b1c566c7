"""Request schemas and table columns cannot drift apart.

Every request struct names the tables it writes (`__writes__`). For each varchar and integer
column of those tables, a field of the same name must carry a bound no larger than the column's:
otherwise text too long or a number too large reaches PostgreSQL and comes back as a 500. And no
text, integer or list a client sends is unbounded, whatever it lands in."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import msgspec
import pytest
from piccolo.columns import Integer, Varchar

import careclub
from careclub.core.schemas import Input, int_range


def _all_modules() -> None:
    for info in pkgutil.walk_packages(careclub.__path__, "careclub."):
        if info.name.endswith(("__main__", "piccolo_conf")):
            continue
        importlib.import_module(info.name)


def _inputs() -> list[type[Input]]:
    _all_modules()
    found: list[type[Input]] = []
    pending = list(Input.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


INPUTS = _inputs()


def _constraints(cls: type[msgspec.Struct]) -> dict[str, tuple[Any, dict[str, Any]]]:
    """field -> (its non-None base type, its msgspec.Meta bounds)."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    out: dict[str, tuple[Any, dict[str, Any]]] = {}
    for field in info.fields:
        t = field.type
        if isinstance(t, msgspec.inspect.UnionType):
            others = [x for x in t.types if not isinstance(x, msgspec.inspect.NoneType)]
            t = others[0] if len(others) == 1 else t
        bounds = {k: getattr(t, k) for k in ("max_length", "min_length", "ge", "le", "gt", "lt")
                  if getattr(t, k, None) is not None}
        out[field.name] = (t, bounds)
    return out


def test_every_api_module_was_found() -> None:
    modules = {c.__module__ for c in INPUTS}
    assert {"careclub.platform.schemas", "careclub.clubs.schemas", "careclub.approvals.schemas"} <= modules, modules


@pytest.mark.parametrize("cls", INPUTS, ids=lambda c: c.__qualname__)
def test_every_field_a_client_sends_is_bounded(cls: type[Input]) -> None:
    unbounded = []
    for name, (t, bounds) in _constraints(cls).items():
        if isinstance(t, msgspec.inspect.StrType | msgspec.inspect.BytesType | msgspec.inspect.ListType |
                      msgspec.inspect.DictType) and "max_length" not in bounds:
            unbounded.append(f"{name} (no max_length)")
        if isinstance(t, msgspec.inspect.IntType) and not ({"ge", "gt"} & set(bounds) and {"le", "lt"} & set(bounds)):
            unbounded.append(f"{name} (no range)")
    assert not unbounded, f"{cls.__module__}.{cls.__qualname__}: {', '.join(unbounded)}"


@pytest.mark.parametrize("cls", INPUTS, ids=lambda c: c.__qualname__)
def test_fields_fit_the_columns_they_are_written_to(cls: type[Input]) -> None:
    fields = _constraints(cls)
    problems = []
    for table in cls.__writes__:
        for column in table._meta.columns:
            name = column._meta.name
            if name not in fields:
                continue
            t, bounds = fields[name]
            where = f"{cls.__qualname__}.{name} -> {table._meta.tablename}.{name}"
            if isinstance(column, Varchar) and isinstance(t, msgspec.inspect.StrType):
                if bounds.get("max_length", 10**9) > column.length:
                    problems.append(f"{where}: max_length {bounds.get('max_length')} > varchar({column.length})")
            elif isinstance(column, Integer) and isinstance(t, msgspec.inspect.IntType):
                lo, hi = int_range(column)
                if bounds.get("le", hi + 1) > hi or bounds.get("ge", lo - 1) < lo:
                    problems.append(f"{where}: range {bounds.get('ge')}..{bounds.get('le')} exceeds {lo}..{hi}")
    assert not problems, problems


@pytest.mark.parametrize("cls", INPUTS, ids=lambda c: c.__qualname__)
def test_every_request_struct_says_which_tables_it_writes(cls: type[Input]) -> None:
    # Inherited silence would let a new struct escape the column check: each says it, even when empty.
    assert "__writes__" in vars(cls), f"{cls.__module__}.{cls.__qualname__} does not declare __writes__"
