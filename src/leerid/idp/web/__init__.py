"""The HTTP side of the provider: one thin handler module per endpoint or page."""
