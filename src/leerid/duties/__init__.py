"""The duties both parties carry under the protocol (art. 6, 9): shared by DOV's provider and
the recipient's kit, so one rule is written once (the staff privacy log's hash chain, the
breach register and its clocks, the mail to the other party's DPO)."""
