"""The transparency log's pure parts: RFC 9162 Merkle trees, C2SP signed notes and
checkpoints, witness cosignatures, the log's entries and the pupil's receipts.

No database, no HTTP: the provider (``leerid.idp.store.tlog``) stores the tree, the service
provider's kit (``leerid.sp.kit``) witnesses it, and ``leerid log check-receipt`` checks a
receipt offline, all with these functions. See docs/transparency-log.md.
"""
