"""DOV's side of the data: DISCIMUS registrations turned into LeerID identities."""
