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

A service provider's test against a local LeerID, in short::

    engine = make_engine(url); leerid.schema.upgrade(engine)
    seeding.seed_registry(engine, folder, pupils=50)            # DISCIMUS → registry
    issued = seeding.issue_codes(engine, seeding.schools(engine)[:1])
    protocol_id = seeding.store_protocol(engine, Path("protocols/dov-lars-glce-2024.yaml"))
    client_id, secret = seeding.register_client(
        engine, protocol_id=protocol_id, redirect_uris=["http://127.0.0.1:8001/callback"])
    idp = servers.start_idp(url)                                 # idp.issuer, idp.stop()
    with browser.Browser() as pupil:
        pupil.activate(idp.issuer, issued[0].username, issued[0].code, "een lang wachtwoord")
        page = pupil.lars_login("http://127.0.0.1:8001", issued[0].username, "een lang wachtwoord")
"""
