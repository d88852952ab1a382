"""Art. 7: staff report wrong or outdated data to the Department, and follow its status.

The report goes to the identity provider (``POST …/v1/quality-reports``, client-
authenticated); the provider keeps its own copy with the status read back from the
Department (``…/v1/quality-reports/status``).
"""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leerid.errors import LeeridError, NotFoundError
from leerid.sp.kit import privacy_log
from leerid.sp.kit.free_text import refuse_insz
from leerid.sp.kit.models import PupilRecord, QualityReport
from leerid.sp.kit.need_to_know import HELD_KEYS
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.kit.relying_party import RelyingParty
from leerid.sp.kit.who_looked import FUNCTION
from leerid.store.engine import session_scope

# Art. 7: "foutieve, onnauwkeurige, onvolledige, ontbrekende, verouderde of overtollige"
PROBLEMS = ("foutief", "onnauwkeurig", "onvolledig", "ontbrekend", "verouderd", "overtollig")
COMMENT_LIMIT = 2000
CLOSED = ("gesloten", "geweigerd")

# Art. 7, a report by the pupil (the data subject) on the portal
PUPIL_ACTOR = "leerling"
PUPIL_ACTION = "melding_door_leerling"
PUPIL_PREFIX = "Gemeld door de leerling zelf: "
PUPIL_OPEN_LIMIT = 3
"""A pupil has at most this many open reports: one per wrong data item is what art. 7 asks,
and a page that anyone logged in can post to must not flood the Department's DPO."""
PUPIL_LIMIT_TEXT = (
    f"Je hebt al {PUPIL_OPEN_LIMIT} meldingen die nog niet afgehandeld zijn. Wacht tot het "
    "Departement die bekeken heeft; daarna kun je opnieuw iets melden."
)


