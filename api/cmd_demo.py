"""``riskshare demo``: the whole system on loopback, every flow once, with a summary."""

from __future__ import annotations

import argparse
from pathlib import Path


def _demo(args: argparse.Namespace) -> int:
    from api.demo import run_demo

    return run_demo(
        records=args.records, directory=Path(args.dir) if args.dir else None, lookups=args.lookups
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run a loopback consortium through every flow and print a summary")
    p.add_argument("--records", type=int, default=30_000, help="synthetic risk records (default 30,000)")
    p.add_argument("--lookups", type=int, default=50, help="lookups per broker (half hits, half misses)")
    p.set_defaults(func=_demo)
