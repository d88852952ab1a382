"""Bar charts as server-rendered SVG, with the same figures as a text table (issue 13, point 3).

Written by hand: the pages' Content-Security-Policy (``default-src 'none'; style-src 'self'``)
forbids inline ``<style>`` elements, ``style`` attributes and scripts, and pygal emits all
three; matplotlib's SVG backend writes ``style`` attributes on every shape; leather has no
per-bar ``<title>``, no classes to colour by and no table. A chart here is plain SVG: the
shapes carry classes (``chart-bar chart-s0`` .. ``chart-s5``, ``chart-axis``, ``chart-grid``,
``chart-label``) that the site's stylesheet colours, and a ``<title>`` on every bar names its
exact figure. The ``viewBox`` with ``width="100%"`` lets it scale down to a 375 px screen.

Pure: no I/O; every text that reaches the SVG is escaped with :func:`markupsafe.escape`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import Markup, escape

__all__ = ["COLOURS", "Chart", "Series", "bar_chart", "dutch_number", "nice_ticks"]

COLOURS = 6
"""How many series the SVG tells apart by colour (``chart-s0`` .. ``chart-s5``); more are
folded into one ``overige`` bar in the picture (the table keeps every series)."""

_WIDTH = 640
_PLOT_HEIGHT = 220
_TOP = 12
_RIGHT = 8
_CHAR = 6.6  # the width of one character of an 11 px label, a little generous
_LABEL_MAX = 12  # characters of a category label shown under the axis (the table has it all)
_LEGEND_MAX = 28
_ID = re.compile(r"[a-z][a-z0-9-]{0,62}")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class Series:
    """One named row of figures, a value per category."""

    name: str
    values: Sequence[int]


@dataclass(frozen=True)
class Chart:
    """A chart: the SVG to put in a ``<figure>`` and the same figures as a table."""

    svg: Markup
    caption: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    chart_id: str = "chart"
    unit: str = ""
    total: int = 0
    series_names: tuple[str, ...] = field(default_factory=tuple)


def dutch_number(value: int) -> str:
    """``1234567`` → ``1.234.567``: a figure as a Dutch reader writes it."""
    return f"{value:,}".replace(",", ".")


def nice_ticks(top: int) -> list[int]:
    """Round tick values from 0 to at least ``top``: steps of 1, 2 or 5 times a power of ten,
    at most six ticks."""
    if top <= 0:
        return [0, 1]
    raw = top / 5
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    last = step * math.ceil(top / step)
    return list(range(0, last + 1, step))


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    caption: str,
    unit: str,
    chart_id: str,
    category_label: str = "periode",
) -> Chart:
    """A bar chart of ``series`` over ``categories``, stacked when there are several series.

    Raises ``ValueError`` for a series of another length than ``categories``, a negative
    value or a ``chart_id`` that is not a lower-case name (it becomes an element id).
    """
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"chart_id {chart_id!r} must be lower-case letters, digits and '-'")
    for one in series:
        if len(one.values) != len(categories):
            raise ValueError(f"series {one.name!r} has {len(one.values)} values")
        if any(value < 0 for value in one.values):
            raise ValueError(f"series {one.name!r} has a negative value")
    headers, rows = _table(categories, series, category_label)
    total = sum(sum(one.values) for one in series)
    svg = _svg(categories, _fold(series), caption=caption, unit=unit, chart_id=chart_id)
    return Chart(
        svg=svg,
        caption=caption,
        headers=headers,
        rows=rows,
        chart_id=chart_id,
        unit=unit,
        total=total,
        series_names=tuple(one.name for one in series),
    )


def _table(
    categories: Sequence[str], series: Sequence[Series], category_label: str
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The figures as text: a row per category, a column per series (+ the total)."""
    several = len(series) > 1
    headers = (category_label, *(one.name for one in series), *(("totaal",) if several else ()))
    rows: list[tuple[str, ...]] = []
    for index, category in enumerate(categories):
        values = [one.values[index] for one in series]
        cells = [dutch_number(value) for value in values]
        if several:
            cells.append(dutch_number(sum(values)))
        rows.append((category, *cells))
    return headers, rows


def _fold(series: Sequence[Series]) -> list[Series]:
    """At most :data:`COLOURS` series: the largest five and one ``overige`` for the rest."""
    if len(series) <= COLOURS:
        return list(series)
    ranked = sorted(range(len(series)), key=lambda i: -sum(series[i].values))
    kept = sorted(ranked[: COLOURS - 1])
    rest = [series[i] for i in ranked[COLOURS - 1 :]]
    others = [sum(values) for values in zip(*(one.values for one in rest), strict=True)]
    return [*(series[i] for i in kept), Series(f"overige ({len(rest)})", others)]


@dataclass(frozen=True)
class _Frame:
    """Where the plot sits inside the viewBox."""

    left: float
    width: float
    top: float = _TOP
    height: float = _PLOT_HEIGHT

    @property
    def bottom(self) -> float:
        return self.top + self.height


