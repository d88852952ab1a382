"""Issue 8 point 3: instellingsnummers are six digits everywhere in the kit.

A claim ``12345`` (leading zero dropped, or sent as a JSON number) is the school ``012345``
of the partner list; a value that cannot be an instellingsnummer is refused and logged
without the value itself.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.errors import ConfigurationError
from leerid.sp.kit.enrolment_gate import enrolment_gate
from leerid.sp.kit.login_claims import read_login
from leerid.sp.kit.orgcode import normalise_orgcode
from leerid.sp.kit.settings import load_settings
from tests.sp.conftest import write_config

number = st.integers(min_value=0, max_value=999_999)


def spellings(n: int) -> st.SearchStrategy[object]:
    """The ways a provider or a file may write school ``n``."""
    short = str(n)
    return st.sampled_from(
        [n, short, f"{n:06d}", f" {short} ", f"{n:06d}\n"] + [short.zfill(k) for k in range(7)]
    )


@given(st.data(), number, number)
def test_any_spelling_of_a_partner_school_is_admitted(
    data: st.DataObject, school: int, partner: int
) -> None:
    claim = data.draw(spellings(school))
    configured = data.draw(spellings(partner))
    login = read_login({"ov_account_uuid": "a", "ov_orgcode": [claim]})
    assert login.orgcodes == (f"{school:06d}",)
    decision = enrolment_gate(login.orgcodes, [str(configured)])
    assert decision.admitted == (school == partner)
    assert enrolment_gate([str(claim)], [str(configured)]).admitted == (school == partner)


def test_twelve_thousand_three_hundred_forty_five_is_partner_012345() -> None:
    """The case the issue reports: the gate refused 12345 against a partner 012345."""
    assert enrolment_gate(["12345"], ["012345"]).admitted
    assert read_login({"ov_account_uuid": "a", "ov_orgcode": 12345}).orgcodes == ("012345",)


not_a_school = st.one_of(
    st.from_regex(r"^\d{7,12}$", fullmatch=True),
    st.text(min_size=1).filter(lambda t: not t.strip().isdigit() and t.strip() != ""),
    st.integers(min_value=1_000_000),
    st.integers(max_value=-1),
    st.sampled_from(["12 345", "+12345", "1234.5", "١٢٣٤٥٦", "0x1234", True, 12.0]),
)


@given(not_a_school)
def test_a_value_that_is_not_an_instellingsnummer_is_refused(value: object) -> None:
    assert normalise_orgcode(value) is None
    login = read_login({"ov_account_uuid": "a", "ov_orgcode": [value, "012345"]})
    assert login.orgcodes == ("012345",)
    decision = enrolment_gate([str(value)], ["012345", str(value)])
    assert not decision.admitted and decision.reason == "no_enrolment"


def test_the_refusal_is_logged_without_the_value(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        login = read_login({"ov_account_uuid": "a", "ov_orgcode": ["98765432"]})
        decision = enrolment_gate(["ABC987"], ["012345"])
    assert login.orgcodes == () and decision.reason == "no_enrolment"
    refusals = [r.getMessage() for r in caplog.records if "ov_orgcode refused" in r.getMessage()]
    assert len(refusals) == 2
    assert not any("98765432" in m or "ABC987" in m for m in caplog.messages)


def test_the_partner_list_in_the_config_is_normalised(tmp_path: Path) -> None:
    path = write_config(tmp_path / "a", "sqlite://", schools=("12345", "000001"))
    assert load_settings(path).partner_schools == frozenset({"012345", "000001"})
    bad = write_config(tmp_path / "b", "sqlite://", schools=("1234567",))
    with pytest.raises(ConfigurationError, match=r"1234567.*not an instellingsnummer"):
        load_settings(bad)
