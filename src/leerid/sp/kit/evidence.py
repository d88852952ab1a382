"""Art. 6: "Elke Partij moet kunnen aantonen dat de maatregelen werden getroffen."

For every security measure of the protocol (by its stable id) the report shows live evidence
from the running provider; a measure that software cannot show says so plainly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from leerid.protocol import content_hash
from leerid.protocol.lifecycle import STATUS_DUTCH
from leerid.sp.kit import privacy_log
from leerid.sp.kit.breaches import list_breaches
from leerid.sp.kit.dossier_settings import REPORT_TYPES
from leerid.sp.kit.log_witness import witness_facts
from leerid.sp.kit.models import LogPruneRecord, PrivacyLogEntry, PupilRecord, StaffAccount
from leerid.sp.kit.moments import when
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.risk import list_risks
from leerid.store.engine import session_scope


@dataclass
class Evidence:
    measure_id: str
    text: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    ok: bool | None = None  # None: not demonstrable by software (organisational)


def _staff(provider: ServiceProvider) -> list[StaffAccount]:
    with session_scope(provider.engine) as session:
        return list(session.scalars(select(StaffAccount).where(StaffAccount.active.is_(True))))


def _log_actions(provider: ServiceProvider, action: str) -> tuple[int, dt.datetime | None, int]:
    """How many entries of ``action``, the newest one's time, and the total 'aantal' they log."""
    with session_scope(provider.engine) as session:
        rows = session.execute(
            select(PrivacyLogEntry.at, PrivacyLogEntry.detail).where(
                PrivacyLogEntry.action == action
            )
        ).all()
    total = sum(int(json.loads(d).get("aantal", 0)) for _, d in rows)
    newest = max((a for a, _ in rows), default=None)
    return len(rows), newest, total


def _fmt(moment: dt.datetime | None) -> str:
    return when(moment, "nooit")


def _dpo(p: ServiceProvider, e: Evidence) -> None:
    dpo = p.protocol.parties.recipient.dpo
    e.facts.append(("DPO (protocol)", dpo.name or dpo.contact or "niet ingevuld in het protocol"))
    e.facts.append(("Advies DPO", str(dpo.advice_date or "—")))
    count = sum(1 for s in _staff(p) if s.role == "dpo")
    e.facts.append(("Personeelsaccounts met rol dpo", str(count)))
    e.facts.append(("Adres DPO andere partij (meldingen)", p.settings.mail.other_party_dpo or "—"))
    e.ok = count > 0 and bool(p.settings.mail.other_party_dpo)


def _trained(p: ServiceProvider, e: Evidence) -> None:
    staff = _staff(p)
    done = [s for s in staff if s.awareness_trained_on]
    e.facts.append(("Actieve personeelsleden", str(len(staff))))
    e.facts.append(("Gesensibiliseerd (datum geregistreerd)", str(len(done))))
    e.ok = bool(staff) and len(done) == len(staff)


def _confidential(p: ServiceProvider, e: Evidence) -> None:
    staff = [s for s in _staff(p) if p.permissions(s.role).sees_pupil_data]
    bound = [s for s in staff if s.confidentiality_signed_on]
    e.facts.append(("Personeel met toegang tot leerlingengegevens", str(len(staff))))
    e.facts.append(("Met ondertekende vertrouwelijkheidsverklaring", str(len(bound))))
    e.facts.append(  # art. 6: "enkel toegang [...] nadat ze behoorlijk gebonden zijn"
        (
            "Zonder verklaring en sensibilisering",
            "geen toegang tot leerlingengegevens (afgedwongen)",
        )
    )
    e.ok = len(bound) == len(staff)


def _register(p: ServiceProvider, e: Evidence) -> None:
    e.facts.append(("Protocol", f"{p.protocol.id} versie {p.protocol.version}"))
    e.facts.append(("Inhoudshash (SHA-256)", content_hash(p.protocol)))
    e.facts.append(
        (
            "Register van verwerkingen",
            "leerid sp register: dit protocol, onze verwerkers en ontvangers",
        )
    )
    e.ok = True


def _proof(p: ServiceProvider, e: Evidence) -> None:
    e.facts.append(
        ("Dit rapport", f"gemaakt op {_fmt(dt.datetime.now(dt.UTC))} uit de live gegevens")
    )
    e.ok = True


def _processors(p: ServiceProvider, e: Evidence) -> None:
    listed = p.settings.processors
    e.facts.append(("Verwerkers (configuratie)", ", ".join(listed) if listed else "geen opgegeven"))
    e.ok = None


def _privacylog(p: ServiceProvider, e: Evidence) -> None:
    check = privacy_log.verify(p.engine, p.secrets)
    e.facts.append(("Privacylog: items", str(check.entries)))
    e.facts.append(("Hashketen", "intact" if check.ok else "; ".join(check.problems[:5])))
    e.facts.append(("Laatste hash (noteer als anker)", check.head_hash))
    with session_scope(p.engine) as session:
        prunes = session.scalar(select(func.count()).select_from(LogPruneRecord)) or 0
    e.facts.append(("Ondertekende snoeirecords", str(prunes)))
    e.facts.append(("Bewaartermijn privacylog", str(p.privacy_log_keep)))
    e.ok = check.ok


