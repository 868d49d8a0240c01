"""``riskshare ledger``: build ledgers for drills and benchmarks.

``riskshare ledger synth DB --entries N`` fills a new SQLite ledger with a synthetic consortium's
genesis and a signed, realistic mix of entry kinds (contributions, lookups, screenings,
revocations, statistics rounds, disputes, key epochs, member re-keying, a few rejected requests),
checkpointed every 1,000 entries or second of synthetic time and co-signed by a majority of the
auditors. The consortium's private keys are generated for the drill and discarded.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from api.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED


def _synth(args: argparse.Namespace) -> int:
    from ledger.storage.sqlite import SQLiteStorage
    from ledger.synth import Consortium, synth

    if args.entries < 1:
        print("--entries must be at least 1", file=sys.stderr)
        return EXIT_BAD_INPUT
    if os.path.exists(args.db) and os.path.getsize(args.db) > 0:
        print(f"{args.db} exists; refusing to overwrite a ledger", file=sys.stderr)
        return EXIT_REFUSED
    storage = SQLiteStorage(args.db)
    try:
        t0 = time.perf_counter()
        consortium = Consortium(hash_alg=1 if args.hash == "sm3" else 2)
        log, _ = synth(storage, args.entries, consortium=consortium, seed=args.seed)
        elapsed = time.perf_counter() - t0
        cp = log.latest_checkpoint()
        out = {
            "db": args.db,
            "entries": log.size,
            "hash": args.hash,
            "accepted": log.metrics.accepted,
            "rejected": log.metrics.snapshot()["rejected"],
            "checkpoints": len(storage.checkpoints()),
            "latest_checkpoint": cp.checkpoint.as_json() if cp else None,
            "seconds": round(elapsed, 3),
        }
        print(json.dumps(out, indent=2))
    finally:
        storage.close()
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("ledger", help="ledger drills (synthetic ledgers)")
    ls = p.add_subparsers(dest="ledger_command", metavar="COMMAND", required=True)
    s = ls.add_parser("synth", help="fill a new SQLite ledger with a signed, realistic mix of entries")
    s.add_argument("db", metavar="DB", help="path of the SQLite ledger to create")
    s.add_argument("--entries", type=int, required=True, metavar="N", help="number of entries")
    s.add_argument("--seed", type=int, default=1, help="seed of the entry mix (keys are always fresh)")
    s.add_argument("--hash", choices=["sm3", "sha256"], default="sm3", help="Merkle hash of the log")
    s.set_defaults(func=_synth)
