"""The rendered publication text holds against the signed protocol, article by article."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import ClassVar

import pytest

from leerid.protocol import Protocol
from leerid.protocol.render import render
from tests.protocol.helpers import articles, normalise, seed, seed_data, seed_text


class _Text(HTMLParser):
    """The visible text of a page, one block element per line, and its structure."""

    BLOCKS: ClassVar[set[str]] = {"p", "li", "h1", "h2", "h3", "tr", "caption", "title", "footer"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script"):
            self._skip += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.parts)


def page(protocol: Protocol) -> _Text:
    parser = _Text()
    parser.feed(render(protocol, "html"))
    return parser


def seed_fragments(body: str) -> list[str]:
    """The sentences and table cells of one article of the seed."""
    body = body.split("Opgemaakt te")[0]  # art. 11 runs into the signatures
    body = re.sub(r"</?u>", "", body)
    cells = [c.strip().removeprefix("- ").rstrip("-").strip() for c in re.split(r"[\t\n]", body)]
    fragments: list[str] = []
    for cell in cells:
        # Drop the article title (kept as a heading) and empty cells.
        fragments += [s for s in re.split(r"(?<=[.;:])\s+(?=[A-Z])", cell) if s.strip()]
    return [normalise(f) for f in fragments]


def test_seed_has_the_eleven_articles() -> None:
    assert sorted(articles(seed_text())) == list(range(1, 12))


@pytest.mark.parametrize("fmt", ["html", "md"])
def test_every_sentence_of_every_article_is_rendered_in_that_article(fmt: str) -> None:
    if fmt == "html":
        rendered_text = page(seed()).text
    else:
        rendered_text = render(seed(), "md").replace("**", "").replace("\\|", "|")
    rendered = {n: normalise(body) for n, body in articles(rendered_text).items()}
    assert sorted(rendered) == list(range(1, 12))
    for number, body in articles(seed_text()).items():
        fragments = seed_fragments(body)
        title, sentences = fragments[0], fragments[1:]
        assert title.split()[0] in rendered[number] or number == 5
        missing = [s for s in sentences if s not in rendered[number]]
        assert missing == [], f"Artikel {number}: {missing}"


def test_title_parties_preamble_and_signatures_are_rendered() -> None:
    text = normalise(page(seed()).text)
    for fact in [
        "PROTOCOL VOOR DE ELEKTRONISCHE MEDEDELING VAN PERSOONSGEGEVENS",
        "in het kader van toegang tot LEERID",
        "22/02/2024",
        "Dit protocol wordt gesloten conform artikel 8, §1, van het decreet van 18 juli 2008",
        "Korte omschrijving",
        "TUSSEN",
        "Ann Verhaegen",
        "0316.380.841",
        "2.199.310.989",
        "Koning Albert II-laan 15, 1210 Brussel",
        "Hierna: “DOV”",
        "0473.721.472",
        "Anatole Francestraat 119, 1030 Schaarbeek",
        "Walentina Cools (OVSG), Lotte Meulewaeter (GO!), Griet Mathieu (POV)",
        "Hierna: “de Dienstenleverancier”",
        "WORDT OVEREENGEKOMEN WAT VOLGT",
        "Opgemaakt te Brussel, op 22/02/2024",
        "25/03/2024 14:40:38 +01:00",
        "29/02/2024 09:31:28 +01:00",
        "Ik keur dit document goed",
        "digitale handtekening op naam van Stefan Griens",
        "In werking sinds 25/03/2024 14:40:38 +01:00",
    ]:
        assert fact in text or fact.upper() in text.upper(), fact
    source = normalise(seed_text())
    for letter, item in zip("ABCDEFG", seed().preamble, strict=True):
        assert f"- {letter}. {normalise(item)}" in source  # the seed's order A to G
        assert normalise(item.replace("**", "")) in text


def test_html_is_a_standalone_accessible_page() -> None:
    rendered = render(seed(), "html")
    parsed = page(seed())
    tags = [t for t, _ in parsed.tags]
    assert rendered.startswith("<!doctype html>")
    assert ("html", {"lang": "nl"}) in parsed.tags
    assert tags.count("h1") == 1 and "title" in tags and "main" in tags
    assert "script" not in tags and "<link" not in rendered  # no outside resources
    assert all(attrs.get("scope") for tag, attrs in parsed.tags if tag == "th")
    ids = [attrs["id"] for _, attrs in parsed.tags if attrs.get("id")]
    assert len(ids) == len(set(ids))
    assert {"m-dpo", "m-privacylog", "artikel-1", "artikel-11", "rol-toegangscontrole"} <= set(ids)


def test_html_escapes_the_file_content() -> None:
    data = seed_data()
    data["summary"] = 'Een <script>alert("x")</script> & **vet**'
    rendered = render(Protocol.model_validate(data), "html")
    assert "<script>" not in rendered
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp;" in rendered
    assert "<strong>vet</strong>" in rendered


def test_status_changes_are_published() -> None:
    data = seed_data()
    data["status_changes"] = [
        {
            "kind": "terminated",
            "effective": "2025-06-30T17:00:00+02:00",
            "reason": "Verwerking in strijd met artikel 4.",
            "by": "discloser",
        }
    ]
    text = normalise(page(Protocol.model_validate(data)).text)
    assert "30/06/2025 17:00:00 +02:00: beëindigd. Verwerking in strijd met artikel 4." in text
