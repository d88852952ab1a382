"""Shared helpers: the seed protocol (text and file) and protocols derived from it."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from pathlib import Path
from typing import Any

from leerid.protocol import Protocol, load_protocol

ROOT = Path(__file__).parents[2]
SEED_YAML = ROOT / "protocols" / "dov-lars-glce-2024.yaml"
SEED_TEXT = Path(__file__).with_name("seed_protocol.txt")  # copy of ../shared/seed/000_….txt

# The two punctuation fixes the YAML makes (documented in docs/protocols.md).
SEED_CORRECTIONS = {
    "decretale basis heeft..": "decretale basis heeft.",
    "onderling uniek te identificeren Voor": "onderling uniek te identificeren. Voor",
}

UTC = dt.UTC


def normalise(text: str) -> str:
    """Collapse white space, so that line breaks of either text do not matter."""
    return re.sub(r"\s+", " ", text).strip()


@cache
def seed_text() -> str:
    text = SEED_TEXT.read_text(encoding="utf-8")
    for wrong, right in SEED_CORRECTIONS.items():
        text = text.replace(wrong, right)
    return text


@cache
def seed() -> Protocol:
    return load_protocol(SEED_YAML)


def seed_data() -> dict[str, Any]:
    """The seed protocol as plain data, to change and validate again."""
    return seed().model_dump(mode="json")


def variant(**changes: Any) -> Protocol:
    """The seed with top-level fields replaced (plain data), validated again."""
    data = seed_data()
    data.update(changes)
    return Protocol.model_validate(data)


def articles(text: str) -> dict[int, str]:
    """Split a text (the seed, or a rendering as text) into Artikel 1 … 11."""
    parts = re.split(r"(?m)^\s*#*\s*Artikel (\d+)[:.]", text)
    found: dict[int, str] = {}
    for number, body in zip(parts[1::2], parts[2::2], strict=True):
        found[int(number)] = body
    return found
