"""Authlib's httpx client, imported without its warning about the ``httpx2`` package.

Authlib 1.9 prefers ``httpx2`` and warns when it falls back to ``httpx``, which is what this
project pins; the fallback is Authlib's supported code path for now.
"""

from __future__ import annotations

import warnings

from authlib.deprecate import AuthlibDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

__all__ = ["AsyncOAuth2Client"]
