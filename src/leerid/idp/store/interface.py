"""The provider's storage as its handlers see it: one small interface, no SQL in sight."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from leerid.idp.login.activation_codes import Activation
from leerid.idp.oauth.rfc8417 import SigningKey
from leerid.idp.store.disclosures import DisclosureEntry, DisclosureRecord
from leerid.idp.store.event_publisher import Published
from leerid.idp.store.events import PollAnswers, PollResult
from leerid.idp.store.exchange import CodeExchange, RefreshRotation
from leerid.idp.store.grants import AccessGrant, CodeGrant, RefreshGrant
from leerid.idp.store.my_data import MyDisclosure
from leerid.idp.store.quality_reports import ReportView
from leerid.idp.store.tlog.append import LogAppendError, leaf_text
from leerid.protocol import PupilClaims

__all__ = [
    "Credential",
    "IdpStore",
    "LogAppendError",
    "ProtocolEnded",
    "StoreConnection",
    "leaf_text",
]

Credential = tuple[str | None, str | None, str | None]
"""(account_uuid, password_hash, account status); Nones when the username is unknown."""
ProtocolEnded = tuple[str | None, bool]
"""Art. 8, 11: a client's protocol id as stored and whether it has a recorded end."""


class StoreConnection(Protocol):
    """One connection for a request's statements, each its own (autocommit) write."""

    def may_issue_code(
        self,
        *,
        now: dt.datetime,
        unless_session_ended: str | None = None,
        unless_protocol_ended: str | None = None,
    ) -> bool:
        """RFC 6749 §4.1.2: False when the SSO session ``unless_session_ended`` was ended by a
        logout or (art. 8, 11) the protocol ``unless_protocol_ended`` has an end in effect;
        one read (none when neither is asked)."""
        ...

    def code_with_pupil(
        self, grant: CodeGrant, on: dt.date, protocol_id: str
    ) -> tuple[bool, PupilClaims | None, bool]:
        """Whether the code's grant was redeemed before, (art. 5) the pupil it is about,
        fetched now, and (art. 8, 11) whether ``protocol_id`` has a recorded end, read by one
        statement."""
        ...

    def access_with_pupil(
        self, token: str, now: dt.datetime
    ) -> tuple[AccessGrant | None, PupilClaims | None, ProtocolEnded]:
        """A live access token's grant, (art. 5) the pupil it is about, fetched now, and
        (art. 8, 11) its client's protocol as stored with whether it has a recorded end."""
        ...

    def exchange_code(
        self, grant: CodeGrant, exchange: CodeExchange, disclosure: DisclosureEntry
    ) -> bytes | None:
        """Redeem the code, store its tokens and the disclosure with its log entry: all or
        nothing. The entry's leaf hash; None when the code was redeemed meanwhile; issue 12 §1:
        ``LogAppendError`` (nothing written) when the log refused the entry."""
        ...

    def record_disclosure(self, entry: DisclosureEntry) -> bytes:
        """Issue 4 §5, issue 12 §1: one record of the disclosure log with its log entry,
        both or neither: the entry's leaf hash, or ``LogAppendError``."""
        ...


class IdpStore(Protocol):
    """Everything the provider's handlers read and write."""

    def connect(self) -> AbstractContextManager[StoreConnection]:
        """A connection for reads and single-statement writes (autocommit)."""
        ...

    def record_disclosure(self, entry: DisclosureEntry) -> bytes:
        """Issue 4 §5, issue 12 §1: one record of the disclosure log with its log entry, on
        a connection of its own: the entry's leaf hash, or ``LogAppendError``."""
        ...

    def record_refusal(self, entry: DisclosureEntry) -> None:
        """Issue 4 §5: a refused login in the private disclosure log only, never in the
        public transparency log (it releases nothing, and would reveal the username)."""
        ...

    def revoke_code_tokens(self, grant_id: str, now: dt.datetime) -> None:
        """RFC 6749 §4.1.2: a code used twice revokes the tokens issued from it."""
        ...

    def find_refresh_token(self, token: str) -> RefreshGrant | None:
        """The row of a refresh token, live or not, or None when unknown."""
        ...

    def rotate_refresh_token(
        self, found: RefreshGrant, rotation: RefreshRotation, disclosure: DisclosureEntry
    ) -> bytes | None:
        """RFC 6749 §6: the refresh grant's writes with the disclosure's log entry, all or
        nothing: the entry's leaf hash (None: raced; ``LogAppendError``: log refused)."""
        ...

    def revoke_family(self, family_id: str, now: dt.datetime) -> None:
        """OAuth 2.0 Security BCP §4.14.2: revoke every token of a refresh family."""
        ...

    def find_access_token(self, token: str, now: dt.datetime) -> AccessGrant | None:
        """The grant of a live access token, or None."""
        ...

    def revoke_token(self, token: str, client_id: str, now: dt.datetime) -> None:
        """RFC 7009 §2.1: revoke an access or refresh token of ``client_id``."""
        ...

    def fetch_pupil(self, account_uuid: str, on: dt.date) -> PupilClaims | None:
        """Art. 5: the pupil behind ``account_uuid`` on day ``on`` (None: unknown, retired)."""
        ...

    def remember_jti(self, client_id: str, jti: str, exp: int) -> bool:
        """RFC 7523 §3 (7): False when the client's assertion ``jti`` was seen before."""
        ...

    def credential(self, username: str) -> Credential:
        """The stored credential of ``username`` (one indexed read)."""
        ...

    def upgrade_password_hash(self, account_uuid: str, password_hash: str) -> None:
        """Issue 4 §4: store the hash made with the current parameters."""
        ...

    def find_activation(self, username: str) -> Activation | None:
        """The live activation code of ``username``, or None."""
        ...

    def complete_activation(self, activation: Activation, password_hash: str) -> bool:
        """Use the code once and set the password (False: used or replaced meanwhile)."""
        ...

    def pupil_history(self, account_uuid: str, client_id: str) -> list[DisclosureRecord]:
        """GDPR art. 15: the disclosures of the account's pupil to ``client_id``."""
        ...

    def my_disclosures(self, account_uuid: str) -> list[MyDisclosure]:
        """Art. 7, GDPR art. 15: every release of the account's pupil's data, to every client."""
        ...

    def report_from_pupil(
        self, account_uuid: str, pupil_key: str, attribute: str, problem: str, text: str
    ) -> ReportView:
        """Art. 7: the pupil's own report, passed on to the clients that hold that data."""
        ...

    def end_session(self, sid: str, expires_at: dt.datetime, now: dt.datetime) -> None:
        """Logout: the session ``sid`` is refused on every node from now on."""
        ...

    def session_ended(self, sid: str) -> bool:
        """Whether the SSO session ``sid`` was ended by a logout."""
        ...

    def events_behind(self) -> bool:
        """Issue 10, point 3: is there a DOV change (or a new client) not yet published?"""
        ...

    def publish_events(
        self, signing_key: Callable[[], SigningKey], issuer: str, *, limit: int, wait: bool
    ) -> Published:
        """Turn up to ``limit`` DOV changes into signed SETs in the outbox (one transaction)."""
        ...

    def poll_events(
        self,
        client_id: str,
        answers: PollAnswers,
        max_events: int,
        now: dt.datetime,
        redeliver_after: dt.timedelta,
    ) -> PollResult:
        """RFC 8936 §2.4: process the client's answers, return the oldest SETs due (one
        delivered and not acknowledged is due again ``redeliver_after`` later)."""
        ...

    def has_pending_events(self, client_id: str, now: dt.datetime) -> bool:
        """Whether a SET is due for ``client_id`` (the long poll's cheap check)."""
        ...
