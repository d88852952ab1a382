"""The OpenID provider of LeerID, compatible with the Flemish ACM/IDM.

``create_app`` in ``leerid.idp.app`` builds the ASGI application; ``IdpSettings`` in
``leerid.idp.settings`` reads every environment variable of the provider. The rooms:

- ``web/``: thin handlers, one per endpoint or page (HTTP in, HTTP out, no SQL);
- ``oauth/``: the pure rules of the specifications, one module per spec (no I/O);
- ``login/``: passwords, the password policy, the throttle's rules, activation codes;
- ``store/``: everything stored, behind ``store.interface.IdpStore`` (SQL in ``store.sql``);
- ``release.py``: what to release, given the pupil's record and the protocol (pure);
- ``migrations/``: the provider's Alembic branch of the Department's database.

Nothing is imported here: ``leerid.idp.store.models`` is imported by ``leerid.schema``, which
``leerid.idp.app`` imports in turn, so an eager facade would close an import cycle.
"""

__all__: list[str] = []
