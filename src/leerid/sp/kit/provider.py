"""One service provider at run time: settings, its database, its protocol, its keys.

The duties that involve a pupil's data go through here, so that each is written to the
privacy log in the same transaction as the access itself.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, select, text

from leerid.errors import ConfigurationError, LeeridError, NotFoundError
from leerid.protocol import IsoDuration, Protocol, load_protocol, status
from leerid.sp.kit import privacy_log
from leerid.sp.kit.dossier import dossier_key_for
from leerid.sp.kit.dossier_settings import DEFAULT_TYPE
from leerid.sp.kit.enrolment_gate import GateDecision, enrolment_gate
from leerid.sp.kit.free_text import refuse_insz
from leerid.sp.kit.keys import ProviderSecrets, load_or_create_secrets
from leerid.sp.kit.last_login import LoginOutcome, record_login
from leerid.sp.kit.login_claims import LoginAttributes
from leerid.sp.kit.models import MIGRATIONS, DossierEntry, PupilRecord, QualityReport
from leerid.sp.kit.need_to_know import (
    Clearance,
    PupilSearch,
    SearchPage,
    SeenPupil,
    clearance,
    held_attributes,
    open_ref,
    refuse_revealing_search,
    seal_ref,
    search,
    shown,
)
from leerid.sp.kit.profiles import check_profiles
from leerid.sp.kit.pupil_app import check_operator
from leerid.sp.kit.settings import SPSettings
from leerid.sp.kit.signed_protocol import ProtocolState, SignedVersion, judge
from leerid.sp.kit.staff import Permissions, permissions
from leerid.sp.kit.who_looked import FUNCTION
from leerid.store.engine import get_engine, session_scope

NOT_SENT = "nog niet verzonden"  # a report has its code once the Department received it
SEARCH_PURPOSE = "art. 4: leerlingen zoeken binnen de eigen scholen"
STATE_SECONDS = 1.0  # how long a process keeps the protocol's state before reading it again


class ProtocolClosedError(PermissionError):
    """Art. 8, 11: after the protocol's end staff no longer see the disclosed data."""


@dataclass(frozen=True)
class Admission:
    decision: GateDecision
    outcome: LoginOutcome | None


@dataclass(frozen=True)
class PupilSnapshot:
    """What the provider holds about one pupil (art. 3: the last login only)."""

    pupil_key: str
    key_kind: str
    account_uuid: str
    given_name: str | None
    family_name: str | None
    orgcodes: tuple[str, ...]
    last_login_at: dt.datetime
    dossier: tuple[tuple[dt.datetime, str, str], ...]
    reports: tuple[tuple[str, str, str, str], ...]  # (code, attribute, problem, status)


