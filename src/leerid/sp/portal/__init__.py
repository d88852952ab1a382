"""The LARS portal: the web pages of the demo service provider, built on ``leerid.sp.kit``.

``leerid.sp.portal.app.create_portal`` builds the application.
"""