class ReportRefusedError(LeeridError):
    """A report that staff must correct (a 4xx page in Dutch that says what to change)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


# The provider's reasons (``error_description`` of its 400, idp/quality_report_store.py),
# in the words a CLB counsellor reads on the portal, by the field they name.
_REFUSALS = {
    "pupil_key": "de sleutel van de leerling is geen LeerID-sleutel (Leer_id_uuid of "
    "Account_uuid); open de leerling opnieuw uit de lijst",
    "attribute": "dit gegeven kan bij het Departement niet gemeld worden; kies een ander gegeven",
    "problem": "kies een van de soorten probleem uit de lijst",
    "comment is longer": f"de toelichting is langer dan {COMMENT_LIMIT} tekens; maak ze korter",
    "comment contains": "de toelichting bevat iets dat op een rijksregisternummer lijkt; "
    "laat het weg (de sleutel wijst de leerling aan)",
}


def _refusal(response: httpx.Response) -> str:
    try:
        reason = str(response.json().get("error_description", ""))
    except ValueError:
        reason = ""
    for start, text in _REFUSALS.items():
        if reason.startswith(start):
            return text
    return "het Departement aanvaardt de melding niet zoals ze is; controleer de velden"


async def endpoint(rp: RelyingParty, name: str) -> str:
    meta = await rp.metadata()
    return str(meta.get(f"{name.replace('-', '_')}_endpoint") or f"{rp.settings.issuer}/v1/{name}")


def _create(
    provider: ServiceProvider,
    actor: str,
    pupil_key: str,
    attribute: str,
    problem: str,
    comment: str,
    *,
    by_pupil: bool = False,
    function: str | None = None,
) -> int:
    claims = {str(a.claim.value) for a in provider.protocol.data.attributes}
    if attribute not in claims:  # art. 3: only the data the protocol lists
        raise ReportRefusedError("Kies een gegeven uit de lijst: enkel die gegevens ontvangt LARS.")
    if problem not in PROBLEMS:
        raise ReportRefusedError(
            "Kies een soort probleem uit de lijst: " + ", ".join(PROBLEMS) + "."
        )
    if len(comment) > COMMENT_LIMIT:
        raise ReportRefusedError(
            f"De toelichting is langer dan {COMMENT_LIMIT} tekens; maak ze korter."
        )
    refuse_insz(comment, "comment")  # art. 3: one check for every free-text field
    now = dt.datetime.now(dt.UTC)
    with session_scope(provider.engine) as session:
        # the record is locked: a pupil's reports are counted one request at a time
        if session.get(PupilRecord, pupil_key, with_for_update=by_pupil) is None:
            raise ReportRefusedError(
                "LARS kent geen leerling met deze sleutel; open de leerling uit de lijst.", 404
            )
        if by_pupil and _open_own_reports(session, pupil_key) >= PUPIL_OPEN_LIMIT:
            raise ReportRefusedError(PUPIL_LIMIT_TEXT, 429)
        report = QualityReport(
            pupil_key=pupil_key,
            attribute=attribute,
            problem=problem,
            comment=comment,
            status="niet_verzonden",
            created_by=actor,
            created_at=now,
            updated_at=now,
        )
        session.add(report)
        session.flush()
        privacy_log.append(
            session,
            actor=actor,
            # the pupil's own report is no staff act on the file (``who_looked``)
            action=PUPIL_ACTION if by_pupil else "melding_gegevenskwaliteit",
            purpose="art. 7: foutieve gegevens melden aan DOV",
            pupil_key=pupil_key,
            detail={
                "melding": report.id,
                "attribuut": attribute,
                "probleem": problem,
                **({FUNCTION: function} if function else {}),
            },
        )
        return report.id


def _mark(provider: ServiceProvider, report_id: int, **values: object) -> None:
    with session_scope(provider.engine) as session:
        report = session.get(QualityReport, report_id)
        if report is not None:
            for key, value in values.items():
                setattr(report, key, value)
            report.updated_at = dt.datetime.now(dt.UTC)


async def send_report(provider: ServiceProvider, rp: RelyingParty, report_id: int) -> str:
    """Art. 7: send (or re-send) one report to the Department at once; returns the code the
    Department gave it (``DQ-7K3M``), the one identifier both sides show."""
    with session_scope(provider.engine) as session:
        report = session.get(QualityReport, report_id)
        if report is None:
            raise NotFoundError(f"no report {report_id}")
        if report.pupil_key is None:  # art. 3: the disclosed data was purged, the key with it
            raise LeeridError(
                f"report {report_id} can no longer be sent: the pupil's LeerID data was deleted "
                "after the retention period (art. 3)"
            )
        form = {
            "pupil_key": report.pupil_key,
            "attribute": report.attribute,
            "problem": report.problem,
            "comment": report.comment,
        }
    try:
        response = await rp.post_authenticated(await endpoint(rp, "quality-reports"), form)
    except httpx.HTTPError as exc:
        raise LeeridError(f"the report was kept but not sent: {exc}; send it again later") from None
    if 400 <= response.status_code < 500 and response.status_code not in (401, 403):
        await asyncio.to_thread(_mark, provider, report_id, status="geweigerd")
        raise ReportRefusedError(f"Het Departement weigerde de melding: {_refusal(response)}.", 422)
    if response.status_code != 201:
        raise LeeridError(
            f"the provider refused the report ({response.status_code}: {response.text[:200]}); "
            "it was kept locally"
        )
    data = response.json()
    code = str(data["id"])
    await asyncio.to_thread(_mark, provider, report_id, remote_id=code, status=str(data["status"]))
    return code


async def report_wrong_data(
    provider: ServiceProvider,
    rp: RelyingParty,
    *,
    actor: str,
    role: str,
    pupil_key: str,
    attribute: str,
    problem: str,
    comment: str,
) -> str:
    """Art. 7: record the report, then send it to the Department at once; returns its code.
    Art. 4, 6: only a bound person, about a pupil of their own schools (else NotFoundError)."""
    cleared = await asyncio.to_thread(provider.check_access, actor, role, pupil_key, "melding")
    seen = {  # art. 4, second indent: only an attribute the person sees of the pupil
        str(a.claim.value)
        for a in provider.protocol.data.attributes
        if a.key.value in HELD_KEYS and cleared.sees(a.key.value)
    }
    if attribute not in seen:
        raise ReportRefusedError("Kies een gegeven uit de lijst: enkel die gegevens zie je.")
    report_id = await asyncio.to_thread(
        _create, provider, actor, pupil_key, attribute, problem, comment, function=cleared.function
    )
    return await send_report(provider, rp, report_id)


async def report_own_data(
    provider: ServiceProvider,
    rp: RelyingParty,
    *,
    pupil_key: str,
    attribute: str,
    problem: str,
    comment: str,
) -> str:
    """Art. 7 ("al dan niet op basis van een mededeling van betrokkene(n)"): the pupil's own
    report, recorded (at most ``PUPIL_OPEN_LIMIT`` open) and sent at once; returns its code.

    The Department's API has no ``source`` for a provider's report: the comment says that the
    pupil wrote it."""
    refuse_insz(comment, "comment")  # checked before the prefix, so the error names the field
    text = PUPIL_PREFIX + comment.strip()
    report_id = await asyncio.to_thread(
        _create, provider, PUPIL_ACTOR, pupil_key, attribute, problem, text, by_pupil=True
    )
    return await send_report(provider, rp, report_id)


def _open_own_reports(session: Session, pupil_key: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(QualityReport)
            .where(
                QualityReport.pupil_key == pupil_key,
                QualityReport.created_by == PUPIL_ACTOR,
                QualityReport.status.not_in(CLOSED),
            )
        )
        or 0
    )


async def refresh_statuses(provider: ServiceProvider, rp: RelyingParty) -> int:
    """Read back the Department's status of our open reports; returns how many changed."""
    with session_scope(provider.engine) as session:
        pending = {
            r.remote_id: r.status
            for r in session.scalars(
                select(QualityReport).where(
                    QualityReport.remote_id.is_not(None), QualityReport.status != "gesloten"
                )
            )
        }
    if not pending:
        return 0
    response = await rp.post_authenticated(
        await endpoint(rp, "quality-reports") + "/status",
        {"ids": " ".join(k for k in pending if k)},
    )
    response.raise_for_status()
    changed = 0
    for item in response.json().get("reports", []):
        # a report sent before the Department gave codes is kept under its previous id
        known = item["id"] if item["id"] in pending else item.get("previous_id")
        if known not in pending:
            continue
        if pending[known] != item["status"] or known != item["id"]:
            changed += pending[known] != item["status"]
            with session_scope(provider.engine) as session:
                report = session.scalars(
                    select(QualityReport).where(QualityReport.remote_id == known)
                ).one()
                report.remote_id = str(item["id"])
                report.status = item["status"]
                report.resolution = item.get("resolution")
                report.updated_at = dt.datetime.now(dt.UTC)
    return changed


def list_reports(provider: ServiceProvider) -> list[QualityReport]:
    with session_scope(provider.engine) as session:
        return list(session.scalars(select(QualityReport).order_by(QualityReport.id.desc())))
