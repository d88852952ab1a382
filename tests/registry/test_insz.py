"""The INSZ check gives the same answers as stdnum.be.ssn, including the 2000+ rule and BIS
months (issue 2 §4), and finds the birth date a number encodes."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.be import ssn

from leerid.registry.insz import check_insz
from tests.registry.conftest import national_number

TODAY = dt.date.today()


def test_domain_vectors() -> None:
    assert check_insz("00091501119").birth_date == dt.date(2000, 9, 15)
    assert check_insz("98472899765").valid  # BIS, month + 40
    assert check_insz("01490700185").valid  # BIS, born 2001
    assert not check_insz("00091501120").valid
    assert not check_insz("0009150111").valid
    assert not check_insz("0009150111x").valid


@settings(max_examples=1000)
@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_agrees_with_stdnum_on_any_eleven_digits(number: str) -> None:
    checked = check_insz(number)
    assert checked.valid == ssn.is_valid(number)
    if checked.valid:
        assert checked.birth_date == ssn.get_birth_date(number)


@settings(max_examples=500)
@given(
    st.dates(dt.date(1920, 1, 1), TODAY),
    st.integers(1, 997),
    st.sampled_from([0, 20, 40]),
    st.booleans(),
)
def test_agrees_with_stdnum_on_well_formed_numbers(
    born: dt.date, serial: int, month_offset: int, unknown_day: bool
) -> None:
    """Constructed numbers (national register or BIS, both centuries, unknown days)."""
    day = 0 if unknown_day else born.day
    nine = f"{born.year % 100:02d}{born.month + month_offset:02d}{day:02d}{serial:03d}"
    base = int(("2" if born.year >= 2000 else "") + nine)
    number = f"{nine}{97 - base % 97:02d}"
    checked = check_insz(number)
    assert checked.valid and ssn.is_valid(number)
    assert checked.birth_date == ssn.get_birth_date(number)
    assert checked.birth_date == (None if unknown_day else born)


@given(st.dates(dt.date(1950, 1, 1), TODAY), st.integers(1, 997), st.booleans())
def test_encoded_birth_date(born: dt.date, serial: int, bis: bool) -> None:
    assert check_insz(national_number(born, serial, bis=bis)).birth_date == born
