"""GDPR art. 15: the pupil's own report, one assembly for the page and both downloads.

What a pupil sees of themselves at LARS, in sections: each login and what LARS received from
LeerID at it (art. 5: "telkens de leerling inlogt"), what LARS keeps now (art. 3: "Enkel de
gegevens op het moment van de laatste aanmelding door de leerling worden bewaard") and for how
long, the dossier the CLB wrote, who at LARS looked at the file (function and date, never a
name: ``who_looked``), to whom LARS passed the data on (GDPR art. 15(1)(c), art. 4:
``passed_on``) and the pupil's reports of wrong data (art. 7).

The logins come from the Department's disclosure list (``GET /op/v1/disclosures/mine``), which
has a row per release: the ID token at the code exchange (``token``), then the userinfo the
kit asks for at once, and any later check (``introspect``). Rows that follow a ``token`` row
belong to that login; a refused login (``login``) is a line of its own.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leerid.errors import NotFoundError
from leerid.sp.kit import privacy_log
from leerid.sp.kit.passed_on import PassedOn, passed_on
from leerid.sp.kit.provider import PupilSnapshot, ServiceProvider
from leerid.sp.kit.who_looked import Look, looks_at
from leerid.store.engine import session_scope

__all__ = [
    "FORMATS",
    "LoginLine",
    "OwnReport",
    "as_text",
    "build",
    "group_logins",
    "in_words",
    "request_copy",
]

FORMATS = ("html", "json")
"""The download's formats (PDF left out: see docs/service-provider.md, GDPR art. 15)."""

LOGIN_ENDPOINTS = ("token", "login")
"""The disclosure rows that start a login; the others (userinfo, introspect) join it."""


@dataclass(frozen=True)
class LoginLine:
    """One login: its moment, whether LeerID let it through, the claims LARS received."""

    at: dt.datetime
    released: bool
    claims: tuple[str, ...]


@dataclass(frozen=True)
class OwnReport:
    """The pupil's own report (GDPR art. 15); ``logins`` is None when LeerID could not be
    asked (the rest is what LARS itself holds)."""

    pupil: PupilSnapshot
    logins: tuple[LoginLine, ...] | None
    looks: tuple[Look, ...]
    retention: str
    passed_on: tuple[PassedOn, ...] = ()

    def as_json(self, names: Mapping[str, str]) -> dict[str, Any]:
        """The sections with Dutch keys; ``names`` gives each claim's word."""
        pupil = self.pupil
        return {
            "logins": None
            if self.logins is None
            else [
                {
                    "tijd": _iso(line.at),
                    "doorgegeven": line.released,
                    "gegevens": in_words(line.claims, names),
                }
                for line in self.logins
            ],
            "bewaard": {
                "sleutel": pupil.pupil_key,
                "soort_sleutel": pupil.key_kind,
                "account_uuid": pupil.account_uuid,
                "voornaam": pupil.given_name,
                "naam": pupil.family_name,
                "instellingsnummers": list(pupil.orgcodes),
                "laatste_aanmelding": _iso(pupil.last_login_at),
                "bewaartermijn": self.retention,
            },
            "dossier": [{"tijd": _iso(at), "tekst": text} for at, _author, text in pupil.dossier],
            "wie_keek": [
                {"functie": look.function, "datum": _iso(look.at), "wat": look.act}
                for look in self.looks
            ],
            "doorgegeven_aan": [
                {
                    "ontvanger": line.recipient,
                    "kbo": line.kbo,
                    "datum": _iso(line.at),
                    "gegevens": in_words(line.claims, names),
                    "waarom": line.purpose,
                }
                for line in self.passed_on
            ],
            "meldingen": [
                {"code": code, "gegeven": names.get(attr, attr), "probleem": p, "status": s}
                for code, attr, p, s in pupil.reports
            ],
        }


def in_words(claims: Iterable[str], names: Mapping[str, str]) -> list[str]:
    """The claims in ``names``'s words and order, each word once (claims with the same
    words are one line to a pupil)."""
    order = {claim: n for n, claim in enumerate(names)}
    ranked = sorted(claims, key=lambda c: (order.get(c, len(order)), c))
    return list(dict.fromkeys(names.get(c, c) for c in ranked))


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return _aware(moment).isoformat()


def _moment(value: Any) -> dt.datetime | None:
    try:
        return _aware(dt.datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def group_logins(disclosures: Iterable[Mapping[str, Any]]) -> tuple[LoginLine, ...]:
    """Art. 5: one line per login, newest first, from the disclosure rows (in any order)."""
    rows = sorted(
        ((at, row) for row in disclosures if (at := _moment(row.get("at"))) is not None),
        key=lambda pair: pair[0],
    )
    lines: list[tuple[dt.datetime, bool, set[str]]] = []
    for at, row in rows:
        released = row.get("outcome") == "released"
        claims = {str(c) for c in row.get("claims", [])} if released else set()
        if row.get("endpoint") in LOGIN_ENDPOINTS or not lines:
            lines.append((at, released, claims))
        else:  # the userinfo or a check within the login it follows
            start, was_released, known = lines[-1]
            lines[-1] = (start, was_released or released, known | claims)
    return tuple(
        LoginLine(at, released, tuple(sorted(claims))) for at, released, claims in reversed(lines)
    )


def _assemble(
    provider: ServiceProvider,
    session: Any,
    pupil_key: str,
    disclosures: Iterable[Mapping[str, Any]] | None,
) -> OwnReport | None:
    snapshot = provider.snapshot_in(session, pupil_key)
    if snapshot is None:
        return None
    labels = {r.id: r.label for r in provider.protocol.roles}
    claim_of = {a.key.value: str(a.claim.value) for a in provider.protocol.data.attributes}
    return OwnReport(
        snapshot,
        None if disclosures is None else group_logins(disclosures),
        tuple(looks_at(session, pupil_key, labels)),
        provider.retention_period.dutch(),
        tuple(passed_on(session, pupil_key, claim_of)),
    )


def build(
    provider: ServiceProvider,
    pupil_key: str,
    disclosures: Iterable[Mapping[str, Any]] | None,
) -> OwnReport | None:
    """The pupil's own report as the page shows it (None: nothing is held under the key)."""
    with session_scope(provider.engine) as session:
        return _assemble(provider, session, pupil_key, disclosures)


def request_copy(
    provider: ServiceProvider,
    pupil_key: str,
    disclosures: Iterable[Mapping[str, Any]] | None,
    form: str,
) -> OwnReport:
    """GDPR art. 15: the report for a download, for the pupil alone; the request is written
    to the privacy log (art. 6) in the same transaction, with the format."""
    if form not in FORMATS:
        raise ValueError(f"format {form!r}: use one of {', '.join(FORMATS)}")
    with session_scope(provider.engine) as session:
        report = _assemble(provider, session, pupil_key, disclosures)
        if report is None:
            raise NotFoundError("no data is held under this key")
        privacy_log.append(
            session,
            actor="leerling",
            action="inzageverzoek",
            purpose="AVG art. 15: inzage door de leerling zelf",
            pupil_key=pupil_key,
            detail={"formaat": form},
        )
        return report


def as_text(report: OwnReport, names: Mapping[str, str]) -> str:
    """The JSON download's body (UTF-8, indented for a person who opens it)."""
    return json.dumps(report.as_json(names), ensure_ascii=False, indent=2)
