"""The OpenID provider of LeerID, compatible with the Flemish ACM/IDM.

Endpoints, the login page and SSO session, signing keys, the client registry, claim release
through ``leerid.protocol`` and the disclosure log. ``create_app`` in ``leerid.idp.app``
builds the ASGI application.
"""
