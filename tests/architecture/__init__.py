"""The house's rules (docs/architecture.md) as tests over the source tree."""