def _svg(
    categories: Sequence[str], series: Sequence[Series], *, caption: str, unit: str, chart_id: str
) -> Markup:
    """The whole ``<svg>`` element."""
    totals = [sum(one.values[i] for one in series) for i in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0))
    left = 12 + _CHAR * max(len(dutch_number(tick)) for tick in ticks)
    frame = _Frame(left=left, width=_WIDTH - left - _RIGHT)
    parts = [_grid(frame, ticks)]
    if not categories or not any(totals):
        parts.append(_empty(frame))
    else:
        parts.append(_bars(frame, categories, series, totals, ticks[-1], unit))
        parts.append(_category_labels(frame, categories))
    height = frame.bottom + 34
    if len(series) > 1:
        legend, legend_height = _legend(series, top=height)
        parts.append(legend)
        height += legend_height
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" role="img" '
        f'aria-labelledby="{chart_id}-caption" focusable="false" width="100%" '
        f'viewBox="0 0 {_WIDTH} {height:.0f}" preserveAspectRatio="xMinYMin meet">'
    )
    desc = f"<desc>{_xml(caption)}</desc>"
    # Every text above went through _xml (markupsafe.escape); the rest is our own numbers.
    return Markup(head + desc + "".join(parts) + "</svg>")  # noqa: S704


def _y(frame: _Frame, value: float, top_value: int) -> float:
    return frame.bottom - frame.height * value / top_value


def _grid(frame: _Frame, ticks: list[int]) -> str:
    """The horizontal grid lines with their round values, and the two axes."""
    out = []
    for tick in ticks:
        y = _y(frame, tick, ticks[-1])
        out.append(
            f'<line class="chart-grid" x1="{frame.left:.1f}" x2="{frame.left + frame.width:.1f}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="chart-label chart-tick" x="{frame.left - 6:.1f}" y="{y + 4:.1f}" '
            f'text-anchor="end">{dutch_number(tick)}</text>'
        )
    out.append(
        f'<line class="chart-axis" x1="{frame.left:.1f}" x2="{frame.left:.1f}" '
        f'y1="{frame.top:.1f}" y2="{frame.bottom:.1f}"/>'
        f'<line class="chart-axis" x1="{frame.left:.1f}" x2="{frame.left + frame.width:.1f}" '
        f'y1="{frame.bottom:.1f}" y2="{frame.bottom:.1f}"/>'
    )
    return "".join(out)


def _empty(frame: _Frame) -> str:
    """An honest empty chart: the axes and the words "geen gegevens"."""
    x = frame.left + frame.width / 2
    y = frame.top + frame.height / 2
    return (
        f'<text class="chart-label chart-empty" x="{x:.1f}" y="{y:.1f}" '
        f'text-anchor="middle">geen gegevens</text>'
    )


def _bars(
    frame: _Frame,
    categories: Sequence[str],
    series: Sequence[Series],
    totals: list[int],
    top_value: int,
    unit: str,
) -> str:
    """A bar per category, one stacked segment per series, each with its exact figure."""
    slot = frame.width / len(categories)
    width = max(slot * 0.72, 0.5)
    several = len(series) > 1
    unit_text = f" {unit}" if unit else ""
    out = []
    for index, category in enumerate(categories):
        x = frame.left + slot * index + (slot - width) / 2
        below = 0
        for number, one in enumerate(series):
            value = one.values[index]
            if value == 0:
                continue
            y_top = _y(frame, below + value, top_value)
            height = _y(frame, below, top_value) - y_top
            below += value
            name = f", {one.name}" if several else ""
            total = f" (samen {dutch_number(totals[index])})" if several else ""
            title = f"{category}{name}: {dutch_number(value)}{unit_text}{total}"
            out.append(
                f'<rect class="chart-bar chart-s{number % COLOURS}" x="{x:.2f}" '
                f'y="{y_top:.2f}" width="{width:.2f}" height="{max(height, 0.5):.2f}">'
                f"<title>{_xml(title)}</title></rect>"
            )
    return "".join(out)


def _category_labels(frame: _Frame, categories: Sequence[str]) -> str:
    """Labels under the axis; thinned to every n-th when they would overlap."""
    shown = [_short(category) for category in categories]
    widest = max(len(label) for label in shown) * _CHAR + 8
    slot = frame.width / len(categories)
    step = max(1, math.ceil(widest / slot))
    out = []
    for index in range(0, len(categories), step):
        x = frame.left + slot * index + slot / 2
        out.append(
            f'<text class="chart-label chart-category" x="{x:.1f}" y="{frame.bottom + 18:.1f}" '
            f'text-anchor="middle">{_xml(shown[index])}</text>'
        )
    return "".join(out)


def _xml(text: str) -> Markup:
    """``text`` escaped for SVG; characters XML 1.0 cannot hold become U+FFFD."""
    return escape(_NOT_XML.sub("\ufffd", text))


def _short(text: str, limit: int = _LABEL_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _legend(series: Sequence[Series], *, top: float) -> tuple[str, float]:
    """A swatch and a name per series, wrapped in rows; returns the SVG and its height."""
    out = []
    x, y, row_height = 12.0, top, 20.0
    for number, one in enumerate(series):
        name = _short(one.name, _LEGEND_MAX)
        item_width = 24 + len(name) * _CHAR + 16
        if x + item_width > _WIDTH and x > 12:
            x, y = 12.0, y + row_height
        out.append(
            f'<rect class="chart-bar chart-swatch chart-s{number % COLOURS}" x="{x:.1f}" '
            f'y="{y:.1f}" width="14" height="14"><title>{_xml(one.name)}</title></rect>'
            f'<text class="chart-label chart-legend" x="{x + 20:.1f}" y="{y + 11:.1f}">'
            f"{_xml(name)}</text>"
        )
        x += item_width
    return "".join(out), y - top + row_height + 6
