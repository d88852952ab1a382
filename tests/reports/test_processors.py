"""Art. 6: a processor list is checked with clear errors, the same in the kit and at DOV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leerid.errors import ConfigurationError
from leerid.insz_text import looks_like_insz
from leerid.processors import load_processor_file, parse_processors
from leerid.sp.kit.settings import load_settings
from tests.sp.conftest import write_config

GOOD = {"name": "Hoster NV", "purpose": "hosting", "location": "BE", "since": "2024-03-01"}


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ({**GOOD, "name": " "}, "processor 1: name is required"),
        ({k: v for k, v in GOOD.items() if k != "since"}, "since is required"),
        ({**GOOD, "since": "maart"}, "is not a date"),
        ({**GOOD, "colour": "blue"}, "unknown key(s) colour"),
        ("Hoster NV", "write each processor as a table"),
    ],
)
def test_a_bad_processor_is_named_with_its_key(entry: object, words: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        parse_processors([entry], "lars.toml [[processors]]")
    assert words in refused.value.message and "lars.toml" in refused.value.message


def test_a_processor_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="listed twice"):
        parse_processors([GOOD, {**GOOD, "name": "hoster nv"}], "x")


def test_the_kit_reads_processors_and_dovs_file(tmp_path: Path) -> None:
    config = write_config(tmp_path, "sqlite:///x.db")
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text + '\n[[processors]]\nname = "Hoster NV"\npurpose = "hosting"\n'
        'location = "BE"\nsince = 2024-03-01\n\n[dov]\ndpo_email = "dpo@dov.example"\n',
        encoding="utf-8",
    )
    settings = load_settings(config)
    assert [p.since for p in settings.processor_list] == [dt.date(2024, 3, 1)]
    assert settings.dov_dpo_email == "dpo@dov.example" and settings.processors == ("Hoster NV",)
    config.write_text(
        text.replace('"Hoster NV"', '"Ander NV"') + "\n[[processors]]\n"
        'name = "Hoster NV"\npurpose = "h"\nlocation = "BE"\nsince = 2024-03-01\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match="name different processors"):
        load_settings(config)
    dov = tmp_path / "dov.json"
    dov.write_text('[{"name": "DV", "purpose": "ACM", "location": "BE", "since": "2022-01-01"}]')
    assert load_processor_file(dov)[0].name == "DV"
    dov.write_text("{not json")
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        load_processor_file(dov)


@given(
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.lists(st.sampled_from(["", ".", "-", " "]), min_size=4, max_size=4),
    st.text(alphabet="abc .-", max_size=10),
)
def test_the_one_insz_rule_finds_eleven_digits_however_written(
    digits: str, seps: list[str], around: str
) -> None:
    """Art. 3: YYMMDDSSSCC together or as YY.MM.DD-SSS.CC is found; ten digits are not."""
    cut = [digits[:2], digits[2:4], digits[4:6], digits[6:9], digits[9:]]
    written = cut[0] + "".join(sep + part for sep, part in zip(seps, cut[1:], strict=True))
    assert looks_like_insz(f"{around}{written}{around}")
    assert not looks_like_insz(f"{around}{digits[:10]}{around}")
