"""The permissioned ledger: SM2-signed canonical entries in an SM3 Merkle log with checkpoints.

Map of the package (DESIGN.md, "Ledger"; ERRATA, "Permissioned ledger"):

* ``entry``      — :class:`~ledger.entry.Request` (what a member signs) and
  :class:`~ledger.entry.Entry` (request, signatures, platform attestation, outcome code): one
  canonical, versioned, integer-only encoding for the 15 kinds;
* ``hooks``      — :class:`~ledger.hooks.RuleHook`, the callback through which the rule layer
  decides outcomes and commits its state root, live and in replay;
* ``members``    — the member registry, roles, who may submit what, administrators' thresholds;
* ``rounds``     — the statistics-round bookkeeping the ledger's verdict enforces;
* ``log``        — the sequencer (:class:`~ledger.log.Log`): refusals, verdicts, group commit,
  receipts after the fsync, checkpoints every ≤ 1 s / ≤ 1,000 entries, the restore guard;
* ``checkpoint`` — checkpoints, co-signatures, witnessing, receipts, client acceptance;
* ``storage``    — the :class:`~ledger.storage.Storage` protocol with memory and SQLite backends;
* ``audit``      — replay with the first divergence named, the auditor's co-signing and sync;
* ``synth``      — a synthetic consortium and entry mix for drills, tests and benchmarks.

Typical use by the service::

    log = Log(SQLiteStorage(path), platform_key, hook=rules_hook, index_roots=index.roots)
    log.start()                                  # checkpoints when due
    receipt = log.submit(request_bytes, signatures, attested={"accepted": 5, "new_tags": 3})
"""
