"""The new-password rules of activation: length, not the username, not a common password."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from leerid.idp.login.password_policy import (
    MAX_LENGTH,
    MIN_LENGTH,
    Problem,
    check_new_password,
    common_passwords,
    is_common,
)


def problems(
    password: str, confirmation: str | None = None, username: str = "lucas.p4821"
) -> set[tuple[str, Problem]]:
    confirmation = password if confirmation is None else confirmation
    return {(p.field, p.problem) for p in check_new_password(password, confirmation, username)}


def test_a_good_passphrase_passes() -> None:
    assert problems("blauwe fiets op zolder") == set()
    assert problems("Kw4k-Tr3in-Zeven") == set()


def test_the_list_is_a_few_thousand_lower_case_entries() -> None:
    common = common_passwords()
    assert 3000 <= len(common) <= 20_000
    assert {"wachtwoord", "123456789", "voetbal", "qwertyuiop", "azertyuiop"} <= common
    assert all(entry == entry.casefold() for entry in common)


def test_too_short_and_too_long_are_refused() -> None:
    assert problems("x" * 0) == {("password", Problem.MISSING)}
    assert problems("Kw4k-Tr3i") == {("password", Problem.TOO_SHORT)}
    assert problems("Kw4k-Tr3in" + "z" * MAX_LENGTH) == {("password", Problem.TOO_LONG)}


def test_the_username_is_refused_in_any_case() -> None:
    assert problems("Lucas.P4821") == {("password", Problem.CONTAINS_USERNAME)}
    assert problems("LUCAS.P4821-geheim") == {("password", Problem.CONTAINS_USERNAME)}


def test_common_passwords_are_refused_also_decorated() -> None:
    for weak in (
        "wachtwoord",
        "Wachtwoord123!",
        "voetbal2024!!",
        "P@ssw0rd123",
        "1234567890",
        "azertyuiop",
        "ikhouvanemma",
        "  minecraft2026 ",
        "aaaaaaaaaa",
        "1212121212",
        "Clubbrugge1891",
    ):
        assert problems(weak) == {("password", Problem.COMMON)}, weak


def test_mismatched_confirmation_is_tied_to_the_confirmation_field() -> None:
    assert problems("blauwe fiets op zolder", "blauwe fiets op zold") == {
        ("password_confirm", Problem.MISMATCH)
    }
    assert problems("kort", "anders") == {
        ("password", Problem.TOO_SHORT),
        ("password_confirm", Problem.MISMATCH),
    }


@given(st.text(min_size=0, max_size=MAX_LENGTH + 20))
def test_accepted_passwords_obey_every_rule(password: str) -> None:
    if not check_new_password(password, password, "lucas.p4821"):
        assert MIN_LENGTH <= len(password) <= MAX_LENGTH
        assert "lucas.p4821" not in password.casefold()
        assert password.casefold().strip() not in common_passwords()
        assert not is_common(password)


@given(
    st.sampled_from(sorted(common_passwords())),
    st.sampled_from(["", "1", "123", "!", "2026", "!!"]),
)
def test_every_listed_password_is_refused_with_any_usual_suffix(word: str, suffix: str) -> None:
    assert is_common(word + suffix)
    assert is_common(word.upper() + suffix)