def _acm(p: ServiceProvider, e: Evidence) -> None:
    s = p.settings
    e.facts.append(("Identiteitsprovider (issuer)", s.issuer))
    e.facts.append(("Clientauthenticatie", s.auth_method))
    e.facts.append(("Controles", "PKCE S256, state, nonce, iss (RFC 9207), handtekening ID-token"))
    e.facts += witness_facts(p)  # issue 12: what the Department disclosed is in its log
    e.ok = True


def _risks(p: ServiceProvider, e: Evidence) -> None:
    """Art. 6: "Voor elk risico werd een gepaste ... maatregel genomen": the recorded risks."""
    risks = list_risks(p.engine)
    if not risks:
        e.facts.append(("Risico-inschatting", "niet aangetoond: nog geen risico geregistreerd"))
        e.ok = False
        return
    e.facts.append(("Geregistreerde risico's (elk met maatregel)", str(len(risks))))
    e.facts.append(("Laatste inschatting", str(max(r.assessed_on for r in risks))))
    for r in risks:
        e.facts.append((f"Risico {r.id} ({r.assessed_on}, {r.owner})", f"{r.risk} — {r.measures}"))
    e.ok = True


CHECKS: dict[str, Callable[[ServiceProvider, Evidence], None]] = {
    "m-risico": _risks,
    "m-dpo": _dpo,
    "m-sensibilisering": _trained,
    "m-vertrouwelijkheid": _confidential,
    "m-register": _register,
    "m-bewijs": _proof,
    "m-verwerkers": _processors,
    "m-privacylog": _privacylog,
    "m-acm": _acm,
}


def _dossier_retention(provider: ServiceProvider) -> str:
    """The dossier's own retention per record type, with its cited rule (or its absence)."""
    settings = provider.settings.dossier
    parts = []
    for kind in (*settings.record_types, *REPORT_TYPES):
        retention = settings.retention_of(kind)
        parts.append(
            f"{kind}: {retention.keep} vanaf de laatste registratie ({retention.rule})"
            if retention
            else f"{kind}: geen bewaartermijn ingesteld (bewaard)"
        )
    return "; ".join(parts)


def collect(provider: ServiceProvider) -> dict[str, Any]:
    """Art. 6: the evidence, measure by measure, and the duties of art. 3, 4 and 9."""
    items = []
    for measure in provider.protocol.security_measures:
        evidence = Evidence(measure.id, measure.text)
        check = CHECKS.get(measure.id)
        if check is None:
            evidence.facts.append(
                (
                    "Bewijs",
                    "organisatorische maatregel: niet automatisch aantoonbaar; voeg het "
                    "document toe aan het dossier van de DPO",
                )
            )
        else:
            check(provider, evidence)
        items.append(evidence)
    runs, last_run, deleted = _log_actions(provider, "bewaartermijn_verwijdering")
    refusals, last_refusal, _ = _log_actions(provider, "toegang_geweigerd")
    with session_scope(provider.engine) as session:
        pupils = session.scalar(select(func.count()).select_from(PupilRecord)) or 0
        oldest = session.scalar(select(func.min(PupilRecord.last_login_at)))
    staff = _staff(provider)
    roles = {r.id: sum(1 for s in staff if s.role == r.id) for r in provider.protocol.roles}
    breaches = list_breaches(provider.engine)
    notified = sum(1 for b in breaches if b.breach.other_party_notified_at)
    return {
        "provider": provider.settings.name,
        "generated": _fmt(dt.datetime.now(dt.UTC)),
        "protocol": provider.protocol,
        "protocol_status": STATUS_DUTCH.get(provider.protocol_status(), provider.protocol_status()),
        "items": items,
        "duties": [
            (
                "Art. 3: bewaartermijn",
                f"{provider.retention_period.dutch()} ({provider.retention_period}) na de "
                "laatste aanmelding",
            ),
            (
                "Art. 3: verwijderrondes",
                f"{runs} batches, {deleted} leerlingen verwijderd; laatste {_fmt(last_run)}",
            ),
            ("Art. 3: leerlingen bewaard", f"{pupils}; oudste laatste aanmelding {_fmt(oldest)}"),
            ("Art. 3: eigen dossier (niet de meegedeelde gegevens)", _dossier_retention(provider)),
            ("Preambule D: geweigerde aanmeldingen", f"{refusals}; laatste {_fmt(last_refusal)}"),
            ("Art. 4: personeel per rol", ", ".join(f"{k}: {v}" for k, v in roles.items())),
            (
                "Art. 4: doorgifte aan derden",
                "geen functie voorzien (enkel inzage door de leerling zelf)",
            ),
            (
                "Art. 9: gegevenslekken",
                f"{len(breaches)} geregistreerd, {notified} gemeld aan de andere DPO",
            ),
        ],
    }
