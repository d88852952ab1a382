"""The relying party and the recipient's rules: login, gate, retention, privacy log, evidence.

Everything a service provider needs without a web page of its own; the LARS portal
(``leerid.sp.portal``) is built on it, never the other way round.
"""
