"""Point-based incentive rules: deterministic, versioned, integer-only, replayed by auditors.

- :mod:`incentive.points` — int64 state cells (balances, treasury, pool, counters) with atomic,
  overflow-checked updates and mint/burn accounting;
- :mod:`incentive.params`, :mod:`incentive.events` — rule parameters and the events rules consume;
- :mod:`incentive.rules` — rule set 1 as pure functions (state, event, params) → (deltas, outcome);
- :mod:`incentive.engine` — atomic application, the rule schedule, the journal;
- :mod:`incentive.stateroot` — the incremental SM3 / RFC 9162 state root;
- :mod:`incentive.adapter` — ledger entries → events and the ledger's rule hook (``"incentive"``);
- :mod:`incentive.replay`, :mod:`incentive.store` — replaying a stored ledger, saving the state.

The rules and their parameters are tabulated in ``incentive/RULES.md``.
"""