class ServiceProvider:
    """The kit's run-time object for one provider (one TOML configuration)."""

    def __init__(
        self, settings: SPSettings, engine: Engine | None = None, *, create: bool = True
    ) -> None:
        """``create=False`` (commands that only read): a missing SQLite file is an error."""
        self.settings = settings
        self.engine = engine or get_engine(
            settings.database_url, migrations=MIGRATIONS, create=create
        )
        # Art. 6 (privacy logs): a database error's message, which the server logs, never
        # shows the statement's values (a pupil's name or keys).
        self.engine.hide_parameters = True
        if settings.protocol_file is None:
            raise ConfigurationError(f"{settings.path}: [protocol] file is required")
        # Art. 11: the local file only names the protocol and is compared with the version
        # both parties signed, as the Department announced it (``signed_protocol``).
        self.local_protocol: Protocol = load_protocol(settings.protocol_file)
        check_operator(  # art. 6 (m-verwerkers): an app run by another party is a processor
            settings.app,
            self.local_protocol.parties.recipient.name,
            settings.processor_list,
            settings.path,
        )
        check_profiles(settings.profiles, self.local_protocol, settings.path)  # art. 3, 4
        self._versions: dict[tuple[str, int], SignedVersion] = {}
        self._state: tuple[float, ProtocolState] | None = None
        self.secrets: ProviderSecrets = load_or_create_secrets(settings.secret_file)

    def ping(self) -> None:
        """One round trip to the database (``/healthz``); raises when it cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # -- protocol terms -------------------------------------------------------------------

    def protocol_state(self) -> ProtocolState:
        """The signed version in force, an out-of-step announcement, the end (art. 8, 11);
        read again after ``STATE_SECONDS`` or ``forget_state`` (a sync applied events)."""
        cached = self._state
        if cached is not None and time.monotonic() - cached[0] < STATE_SECONDS:
            return cached[1]
        with session_scope(self.engine) as session:
            state = judge(session, self.local_protocol, dt.datetime.now(dt.UTC), self._versions)
        self._state = (time.monotonic(), state)
        return state

    def forget_state(self) -> None:
        self._state = None

    @property
    def protocol(self) -> Protocol:
        """The protocol the kit works by (the signed version in force with its end)."""
        return self.protocol_state().protocol

    @property
    def retention_period(self) -> IsoDuration:
        """Art. 3: inactive accounts are deleted after this period (the seed: P3Y)."""
        return self.protocol.retention.inactive_account_deletion

    @property
    def privacy_log_keep(self) -> IsoDuration:
        return IsoDuration.parse(self.settings.privacy_log_keep)

    def permissions(self, role: str) -> Permissions:
        return permissions(self.protocol, role)

    def protocol_status(self, at: dt.datetime | None = None) -> str:
        return str(status(self.protocol, at or dt.datetime.now(dt.UTC)).value)

    # -- the login ------------------------------------------------------------------------

    def admit(self, login: LoginAttributes, at: dt.datetime | None = None) -> Admission:
        """Preamble D, art. 3: admit a pupil of a partner school and record the last login;
        otherwise record the refusal (with a hashed key only: the pupil is not ours)."""
        at = at or dt.datetime.now(dt.UTC)
        refusal = self.protocol_state().refusal(at)
        if refusal is not None:  # art. 8, 11: no protocol signed and in force, no data
            decision = GateDecision(False, refusal)
        else:
            decision = enrolment_gate(login.orgcodes, self.settings.partner_schools)
        outcome = None
        with session_scope(self.engine) as session:
            if decision.admitted:
                outcome = record_login(session, login, at)
            else:
                privacy_log.append(
                    session,
                    actor="systeem",
                    action="toegang_geweigerd",
                    purpose="preambule D, art. 3: geen inschrijving in een partnerschool",
                    detail={
                        "reden": decision.reason,
                        "sleutel_sha256": privacy_log.hash_key(login.pupil_key),
                    },
                    at=at,
                )
        return Admission(decision, outcome)

    # -- what a pupil sees of themselves ---------------------------------------------------

    def snapshot(self, pupil_key: str) -> PupilSnapshot | None:
        with session_scope(self.engine) as session:
            return self._snapshot(session, pupil_key)

    def snapshot_in(self, session: Any, pupil_key: str) -> PupilSnapshot | None:
        """The snapshot inside the caller's transaction (the pupil's access request logs in
        the same one: ``access_request.request_copy``)."""
        return self._snapshot(session, pupil_key)

    def _snapshot(self, session: Any, pupil_key: str) -> PupilSnapshot | None:
        record = session.get(PupilRecord, pupil_key)
        if record is None:
            return None
        dossier = tuple(
            (e.created_at, e.author, e.text)
            for e in session.scalars(
                select(DossierEntry)
                .where(DossierEntry.pupil_key == pupil_key)
                .order_by(DossierEntry.id)
            )
        )
        reports = tuple(
            (r.remote_id or NOT_SENT, r.attribute, r.problem, r.status)
            for r in session.scalars(
                select(QualityReport)
                .where(QualityReport.pupil_key == pupil_key)
                .order_by(QualityReport.id)
            )
        )
        return PupilSnapshot(
            record.pupil_key,
            record.key_kind,
            record.account_uuid,
            record.given_name,
            record.family_name,
            tuple(c for c in record.orgcodes.split(",") if c),
            record.last_login_at,
            dossier,
            reports,
        )

    # -- what staff see -------------------------------------------------------------------

    def _require(
        self, role: str, *, pupil_data: bool = False, log: bool = False, actor: str | None = None
    ) -> Clearance | None:
        """Art. 8, 11 (the protocol in force), art. 4 (the role), and for pupil data art. 6
        (bound by confidentiality and trained) and art. 4 (the person's clearance)."""
        if pupil_data and self.protocol_state().ended(dt.datetime.now(dt.UTC)):
            raise ProtocolClosedError(
                "the protocol has ended: no access to the disclosed data (art. 8, 11)"
            )
        perms = self.permissions(role)
        if (pupil_data and not perms.sees_pupil_data) or (log and not perms.sees_privacy_log):
            raise PermissionError(f"role {role} may not see this (art. 4)")
        if not pupil_data:
            return None
        if actor is None:
            raise PermissionError("pupil data only for a named member of staff (art. 4, 6)")
        with session_scope(self.engine) as session:
            return clearance(session, self.settings.profiles, self.protocol, actor, role)

    def _cleared(self, actor: str, role: str) -> Clearance:
        cleared = self._require(role, pupil_data=True, actor=actor)
        assert cleared is not None  # pupil_data=True always answers a clearance
        return cleared

    def open_ref(self, actor: str, ref: str) -> str | None:
        """The pupil key behind a page's reference (made for ``actor`` only), or None."""
        return open_ref(self.secrets.session_key, actor, ref)

    def search_pupils(
        self, actor: str, role: str, query: PupilSearch, purpose: str = SEARCH_PURPOSE
    ) -> SearchPage:
        """Art. 4: the pupils of the person's schools, their profile's attributes only; every
        search is logged with the criteria used (not the name typed) and the count (art. 6)."""
        cleared = self._cleared(actor, role)
        refuse_revealing_search(cleared, query)  # art. 4, second indent
        with session_scope(self.engine) as session:
            found = search(session, cleared, query, self.secrets.session_key)
            privacy_log.append(
                session,
                actor=actor,
                action="leerlingen_gezocht",
                purpose=purpose,
                detail={
                    FUNCTION: cleared.function,
                    "criteria": found.criteria,
                    "pagina": found.page,
                    "aantal": len(found.pupils),
                },
            )
            return found

    def list_pupils(self, actor: str, role: str, purpose: str) -> list[SeenPupil]:
        """Art. 4: the first page of the person's pupils, newest login first (logged)."""
        return list(self.search_pupils(actor, role, PupilSearch(), purpose).pupils)

    def _check_scope(self, cleared: Clearance, pupil_key: str, act: str) -> None:
        """Art. 4: the pupil must be of the person's schools; outside them the refusal is
        logged and answered as "not found" (no one learns which keys exist)."""
        with session_scope(self.engine) as session:
            record = session.get(PupilRecord, pupil_key)
            outside = record is not None and not cleared.in_scope(record.orgcodes)
            if outside:
                privacy_log.append(
                    session,
                    actor=cleared.username,
                    action="toegang_buiten_scope",
                    purpose=f"art. 4: {act} buiten de eigen scholen geweigerd",
                    detail={FUNCTION: cleared.function},
                    pupil_key=pupil_key,
                )
        if record is None or outside:
            raise NotFoundError("no pupil under this key")

    def check_access(self, actor: str, role: str, pupil_key: str, act: str) -> Clearance:
        """Art. 4 and 6: the clearance of ``actor`` if they may act on this pupil (bound, the
        pupil of their schools); otherwise PermissionError or NotFoundError."""
        cleared = self._cleared(actor, role)
        self._check_scope(cleared, pupil_key, act)
        return cleared

    def view_pupil(self, actor: str, role: str, pupil_key: str, purpose: str) -> SeenPupil:
        """Art. 4 and 6: who saw which pupil, when, why and in which function is logged."""
        cleared = self._cleared(actor, role)
        if not purpose.strip():
            raise LeeridError("give the purpose of this view")
        refuse_insz(purpose, "purpose")
        self._check_scope(cleared, pupil_key, "inzage")
        with session_scope(self.engine) as session:
            record = session.get(PupilRecord, pupil_key)
            snapshot = self._snapshot(session, pupil_key)
            if record is None or snapshot is None:  # purged in between
                raise NotFoundError("no pupil under this key")
            privacy_log.append(
                session,
                actor=actor,
                action="leerling_bekeken",
                purpose=purpose.strip()[:200],
                pupil_key=pupil_key,
                detail={FUNCTION: cleared.function},
            )
            held = held_attributes(
                record.pupil_key,
                record.key_kind,
                record.account_uuid,
                (record.given_name, record.family_name),
                record.orgcodes,
            )
            return SeenPupil(
                seal_ref(self.secrets.session_key, actor, pupil_key),
                shown(cleared, held),
                snapshot.last_login_at,
                snapshot.dossier,
                snapshot.reports,
            )

    def add_dossier_entry(
        self, actor: str, role: str, pupil_key: str, text: str, record_type: str = DEFAULT_TYPE
    ) -> None:
        """Art. 3: an entry in the CLB's own dossier, under the pupil's internal dossier key
        (assigned at the first entry); art. 4, 6: by a bound person of the pupil's schools,
        logged with the author's function."""
        cleared = self._cleared(actor, role)
        self._check_scope(cleared, pupil_key, "dossier")
        refuse_insz(text, "dossier")
        types = self.settings.dossier.record_types
        if record_type not in types:
            raise LeeridError(
                f"record type {record_type!r} is not configured; use one of {', '.join(types)} "
                f"([dossier] record_types in {self.settings.path})"
            )
        with session_scope(self.engine) as session:
            # locked: a purge running now cannot delete the record under the new entry (art. 3)
            if session.get(PupilRecord, pupil_key, with_for_update=True) is None:
                raise NotFoundError("no pupil under this key")
            session.add(
                DossierEntry(
                    pupil_key=pupil_key,
                    dossier_key=dossier_key_for(session, pupil_key),
                    record_type=record_type,
                    created_at=dt.datetime.now(dt.UTC),
                    author=actor,
                    text=text,
                )
            )
            privacy_log.append(
                session,
                actor=actor,
                action="dossier_aangevuld",
                purpose="LARS: activiteit geregistreerd",
                pupil_key=pupil_key,
                detail={FUNCTION: cleared.function, "soort": record_type},
            )

    def counts(self) -> dict[str, int]:
        with session_scope(self.engine) as session:
            return {
                "leerlingen": int(
                    session.scalar(select(func.count()).select_from(PupilRecord)) or 0
                ),
                "meldingen_open": int(
                    session.scalar(
                        select(func.count())
                        .select_from(QualityReport)
                        .where(QualityReport.status.not_in(("gesloten", "geweigerd")))
                    )
                    or 0
                ),
            }
