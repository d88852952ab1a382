"""The field types the protocol model is built of: non-empty texts, KBO numbers, moments."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

__all__ = [
    "ID_PATTERN",
    "MEASURE_ID_PATTERN",
    "ROLE_ID_PATTERN",
    "EnterpriseNumber",
    "EstablishmentNumber",
    "Moment",
    "ProtocolModel",
    "Text",
    "enterprise_number",
]


ID_PATTERN = r"^[a-z0-9][a-z0-9-]*[a-z0-9]$"
MEASURE_ID_PATTERN = r"^m-[a-z0-9][a-z0-9-]*$"
ROLE_ID_PATTERN = r"^[a-z][a-z0-9_-]*$"


class ProtocolModel(BaseModel):
    """The base of every part of the model: unknown keys refused, immutable, trimmed."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Text = Annotated[str, Field(min_length=1)]
"""A non-empty text, in the protocol's language."""


def _kbo_digits(value: Any) -> Any:
    if isinstance(value, int):
        return f"{value:010d}"
    if isinstance(value, str):
        return re.sub(r"[\s.]", "", value)
    return value


def _check_mod97(digits: str, first: str, what: str, example: str) -> str:
    if not re.fullmatch(r"\d{10}", digits) or digits[0] not in first:
        raise ValueError(
            f"{what} must be 10 digits starting with {' or '.join(first)}, written like {example}"
        )
    if 97 - int(digits[:8]) % 97 != int(digits[8:]):
        raise ValueError(
            f"{what} {digits} fails its check digits (97 - first 8 digits mod 97); "
            "copy the number again from the KBO (kbopub.economie.fgov.be)"
        )
    return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"


def _valid_enterprise(digits: str) -> str:
    return _check_mod97(digits, "01", "an enterprise number (KBO)", "0316.380.841")


def _valid_establishment(digits: str) -> str:
    checked = _check_mod97(digits, "2345678", "an establishment unit number", "2.199.310.989")
    plain = checked.replace(".", "")
    return f"{plain[0]}.{plain[1:4]}.{plain[4:7]}.{plain[7:]}"


EnterpriseNumber = Annotated[str, BeforeValidator(_kbo_digits), AfterValidator(_valid_enterprise)]
"""A KBO enterprise number ``0xxx.xxx.xxx``, checked with its mod-97 check digits."""


def enterprise_number(value: str) -> str:
    """A KBO enterprise number as ``0123.456.789`` from ``0123.456.789``, ``0123456789`` or
    ``BE0123456789`` (the VAT form); ``ValueError`` saying what is wrong otherwise."""
    digits = _kbo_digits(value.strip().upper().removeprefix("BE"))
    return _valid_enterprise(digits)


EstablishmentNumber = Annotated[
    str, BeforeValidator(_kbo_digits), AfterValidator(_valid_establishment)
]
"""A KBO establishment unit number (10 digits, first 2 to 8), checked with mod 97."""


def _aware(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("a moment needs its UTC offset, for example 2024-03-25T14:40:38+01:00")
    return value


Moment = Annotated[dt.datetime, AfterValidator(_aware)]
"""A date and time with its UTC offset (signatures, status changes)."""
