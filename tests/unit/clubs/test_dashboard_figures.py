"""The pure parts of the clubs' charts: the projection setting as typed, the months a figure covers, and
the shape of the projection figure against the actual members (no I/O)."""

from __future__ import annotations

import contextvars
import uuid
from typing import Any

import pytest

from careclub.clubs.dashboard import months_back, projection_figure
from careclub.clubs.projection import MAX_MONTHLY_JOINS, check_monthly_joins, parse_monthly_joins
from careclub.clubs.service._stats import projection
from careclub.core.errors import ValidationFailed
from careclub.web.charts import Chart, Series, is_empty, spec


@pytest.mark.parametrize("typed,value", [("", None), ("  ", None), (None, None), ("0", 0), ("300", 300),
                                         (" 1200 ", 1200), ("1,200", 1200), ("1，200", 1200),
                                         ("1,000,000", MAX_MONTHLY_JOINS)])
def test_typed_projection(typed: str | None, value: int | None) -> None:
    assert parse_monthly_joins(typed) == value


@pytest.mark.parametrize("typed", ["-1", "12.5", "abc", "1,2", "12,00", "三百", "٣٠٠", "1e3", "+5", "1000001"])
def test_typed_projection_refused_naming_the_field(typed: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_monthly_joins(typed)
    assert exc.value.field == "projected_monthly_joins" and exc.value.code == "projection_invalid"


@pytest.mark.parametrize("value", [-1, 1.5, "300", True, MAX_MONTHLY_JOINS + 1])
def test_stored_projection_is_a_whole_number_or_none(value: Any) -> None:
    with pytest.raises(ValidationFailed):
        check_monthly_joins(value)
    assert check_monthly_joins(None) is None and check_monthly_joins(0) == 0


def test_months_back_cross_the_year() -> None:
    assert months_back("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert len(months_back("2026-12")) == 12 and months_back("2026-12")[0] == "2026-01"


def _stats(new_per_month: list[dict[str, Any]], monthly: int | None) -> dict[str, Any]:
    return {"club": {"id": uuid.uuid4()}, "new_per_month": new_per_month,
            "projection": None if monthly is None else {"monthly_new": monthly, "months": 60,
                                                        "series": projection(36500, monthly=monthly)}}


def test_projection_figure_from_the_first_member() -> None:
    contextvars.copy_context().run(_projection_figure_in_english)  # the locale set here stays in here


def _projection_figure_in_english() -> None:
    from careclub.core import i18n

    i18n.set_locale("en")
    actual = [{"month": "2026-01", "new": 5, "members": 5}, {"month": "2026-03", "new": 2, "members": 7}]
    f = projection_figure(_stats(actual, 300), "p", "2026-04")
    chart = f["spec"]
    assert chart["categories"][:4] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert len(chart["categories"]) == 60  # the projection's five years, from the first member's month
    real, planned = chart["series"]
    assert real["data"][:5] == [5, 5, 7, 7, None]  # carried over a month without joins; none after today
    assert planned["dashed"] is True and planned["data"][:2] == [300, 600] and planned["data"][59] == 18_000
    assert len(projection_figure(_stats(actual, 300), "p", "2026-04", months=24)["spec"]["categories"]) == 24
    # no projection: the actual members alone, up to this month
    alone = projection_figure(_stats(actual, None), "p", "2026-04")["spec"]
    assert [s["name"] for s in alone["series"]] == ["Actual members"] and alone["categories"][-1] == "2026-04"


def test_spec_is_plain_json_and_says_when_it_is_empty() -> None:
    chart = Chart(kind="bar", categories=["a"], series=[Series(name="n", data=[0])])
    assert spec(chart) == {"kind": "bar", "categories": ["a"], "series": [{"name": "n", "data": [0]}]}
    assert is_empty(chart) and not is_empty(Chart(kind="pie", categories=["a"], series=[Series(name="n", data=[1])]))
