"""Pure OAuth 2.0 / OpenID Connect rules, one module per specification: no I/O here."""
