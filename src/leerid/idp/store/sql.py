"""The provider's store on SQLAlchemy: ``IdpStore`` over the three pools of a process."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from leerid.idp.login.activation_codes import Activation, complete_activation, find_activation
from leerid.idp.oauth.rfc8417 import SigningKey
from leerid.idp.release import today
from leerid.idp.store import event_publisher, grants
from leerid.idp.store import events as _events
from leerid.idp.store import exchange as _exchange
from leerid.idp.store._fast_path import HotStatement, renew_together
from leerid.idp.store.assertions import remember_jti
from leerid.idp.store.disclosures import (
    DisclosureEntry,
    DisclosureRecord,
    pupil_history,
    write_disclosure,
    write_private_record,
)
from leerid.idp.store.exchange import CodeExchange, RefreshRotation
from leerid.idp.store.grants import AccessGrant, CodeGrant, RefreshGrant
from leerid.idp.store.interface import Credential, ProtocolEnded
from leerid.idp.store.models import IdpEndedSession
from leerid.idp.store.my_data import MyDisclosure, my_disclosures
from leerid.idp.store.pupils import account_status, fetch_pupil, pupil_from_row
from leerid.idp.store.quality_reports import ReportView
from leerid.idp.store.report_directions import add_pupil_report
from leerid.idp.store.tlog.append import LogAppendError, pupil_secret
from leerid.protocol import PupilClaims
from leerid.registry.models import Account, Pupil
from leerid.registry.models import Credential as CredentialRow

__all__ = ["SqlConnection", "SqlStore", "renew_together"]

_CODE_USE_WITH_PUPIL = grants.code_use_with_pupil()
_TOKEN_WITH_PUPIL = grants.grant_with_pupil(
    (*grants.ACCESS_COLUMNS, grants.client_protocol().label("client_protocol_id")),
    grants.G.c.access_token_hash,
    grants.client_protocol(),
)
_CREDENTIAL = HotStatement(
    select(CredentialRow.account_uuid, CredentialRow.password_hash, account_status())
    .join(Account, Account.account_uuid == CredentialRow.account_uuid)
    .join(Pupil, Pupil.id == Account.pupil_id)  # art. 3: a retired pupil's accounts are too
    .where(CredentialRow.username == bindparam("b_username"))
)
_ENDED = HotStatement(select(IdpEndedSession.sid).where(IdpEndedSession.sid == bindparam("b_sid")))


class SqlConnection:
    """``StoreConnection`` on one SQLAlchemy connection (autocommit)."""

    def __init__(self, conn: Connection, engine: Engine, secret: bytes) -> None:
        self._conn = conn
        self._engine = engine  # for the transactions of an exchange off PostgreSQL
        self._secret = secret  # the pupils' pseudonyms in log entries (issue 12 §1)

    def may_issue_code(
        self,
        *,
        now: dt.datetime,
        unless_session_ended: str | None = None,
        unless_protocol_ended: str | None = None,
    ) -> bool:
        """See ``leerid.idp.store.grants.may_issue_code``."""
        return grants.may_issue_code(
            self._conn,
            now=now,
            unless_session_ended=unless_session_ended,
            unless_protocol_ended=unless_protocol_ended,
        )

    def code_with_pupil(
        self, grant: CodeGrant, on: dt.date, protocol_id: str
    ) -> tuple[bool, PupilClaims | None, bool]:
        """Whether the code was redeemed, the pupil and whether ``protocol_id`` has a
        recorded end, in one statement."""
        statement = _CODE_USE_WITH_PUPIL[self._conn.dialect.name]
        params = {
            "b_id": grant.grant_id,
            "b_account": grant.account_uuid,
            "b_protocol_id": protocol_id,
            "on": on,
        }
        row = statement(self._conn, params).first()
        pupil = pupil_from_row(row, grant.account_uuid)
        return bool(row.used), pupil, bool(row.protocol_ended)

    def access_with_pupil(
        self, token: str, now: dt.datetime
    ) -> tuple[AccessGrant | None, PupilClaims | None, ProtocolEnded]:
        """A live access token's grant, the pupil and the end of its client's protocol, in
        one statement."""
        statement = _TOKEN_WITH_PUPIL[self._conn.dialect.name]
        params = {"b_hash": grants.token_hash(token), "on": today(now)}
        row = statement(self._conn, params).first()
        grant = grants.access_grant_from_row(row, now)
        if grant is None:
            return None, None, (None, False)
        ended = (row.client_protocol_id, bool(row.protocol_ended))
        return grant, pupil_from_row(row, grant.account_uuid), ended

    def exchange_code(
        self, grant: CodeGrant, exchange: CodeExchange, disclosure: DisclosureEntry
    ) -> bytes | None:
        """See ``leerid.idp.store.exchange.exchange_code``."""
        return _exchange.exchange_code(
            self._conn, self._engine, grant, exchange, disclosure, self._secret
        )

    def record_disclosure(self, entry: DisclosureEntry) -> bytes:
        """The record and its entry: one statement on this connection (PostgreSQL), else
        one transaction (see ``write_disclosure``)."""
        return write_disclosure(self._conn, self._engine, entry, self._secret)


class SqlStore:
    """``IdpStore`` on the pools ``create_app`` builds (see ``IdpContext``)."""

    def __init__(self, engine: Engine, autocommit: Engine) -> None:
        self.engine = engine
        self.autocommit = autocommit
        self.pupil_secret = pupil_secret(engine)
        """Issue 12 §1: the key of the pupils' pseudonyms, read once per process."""

    @contextmanager
    def connect(self) -> Iterator[SqlConnection]:
        """An autocommit connection for reads and single-statement writes."""
        with self.autocommit.connect() as conn:
            yield SqlConnection(conn, self.engine, self.pupil_secret)

    def record_disclosure(self, entry: DisclosureEntry) -> bytes:
        """The record and its entry on an autocommit connection (see ``write_disclosure``)."""
        with self.autocommit.connect() as conn:
            return write_disclosure(conn, self.engine, entry, self.pupil_secret)

    def record_refusal(self, entry: DisclosureEntry) -> None:
        """A refused login, in the private record only (see ``write_private_record``)."""
        with self.autocommit.connect() as conn:
            write_private_record(conn, entry)

    def revoke_code_tokens(self, grant_id: str, now: dt.datetime) -> None:
        """RFC 6749 §4.1.2: revoke the tokens issued from a code used twice."""
        with self.engine.begin() as tx:
            grants.revoke_grant_tokens(tx, grant_id, now)

    def find_refresh_token(self, token: str) -> RefreshGrant | None:
        """The row of a refresh token, or None."""
        with self.autocommit.connect() as conn:
            return grants.find_refresh_token(conn, token)

    def rotate_refresh_token(
        self, found: RefreshGrant, rotation: RefreshRotation, disclosure: DisclosureEntry
    ) -> bytes | None:
        """See ``leerid.idp.store.exchange.rotate_refresh_token``."""
        return _exchange.rotate_refresh_token(
            self.engine, found, rotation, disclosure, self.pupil_secret
        )

    def revoke_family(self, family_id: str, now: dt.datetime) -> None:
        """Revoke every token of a refresh family."""
        with self.engine.begin() as conn:
            grants.revoke_family(conn, family_id, now)

    def find_access_token(self, token: str, now: dt.datetime) -> AccessGrant | None:
        """The grant of a live access token, or None."""
        with self.engine.connect() as conn:
            return grants.find_access_token(conn, token, now)

    def revoke_token(self, token: str, client_id: str, now: dt.datetime) -> None:
        """RFC 7009 §2.1: access token or refresh token (with its family), one transaction."""
        with self.engine.begin() as conn:
            grants.revoke_access_token(conn, token, client_id, now)
            grants.revoke_refresh_token(conn, token, client_id, now)

    def fetch_pupil(self, account_uuid: str, on: dt.date) -> PupilClaims | None:
        """Art. 5: the pupil, in one statement on an autocommit connection."""
        with self.autocommit.connect() as conn:
            return fetch_pupil(conn, account_uuid, on)

    def remember_jti(self, client_id: str, jti: str, exp: int) -> bool:
        """RFC 7523 §3 (7): one INSERT in a transaction; False on a duplicate."""
        return remember_jti(self.engine, client_id, jti, exp)

    def credential(self, username: str) -> Credential:
        """(account_uuid, password_hash, status) of ``username``; Nones when unknown."""
        with self.autocommit.connect() as conn:
            row = _CREDENTIAL(conn, {"b_username": username}).first()
        if row is None:
            return None, None, None
        return row.account_uuid, row.password_hash, row.status

    def upgrade_password_hash(self, account_uuid: str, password_hash: str) -> None:
        """Store the hash made with the current parameters."""
        with self.engine.begin() as conn:
            conn.execute(
                update(CredentialRow)
                .where(CredentialRow.account_uuid == account_uuid)
                .values(password_hash=password_hash)
            )

    def find_activation(self, username: str) -> Activation | None:
        """The live activation code of ``username``, or None."""
        with self.engine.connect() as conn:
            return find_activation(conn, username)

    def complete_activation(self, activation: Activation, password_hash: str) -> bool:
        """Use the code once and set the password, in one transaction."""
        with self.engine.begin() as conn:
            return complete_activation(conn, activation, password_hash)

    def pupil_history(self, account_uuid: str, client_id: str) -> list[DisclosureRecord]:
        """GDPR art. 15: the pupil's whole history to ``client_id``."""
        return pupil_history(self.engine, account_uuid=account_uuid, client_id=client_id)

    def my_disclosures(self, account_uuid: str) -> list[MyDisclosure]:
        """Every release of the pupil's data, with client names and protocol versions."""
        return my_disclosures(self.engine, account_uuid)

    def report_from_pupil(
        self, account_uuid: str, pupil_key: str, attribute: str, problem: str, text: str
    ) -> ReportView:
        """Store the pupil's report and its changes for the clients, in one transaction."""
        return add_pupil_report(
            self.engine,
            account_uuid=account_uuid,
            pupil_key=pupil_key,
            attribute=attribute,
            problem=problem,
            text=text,
        )

    def end_session(self, sid: str, expires_at: dt.datetime, now: dt.datetime) -> None:
        """Record the logout (and forget the ended sessions that expired)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(IdpEndedSession).where(IdpEndedSession.expires_at < now))
                conn.execute(insert(IdpEndedSession).values(sid=sid, expires_at=expires_at))
        except IntegrityError:
            pass  # ended already

    def session_ended(self, sid: str) -> bool:
        """Whether ``sid`` was ended by a logout (one indexed read)."""
        with self.autocommit.connect() as conn:
            return _ENDED(conn, {"b_sid": sid}).first() is not None

    def events_behind(self) -> bool:
        """Three indexed reads (see ``event_publisher.is_behind``)."""
        with self.autocommit.connect() as conn:
            return event_publisher.is_behind(conn)

    def publish_events(
        self, signing_key: Callable[[], SigningKey], issuer: str, *, limit: int, wait: bool
    ) -> event_publisher.Published:
        """See ``leerid.idp.store.event_publisher.publish``. Issue 12 §1: when the log
        refuses the SETs' entries nothing is published (counted and logged there); a poll
        still delivers what was published before."""
        try:
            return event_publisher.publish(self.engine, signing_key, issuer, limit=limit, wait=wait)
        except LogAppendError:
            return event_publisher.Published(0, 0)

    def poll_events(
        self,
        client_id: str,
        answers: _events.PollAnswers,
        max_events: int,
        now: dt.datetime,
        redeliver_after: dt.timedelta,
    ) -> _events.PollResult:
        """See ``leerid.idp.store.events.poll``."""
        return _events.poll(self.engine, client_id, answers, max_events, now, redeliver_after)

    def has_pending_events(self, client_id: str, now: dt.datetime) -> bool:
        """One indexed read."""
        return _events.has_pending(self.autocommit, client_id, now)
