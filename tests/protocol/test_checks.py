"""Warnings for doubtful content: valid files that a person should look at again."""

from __future__ import annotations

import datetime as dt

import yaml

from leerid.protocol.checks import check_protocol
from leerid.protocol.loading import parse_document
from tests.protocol.helpers import SEED_YAML, seed_data

NOW = dt.datetime(2025, 5, 1, tzinfo=dt.UTC)


def warnings_for(text: str) -> dict[str, str]:
    """Warnings by field path (several on one field are joined)."""
    found: dict[str, str] = {}
    for warning in check_protocol(parse_document(text, "p.yaml"), NOW):
        found[warning.dotted] = " | ".join(
            filter(None, [found.get(warning.dotted), warning.message])
        )
    return found


def test_seed_warnings() -> None:
    text = SEED_YAML.read_text(encoding="utf-8")
    found = warnings_for(text)
    assert set(found) == {
        "decretal_basis.present",  # the INSZ is listed, no decretal basis: never released
        "parties.discloser.dpo",  # no DPO contact for the art. 30 register
        "parties.recipient.dpo",
        "signatures[0].certificate_name",  # "Stefan Griens" vs "Stefan Grielens"
    }
    assert "never released" in found["decretal_basis.present"]
    [warning] = [
        w
        for w in check_protocol(parse_document(text, "p.yaml"), NOW)
        if w.path[0] == "decretal_basis"
    ]
    assert warning.line == next(
        i for i, line in enumerate(text.splitlines(), 1) if line.startswith("  present: false")
    )


def test_doubtful_signatures_and_dates() -> None:
    data = seed_data()
    data["signatures"][0]["signed_at"] = "2024-02-21T10:00:00+01:00"  # before its DPO advised
    data["signatures"][1]["name"] = "Iemand Anders"
    data["status_changes"] = [
        {
            "kind": "terminated",
            "effective": "2024-03-01T00:00:00+01:00",
            "reason": "r",
            "by": "discloser",
        }
    ]
    found = warnings_for(yaml.safe_dump(data, allow_unicode=True))
    assert "before its DPO advised" in found["signatures[0].signed_at"]
    assert "before the date of the protocol" in found["signatures[0].signed_at"]
    assert "not among its representatives" in found["signatures[1].name"]
    assert "before the protocol is in force" in found["status_changes[0].effective"]
    assert "not in force" in found["status_changes"]
