"""The portal, like the provider, withholds the values of PostgreSQL's error details from the
lines its server logs (``leerid.log_privacy``; the errors themselves: tests/test_log_privacy.py).
"""

from __future__ import annotations

import logging

from leerid.log_privacy import WITHHELD, WithholdDatabaseValues
from leerid.sp.kit.provider import ServiceProvider
from leerid.sp.portal.app import create_portal
from tests.test_log_privacy import logging_as_uvicorn


def test_the_portal_withholds_the_values_of_a_database_error(provider: ServiceProvider) -> None:
    with logging_as_uvicorn() as stream:
        create_portal(provider)
        for name in ("uvicorn", "uvicorn.access"):
            for handler in logging.getLogger(name).handlers:
                assert any(isinstance(f, WithholdDatabaseValues) for f in handler.filters)
        logging.getLogger("uvicorn.error").error(
            "Exception in ASGI application: %s",
            'null value in column "naam" violates not-null constraint\n'
            "DETAIL:  Failing row contains (85073112345, null).",
        )
    line = stream.getvalue()
    assert "violates not-null constraint" in line and WITHHELD in line
    assert "85073112345" not in line
