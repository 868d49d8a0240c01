"""The ``riskshare`` command line.

Each command group lives in its own module exposing ``register(subparsers)``; the groups are
listed in ``COMMAND_MODULES``. Exit codes: 0 success, 1 not found or refused, 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from mpc import __version__

COMMAND_MODULES = [
    "api.cmd_selfcheck",
    "api.cmd_ledger",
    "api.cmd_audit",
    "api.cmd_service",
    "api.cmd_demo",
    "api.cmd_members",
    "api.cmd_points",
    "api.cmd_stats",
    "api.cmd_screen",
    "api.cmd_dispute",
]

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="riskshare",
        description="Privacy-preserving sharing of investor risk records among securities firms.",
    )
    parser.add_argument("--version", action="version", version=f"riskshare {__version__}")
    parser.add_argument("--dir", metavar="DIR", help="consortium directory (made by `riskshare init`)")
    parser.add_argument("--as", dest="as_member", metavar="NAME", help="act as this member")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
