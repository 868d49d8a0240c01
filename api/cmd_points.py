"""``riskshare points DB [--member M] [--json]``: balances, or one member's account and history."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from incentive import store
from incentive.engine import Engine, JournalRow
from incentive.exceptions import StateDivergence
from incentive.points import (
    LIFETIME_BONUS,
    LIFETIME_CLAWED_BACK,
    LIFETIME_EVALUATIONS,
    LIFETIME_FEES,
    LIFETIME_POOL_SHARE,
    LIFETIME_RECORDS,
    LIFETIME_REVOKED,
    LIFETIME_VESTED,
    NS,
    TREASURY,
)
from incentive.replay import replay_storage

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2

_LIFETIME = {
    "records": LIFETIME_RECORDS,
    "evaluations": LIFETIME_EVALUATIONS,
    "fees_paid": LIFETIME_FEES,
    "vested": LIFETIME_VESTED,
    "clawed_back": LIFETIME_CLAWED_BACK,
    "pool_share": LIFETIME_POOL_SHARE,
    "bonus_and_grants": LIFETIME_BONUS,
    "revoked": LIFETIME_REVOKED,
}
_STATUS = {1: "enrolled", 2: "removed"}


class Diverged(Exception):
    pass


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()


def _load(path: Path) -> tuple[Engine, list[JournalRow]]:
    """A ledger database is replayed through the rules (the source of truth); a database holding
    only a saved incentive state is loaded and checked against its stored root."""
    tables = _tables(path)
    if {"entries", "_migrations"} <= tables:
        from ledger.storage.sqlite import SQLiteStorage

        storage = SQLiteStorage(str(path))
        try:
            hook = (storage.get_meta("hook") or b"null").decode()
            if hook != "incentive":
                raise LookupError(
                    f"this ledger was sequenced with the {hook!r} rule hook, not the incentive rules"
                )
            result = replay_storage(storage)
        finally:
            storage.close()
        if result.first_divergence is not None:
            h = result.first_divergence
            raise Diverged(f"the rules do not reproduce the stored outcome at height {h}")
        return result.engine, result.engine.journal
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return store.load(conn)
    finally:
        conn.close()


def summary(engine: Engine) -> dict[str, Any]:
    book = engine.book
    return {
        "height": engine.height,
        "rule_version": engine.rule_version,
        "period": engine.cell(NS.CLOCK, 0),
        "state_root": engine.state_root().hex(),
        "minted": book.minted,
        "burned": book.burned,
        TREASURY: book.treasury,
        "pool": book.pool,
        "balances": {str(m): engine.balance(m) for m in engine.members()},
    }


def member_view(engine: Engine, journal: list[JournalRow], member: int) -> dict[str, Any]:
    pending = 0
    for k in engine.book.keys_in(NS.PENDING_VEST):
        hk_member = k & 0xFFFFFFFFFFFFFFFF
        if hk_member == member:
            h = (k >> 81) & 0xFFFFFFFFFFFFFFFF
            pending += engine.cell(NS.PENDING_COUNT, member, h) * engine.cell(NS.PENDING_RATE, member, h)
    lifetime = {name: engine.cell(NS.LIFETIME, member, b) for name, b in _LIFETIME.items()}
    # evaluations and fees are folded into the lifetime totals at period close
    lifetime["evaluations"] += engine.cell(NS.QUOTA_USED, member)
    lifetime["fees_paid"] += engine.cell(NS.FEES_PAID, member)
    return {
        "member": member,
        "status": _STATUS.get(engine.cell(NS.MEMBER, member), "unknown"),
        "balance": engine.balance(member),
        "pending_rewards": pending,
        "active_distinct_tags": engine.cell(NS.ACTIVE_TAGS, member),
        "evaluations_this_period": engine.cell(NS.QUOTA_USED, member),
        "lifetime": lifetime,
        "history": [
            {"height": r.height, "event": r.kind, "delta": r.delta, "outcome": r.code}
            for r in journal
            if r.member == member
        ],
    }


def _points(args: argparse.Namespace) -> int:
    path = Path(args.db)
    if not path.is_file():
        print(f"no such database: {path}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        engine, journal = _load(path)
    except LookupError as e:
        print(str(e), file=sys.stderr)
        return EXIT_REFUSED
    except (StateDivergence, Diverged) as e:
        print(f"refusing to show tampered state: {e}", file=sys.stderr)
        return EXIT_REFUSED
    except sqlite3.DatabaseError as e:
        print(f"not a riskshare database: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.member is not None:
        if not engine.cell(NS.MEMBER, args.member):
            print(f"member {args.member} not found", file=sys.stderr)
            return EXIT_REFUSED
        view = member_view(engine, journal, args.member)
        if args.json:
            print(json.dumps(view, indent=2))
            return EXIT_OK
        _print_member(view)
        return EXIT_OK
    s = summary(engine)
    if args.json:
        print(json.dumps(s, indent=2))
        return EXIT_OK
    console = Console()
    console.print(
        f"last accepted height {s['height']}, rule version {s['rule_version']}, period {s['period']}, "
        f"state root {s['state_root'][:16]}…"
    )
    console.print(
        f"minted {s['minted']:,}  burned {s['burned']:,}  treasury {s[TREASURY]:,}  pool {s['pool']:,}"
    )
    table = Table("member", "balance")
    for m, b in s["balances"].items():
        table.add_row(m, f"{b:,}")
    console.print(table)
    return EXIT_OK


def _print_member(view: dict[str, Any]) -> None:
    console = Console()
    console.print(
        f"member {view['member']} ({view['status']}): balance {view['balance']:,}, "
        f"pending rewards {view['pending_rewards']:,}, active distinct tags {view['active_distinct_tags']:,}"
    )
    life = Table("lifetime", "value")
    for name, v in view["lifetime"].items():
        life.add_row(name, f"{v:,}")
    console.print(life)
    hist = Table("height", "event", "delta", "outcome")
    for r in view["history"]:
        hist.add_row(str(r["height"]), r["event"], f"{r['delta']:+,}", r["outcome"])
    console.print(hist)


def _member_id(text: str) -> int:
    try:
        v = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"member id must be an integer, not {text!r}") from None
    if not 0 <= v < 1 << 63:
        raise argparse.ArgumentTypeError("member id out of range")
    return v


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("points", help="point balances, or one member's account and history")
    p.add_argument("db", metavar="DB", help="the riskshare SQLite database")
    p.add_argument("--member", type=_member_id, metavar="M", help="show member M's account and history")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_points)
