"""What a LeerID login tells the service provider, read from the ID token and userinfo.

ACM/IDM and LeerID clients see ``ov_*`` claims as a string or as an array (one public client
reads ``ov_leerid_uuid`` as an array): every reader here accepts both. The pupil is
``ov_account_uuid`` (the account), never ``sub`` (see ``read_login``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leerid.errors import LeeridError
from leerid.sp.kit.orgcode import normalise_orgcode

log = logging.getLogger("leerid.sp.login")


class ClaimError(LeeridError):
    """A token lacks a claim the kit needs, or carries it in a shape it cannot read."""


def as_list(value: Any) -> list[str]:
    """A claim that may be a string, an array of strings, or absent, as a list of strings."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, int) and not isinstance(value, bool):  # ov_orgcode as a number
        return [str(value)]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if isinstance(v, str | int) and str(v).strip()]
    raise ClaimError(f"a claim holds {type(value).__name__}; expected a string or an array")


def as_single(value: Any, name: str) -> str | None:
    """A claim that names one value, sent as a string or as an array of one."""
    values = as_list(value)
    if len(set(values)) > 1:
        raise ClaimError(f"claim {name} holds {len(values)} different values; expected one")
    return values[0] if values else None


@dataclass(frozen=True)
class LoginAttributes:
    """Art. 3: the attributes of one login, as the protocol lists them."""

    account_uuid: str
    leer_id_uuid: str | None
    historiek_account_uuids: tuple[str, ...]
    orgcodes: tuple[str, ...]
    given_name: str | None
    family_name: str | None

    @property
    def pupil_key(self) -> str:
        """Art. 3: data are requested by Leer_id_uuid, or Account_uuid when not identified."""
        return self.leer_id_uuid or self.account_uuid

    @property
    def key_kind(self) -> str:
        return "leer_id_uuid" if self.leer_id_uuid else "account_uuid"


def orgcodes_of(value: Any) -> tuple[str, ...]:
    """Art. 3 (ov_orgcode): the instellingsnummers of a login, six digits each; a value
    that is not one is refused and logged (the reason only, not the value)."""
    codes: set[str] = set()
    for raw in as_list(value):
        code = normalise_orgcode(raw)
        if code is None:
            log.warning("ov_orgcode refused: not an instellingsnummer (6 digits)")
        else:
            codes.add(code)
    return tuple(sorted(codes))


class MissingAccountError(ClaimError):
    """Art. 3: the login names no account (``ov_account_uuid``)."""


MISSING_ACCOUNT = (
    "the login carries no ov_account_uuid, so the pupil's account is unknown; ask the "
    "provider for the scope that releases it (ov_leerling; at ACM/IDM: in the client's "
    "integratiedossier) and list it in [provider] scopes"
)


def read_login(claims: Mapping[str, Any]) -> LoginAttributes:
    """The login attributes from merged ID token and userinfo claims.

    Art. 3: the pupil's account is ``ov_account_uuid``, and only that. ``sub`` names the
    person to the provider that issued it: ACM/IDM's is its own 40-hex identifier, leerid's
    an opaque one for an ``acm`` client; it binds the login (ID token, userinfo) but is never
    read as the account, so a provider switch cannot file one pupil under another key."""
    account = as_single(claims.get("ov_account_uuid"), "ov_account_uuid")
    if not account:
        raise MissingAccountError(MISSING_ACCOUNT)
    return LoginAttributes(
        account_uuid=account,
        leer_id_uuid=as_single(claims.get("ov_leerid_uuid"), "ov_leerid_uuid"),
        historiek_account_uuids=tuple(as_list(claims.get("ov_historiek_account_uuid"))),
        orgcodes=orgcodes_of(claims.get("ov_orgcode")),
        given_name=as_single(claims.get("given_name"), "given_name"),
        family_name=as_single(claims.get("family_name"), "family_name"),
    )
