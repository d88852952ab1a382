"""The record of processing activities (GDPR art. 30) built from the protocol files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from leerid.protocol.model import PartyRole
from leerid.protocol.register import processing_record, render_register
from tests.protocol.helpers import seed

NOW = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)


def test_recipient_record_has_every_heading_of_article_30() -> None:
    record = processing_record(seed(), PartyRole.RECIPIENT, NOW)
    assert record.controller.startswith("De centrumnetten (KBO 0473.721.472)")
    assert record.dpo == "niet vermeld in het protocol"  # the seed gives no DPO contact
    assert record.purposes == seed().purposes.recipient  # art. 2, 2°
    assert record.legal_basis.startswith("AVG art. 6.1.f")
    assert "leerplichtonderwijs" in record.data_subjects
    assert (
        "INSZ (officiële persoonsgegevens): niet meegedeeld, geen decretale basis"
        in record.data_categories
    )
    assert "Naam (officiële persoonsgegevens)" in record.data_categories
    assert any("rol toegangscontrole" in r for r in record.recipients)
    assert not any("rol dpo" in r for r in record.recipients)  # the DPO sees no pupil data
    assert any("nooit aan andere dienstenleveranciers" in r for r in record.recipients)
    assert "derde landen" in record.transfers
    assert record.retention.startswith("P3Y (3 jaar); enkel de gegevens van de laatste aanmelding")
    measure_ids = [m.split(":")[0] for m in record.security_measures]
    assert "m-privacylog" in measure_ids and "m-acm" not in measure_ids
    assert record.status == "in_force"


def test_discloser_record() -> None:
    record = processing_record(seed(), PartyRole.DISCLOSER, NOW)
    assert record.controller.startswith("De Vlaamse Gemeenschap (KBO 0316.380.841)")
    assert record.recipients == ("De centrumnetten (KBO 0473.721.472)",)
    assert "artikel 8, §1" in record.legal_basis
    assert "m-acm" in [m.split(":")[0] for m in record.security_measures]


def test_formats() -> None:
    protocols = [seed()]
    md = render_register(protocols, "md", PartyRole.RECIPIENT, NOW)
    assert md.startswith("# Register van verwerkingsactiviteiten (AVG art. 30)")
    assert "**Doeleinden (art. 30.1.b)**" in md
    rows = list(
        csv.DictReader(io.StringIO(render_register(protocols, "csv", PartyRole.RECIPIENT, NOW)))
    )
    assert len(rows) == 1 and rows[0]["protocol_id"] == "dov-lars-glce-2024"
    assert "m-dpo:" in rows[0]["security_measures"]
    data = json.loads(render_register(protocols, "json", PartyRole.RECIPIENT, NOW))
    assert data["party"] == "recipient"
    assert (
        data["records"][0]["content_hash"]
        == processing_record(seed(), PartyRole.RECIPIENT, NOW).content_hash
    )
