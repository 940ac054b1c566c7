"""Chart specs: what a page hands the `chart` macro (web/templates/charts.html), which puts it in a JSON
data block for web/static/js/charts.js (vendored Apache ECharts, SVG renderer) and draws the same
numbers as a table below the chart, for screen readers, printing and pages read without script.

A spec says what to draw in the business's terms (categories, series, links, money), never in
ECharts' option language, so the library stays behind one script and the table is drawn from the
same numbers the chart shows. Money travels as minor units (fen) with its currency; the page shows
yuan. Labels are already translated; names people typed stay as typed (the macro escapes them, the
script sets them as text).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

Kind = Literal["bar", "line", "pie"]


class Series(msgspec.Struct, omit_defaults=True):
    name: str
    data: list[int | None]
    kind: Kind | None = None
    # a projection or target, drawn as a dashed line
    dashed: bool = False


class Chart(msgspec.Struct, omit_defaults=True):
    kind: Kind
    categories: list[str]
    series: list[Series]
    # per category, a same-site path to open when it is clicked (the list behind the figure)
    links: list[str | None] | None = None
    # the values are minor units of this currency
    money: str | None = None
    horizontal: bool = False
    stack: bool = False


def spec(chart: Chart) -> dict[str, Any]:
    """The chart as plain JSON data, for the macro's `tojson`."""
    out: dict[str, Any] = msgspec.to_builtins(chart)
    return out


def is_empty(chart: Chart) -> bool:
    return not chart.categories or all(not v for s in chart.series for v in s.data)


def rows(chart: dict[str, Any]) -> list[dict[str, Any]]:
    """The spec as table rows: a category, its link and one value per series."""
    links = chart.get("links") or []
    return [{"category": c, "link": links[i] if i < len(links) else None,
             "values": [s["data"][i] if i < len(s["data"]) else None for s in chart["series"]]}
            for i, c in enumerate(chart["categories"])]


__all__ = ["Chart", "Series", "is_empty", "rows", "spec"]
