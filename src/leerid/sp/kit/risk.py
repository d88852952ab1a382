"""Art. 6: the risk assessment, one assessed risk with its measures at a time.

"Voor de melding van persoonsgegevens, zoals vermeld in het protocol, werd een
risico-inschatting gemaakt. Voor elk risico werd een gepaste technische, organisatorische of
juridische maatregel genomen." A risk is recorded only with its measure (the seed: for each
risk a measure), its date and its owner; each record is written to the privacy log, and the
evidence (``m-risico``) shows them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, select

from leerid.errors import LeeridError
from leerid.sp.kit import privacy_log
from leerid.sp.kit.free_text import refuse_insz
from leerid.sp.kit.models import RiskAssessment
from leerid.store.engine import session_scope

MAX_TEXT = 4000
MAX_OWNER = 200


class RiskRefusedError(LeeridError):
    """A risk that cannot be recorded as given; ``dutch`` says why on the portal."""

    def __init__(self, english: str, dutch: str) -> None:
        super().__init__(english)
        self.dutch = dutch


@dataclass(frozen=True)
class Risk:
    id: int
    risk: str
    measures: str
    assessed_on: dt.date
    owner: str
    recorded_by: str
    recorded_at: dt.datetime


def _text(value: str, option: str, dutch: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise RiskRefusedError(f"{option} is required", f"Vul {dutch} in.")
    if len(text) > limit:
        raise RiskRefusedError(
            f"{option} is too long (at most {limit} characters)",
            f"{dutch[0].upper()}{dutch[1:]} is te lang: hoogstens {limit} tekens.",
        )
    return text


def assessed_on(text: str, option: str = "--date") -> dt.date:
    """A date as YYYY-MM-DD, not in the future."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        raise RiskRefusedError(
            f"{option} {text[:40]!r}: write the date as YYYY-MM-DD, e.g. 2026-03-01",
            "Vul de datum van de inschatting in als JJJJ-MM-DD.",
        ) from None
    if day > dt.date.today():
        raise RiskRefusedError(
            f"{option} {day} is in the future: give the day the risk was assessed",
            "De datum van de inschatting ligt in de toekomst.",
        )
    return day


def add_risk(
    engine: Engine, *, risk: str, measures: str, day: dt.date, owner: str, actor: str
) -> int:
    """Art. 6: record one risk with its measures (refused without a measure); logged."""
    risk_text = refuse_insz(_text(risk, "--risk", "het risico", MAX_TEXT), "risk")
    if not measures.strip():
        raise RiskRefusedError(
            "--measures is required: the protocol (art. 6) takes a measure for each risk; "
            "record the risk together with its technical, organisational or legal measure",
            "Vul de maatregel in: het protocol (art. 6) vraagt voor elk risico een gepaste "
            "technische, organisatorische of juridische maatregel.",
        )
    measure_text = refuse_insz(_text(measures, "--measures", "de maatregel", MAX_TEXT), "measures")
    owner_text = refuse_insz(_text(owner, "--owner", "de eigenaar", MAX_OWNER), "owner")
    with session_scope(engine) as session:
        row = RiskAssessment(
            risk=risk_text,
            measures=measure_text,
            assessed_on=day,
            owner=owner_text,
            recorded_by=actor,
            recorded_at=dt.datetime.now(dt.UTC),
        )
        session.add(row)
        session.flush()
        privacy_log.append(
            session,
            actor=actor,
            action="risico_geregistreerd",
            purpose="art. 6: risico-inschatting met maatregel geregistreerd",
            detail={"risico": row.id, "datum": day.isoformat()},
        )
        return row.id


def list_risks(engine: Engine) -> list[Risk]:
    """Every recorded risk, oldest assessment first."""
    with session_scope(engine) as session:
        rows = session.scalars(
            select(RiskAssessment).order_by(RiskAssessment.assessed_on, RiskAssessment.id)
        ).all()
        return [
            Risk(r.id, r.risk, r.measures, r.assessed_on, r.owner, r.recorded_by, r.recorded_at)
            for r in rows
        ]
