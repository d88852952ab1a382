"""Synthetic DISCIMUS files: Flemish-looking pupils, valid INSZ, schools and enrolments.

Issue 2 §6: the same seed gives the same files (for the same school year). Names come from
Faker's ``nl_BE`` lists, weighted as Faker weights them; national register and BIS numbers
are valid (check digits, 2000+ rule); births 2005-2020; one enrolment per pupil from
1 September, and a change of school during the year for about 8 % of pupils.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

from faker.providers.person.nl_BE import Provider as FlemishNames

from leerid.csv_safe import SafeWriter
from leerid.registry.discimus import ENROLMENT_COLUMNS, ENROLMENT_FILE, PUPIL_COLUMNS, PUPIL_FILE
from leerid.registry.insz import insz_check_digits

__all__ = ["GeneratedRegistry", "generate_registry", "school_year_of"]

FIRST_BIRTH = dt.date(2005, 1, 1)
LAST_BIRTH = dt.date(2020, 12, 31)
CHANGE_OF_SCHOOL_SHARE = 0.08
BIS_SHARE = 0.03
GROUPS_PER_SCHOOL = 4


@dataclass(frozen=True)
class GeneratedRegistry:
    """What ``generate_registry`` wrote."""

    directory: Path
    pupils: int
    unidentified: int
    enrolments: int
    schools: int


def school_year_of(day: dt.date) -> int:
    """The year in which the school year containing ``day`` began (1 September)."""
    return day.year if day.month >= 9 else day.year - 1


def default_school_count(pupils: int) -> int:
    """About 320 pupils per school, as in Flanders (3,800 schools for 1.2 million pupils)."""
    return max(3, min(3800, pupils // 320))


class _Weighted:
    def __init__(self, weights: Mapping[str, float]) -> None:
        self.names = list(weights)
        self.cum = list(accumulate(weights.values()))

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.names, cum_weights=self.cum)[0]


def _insz(rng: random.Random, born: dt.date, male: bool, bis: bool, used: set[int]) -> str:
    """A valid national register (or BIS) number for this birth date, unique in ``used``."""
    month = born.month + (40 if bis else 0)
    while True:
        serial = rng.randrange(1, 998)
        if (serial % 2 == 1) != male:
            serial = serial + 1 if serial < 997 else serial - 1
        nine = f"{born.year % 100:02d}{month:02d}{born.day:02d}{serial:03d}"
        key = int(nine)
        if key not in used:
            used.add(key)
            return nine + insz_check_digits(nine, born.year >= 2000)


class _Population:
    """The schools, groups and names one generated registry draws from, drawn in a fixed
    order from ``rng`` (the same seed gives the same files), and the INSZs already used."""

    def __init__(self, rng: random.Random, n_schools: int, start: dt.date) -> None:
        self.rng = rng
        self.start = start
        self.codes = [f"{n:06d}" for n in rng.sample(range(1, 1_000_000), n_schools)]
        self.groups = {
            code: [f"{rng.randrange(1, 1_000_000):06d}" for _ in range(GROUPS_PER_SCHOOL)]
            for code in self.codes
        }
        self.last_names = _Weighted(FlemishNames.last_names)
        self.male_names = _Weighted(FlemishNames.first_names_male)
        self.female_names = _Weighted(FlemishNames.first_names_female)
        self.span = (LAST_BIRTH - FIRST_BIRTH).days
        self.used: set[int] = set()

    def pupil(self, referte: str, unidentified_share: float) -> tuple[str, ...]:
        """A row of ``leerlingen.csv``; its INSZ is empty for an unidentified pupil."""
        rng = self.rng
        born = FIRST_BIRTH + dt.timedelta(days=rng.randrange(self.span + 1))
        male = rng.random() < 0.5
        voornaam = (self.male_names if male else self.female_names).pick(rng)
        naam = self.last_names.pick(rng)
        if rng.random() < unidentified_share:
            insz = ""
        else:
            insz = _insz(rng, born, male, rng.random() < BIS_SHARE, self.used)
        return (referte, insz, naam, voornaam, born.isoformat())

    def enrolments(self, referte: str) -> list[tuple[str, ...]]:
        """The rows of ``inschrijvingen.csv`` of one pupil: one school from 1 September, or
        two after a change of school during the year."""
        rng, codes, groups, start = self.rng, self.codes, self.groups, self.start
        rows: list[tuple[str, ...]] = []
        school = rng.choice(codes)
        if rng.random() < CHANGE_OF_SCHOOL_SHARE and len(codes) > 1:
            left = start + dt.timedelta(days=rng.randrange(14, 80))
            group = rng.choice(groups[school])
            rows.append((referte, school, group, start.isoformat(), left.isoformat()))
            school = rng.choice([c for c in rng.sample(codes, 2) if c != school])
            begin = left + dt.timedelta(days=1)
        else:
            begin = start
        rows.append((referte, school, rng.choice(groups[school]), begin.isoformat(), ""))
        return rows


def _school_count(pupils: int, schools: int | None, unidentified_share: float) -> int:
    """The number of schools, after checking the arguments."""
    if pupils < 0:
        raise ValueError("pupils must be zero or more")
    if not 0.0 <= unidentified_share <= 1.0:
        raise ValueError("unidentified_share must be between 0 and 1")
    n_schools = schools if schools is not None else default_school_count(pupils)
    if not 1 <= n_schools <= 900_000:
        raise ValueError("schools must be between 1 and 900000")
    return n_schools


def generate_registry(
    out_dir: Path | str,
    pupils: int,
    schools: int | None = None,
    seed: int = 0,
    unidentified_share: float = 0.02,
    *,
    school_year: int | None = None,
) -> GeneratedRegistry:
    """Write ``leerlingen.csv`` and ``inschrijvingen.csv`` for ``pupils`` pupils in ``out_dir``.

    ``unidentified_share`` of the pupils have no INSZ. ``school_year`` (default: the current
    one) is the year the enrolments begin on 1 September.
    """
    n_schools = _school_count(pupils, schools, unidentified_share)
    year = school_year if school_year is not None else school_year_of(dt.date.today())
    rng = random.Random(seed)  # noqa: S311 - synthetic data, reproducible by design
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    population = _Population(rng, n_schools, dt.date(year, 9, 1))
    unidentified = enrolments = 0
    with (
        open(out / PUPIL_FILE, "w", encoding="utf-8", newline="") as pf,
        open(out / ENROLMENT_FILE, "w", encoding="utf-8", newline="") as ef,
    ):
        pw = SafeWriter(pf, lineterminator="\n")
        ew = SafeWriter(ef, lineterminator="\n")
        pw.writerow(PUPIL_COLUMNS)
        ew.writerow(ENROLMENT_COLUMNS)
        for i in range(pupils):
            referte = f"S{seed}-{i + 1:08d}"[-32:]
            row = population.pupil(referte, unidentified_share)
            unidentified += row[1] == ""
            pw.writerow(row)
            rows = population.enrolments(referte)
            for enrolment in rows:
                ew.writerow(enrolment)
            enrolments += len(rows)
    return GeneratedRegistry(out, pupils, unidentified, enrolments, n_schools)
