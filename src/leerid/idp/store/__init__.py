"""The provider's storage: grants, clients, keys, disclosures, reports, protocol versions."""
