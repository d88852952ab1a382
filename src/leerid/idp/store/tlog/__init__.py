"""The transparency log at DOV: entries appended with each disclosure, integrated into an
RFC 9162 tree stored as C2SP tiles, signed checkpoints and the recipients' cosignatures.
See docs/transparency-log.md."""
