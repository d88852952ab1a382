"""Art. 4: onward recipients, notified to DOV beforehand, and exports to them or refusals.

"Elke eventuele mededeling van de gevraagde persoonsgegevens door de Dienstenleverancier moet
voorafgaandelijk aan DOV worden gemeld [...]. In het bijzonder is het niet toegelaten dat de
Dienstenleverancier de gegevens zoals vermeld in artikel 3 meedeelt aan andere
dienstenleveranciers die (willen) aansluiten op Leer_ID." A real identity provider and a real
SMTP server on loopback, LARS's database on the same backend; the commands run as a user runs
them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from stdnum.be import vat

from leerid.errors import LeeridError
from leerid.idp.store.notices import list_notices
from leerid.sp.kit import privacy_log
from leerid.sp.kit.dpo_log import for_dpo
from leerid.sp.kit.models import OnwardExport, PrivacyLogEntry, PupilRecord
from leerid.sp.kit.need_to_know import Clearance
from leerid.sp.kit.notices import attempt_delivery
from leerid.sp.kit.onward import _keep, _keep_notice, kbo_option, list_recipients, recipient_by_kbo
from leerid.sp.kit.onward_export import exportable_attributes
from leerid.sp.kit.passed_on import passed_on
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.settings import load_settings
from leerid.sp.kit.staff import add_staff
from leerid.sp.kit.who_looked import looks_at
from leerid.store.engine import make_engine, session_scope
from leerid.testing import seeding
from leerid.testing.protocol_confirmation import confirm_local_protocol
from leerid.testing.servers import free_port
from tests.conftest import BACKENDS, Leerid, fresh_database
from tests.idp_server import REDIRECT_URI, RunningIdp, running_idp
from tests.sp.conftest import add_bound_staff, write_config
from tests.sp.test_breaches_mail import Inbox

SECRET_ENV = "LARS_TEST_SECRET"
IN_SCOPE, OTHER_SCHOOL = "012345", "023456"
PASSWORD = "een-lang-wachtwoord-1"


def kbo(prefix: int) -> str:
    """A valid KBO number from an 8-digit prefix (check digits: 97 - prefix mod 97)."""
    digits = f"{prefix:08d}{97 - prefix % 97:02d}"
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


@dataclass
class World:
    idp: RunningIdp
    config: Path
    dead_config: Path  # the same LARS, with DOV unreachable
    inbox: Inbox
    lars: ServiceProvider
    env: dict[str, str]
    other_kbo: str  # the organisation of another LeerID client


@pytest.fixture(scope="module", params=BACKENDS)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("onward")
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with (
        fresh_database(request.param, folder) as dov_url,
        fresh_database(request.param, folder, "lars.db") as lars_url,
        running_idp(dov_url) as idp,
    ):
        engine = make_engine(dov_url)
        other = kbo(2022399)
        seeding.register_client(
            engine,
            protocol_id=idp.seed.protocol_id,
            redirect_uris=[REDIRECT_URI],
            name="Ander leerplatform",
            kbo=other,
        )
        engine.dispose()
        auth = f'auth_method = "client_secret_basic"\nclient_secret_env = "{SECRET_ENV}"'
        configs = [
            write_config(
                folder / name,
                lars_url,
                issuer=issuer,
                client_id=idp.client_id,
                smtp_port=smtp.port,
                auth=auth,
            )
            for name, issuer in (("lars", idp.issuer), ("dead", "http://127.0.0.1:9/op"))
        ]
        for config in configs:
            text = config.read_text(encoding="utf-8")
            config.write_text(text + '\n[dov]\ndpo_email = "dpo@dov.example"\n', "utf-8")
        lars = ServiceProvider(load_settings(configs[0]), create=True)
        confirm_local_protocol(lars)
        _staff_and_pupils(lars)
        env = {"LEERID_DATABASE_URL": dov_url, SECRET_ENV: idp.client_secret}
        yield World(idp, configs[0], configs[1], inbox, lars, env, other)
        lars.engine.dispose()
    smtp.stop()


def _staff_and_pupils(lars: ServiceProvider) -> None:
    """A counsellor serving one school, one not yet bound by confidentiality (art. 6), a
    colleague whose role sees no pupils, three pupils."""
    add_bound_staff(lars, "an", PASSWORD, schools=(IN_SCOPE,))
    add_staff(lars.engine, lars.protocol, "bo", PASSWORD, "toegangscontrole", schools=(IN_SCOPE,))
    add_staff(lars.engine, lars.protocol, "mo", PASSWORD, "medewerker")
    now = dt.datetime.now(dt.UTC)
    with session_scope(lars.engine) as session:
        for family, school in (("Peeters", IN_SCOPE), ("Claes", IN_SCOPE), ("Jacobs", "099999")):
            session.add(
                PupilRecord(
                    pupil_key=str(uuid.uuid4()),
                    key_kind="leer_id_uuid",
                    account_uuid=str(uuid.uuid4()),
                    given_name="Lien",
                    family_name=family,
                    orgcodes=school,
                    last_login_at=now,
                )
            )


def _notify(w: World, leerid: Leerid, number: str, *more: str) -> tuple[int, str]:
    args = ["sp", "onward", "notify", "--config", str(w.config), "--recipient", "Stad Gent"]
    args += ["--kbo", number, "--purpose", "Leerlingenvervoer plannen"]
    return leerid([*args, "--legal-basis", "Decreet basisonderwijs art. 3", *more], w.env)


def _export(w: World, leerid: Leerid, number: str, out: Path, *more: str) -> tuple[int, str]:
    args = ["sp", "onward", "export", "--config", str(w.config), "--recipient", number]
    return leerid([*args, "--out", str(out), *more], w.env)


def _log(w: World, action: str) -> list[dict[str, object]]:
    with session_scope(w.lars.engine) as session:
        rows = session.scalars(
            select(PrivacyLogEntry.detail)
            .where(PrivacyLogEntry.action == action)
            .order_by(PrivacyLogEntry.seq)
        ).all()
    return [json.loads(r) for r in rows]


def test_a_notified_recipient_reaches_dov_and_an_export_to_it_is_written_and_logged(
    world: World, leerid: Leerid, tmp_path: Path
) -> None:
    w, number = world, kbo(2074512)
    code, err = _notify(w, leerid, number.replace(".", ""))
    assert code == 0, err
    engine = make_engine(w.idp.database_url)
    (notice,) = [n for n in list_notices(engine) if n.kind == "doorgifte"]
    engine.dispose()
    assert notice.client_id == w.idp.client_id
    assert notice.onward_recipient == {
        "name": "Stad Gent",
        "kbo": number,
        "purpose": "Leerlingenvervoer plannen",
        "legal_basis": "Decreet basisonderwijs art. 3",
    }
    mail = w.inbox.messages[-1]
    assert mail["To"] == "dpo@dov.example" and f"(KBO {number})" in mail.get_payload()
    code, _ = leerid(["sp", "onward", "list", "--config", str(w.config), "--json"], w.env)
    assert code == 0
    (kept,) = [r for r in list_recipients(w.lars) if r.kbo == number]
    assert kept.notified_at is not None and kept.leerid_service_provider is False
    code, err = _notify(w, leerid, number)
    assert code == 1 and "registered already" in err  # notified once, not twice

    out = tmp_path / "gent.json"
    code, err = _export(
        w, leerid, f"BE{number.replace('.', '')}", out, "--actor", "an", "--school", IN_SCOPE,
        "--attributes", "naam,leer_id_uuid",
    )  # fmt: skip
    assert code == 0, err
    content = out.read_bytes()
    body = json.loads(content)
    assert body["ontvanger"]["kbo"] == number and body["attributen"] == ["naam", "leer_id_uuid"]
    assert sorted(p["naam"] for p in body["leerlingen"]) == ["Claes", "Peeters"]
    assert all(set(p) == {"naam", "leer_id_uuid"} for p in body["leerlingen"])
    digest = hashlib.sha256(content).hexdigest()
    with session_scope(w.lars.engine) as session:
        row = session.scalars(select(OnwardExport).order_by(OnwardExport.id.desc())).first()
        assert row is not None
        assert (row.actor, row.pupils, row.content_sha256) == ("an", 2, digest)
    assert _log(w, "doorgifte")[-1] == {
        "functie": "Medewerkers belast met de toegangscontrole",
        "ontvanger_kbo": number,
        "aantal": 2,
        "attributen": ["naam", "leer_id_uuid"],
        "sha256": digest,
    }
    assert "Peeters" not in json.dumps(_log(w, "doorgifte"))  # never a name in the log
    _each_pupil_passed_on_is_logged(w, row.id, number, body)


def _each_pupil_passed_on_is_logged(
    w: World, export_id: int, number: str, body: dict[str, Any]
) -> None:
    """GDPR art. 15(1)(c): per pupil in the file, an entry under the pupil's key, written with
    the export (its seq follows the ``doorgifte`` entry); the DPO sees a pseudonym only, and
    ``who_looked`` does not count an export as a look at the file."""
    with session_scope(w.lars.engine) as session:
        summary = session.scalars(
            select(PrivacyLogEntry)
            .where(PrivacyLogEntry.action == "doorgifte")
            .order_by(PrivacyLogEntry.seq.desc())
        ).first()
        assert summary is not None
        each = session.scalars(
            select(PrivacyLogEntry)
            .where(PrivacyLogEntry.seq > summary.seq)
            .order_by(PrivacyLogEntry.seq)
        ).all()
        keys = [p["leer_id_uuid"] for p in body["leerlingen"]]
        assert [e.action for e in each] == ["doorgegeven"] * len(keys)
        assert sorted(e.pupil_key or "" for e in each) == sorted(keys)
        assert [e.seq for e in each] == list(range(summary.seq + 1, summary.seq + 1 + len(keys)))
        for entry in each:
            assert json.loads(entry.detail) == {
                "functie": "Medewerkers belast met de toegangscontrole",
                "ontvanger_kbo": number,
                "export": export_id,
                "attributen": ["naam", "leer_id_uuid"],
            }
            masked = for_dpo(entry, w.lars.secrets)
            assert masked.pupil == privacy_log.pseudonym(w.lars.secrets, entry.pupil_key or "")
            assert entry.pupil_key not in repr(masked) and "Peeters" not in entry.detail
            assert looks_at(session, entry.pupil_key or "") == []
        (line,) = passed_on(session, keys[0], {"naam": "family_name"})
    assert (line.recipient, line.kbo, line.purpose) == (
        "Stad Gent",
        number,
        "Leerlingenvervoer plannen",
    )
    assert line.claims == ("family_name", "leer_id_uuid")


def test_refused_exports_are_logged_and_write_no_file(
    world: World, leerid: Leerid, tmp_path: Path
) -> None:
    w, notified, unknown = world, kbo(6000001), kbo(4000001)
    assert _notify(w, leerid, notified)[0] == 0
    out = tmp_path / "x.json"
    cases = [
        (unknown, ["--actor", "an", "--school", IN_SCOPE], "niet_gemeld", "not notified"),
        (notified, ["--actor", "an", "--school", OTHER_SCHOOL], "buiten_bereik", "outside"),
        (notified, ["--actor", "mo", "--school", IN_SCOPE], "geen_toegang", "may not see"),
        (notified, ["--actor", "bo", "--school", IN_SCOPE], "niet_gebonden", "art. 6"),
        (notified, ["--actor", "zoe", "--school", IN_SCOPE], "geen_toegang", "no active staff"),
        (
            notified,
            ["--actor", "an", "--school", IN_SCOPE, "--attributes", "naam,insz"],
            "attribuut_niet_toegelaten",
            "'insz' is not an attribute of art. 3",
        ),
    ]
    for number, more, reason, words in cases:
        before = len(_log(w, "doorgifte_geweigerd"))
        code, err = _export(w, leerid, number, out, *more)
        assert code == 1 and words in err, err
        assert "Traceback" not in err and not out.exists()
        refusals = _log(w, "doorgifte_geweigerd")
        assert len(refusals) == before + 1
        assert refusals[-1] == {"reden": reason, "ontvanger_kbo": number}

    dead = ["sp", "onward", "export", "--config", str(w.dead_config), "--recipient", notified]
    code, err = leerid([*dead, "--out", str(out), "--actor", "an", "--school", IN_SCOPE], w.env)
    assert code == 1 and "DOV cannot be reached" in err and not out.exists()
    assert _log(w, "doorgifte_geweigerd")[-1]["reden"] == "dov_onbereikbaar"


def test_a_leerid_service_provider_is_refused_at_notice_and_at_export(
    world: World, leerid: Leerid, tmp_path: Path
) -> None:
    w = world
    for number in (w.other_kbo, "0473.721.472"):  # another client; LARS itself (its protocol)
        code, err = _notify(w, leerid, number)
        assert code == 1 and "is a LeerID service provider" in err, err
    code, _ = leerid(["sp", "onward", "list", "--config", str(w.config)], w.env)
    assert code == 0
    refused = {r.kbo: r for r in list_recipients(w.lars)}[w.other_kbo]
    assert refused.leerid_service_provider is True and refused.notified_at is None
    engine = make_engine(w.idp.database_url)
    announced = [n.onward_recipient for n in list_notices(engine) if n.kind == "doorgifte"]
    assert all(r and r["kbo"] != w.other_kbo for r in announced)

    later = kbo(3000001)  # notified today, a LeerID client tomorrow: DOV is asked again
    assert _notify(w, leerid, later)[0] == 0
    seeding.register_client(
        engine,
        protocol_id=w.idp.seed.protocol_id,
        redirect_uris=[REDIRECT_URI],
        name="Nieuw platform",
        kbo=later,
    )
    engine.dispose()
    out = tmp_path / "y.json"
    code, err = _export(w, leerid, later, out, "--actor", "an", "--school", IN_SCOPE)
    assert code == 1 and "forbids" in err and not out.exists()
    assert _log(w, "doorgifte_geweigerd")[-1] == {
        "reden": "leerid_dienstenleverancier",
        "ontvanger_kbo": later,
    }


def test_bad_input_to_notify_is_a_clear_error(world: World, leerid: Leerid) -> None:
    w = world
    for args, words in (
        (["--kbo", "0473.721.473"], "fails its check digits"),
        (["--kbo", "2473.721.472"], "starting with 0 or 1"),
        (["--purpose", " "], "--purpose is required"),
        (["--legal-basis", "rijksregisternr 12031512345"], "national register number"),
    ):
        base = {"--kbo": kbo(5000001), "--purpose": "Vervoer", "--legal-basis": "Decreet"}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        flat = [x for pair in base.items() for x in pair]
        code, err = leerid(
            ["sp", "onward", "notify", "--config", str(w.config), "--recipient", "X", *flat],
            w.env,
        )
        assert code == 1 and words in err and "Traceback" not in err, err


@given(st.from_regex(r"\A\d{10}\Z"))
def test_a_kbo_number_is_accepted_exactly_when_its_check_digits_hold(digits: str) -> None:
    """Art. 4: DOV's registry decides by KBO number; a mistyped one never reaches it."""
    try:
        shown = kbo_option(digits)
    except LeeridError as exc:
        assert not vat.is_valid(digits), digits
        assert "--kbo" in exc.message
        return
    assert vat.is_valid(digits) and shown.replace(".", "") == digits
    assert kbo_option(f"BE{digits}") == shown == kbo_option(shown)


