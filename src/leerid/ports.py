"""Before a server starts: is its port free? (issue 8 §14: say so at once, exit 2)."""

from __future__ import annotations

import errno
import socket

from leerid.errors import ConfigurationError


def ensure_free(host: str, port: int, option: str = "--port") -> None:
    """A ``ConfigurationError`` (exit 2) naming ``port`` when nothing can listen on it.

    The test binds the way uvicorn will (``SO_REUSEADDR``), so a port that an earlier
    server left in TIME_WAIT counts as free, and one another program listens on does not.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigurationError(
                    f"port {port} on {host} is already in use (perhaps by an earlier leerid "
                    f"server): stop that program, or choose another port with {option}"
                ) from None
            if exc.errno == errno.EACCES:
                raise ConfigurationError(
                    f"port {port} on {host} needs administrator rights: choose a port above "
                    f"1023 with {option}"
                ) from None
            raise ConfigurationError(
                f"cannot listen on {host}:{port} ({exc.strerror}): check --host and {option}"
            ) from None
