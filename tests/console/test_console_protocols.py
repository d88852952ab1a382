"""``/beheer/protocollen`` (issue 13): versions on a timeline with hash, signatures, status."""

from __future__ import annotations

from pathlib import Path

import yaml

from leerid.protocol import load_protocol
from leerid.store.engine import make_engine
from leerid.testing import seeding
from tests.console.conftest import DPO, OPERATOR, UNDATED, ConsoleSite
from tests.idp_server import PROTOCOL_FILE


def _draft_version(site: ConsoleSite, folder: Path) -> None:
    """Version 2 of the seeded protocol, stored without any recorded signature."""
    data = load_protocol(PROTOCOL_FILE).model_dump(mode="json")
    data["subtitle"] = "Versie met een gewijzigde ondertitel"
    path = folder / "v2.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    engine = make_engine(site.idp.database_url)
    try:
        seeding.store_protocol(engine, path, attest=False)
    finally:
        engine.dispose()


def test_the_timeline_for_both_roles(site: ConsoleSite, tmp_path: Path) -> None:
    protocol_id = site.idp.seed.protocol_id
    _draft_version(site, tmp_path)
    for who in (OPERATOR, DPO, UNDATED):
        with site.browser(who) as browser:
            page = browser.open(f"{site.base}/beheer/protocollen")
            assert page.status_code == 200
            text = page.text
            assert protocol_id in text and "Versie 2" in text and "Versie 1" in text
            assert text.index("Versie 2") < text.index("Versie 1")  # newest first
            assert "van kracht" in text and "(bindt de clients nu)" in text
            assert "testing kit" in text  # who recorded the signatures
            assert f"/op/v1/protocollen/{protocol_id}/1" in text
            home = browser.open(f"{site.base}/beheer")
            assert f"{protocol_id} versie 2" in home.text  # awaiting signature


def test_the_linked_text_is_published(site: ConsoleSite) -> None:
    protocol_id = site.idp.seed.protocol_id
    with site.browser(DPO) as browser:
        page = browser.open(f"{site.base}/beheer/protocollen")
        assert f'href="/op/v1/protocollen/{protocol_id}/1"' in page.text
        text = browser.open(f"{site.base}/op/v1/protocollen/{protocol_id}/1")
        assert text.status_code == 200
