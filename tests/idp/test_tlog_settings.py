"""Issue 12: the log's settings (``LEERID_TLOG_*``) and its origin, which never changes."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from leerid.errors import ConfigurationError
from leerid.idp.settings import IdpSettings
from leerid.idp.store.tlog.checkpoints import log_origin
from leerid.idp.store.tlog.integrate import integrate_once
from tests.idp import tlog_kit


def test_the_origin_is_the_issuer_without_scheme_plus_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """C2SP tlog-tiles: the origin is the log's URL prefix without the scheme."""
    for name in ("LEERID_TLOG_ORIGIN", "LEERID_TLOG_INTERVAL", "LEERID_TLOG_LEASE"):
        monkeypatch.delenv(name, raising=False)
    settings = IdpSettings(issuer="https://leerid.example/op/")
    assert (settings.tlog_origin, settings.tlog_origin_set) == ("leerid.example/op/log", False)
    assert (settings.tlog_interval, settings.tlog_lease) == (1.0, 5.0)
    given = IdpSettings(issuer="https://leerid.example/op", tlog_origin="dov.example/log")
    assert (given.tlog_origin, given.tlog_origin_set) == ("dov.example/log", True)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("LEERID_TLOG_ORIGIN", "leerid example/log", "not a log origin"),
        ("LEERID_TLOG_ORIGIN", "a+b", "not a log origin"),
        ("LEERID_TLOG_INTERVAL", "soon", "not a number of seconds"),
        ("LEERID_TLOG_INTERVAL", "0", "at least 0.05"),
        ("LEERID_TLOG_LEASE", "nan", "at least 0.1"),
        ("LEERID_TLOG_LEASE", "0.5", "must be longer than LEERID_TLOG_INTERVAL"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=says):
        IdpSettings()


def test_a_log_keeps_its_origin(engine: Engine) -> None:
    """A derived origin yields to the stored checkpoints' (the issuer moved: same log); a
    given one that differs is refused (it would start another log under the same key)."""
    assert log_origin(engine, "new.example/op/log", explicit=True) == "new.example/op/log"
    tlog_kit.append(engine, 1)
    integrate_once(engine, tlog_kit.signer(engine), checkpoint_every=0)
    assert log_origin(engine, "new.example/op/log", explicit=False) == tlog_kit.ORIGIN
    assert log_origin(engine, tlog_kit.ORIGIN, explicit=True) == tlog_kit.ORIGIN
    with pytest.raises(ConfigurationError, match=f"LEERID_TLOG_ORIGIN={tlog_kit.ORIGIN}"):
        log_origin(engine, "new.example/op/log", explicit=True)
