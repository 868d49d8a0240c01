"""Point-based incentive rules: deterministic, versioned, integer-only, replayed by auditors."""
