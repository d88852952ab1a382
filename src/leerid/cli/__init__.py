"""The ``leerid`` command: one module per command group."""
