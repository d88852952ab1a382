"""Broken files give errors a person can act on: file, line, field path, what to do."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from leerid.protocol import IsoDuration, ProtocolError, content_hash, parse_protocol
from tests.protocol.helpers import SEED_YAML, seed


def seed_yaml() -> str:
    return SEED_YAML.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def problems(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, "p.yaml")
    return [(p.dotted, p.line, p.message) for p in caught.value.problems]


def test_broken_yaml_names_the_line() -> None:
    text = seed_yaml().replace("  period: P3Y", "  period: [P3Y", 1)
    [(path, line, message)] = problems(text)
    assert path == "<file>" and "not valid YAML" in message
    assert line is not None and line >= line_of(seed_yaml(), "period: P3Y")


def test_bad_kbo_number_names_field_and_line() -> None:
    text = seed_yaml().replace('"0473.721.472"', '"0473.721.473"')
    [(path, line, message)] = problems(text)
    assert path == "parties.recipient.enterprise_number"
    assert line == line_of(text, '"0473.721.473"')
    assert "check digits" in message and "kbopub" in message


def test_every_problem_is_listed_at_once() -> None:
    text = (
        seed_yaml()
        .replace("claim: ov_orgcode", "claim: ov_schoolcode")
        .replace("  period: P3Y", "  period: 3 jaar")
        .replace("place: Brussel", "plaats: Brussel")
    )
    found = {path: (line, message) for path, line, message in problems(text)}
    assert set(found) == {
        "data.attributes[6].claim",
        "data.retention.period",
        "place",
        "plaats",
    }
    assert "P3Y" in found["data.retention.period"][1]
    assert found["data.retention.period"][0] == line_of(text, "period: 3 jaar")
    assert "unknown field" in found["plaats"][1]
    assert "add it" in found["place"][1]
    assert found["data.attributes[6].claim"][0] == line_of(text, "claim: ov_schoolcode")


def test_insz_without_its_condition_is_refused() -> None:
    """Art. 3: the INSZ only with a decretal basis; the file must say so."""
    text = seed_yaml().replace("      conditions: [decretal_basis]\n", "", 1)
    [(path, _line, message)] = problems(text)
    assert path == "data.attributes[0]"
    assert "decretal_basis" in message


def test_claim_must_match_its_attribute() -> None:
    text = seed_yaml().replace("claim: family_name", "claim: given_name", 1)
    [(path, _line, message)] = problems(text)
    assert path == "data.attributes[1]" and "family_name" in message


def test_account_uuid_is_required() -> None:
    """OIDC Core §2: 'sub' is the Account_uuid, so every protocol must list it."""
    data = seed().model_dump(mode="json")
    data["data"]["attributes"] = [
        a for a in data["data"]["attributes"] if a["key"] != "account_uuid"
    ]
    data["data"]["request_keys"] = ["leer_id_uuid"]
    [(path, _line, message)] = problems(yaml.safe_dump(data, allow_unicode=True))
    assert path == "data" and "account_uuid" in message


def test_onward_disclosure_cannot_be_permitted() -> None:
    text = seed_yaml().replace("    permitted: false", "    permitted: true")
    [(path, _line, _message)] = problems(text)
    assert path == "recipients.onward_disclosure.permitted"


def test_duplicate_measure_ids_and_unordered_status_changes() -> None:
    text = seed_yaml().replace("id: m-risico", "id: m-dpo")
    [(path, _line, message)] = problems(text)
    assert path == "security" and "m-dpo" in message
    text = seed_yaml().replace(
        "status_changes: []",
        "status_changes:\n"
        "  - {kind: terminated, effective: 2025-02-01T00:00:00Z, reason: art. 8, by: discloser}\n"
        "  - {kind: ended, effective: 2025-01-01T00:00:00Z, reason: later, ground: term}\n",
    )
    [(path, _line, message)] = problems(text)
    assert path == "<file>" and "chronological" in message


def test_signature_needs_an_offset() -> None:
    text = seed_yaml().replace("2024-02-29T09:31:28+01:00", "2024-02-29T09:31:28")
    [(path, _line, message)] = problems(text)
    assert path == "signatures[0].signed_at" and "UTC offset" in message


def test_not_a_mapping() -> None:
    [(path, line, message)] = problems("- just\n- a list\n")
    assert path == "<file>" and line == 1 and "mapping" in message


def test_content_hash_ignores_layout_and_follows_content() -> None:
    text = seed_yaml()
    relaid = "# another comment\n" + text.replace("place: Brussel", "place:   'Brussel'")
    assert content_hash(parse_protocol(relaid)) == content_hash(seed())
    changed = text.replace("place: Brussel", "place: Gent")
    assert content_hash(parse_protocol(changed)) != content_hash(seed())
    assert len(content_hash(seed())) == 64


@pytest.mark.parametrize(
    ("text", "years", "months", "days"),
    [("P3Y", 3, 0, 0), ("P18M", 0, 18, 0), ("P2W", 0, 0, 14), ("P1Y2M3D", 1, 2, 3)],
)
def test_durations(text: str, years: int, months: int, days: int) -> None:
    duration = IsoDuration.parse(text)
    assert (duration.years, duration.months, duration.days) == (years, months, days)


@pytest.mark.parametrize("text", ["3Y", "P", "PT", "P3", "3 jaar", "P-3Y"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        IsoDuration.parse(text)


def test_three_years_is_on_the_calendar() -> None:
    """Art. 3: 3 years after 29 February 2024 is 28 February 2027, not 1095 days later."""
    leap = dt.datetime(2024, 2, 29, 12, tzinfo=dt.UTC)
    assert IsoDuration.parse("P3Y").after(leap) == dt.datetime(2027, 2, 28, 12, tzinfo=dt.UTC)
    assert IsoDuration.parse("P3Y").before(leap) == dt.datetime(2021, 2, 28, 12, tzinfo=dt.UTC)


@given(st.integers(0, 40), st.integers(0, 30), st.integers(0, 400), st.integers(0, 30))
def test_duration_text_round_trips(years: int, months: int, days: int, hours: int) -> None:
    duration = IsoDuration(years=years, months=months, days=days, hours=hours)
    assert IsoDuration.parse(str(duration)) == (
        duration if any((years, months, days, hours)) else IsoDuration()
    )


def test_a_key_written_twice_is_an_error_not_a_silent_override() -> None:
    text = seed_yaml().replace("place: Brussel", "place: Brussel\nplace: Gent")
    [(path, line, message)] = problems(text)
    assert path == "place" and line == line_of(text, "place: Gent") and "twice" in message


def test_an_impossible_date_is_located() -> None:
    text = seed_yaml().replace("advice_date: 2022-11-07", "advice_date: 2022-11-31")
    [(path, line, _message)] = problems(text)
    assert path == "parties.discloser.dpo.advice_date"
    assert line == line_of(text, "2022-11-31")


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_damaged_file_gives_a_protocol_error_never_a_crash(data: st.DataObject) -> None:
    """Never a traceback for bad input: cut, duplicate or garble lines of the seed."""
    lines = seed_yaml().splitlines()
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "dup", "garble", "indent"]))
        if action == "drop":
            del lines[index]
        elif action == "dup":
            lines.insert(index, lines[index])
        elif action == "garble":
            junk = data.draw(st.text(alphabet=":-[]{}#&*!|>'\"% \t0123456789abc", max_size=12))
            lines[index] = lines[index][: len(lines[index]) // 2] + junk
        else:
            lines[index] = "  " + lines[index]
    try:
        parse_protocol("\n".join(lines), "damaged.yaml")
    except ProtocolError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        assert str(exc).startswith(("damaged.yaml", f"{len(exc.problems)} problems"))
