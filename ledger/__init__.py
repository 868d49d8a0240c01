"""The permissioned ledger: SM2-signed canonical entries in an SM3 Merkle log with checkpoints."""
