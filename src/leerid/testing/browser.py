"""A scripted browser without JavaScript, and the one parser of forms and hidden fields."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from types import TracebackType

import httpx

from leerid.errors import LeeridError

__all__ = [
    "Browser",
    "Form",
    "forms",
    "hidden_field",
    "hidden_fields",
]

MAX_REDIRECTS = 20


@dataclass
class Form:
    """A form of a page: where it posts and its hidden fields (values unescaped)."""

    action: str
    method: str
    hidden: dict[str, str] = field(default_factory=dict)


_TAG = re.compile(r"<(/?form|input)\b([^>]*)>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def _attributes(text: str) -> dict[str, str]:
    return {
        m[1].lower(): html.unescape(m[2] if m[2] is not None else m[3] or m[4] or "")
        for m in _ATTRIBUTE.finditer(text)
    }


def _parse(page: str) -> tuple[list[Form], dict[str, str]]:
    """Every form of a page, and every hidden input by name (also those outside a form).

    Only ``<form>`` and ``<input>`` tags are read (a regular expression over tags, not a
    full HTML parser): the benchmark parses a login page per flow and must stay lean.
    """
    found: list[Form] = []
    hidden: dict[str, str] = {}
    open_form: Form | None = None
    for tag in _TAG.finditer(page):
        name = tag[1].lower()
        if name == "/form":
            open_form = None
            continue
        attrs = _attributes(tag[2])
        if name == "form":
            open_form = Form(attrs.get("action", ""), attrs.get("method", "get").lower())
            found.append(open_form)
        elif attrs.get("type", "").lower() == "hidden" and attrs.get("name"):
            hidden[attrs["name"]] = attrs.get("value", "")
            if open_form is not None:
                open_form.hidden[attrs["name"]] = attrs.get("value", "")
    return found, hidden


def forms(page: str) -> list[Form]:
    """The forms of a page, in document order."""
    return _parse(page)[0]


def hidden_fields(page: str) -> dict[str, str]:
    """Every hidden field of a page by name (the last one wins), values unescaped."""
    return _parse(page)[1]


def hidden_field(page: str, name: str) -> str:
    """The value of the hidden field ``name``; an error naming the field when it is absent."""
    found = hidden_fields(page)
    if name not in found:
        raise LeeridError(f"no hidden field {name!r} on the page")
    return found[name]


class Browser:
    """A pupil's browser: keeps cookies, follows redirects when asked, fills in forms.

    Redirects are not followed by default, so that a test sees each answer; ``follow``
    follows them as a browser would.
    """

    def __init__(self, timeout: float = 30) -> None:
        self.http = httpx.Client(follow_redirects=False, timeout=timeout)

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def open(self, url: str) -> httpx.Response:
        """GET ``url`` without following redirects."""
        return self.http.get(url)

    def follow(self, response: httpx.Response) -> httpx.Response:
        """Follow 302 and 303 redirects with GET until a page answers."""
        for _ in range(MAX_REDIRECTS):
            if response.status_code not in (302, 303):
                return response
            response = self.http.get(response.url.join(response.headers["location"]))
        raise LeeridError(f"more than {MAX_REDIRECTS} redirects at {response.url}")

    def submit(self, page: httpx.Response, data: dict[str, str], index: int = 0) -> httpx.Response:
        """Post form ``index`` of ``page``: its hidden fields and ``data``, to its action."""
        found = forms(page.text)
        if len(found) <= index:
            raise LeeridError(f"no form {index} on the page at {page.url}")
        form = found[index]
        return self.http.post(page.url.join(form.action), data={**form.hidden, **data})

    def provider_login(self, page: httpx.Response, username: str, password: str) -> httpx.Response:
        """Fill in LeerID's login form; the answer (a 303 back to the client when it worked)."""
        if page.status_code != 200 or 'name="password"' not in page.text:
            raise LeeridError(
                f"expected LeerID's login page, got HTTP {page.status_code} at {page.url}"
            )
        return self.submit(page, {"username": username, "password": password})

    def lars_login(self, lars_url: str, username: str, password: str) -> httpx.Response:
        """Log in at the LARS portal through LeerID; the portal's final page."""
        page = self.follow(self.http.get(f"{lars_url}/aanmelden"))
        back = self.provider_login(page, username, password)
        if back.status_code != 303:
            raise LeeridError(f"LeerID did not log {username} in: HTTP {back.status_code}")
        return self.follow(back)

    def staff_login(self, lars_url: str, username: str, password: str) -> httpx.Response:
        """Log a staff member in with the LARS portal's own form (a 303 when it worked)."""
        form = self.http.get(f"{lars_url}/personeel/aanmelden")
        return self.submit(form, {"gebruikersnaam": username, "wachtwoord": password})

    def console_login(self, base_url: str, username: str, password: str) -> httpx.Response:
        """Log in at DOV's console (``/beheer/aanmelden``); a 303 to ``/beheer`` when it worked."""
        form = self.http.get(f"{base_url}/beheer/aanmelden")
        return self.submit(form, {"username": username, "password": password})

    def activate(self, issuer: str, username: str, code: str, password: str) -> httpx.Response:
        """Turn the school's activation code into a password at ``{issuer}/v1/activate``."""
        form = self.http.get(f"{issuer}/v1/activate")
        data = {"username": username, "code": code}
        data.update(password=password, password_confirm=password)
        return self.submit(form, data)

    def confirm_logout(self, page: httpx.Response) -> httpx.Response:
        """Answer the provider's "sign out?" question (OIDC RP-Initiated Logout 1.0 §2)."""
        if page.status_code != 200 or 'name="confirm"' not in page.text:
            raise LeeridError(f"expected the sign-out question, got HTTP {page.status_code}")
        return self.http.post(str(page.url.copy_with(query=None)), data=hidden_fields(page.text))
