"""Keyboard-only helpers for Chromium: Tab to a control by its name, checking at every stop
that the focus is visible (WCAG 2.4.7), then type, Enter or Space."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from playwright.sync_api import Page

from leerid.errors import LeeridError

MAX_TABS = 120
_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const label = e.labels && e.labels.length ? e.labels[0].innerText : '';
  const s = getComputedStyle(e);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  // Date and time fields: Tab moves through their parts and the picker button, which the
  // browser marks itself (the page's outline shows on the parts only).
  const parts = ['date', 'time', 'datetime-local', 'month', 'week'].includes(e.type);
  return {
    tag: e.tagName.toLowerCase(),
    name: (e.getAttribute('aria-label') || label || e.innerText || e.value || '').trim(),
    visible: outline || s.boxShadow !== 'none' || parts,
    rect: e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().height > 0,
  };
}"""


@dataclass(frozen=True)
class Stop:
    """Where the focus is: the element's tag and accessible name (its label or text)."""

    tag: str
    name: str


def focused(page: Page) -> Stop | None:
    """The focused element; a :class:`LeeridError` when its focus cannot be seen."""
    found = page.evaluate(_FOCUSED)
    if found is None:
        return None
    stop = Stop(found["tag"], " ".join(found["name"].split()))
    if not (found["visible"] and found["rect"]):
        raise LeeridError(f"the focus on {stop} at {page.url} is not visible: {found}")
    return stop


def tab_to(page: Page, name: str, tag: str = "") -> Stop:
    """Press Tab until the focused element's name starts with ``name`` (and its tag is
    ``tag`` when given); every stop on the way must show its focus."""
    seen: list[Stop] = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        stop = focused(page)
        if stop is None:
            continue
        if stop.name.startswith(name) and (not tag or stop.tag == tag):
            return stop
        seen.append(stop)
    raise LeeridError(f"Tab never reached {name!r} at {page.url}; stops: {seen[:40]}")


def fill(page: Page, label: str, text: str) -> None:
    """Tab to the field labelled ``label`` and type ``text``."""
    tab_to(page, label)
    page.keyboard.type(text)


def press_on(page: Page, name: str, key: str = "Enter", tag: str = "") -> None:
    """Tab to the control named ``name`` and press ``key`` (Enter or Space): a link followed
    or a form sent, and the next page loaded."""
    tab_to(page, name, tag)
    with page.expect_navigation():
        page.keyboard.press(key)


_PARTS = """() => {
  const parts = new Intl.DateTimeFormat(navigator.language, {year: 'numeric', month: '2-digit',
    day: '2-digit', hour: '2-digit', minute: '2-digit'}).formatToParts(new Date(2026, 0, 2, 3, 4));
  return parts.map(p => p.type).filter(t => t !== 'literal');
}"""


def type_moment(page: Page, label: str, moment: dt.datetime) -> None:
    """Tab to the date-and-time field ``label`` and type ``moment`` part by part, in the
    order the browser's language shows them (a year takes up to six digits: Tab after it)."""
    tab_to(page, label)
    values = {
        "day": f"{moment.day:02d}",
        "month": f"{moment.month:02d}",
        "year": f"{moment.year:04d}",
        "hour": f"{(moment.hour % 12 or 12):02d}",
        "minute": f"{moment.minute:02d}",
        "dayPeriod": "A" if moment.hour < 12 else "P",
    }
    order = page.evaluate(_PARTS)
    if "dayPeriod" not in order:
        values["hour"] = f"{moment.hour:02d}"
    for part in order:
        page.keyboard.type(values[part])
        if part == "year":
            page.keyboard.press("Tab")


def start(page: Page, url: str) -> None:
    """Open ``url`` with the focus at the document's start (as after a page load)."""
    page.goto(url)
    page.evaluate("document.activeElement && document.activeElement.blur()")
