"""Issue 12 §5: every line of ``/op/v1/mijn-gegevens`` links to the text of the protocol
version the release was made under, published at ``/op/v1/protocollen/{id}/{version}``
(decree of 18 July 2008, art. 8 §1), over HTTP on both backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import urljoin

import httpx
import pytest

from leerid.idp.store.disclosures import list_disclosures
from leerid.store.engine import make_engine
from tests.reports.pupil_world import PupilWorld, pupil_world
from tests.reports.test_my_data import logged_in

_PROTOCOL_LINK = re.compile(r'<a href="([^"]*/v1/protocollen/[^"]+)">([^<]*)<span')


@pytest.fixture
def world(database_url: str) -> Iterator[PupilWorld]:
    with pupil_world(database_url) as built:
        yield built


def test_each_line_links_to_the_text_of_its_protocol_version(world: PupilWorld) -> None:
    _browser, page = logged_in(world)
    links = _PROTOCOL_LINK.findall(page.text)
    assert len(links) == 2  # the temporary account's line and the permanent one's
    protocol_id = world.idp.seed.protocol_id
    assert {unescape(words) for _href, words in links} == {f"{protocol_id}, versie 1"}
    url = urljoin(str(page.url), unescape(links[0][0]))
    assert url == f"{world.idp.issuer}/v1/protocollen/{protocol_id}/1"
    text = httpx.get(url)
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/html")
    assert "style-src 'self'" in text.headers["content-security-policy"]
    assert "<style" not in text.text  # the page's own stylesheet, which the CSP allows
    for number in range(1, 12):
        assert f'id="artikel-{number}"' in text.text
    assert 'href="/op/v1/mijn-gegevens"' in text.text and "Terug naar Mijn gegevens" in text.text
    # the hash the releases name is the hash the published text shows
    engine = make_engine(world.idp.database_url)
    hashes = {r.protocol_hash for r in list_disclosures(engine, leer_id_uuid=world.leer_id_uuid)}
    engine.dispose()
    (digest,) = hashes
    assert digest is not None and f"<code>{digest}</code>" in text.text


def test_an_unknown_protocol_or_version_is_a_plain_404(world: PupilWorld) -> None:
    known = world.idp.seed.protocol_id
    for tail in (
        f"{known}/2",
        f"{known}/0",
        f"{known}/abc",
        f"{known}/1x",
        f"{known}/-1",
        "onbekend-protocol/1",
        "x" * 101 + "/1",
    ):
        answer = httpx.get(f"{world.idp.issuer}/v1/protocollen/{tail}")
        assert answer.status_code == 404, tail
        assert "bestaat niet bij LeerID" in answer.text and 'lang="nl"' in answer.text
