"""Art. 6: "Elke Partij moet kunnen aantonen dat de maatregelen werden getroffen" — DOV's side.

The same way the recipient's ``leerid sp evidence`` does it: for every security measure that
binds DOV (the discloser) in the protocols it holds, live facts from the provider and a
verdict: ``aangetoond``, ``niet aangetoond``, or, for a measure software cannot show, that it
is organisational (the DPO keeps the document).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from leerid.duties.breach_clock import BRUSSELS
from leerid.errors import LeeridError
from leerid.idp.login.passwords import OWASP, Argon2Parameters
from leerid.idp.settings import IdpSettings
from leerid.idp.store.console import staff_log
from leerid.idp.store.console.breaches import list_breaches
from leerid.idp.store.console_tables import StaffMember
from leerid.idp.store.notices import list_notices
from leerid.idp.store.protocols import StoredProtocol, list_protocols
from leerid.idp.store.quality_reports import QualityReportRow
from leerid.idp.store.tlog.audit import audit_log
from leerid.idp.store.tlog.checkpoints import log_origin, log_signer, newest_checkpoint
from leerid.processors import load_processor_file
from leerid.protocol.parties import PartyRole
from leerid.store.engine import session_scope
from leerid.transparency.checkpoint import open_checkpoint
from leerid.transparency.note import NoteError, Verifier

__all__ = ["VERDICTS", "DovEvidence", "Measure", "collect"]

VERDICTS = {True: "aangetoond", False: "niet aangetoond", None: "organisatorisch"}


@dataclass
class Measure:
    """One measure of art. 6 with its facts; ``ok`` None: not demonstrable by software."""

    id: str
    text: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    ok: bool | None = None

    @property
    def verdict(self) -> str:
        return VERDICTS[self.ok]


@dataclass(frozen=True)
class DovEvidence:
    generated: dt.datetime
    protocols: list[tuple[str, int, str]]  # (id, version, content hash) in force at DOV
    measures: list[Measure]
    duties: list[tuple[str, str]]

    def as_json(self) -> dict[str, Any]:
        """The evidence as a JSON document (what ``leerid evidence --json`` prints)."""
        return {
            "party": "DOV",
            "generated": self.generated.isoformat(),
            "protocols": [{"id": i, "version": v, "content_hash": h} for i, v, h in self.protocols],
            "measures": [
                {
                    "id": m.id,
                    "text": m.text,
                    "verdict": m.verdict,
                    "facts": [{"name": k, "value": v} for k, v in m.facts],
                }
                for m in self.measures
            ],
            "duties": [{"name": k, "value": v} for k, v in self.duties],
        }


@dataclass(frozen=True)
class _World:
    engine: Engine
    settings: IdpSettings
    protocols: list[StoredProtocol]
    staff: list[StaffMember]
    now: dt.datetime
    full: bool  # recompute the whole transparency log (``leerid evidence --full``)


def _dpo(w: _World, m: Measure) -> None:
    named = sorted(
        {
            ", ".join(
                x
                for x in (
                    p.protocol.parties.discloser.dpo.name,
                    p.protocol.parties.discloser.dpo.contact,
                )
                if x
            )
            for p in w.protocols
        }
        - {""}
    )
    m.facts.append(("DPO van DOV (protocollen)", "; ".join(named) or "niet ingevuld"))
    dpos = sum(1 for s in w.staff if s.role == "dpo")
    m.facts.append(("Consoleaccounts met rol dpo", str(dpos)))
    m.ok = bool(named) and dpos > 0


def _trained(w: _World, m: Measure) -> None:
    done = [s for s in w.staff if s.awareness_trained_on and s.awareness_trained_on <= w.now.date()]
    m.facts.append(("Actieve medewerkers van de console", str(len(w.staff))))
    m.facts.append(("Gesensibiliseerd (datum geregistreerd)", str(len(done))))
    m.ok = bool(w.staff) and len(done) == len(w.staff)


def _bound(w: _World, m: Measure) -> None:
    today = w.now.date()
    signed = [
        s for s in w.staff if s.confidentiality_signed_on and s.confidentiality_signed_on <= today
    ]
    m.facts.append(("Actieve medewerkers van de console", str(len(w.staff))))
    m.facts.append(("Met ondertekende vertrouwelijkheidsverklaring", str(len(signed))))
    m.facts.append(
        (
            "Zonder verklaring en sensibilisering",
            "geen toegang tot leerlingengegevens (afgedwongen)",
        )
    )
    m.ok = len(signed) == len(w.staff)


def _register(w: _World, m: Measure) -> None:
    ids = sorted({p.protocol_id for p in w.protocols})
    m.facts.append(("Protocollen in het register", ", ".join(ids) or "geen"))
    m.facts.append(("Register van verwerkingen", "leerid protocol register --party discloser"))
    m.ok = bool(ids)


def _tlog(w: _World) -> tuple[bool, str]:
    """Issue 12: the newest checkpoint's signature verifies with the log's key and names the
    stored root; with ``full`` the whole log is recomputed from its entries as well."""
    settings = w.settings
    origin = log_origin(w.engine, settings.tlog_origin, explicit=settings.tlog_origin_set)
    verifier = Verifier.from_vkey(log_signer(w.engine, origin).vkey)
    with w.engine.connect() as conn:
        newest = newest_checkpoint(conn)
        audit = audit_log(conn, verifier) if w.full else None
    if audit is not None and audit.problem is not None:
        return False, f"NIET in orde bij {audit.problem}"
    if newest is None:
        return True, "nog geen checkpoint ondertekend (geen mededelingen)"
    try:
        signed, _ = open_checkpoint(newest.note, verifier)
    except NoteError:
        return False, f"checkpoint {newest.size}: de handtekening klopt NIET"
    if (signed.size, signed.root) != (newest.size, newest.root):
        return False, f"checkpoint {newest.size}: grootte of wortel wijkt af van de notitie"
    done = (
        f"volledig herberekend: {audit.entries} items, {audit.checkpoints} checkpoints"
        if audit is not None
        else "volledig herberekenen: leerid log verify of leerid evidence --full"
    )
    return True, f"nieuwste checkpoint ({newest.size} items) ondertekend en geldig; {done}"


def _proof(w: _World, m: Measure) -> None:
    m.facts.append(("Dit rapport", f"gemaakt op {_when(w.now)} uit de live gegevens"))
    chain = staff_log.verify(w.engine)
    m.facts.append(("Privacylog van de console: items", str(chain.entries)))
    m.facts.append(("Hashketen", "intact" if chain.ok else "; ".join(chain.problems[:5])))
    m.facts.append(("Laatste hash (noteer als anker)", chain.head_hash))
    tlog_ok, tlog_text = _tlog(w)
    m.facts.append(("Transparantielog van de mededelingen", tlog_text))
    m.ok = chain.ok and tlog_ok


def _processors(w: _World, m: Measure) -> None:
    path = w.settings.processors_file
    if not path:
        m.facts.append(
            ("Lijst van verwerkers", "niet aangetoond: LEERID_DOV_PROCESSORS_FILE is leeg")
        )
        m.ok = False
        return
    try:
        listed = load_processor_file(Path(path))
    except LeeridError as exc:
        m.facts.append(("Lijst van verwerkers", f"onleesbaar: {exc.message}"))
        m.ok = False
        return
    for p in listed:
        m.facts.append((p.name, f"{p.purpose} ({p.location}, sinds {p.since.isoformat()})"))
    m.facts.append(("Verwerkers", str(len(listed))))
    m.ok = True


def _acm(w: _World, m: Measure) -> None:
    memory, time_cost, parallelism = w.settings.argon2
    strong = not Argon2Parameters(memory, time_cost, parallelism).below(OWASP)
    m.facts.append(
        (
            "Wachtwoorden",
            f"Argon2id, {memory} KiB, {time_cost} iteraties, parallellisme {parallelism}",
        )
    )
    m.facts.append(("Ten minste OWASP's minimum", "ja" if strong else "NEEN"))
    t = w.settings.throttle
    m.facts.append(
        (
            "Afremmen van aanmeldingen",
            f"account vergrendeld na {t.account_lock_after} fouten, adres vertraagd na "
            f"{t.address_free_failures}",
        )
    )
    m.facts.append(("Authenticatieniveau (acr)", w.settings.acr))
    m.ok = strong


def _organisational(w: _World, m: Measure) -> None:
    m.facts.append(
        (
            "Bewijs",
            "organisatorische maatregel: niet automatisch aantoonbaar; de DPO van DOV voegt "
            "het document toe",
        )
    )
    m.ok = None


CHECKS: dict[str, Callable[[_World, Measure], None]] = {
    "m-dpo": _dpo,
    "m-sensibilisering": _trained,
    "m-vertrouwelijkheid": _bound,
    "m-register": _register,
    "m-bewijs": _proof,
    "m-verwerkers": _processors,
    "m-acm": _acm,
}


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(BRUSSELS):%d-%m-%Y %H:%M} Belgische tijd"


def _newest(protocols: list[StoredProtocol]) -> list[StoredProtocol]:
    newest: dict[str, StoredProtocol] = {}
    for stored in protocols:  # by id and version: the last one wins
        newest[stored.protocol_id] = stored
    return list(newest.values())


def _duties(w: _World) -> list[tuple[str, str]]:
    breaches = list_breaches(w.engine, w.now)
    told = sum(1 for b in breaches if b.clocks.other_party_told_at)
    closed = sum(1 for b in breaches if b.clocks.authority_closed)
    with session_scope(w.engine) as session:
        reports = session.execute(
            select(QualityReportRow.source, func.count())
            .where(QualityReportRow.status == "open")
            .group_by(QualityReportRow.source)
        ).all()
    pending = len(list_notices(w.engine, pending=True))
    return [
        (
            "Art. 9: gegevenslekken",
            f"{len(breaches)} geregistreerd; {told} gemeld aan de DPO van de ontvanger; "
            f"{closed} afgehandeld bij de toezichthouder (gemeld of reden vastgelegd)",
        ),
        (
            "Art. 7: open meldingen over gegevenskwaliteit",
            ", ".join(f"{source}: {count}" for source, count in sorted(reports)) or "geen",
        ),
        ("Art. 9: kennisgevingen nog niet bevestigd", str(pending)),
    ]


def collect(
    engine: Engine, settings: IdpSettings, now: dt.datetime | None = None, *, full: bool = False
) -> DovEvidence:
    """Art. 6: DOV's evidence, measure by measure, for the measures that bind the discloser;
    ``full``: the transparency log recomputed from its entries (long on a large log)."""
    now = now or dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        protocols = _newest(list_protocols(session))
        staff = list(session.scalars(select(StaffMember).where(StaffMember.active.is_(True))))
    world = _World(engine, settings, protocols, staff, now, full)
    measures: dict[str, Measure] = {}
    for stored in protocols:
        for measure in stored.protocol.security_measures:
            if PartyRole.DISCLOSER in measure.applies_to and measure.id not in measures:
                measures[measure.id] = Measure(measure.id, measure.text)
    for item in measures.values():
        CHECKS.get(item.id, _organisational)(world, item)
    return DovEvidence(
        generated=now,
        protocols=[(p.protocol_id, p.version, p.content_hash) for p in protocols],
        measures=list(measures.values()),
        duties=_duties(world),
    )
