"""Apache with Debian's ``mod_auth_openidc``, configured and started by a test, stopped after.

``running_apache`` writes a config of its own (ServerRoot, PidFile, ErrorLog, a free port on
loopback, the Debian module paths), protects ``/protected/`` with ``AuthType openid-connect``
and serves there a CGI script that prints the ``OIDC_CLAIM_*`` variables mod_auth_openidc
sets, one ``NAME=value`` a line. Apache runs in the foreground as a subprocess (``-X``: one
process) and is stopped by its own pid. As root, Apache's child runs as ``www-data``: the
folder is made readable for it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from leerid.testing.servers import LOOPBACK, free_port

APACHE = Path("/usr/sbin/apache2")
MODULES = Path("/usr/lib/apache2/modules")
NEEDED = [
    "mod_mpm_prefork",
    "mod_authn_core",
    "mod_authz_core",
    "mod_authz_user",
    "mod_cgi",
    "mod_auth_openidc",
]
INSTALL = "run `make test-deps` (as root it installs apache2 and libapache2-mod-auth-openidc)"

CLAIMS_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
env | grep '^OIDC_CLAIM_' | sort
"""


def check_installed() -> str:
    """mod_auth_openidc's Debian version; fails (never skips) with the command to install it."""
    missing = [m for m in NEEDED if not (MODULES / f"{m}.so").is_file()]
    if not APACHE.is_file() or missing:
        pytest.fail(f"Apache or its modules are missing ({APACHE}, {missing}): {INSTALL}")
    shown = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "libapache2-mod-auth-openidc"],
        capture_output=True,
        text=True,
        check=False,
    )
    return shown.stdout.strip()


@dataclass(frozen=True)
class Apache:
    """A running Apache protecting ``/protected/`` with mod_auth_openidc."""

    base_url: str
    folder: Path
    process: subprocess.Popen[bytes]

    @property
    def protected(self) -> str:
        return f"{self.base_url}/protected/claims"

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/protected/redirect_uri"

    @property
    def logged_out(self) -> str:
        return f"{self.base_url}/loggedout"

    def error_log(self) -> str:
        """What Apache wrote at start and in its error log so far."""
        logs = [self.folder / "startup.log", self.folder / "error.log"]
        return "".join(p.read_text(encoding="utf-8", errors="replace") for p in logs if p.exists())


def apache_config(folder: Path, port: int, oidc: dict[str, str]) -> str:
    """The whole configuration; ``oidc``: mod_auth_openidc's directives and their values."""
    loads = "\n".join(f"LoadModule {m[4:]}_module {MODULES / m}.so" for m in NEEDED)
    user = "User www-data\nGroup www-data\n" if os.geteuid() == 0 else ""
    directives = "\n".join(f"{name} {value}" for name, value in oidc.items())
    return f"""ServerRoot "{folder}"
ServerName {LOOPBACK}
Listen {LOOPBACK}:{port}
PidFile "{folder}/apache.pid"
DefaultRuntimeDir "{folder}"
ErrorLog "{folder}/error.log"
LogLevel warn auth_openidc:info
KeepAlive Off
# (one process: a kept-alive connection would hold off the stop for KeepAliveTimeout)
{loads}
{user}DocumentRoot "{folder}/htdocs"
{directives}
<Location /protected/>
    AuthType openid-connect
    Require valid-user
</Location>
<Directory "{folder}/htdocs/protected">
    Options +ExecCGI
    SetHandler cgi-script
</Directory>
"""


def wait_for_port(port: int, process: subprocess.Popen[bytes], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex((LOOPBACK, port)) == 0:
                return True
        time.sleep(0.05)
    return False


@contextmanager
def running_apache(oidc: dict[str, str], port: int | None = None) -> Iterator[Apache]:
    """Apache on ``port`` (a free one by default) with mod_auth_openidc's ``oidc`` directives."""
    check_installed()
    port = port or free_port()
    folder = Path(tempfile.mkdtemp(prefix="leerid-apache-"))
    folder.chmod(0o755)  # Apache's child (www-data as root) reads the CGI script
    script = folder / "htdocs" / "protected" / "claims"
    script.parent.mkdir(parents=True)
    script.write_text(CLAIMS_CGI, encoding="utf-8")
    script.chmod(0o755)
    (folder / "htdocs").chmod(0o755)
    script.parent.chmod(0o755)
    (folder / "apache.conf").write_text(apache_config(folder, port, oidc), encoding="utf-8")
    argv = [str(APACHE), "-X", "-f", str(folder / "apache.conf")]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    apache = Apache(f"http://{LOOPBACK}:{port}", folder, process)
    try:
        if not wait_for_port(port, process):
            pytest.fail(f"Apache did not listen on {port}:\n{apache.error_log()}")
        yield apache
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        shutil.rmtree(folder, ignore_errors=True)