@given(st.integers(0, 19_999_999), st.integers(0, 99))
def test_a_wrong_check_is_refused(prefix: int, check: int) -> None:
    digits = f"{prefix:08d}{check:02d}"
    if 97 - prefix % 97 == check:
        return
    with pytest.raises(LeeridError, match="--kbo"):
        kbo_option(digits)


def test_a_notice_that_was_only_mailed_counts_and_resend_posts_it(
    world: World, leerid: Leerid
) -> None:
    """The issue: "delivered to DOV [...] or by e-mail to DOV's DPO": the e-mail notifies."""
    w, number = world, kbo(7000001)
    recipient = _keep(w.lars, "Gemeente Aalst", number, "Vervoer", "Decreet", "dpo")
    notice_id = _keep_notice(w.lars, recipient, "dpo")
    offline = ServiceProvider(load_settings(w.dead_config))  # DOV down, its DPO's mail up

    async def attempt() -> list[str]:
        rp = RelyingParty(offline.settings)
        try:
            return (await attempt_delivery(offline, rp, notice_id))[1]
        finally:
            await rp.aclose()

    problems = asyncio.run(attempt())
    offline.engine.dispose()
    assert len(problems) == 1 and "cannot" in problems[0]
    assert f"Gemeente Aalst (KBO {number})" in w.inbox.messages[-1].get_payload()
    assert recipient_by_kbo(w.lars, number).notified_at is not None
    code, err = leerid(
        ["sp", "notices", "resend", str(notice_id), "--config", str(w.config)], w.env
    )
    assert code == 0, err
    engine = make_engine(w.idp.database_url)
    kbos = [n.onward_recipient and n.onward_recipient["kbo"] for n in list_notices(engine)]
    engine.dispose()
    assert number in kbos


def test_a_function_profile_narrows_what_may_be_passed_on(world: World) -> None:
    """Art. 4, second indent: only the attributes the person's function profile shows."""
    cleared = Clearance("an", "toegangscontrole", "Onthaal", frozenset({IN_SCOPE}), None)
    everything = exportable_attributes(world.lars, cleared)
    assert everything == ["naam", "voornaam", "leer_id_uuid", "account_uuid", "instellingsnummer"]
    onthaal = dataclasses.replace(cleared, attributes=frozenset({"voornaam", "instellingsnummer"}))
    assert exportable_attributes(world.lars, onthaal) == ["voornaam", "instellingsnummer"]
