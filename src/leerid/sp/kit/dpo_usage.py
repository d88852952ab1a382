"""How often staff looked at pupil data, per Belgian day and per function (art. 4 and 6).

Art. 4 binds each member of staff to the data of their function profile; art. 6 asks the DPO
to watch the privacy log. A sudden rise in one function's views is what the DPO looks for.
The function counted is the one recorded in the entry (``detail.functie``: the label of the
person's function profile or role at that moment); an older entry without it counts under
the person's function today, and the page says how many entries were counted that way.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Engine, select

from leerid.protocol.lifecycle import BRUSSELS
from leerid.sp.kit.dpo_views import FilterError, aware, start_of
from leerid.sp.kit.models import PrivacyLogEntry, StaffAccount
from leerid.sp.kit.who_looked import UNKNOWN_FUNCTION, recorded_function
from leerid.store.engine import session_scope

VIEW_ACTIONS = ("leerling_bekeken", "leerlingen_gezocht", "overzicht_bekeken")
"""The privacy-log actions that are a member of staff reading pupil data (art. 4)."""
MAX_DAYS = 366


@dataclass(frozen=True)
class Usage:
    """Views per day (``days``, Belgian dates) and per function, oldest day first."""

    days: list[dt.date]
    per_function: dict[str, list[int]]
    fallback: int  # entries counted under the person's function of today
    total: int


def check_range(day_from: dt.date, day_to: dt.date) -> None:
    """A chart covers at most 366 days (a year, also a leap year)."""
    if day_to < day_from:
        raise FilterError("Tot en met", "die dag ligt vóór de dag bij 'Van'.")
    if (day_to - day_from).days + 1 > MAX_DAYS:
        text = f"een grafiek toont hoogstens {MAX_DAYS} dagen; kies een kortere periode."
        raise FilterError("Van", text)


def current_functions(
    accounts: list[tuple[str, str, str | None]],
    role_labels: Mapping[str, str],
    profile_labels: Mapping[str, str],
) -> dict[str, str]:
    """Each account's function today: its profile's label, else its role's label."""
    return {
        name: profile_labels.get(profile or "") or role_labels.get(role, UNKNOWN_FUNCTION)
        for name, role, profile in accounts
    }


def views_per_day(
    engine: Engine,
    day_from: dt.date,
    day_to: dt.date,
    role_labels: Mapping[str, str],
    profile_labels: Mapping[str, str],
) -> Usage:
    """Art. 6: the staff's reads of pupil data per Belgian day and function."""
    check_range(day_from, day_to)
    with session_scope(engine) as session:
        accounts = session.execute(
            select(StaffAccount.username, StaffAccount.role, StaffAccount.function_profile)
        ).all()
        rows = session.execute(
            select(PrivacyLogEntry.at, PrivacyLogEntry.actor, PrivacyLogEntry.detail).where(
                PrivacyLogEntry.action.in_(VIEW_ACTIONS),
                PrivacyLogEntry.at >= start_of(day_from),
                PrivacyLogEntry.at < start_of(day_to + dt.timedelta(days=1)),
            )
        ).all()
    today = current_functions(
        [(a.username, a.role, a.function_profile) for a in accounts], role_labels, profile_labels
    )
    counts: Counter[tuple[dt.date, str]] = Counter()
    fallback = 0
    functions_of: dict[str, str | None] = {}  # the same few details recur: parsed once
    days_of: dict[tuple[object, ...], dt.date] = {}  # a Belgian day per stored hour
    for at, actor, detail in rows:
        if detail not in functions_of:
            functions_of[detail] = recorded_function(detail)
        function = functions_of[detail]
        if function is None:
            fallback += 1
            function = today.get(actor, UNKNOWN_FUNCTION)
        hour = (at.year, at.month, at.day, at.hour, at.utcoffset())
        if hour not in days_of:
            days_of[hour] = aware(at).astimezone(BRUSSELS).date()
        counts[(days_of[hour], function)] += 1
    days = [day_from + dt.timedelta(days=n) for n in range((day_to - day_from).days + 1)]
    functions = sorted({f for _, f in counts})
    per_function = {f: [counts[(d, f)] for d in days] for f in functions}
    return Usage(days, per_function, fallback, sum(counts.values()))
