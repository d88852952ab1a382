"""Issue 8 §16: a data-quality report staff must correct is a 4xx page in Dutch, not a 502."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from leerid.sp.kit.models import PupilRecord, QualityReport
from leerid.store.engine import session_scope
from leerid.testing.browser import hidden_fields
from tests.sp.conftest import add_bound_staff, ref_for
from tests.sp.lars_world import lars_world
from tests.sp.test_lars_flow import PASSWORD, staff_login

NOT_A_LEERID_KEY = "abc-123"  # a record LARS holds, under a key the provider does not accept


def _alert(page: str) -> str:
    found = re.search(r'role="alert"><p>(.*?)</p>', page, re.S)
    assert found, page
    return found.group(1)


def test_an_invalid_report_gets_a_dutch_page_that_says_what_to_correct(
    tmp_path: Path,
) -> None:
    with lars_world(f"sqlite:///{tmp_path / 'leerid.db'}", tmp_path) as lars:
        with session_scope(lars.provider.engine) as session:
            for key in (NOT_A_LEERID_KEY, lars.idp.pupil.leer_id_uuid):  # held by LARS (art. 4)
                session.add(
                    PupilRecord(
                        pupil_key=key,
                        key_kind="leer_id_uuid",
                        account_uuid=key,
                        orgcodes="012345",
                        last_login_at=dt.datetime.now(dt.UTC),
                    )
                )
        add_bound_staff(lars.provider, "clb.een", PASSWORD)  # art. 4, 6
        clb = staff_login(lars.url, "clb.een")
        csrf = hidden_fields(clb.get(f"{lars.url}/personeel/leerlingen").text)["csrf"]
        good = {
            "csrf": csrf,
            "sleutel": ref_for(lars.provider, "clb.een", lars.idp.pupil.leer_id_uuid),
            "attribuut": "family_name",
            "probleem": "verouderd",
            "toelichting": "naam gewijzigd",
        }
        cases = {  # what is wrong → (status, what the page tells staff to do)
            "sleutel": ("00000000-0000-4000-8000-000000000000", 404, "open de leerling"),
            "attribuut": ("favourite_colour", 400, "Kies een gegeven"),
            "probleem": ("lelijk", 400, "Kies een soort probleem"),
            "toelichting": ("rijksregisternummer 01.49.07-001.85", 400, "Laat dat nummer weg"),
        }
        for field, (value, status, advice) in cases.items():
            page = clb.post(f"{lars.url}/personeel/leerlingen/melding", data={**good, field: value})
            assert page.status_code == status, (field, page.status_code, page.text)
            assert advice in _alert(page.text), (field, page.text)
        # the provider refuses it (its key is not a LeerID key): 422, said in Dutch, not a 502
        refused = clb.post(
            f"{lars.url}/personeel/leerlingen/melding",
            data={**good, "sleutel": ref_for(lars.provider, "clb.een", NOT_A_LEERID_KEY)},
        )
        assert refused.status_code == 422, refused.text
        text = _alert(refused.text)
        assert "Het Departement weigerde de melding" in text and "sleutel" in text
        assert "pupil_key" not in text and "must be" not in text  # no English, no field names
        with session_scope(lars.provider.engine) as session:
            statuses = [r.status for r in session.query(QualityReport)]
        assert statuses == ["geweigerd"]  # kept, marked refused, not counted as open
