"""Issue 8 point 21: no dead ends.

After activation the pupil is led back to the login of the application that sent them;
after logging out (pupil or staff) the portal says so; a breach e-mail that did not leave
is shown as a warning that says what to do, not as neutral information.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

from sqlalchemy.orm import Session

from leerid.idp.login.activation_codes import issue_for_school
from leerid.sp.kit.staff import add_staff
from leerid.store.engine import make_engine
from leerid.testing.browser import Browser, hidden_fields
from tests.registry_seed import TODAY, add_pupil
from tests.sp.lars_world import lars_world
from tests.sp.test_lars_flow import PASSWORD, staff_login

NEW_PASSWORD = "blauwe fiets op zolder"


def _link(page: str, text: str) -> str:
    match = re.search(rf'<a[^>]*href="([^"]+)"[^>]*>\s*{re.escape(text)}', page)
    assert match, f"no link {text!r}"
    return html.unescape(match.group(1))


def test_activation_leads_back_to_the_login_and_logout_says_so(
    database_url: str, tmp_path: Path
) -> None:
    with lars_world(database_url, tmp_path) as lars:
        engine = make_engine(database_url)
        add_pupil(engine, "Lotte", "Claes")
        with Session(engine) as session, session.begin():
            (cred,) = issue_for_school(session, "012345", TODAY, dt.datetime.now(dt.UTC))
        engine.dispose()

        browser = Browser()
        login_page = browser.follow(browser.http.get(f"{lars.url}/aanmelden"))
        first_time = login_page.url.join(_link(login_page.text, "Eerste keer?"))
        form = browser.http.get(first_time)
        fields = {
            k: v for k, v in hidden_fields(form.text).items() if k in ("form_state", "csrf_token")
        }
        done = browser.http.post(
            str(form.url.copy_with(query=None)),
            data={
                **fields,
                "username": cred.username,
                "code": cred.code,
                "password": NEW_PASSWORD,
                "password_confirm": NEW_PASSWORD,
            },
        )
        assert done.status_code == 200 and "Je account is klaar" in done.text
        again = browser.http.get(done.url.join(_link(done.text, "Meld je nu aan")))
        assert again.status_code == 200 and 'name="password"' in again.text
        inside = browser.follow(browser.provider_login(again, cred.username, NEW_PASSWORD))
        assert str(inside.url).endswith("/mijn-gegevens"), inside.text

        bye = browser.http.post(
            f"{lars.url}/afmelden", data={"csrf": hidden_fields(inside.text)["csrf"]}
        )
        home = browser.follow(bye)
        assert str(home.url).rstrip("/") == lars.url
        assert "Je bent afgemeld" in home.text
        assert browser.http.get(f"{lars.url}/mijn-gegevens").status_code == 303
        assert "Je bent afgemeld" not in browser.http.get(f"{lars.url}/").text  # shown once

        add_staff(lars.provider.engine, lars.provider.protocol, "dpo.lars", PASSWORD, "dpo")
        dpo = staff_login(lars.url, "dpo.lars")
        breaches = dpo.get(f"{lars.url}/personeel/datalekken")
        posted = dpo.post(
            f"{lars.url}/personeel/datalekken",
            data={
                "csrf": hidden_fields(breaches.text)["csrf"],
                "vastgesteld": "2026-11-01T08:00",
                "wat": "Lijst verkeerd gemaild",
                "categorieen": "naam",
                "aantal": "2",
                "maatregelen": "Ontvanger gevraagd te wissen",
            },
        )
        assert posted.status_code == 303
        shown = dpo.get(f"{lars.url}/personeel/datalekken").text
        warning = re.search(r'<div class="notice bad" role="alert"><p>(.*?)</p>', shown, re.S)
        assert warning, shown
        assert "niet verstuurd" in warning.group(1) and "Verwittig die DPO zelf" in warning.group(1)
        assert "Errno" not in shown and "[mail]" not in shown

        staff_page = dpo.get(f"{lars.url}/personeel")
        out = dpo.post(
            f"{lars.url}/personeel/afmelden", data={"csrf": hidden_fields(staff_page.text)["csrf"]}
        )
        assert out.status_code == 303
        assert "Je bent afgemeld als medewerker" in dpo.get(f"{lars.url}/").text
        assert dpo.get(f"{lars.url}/personeel").status_code == 303
