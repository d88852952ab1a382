"""leerid.charts: the SVG bar chart and its table tell the same figures, safely."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jinja2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.charts import COLOURS, Series, bar_chart, dutch_number, nice_ticks

SVG = "{http://www.w3.org/2000/svg}"
SRC = Path(__file__).resolve().parents[1] / "src" / "leerid"
PARTIALS = [SRC / "sp" / "portal" / "templates", SRC / "idp" / "console" / "templates"]
XSS = '<script>alert("x")</script>&"'

names = st.text(min_size=1, max_size=30)


@st.composite
def charts(draw: st.DrawFn) -> tuple[list[str], list[Series]]:
    count = draw(st.integers(0, 40))
    categories = draw(st.lists(names, min_size=count, max_size=count))
    series = draw(
        st.lists(
            st.builds(
                Series,
                names,
                st.lists(st.integers(0, 10**9), min_size=count, max_size=count),
            ),
            min_size=1,
            max_size=9,
        )
    )
    return categories, series


def _number(text: str) -> int:
    return int(text.replace(".", ""))


def _tree(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # our own output, parsed to check it


@settings(max_examples=60, deadline=None)
@given(charts())
def test_the_table_rows_are_the_input(data: tuple[list[str], list[Series]]) -> None:
    categories, series = data
    chart = bar_chart(categories, series, caption="c", unit="u", chart_id="c")
    assert [row[0] for row in chart.rows] == categories
    for index, row in enumerate(chart.rows):
        figures = [_number(cell) for cell in row[1:]]
        expected = [one.values[index] for one in series]
        if len(series) > 1:
            assert figures == [*expected, sum(expected)]  # the stacked total
        else:
            assert figures == expected
    assert chart.total == sum(sum(one.values) for one in series)


@settings(max_examples=60, deadline=None)
@given(charts())
def test_every_bar_names_its_exact_figure_and_stacks_to_the_total(
    data: tuple[list[str], list[Series]],
) -> None:
    categories, series = data
    chart = bar_chart(categories, series, caption="c", unit="", chart_id="c")
    root = _tree(str(chart.svg))
    bars = [
        rect for rect in root.iter(f"{SVG}rect") if "chart-swatch" not in (rect.get("class") or "")
    ]
    titles = [rect.findtext(f"{SVG}title") or "" for rect in bars]
    figures = sum(_number(re.findall(r": ([\d.]+)", title)[-1]) for title in titles)
    assert figures == chart.total
    assert all(float(rect.get("height", "0")) > 0 for rect in bars)
    classes = {rect.get("class") for rect in bars}
    assert classes <= {f"chart-bar chart-s{number}" for number in range(COLOURS)}


@settings(max_examples=40, deadline=None)
@given(charts())
def test_the_svg_has_no_style_or_script(data: tuple[list[str], list[Series]]) -> None:
    categories, series = data
    svg = str(bar_chart(categories, series, caption="c", unit="", chart_id="c").svg)
    root = _tree(svg)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c-caption"
    for element in root.iter():
        assert element.tag not in {f"{SVG}style", f"{SVG}script"}
        assert "style" not in element.attrib
        assert not any(name.startswith("on") for name in element.attrib)


def test_negative_values_and_uneven_series_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        bar_chart(["a"], [Series("x", [-1])], caption="c", unit="", chart_id="c")
    with pytest.raises(ValueError, match="values"):
        bar_chart(["a", "b"], [Series("x", [1])], caption="c", unit="", chart_id="c")
    with pytest.raises(ValueError, match="chart_id"):
        bar_chart(["a"], [Series("x", [1])], caption="c", unit="", chart_id='"><script>')


def test_no_data_is_an_honest_empty_chart() -> None:
    for categories, series in (([], []), (["a", "b"], [Series("x", [0, 0])])):
        chart = bar_chart(categories, series, caption="c", unit="", chart_id="leeg")
        root = _tree(str(chart.svg))
        texts = [text.text for text in root.iter(f"{SVG}text")]
        assert "geen gegevens" in texts
        assert not [rect for rect in root.iter(f"{SVG}rect")]


def test_y_ticks_are_round_and_cover_the_top() -> None:
    for top in (0, 1, 3, 7, 10, 99, 101, 2950, 123_456, 10_000_000):
        ticks = nice_ticks(top)
        step = ticks[1] - ticks[0]
        assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 6
        assert str(step).strip("0") in {"1", "2", "5"}
    assert dutch_number(1234567) == "1.234.567"


def test_many_categories_have_their_labels_thinned() -> None:
    days = [f"2026-01-{day:02d}" for day in range(1, 32)] * 12
    chart = bar_chart(days, [Series("x", [1] * len(days))], caption="c", unit="", chart_id="c")
    labels = [
        text
        for text in _tree(str(chart.svg)).iter(f"{SVG}text")
        if "chart-category" in (text.get("class") or "")
    ]
    assert 2 <= len(labels) <= 12


def test_more_series_than_colours_fold_into_overige_in_the_picture_only() -> None:
    series = [Series(f"client {n}", [n + 1]) for n in range(9)]
    chart = bar_chart(["dag"], series, caption="c", unit="", chart_id="c")
    assert len(chart.headers) == 1 + 9 + 1
    assert "overige (4)" in str(chart.svg)


@pytest.mark.parametrize("folder", PARTIALS, ids=["portal", "console"])
def test_a_hostile_client_name_is_escaped_in_the_svg_and_the_table(folder: Path) -> None:
    chart = bar_chart(
        [XSS], [Series(XSS, [5]), Series("LARS", [2])], caption=XSS, unit="", chart_id="x"
    )
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(folder), autoescape=True)
    html = env.get_template("_chart.html").render(chart=chart)
    assert "<script>" not in html
    assert html.count("&lt;script&gt;") >= 5  # caption, svg desc, title, legend, table
    _tree(str(chart.svg))  # still well-formed XML
    assert '<figure class="chart" id="x">' in html and 'id="x-caption"' in html
