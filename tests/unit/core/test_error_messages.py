"""Every refusal a person can meet reads in their language: its message is a constant the catalogs
extract (values filled in after translating, never an f-string), and its code has page wording of its
own. A new error class, a new code or an f-string message fails here, not in front of a user."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from careclub.core.error_messages import CODE_MESSAGES
from careclub.core.errors import AppError, FieldErrors, Problems, ValidationFailed
from careclub.settings import PROJECT_ROOT

SRC = PROJECT_ROOT / "src" / "careclub"
# The Stripe stand-in answers as Stripe does (English API errors), never to a person on our pages.
OUTSIDE = ("payments/sandbox/",)
BASES = {"AppError", "ValidationFailed", "NotFound", "Conflict", "Unauthorized", "Forbidden", "RateLimited"}


def _files() -> list[Path]:
    return [p for p in sorted(SRC.rglob("*.py")) if not any(o in p.as_posix() for o in OUTSIDE)]


def _name(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None


def error_classes() -> set[str]:
    """AppError and every subclass defined in the code (by name, to the fixed point)."""
    classes = set(BASES)
    trees = [ast.parse(p.read_text()) for p in _files()]
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in classes and \
                        any(_name(b) in classes for b in node.bases):
                    classes.add(node.name)
                    grew = True
    return classes - {"FieldErrors"}


def test_error_messages_are_constants_filled_in_with_params() -> None:
    # A refused check-in is built from its reason code (its message is that code's constant wording); a refused
    # import from its rows' problems (web/imports.py: its message is a constant with the count as a param).
    classes = error_classes() - {"CheckinRefused", "RowsRefused"}
    found = []
    for path in _files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _name(node.func) in classes and node.args:
                first = node.args[0]
                if isinstance(first, ast.Call) and _name(first.func) == "N_" and first.args:  # marked, constant
                    first = first.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    found.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} {ast.unparse(first)[:70]}")
    assert not found, ("error messages must be string constants with params={...} (a page translates the "
                       f"constant, then fills the values in): {found}")


def test_every_code_raised_has_page_wording() -> None:
    classes = error_classes()
    codes: dict[str, str] = {}
    for path in _files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and _name(node.func) in classes:
                for kw in node.keywords:
                    if kw.arg == "code" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                        codes.setdefault(kw.value.value, f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
            if isinstance(node, ast.ClassDef) and node.name in classes:
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and any(_name(t) == "code" for t in stmt.targets) and \
                            isinstance(stmt.value, ast.Constant):
                        codes.setdefault(stmt.value.value, f"{path.relative_to(PROJECT_ROOT)}:{node.lineno}")
    # "bad_request" is the base class's default: pages word it by the HTTP status, which says more.
    missing = sorted(f"{code} ({where})" for code, where in codes.items()
                     if code not in CODE_MESSAGES and code != "bad_request")
    assert not missing, f"codes without wording in core/error_messages.py CODE_MESSAGES: {missing}"


def test_the_catalog_extracts_every_error_class() -> None:
    """`make messages` extracts each error class's first argument like a gettext call."""
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    keywords = set(re.findall(r"-k (\w+)", makefile))
    missing = sorted(error_classes() - keywords)
    assert not missing, f"add `-k <class>` to the Makefile's messages target for: {missing}"


def test_problems_collect_field_errors_and_raise_them_together() -> None:
    def bad(field: str) -> None:
        raise ValidationFailed("%(field)s is required", field=field, params={"field": field})

    problems = Problems()
    problems.check(bad, "a")
    problems.check(bad, "b")
    assert problems.check(lambda: 7) == 7
    try:
        problems.done()
    except FieldErrors as exc:
        assert [e.field for e in exc.errors] == ["a", "b"]
        assert exc.message == "a: a is required; b: b is required" and exc.field == "a"
    else:
        raise AssertionError("two problems must raise")
    one = Problems()
    one.check(bad, "c")
    try:
        one.done()
    except FieldErrors:
        raise AssertionError("one problem is raised as itself") from None
    except ValidationFailed as exc:
        assert exc.field == "c" and exc.template == "%(field)s is required" and exc.message == "c is required"
    unfielded = Problems()
    try:
        unfielded.check(lambda: (_ for _ in ()).throw(AppError("not about a field")))
    except AppError as exc:
        assert exc.message == "not about a field"
    else:
        raise AssertionError("an error about no field is raised at once")
