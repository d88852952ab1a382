"""A scripted browser without JavaScript, and the one parser of forms and hidden fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
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


class _FormParser(HTMLParser):
    """Every form of a page, and every hidden input (also those outside a form)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.hidden: dict[str, str] = {}
        self._open: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._open = Form(values.get("action", ""), values.get("method", "get").lower())
            self.forms.append(self._open)
        elif tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.hidden[values["name"]] = values.get("value", "")
            if self._open is not None:
                self._open.hidden[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def _parse(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    return parser


def forms(html: str) -> list[Form]:
    """The forms of a page, in document order."""
    return _parse(html).forms


def hidden_fields(html: str) -> dict[str, str]:
    """Every hidden field of a page by name (the last one wins), values unescaped."""
    return _parse(html).hidden


def hidden_field(html: str, name: str) -> str:
    """The value of the hidden field ``name``; an error naming the field when it is absent."""
    found = hidden_fields(html)
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

    def submit(
        self, page: httpx.Response, data: dict[str, str], index: int = 0
    ) -> httpx.Response:
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
        return self.follow(self.provider_login(page, username, password))

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
