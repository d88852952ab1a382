"""A local LeerID to develop and test against: seed pupils, start servers, log a pupil in.

One kit for the project's tests, its benchmarks and ``leerid demo``, and for service
providers that use leerid as a local identity provider in their own tests:

- ``leerid.testing.seeding``: a registry through the real DISCIMUS importer, the protocol, a
  client, and pupils' passwords through the school's activation codes;
- ``leerid.testing.servers``: the identity provider or the LARS portal on a free loopback
  port (a subprocess or a thread), waited for, stopped cleanly;
- ``leerid.testing.browser``: a scripted browser without JavaScript (httpx) and the one
  parser of forms and hidden fields;
- ``leerid.testing.relying_party``: the code flow with PKCE as a client does it, ID token
  verified, userinfo called.

Only the project's runtime dependencies are imported (no pytest, no Playwright), and each
module is imported on its own: ``import leerid.testing`` loads nothing heavy.
"""
