"""``riskshare --dir DIR --as NAME dispute open|decide|list``: disputes of index entries.

A member that found a record (a broker) or holds it (a contributor) files a data subject's
complaint against the record's entry id (``lookup --json`` prints it); the ID itself never
reaches the platform, and the complaint document stays with the filer (only its salted SM3
digest is sent). Administrators co-sign a filing to freeze the entry at once, and decide with
their threshold: ``--uphold`` removes the entry (the rules claw back and penalise), ``--dismiss``
unfreezes it. Exit codes: 0 ok, 1 refused or not found, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from api._generated import dispute_pb2
from api.cmd_service import _run, _session
from api.dispute_client import decide_dispute, list_disputes, open_dispute

console = Console(stderr=True)
EXIT_OK, EXIT_REFUSED = 0, 1


def _as_json(d: dispute_pb2.DisputeInfo) -> dict[str, Any]:
    return {
        "dispute_id": d.dispute_id,
        "entry_id": bytes(d.entry_id).hex(),
        "filer": d.filer,
        "contributor": d.contributor,
        "upload_height": d.height,
        "status": d.status,
        "frozen_by_filing": d.frozen_by_filing,
        "file_index": d.file_index,
        "decide_index": d.decide_index or None,
    }


def _entry_id(text: str) -> bytes:
    try:
        eid = bytes.fromhex(text)
    except ValueError:
        raise ValueError("an entry id is 32 hex digits") from None
    if len(eid) != 16:
        raise ValueError("an entry id is 32 hex digits")
    return eid


def _open(args: argparse.Namespace) -> int:
    eid = _entry_id(args.entry_id)
    evidence = Path(args.evidence).read_bytes() if args.evidence else None
    s = _session(args)
    try:
        out = open_dispute(s, eid, evidence=evidence, cosigners=args.cosign or ())
    finally:
        s.close()
    d = out.dispute
    if args.json:
        print(json.dumps({**_as_json(d), "ledger_index": out.receipt.index}))
    else:
        frozen = " and froze the entry" if d.frozen_by_filing else ""
        console.print(f"dispute {d.dispute_id} filed{frozen} (ledger entry {out.receipt.index})")
    return EXIT_OK


def _decide(args: argparse.Namespace) -> int:
    s = _session(args)
    try:
        found = [d for d in list_disputes(s) if d.dispute_id == args.dispute_id]
        if not found:
            console.print(f"[red]no dispute {args.dispute_id} visible to {s.name}[/red]")
            return EXIT_REFUSED
        out = decide_dispute(s, found[0], upheld=args.uphold, cosigners=args.cosign or ())
    finally:
        s.close()
    if args.json:
        print(json.dumps({**_as_json(out.dispute), "ledger_index": out.receipt.index}))
    else:
        console.print(f"dispute {args.dispute_id} {out.dispute.status} (ledger entry {out.receipt.index})")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    s = _session(args)
    try:
        rows = list_disputes(s)
    finally:
        s.close()
    if args.json:
        print(json.dumps([_as_json(d) for d in rows]))
        return EXIT_OK
    t = Table("dispute", "entry id", "filer", "contributor", "status", "frozen", "filed at", "decided at")
    for d in rows:
        t.add_row(
            str(d.dispute_id),
            bytes(d.entry_id).hex(),
            str(d.filer),
            str(d.contributor),
            d.status,
            "yes" if d.frozen_by_filing else "no",
            str(d.file_index),
            str(d.decide_index or "-"),
        )
    Console().print(t)
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dispute", help="file, decide and list disputes of index entries")
    ds = p.add_subparsers(dest="dispute_command", metavar="ACTION", required=True)
    o = ds.add_parser("open", help="file a data subject's complaint against an index entry")
    o.add_argument("entry_id", metavar="ENTRY_ID", help="32 hex digits, as `lookup --json` prints")
    o.add_argument(
        "--evidence", metavar="FILE", help="the complaint document (only its salted digest is sent)"
    )
    o.add_argument(
        "--cosign",
        action="append",
        metavar="ADMIN",
        help="an administrator co-signing (freezes at threshold)",
    )
    o.add_argument("--json", action="store_true", help="print one JSON document")
    o.set_defaults(func=_run(_open))
    d = ds.add_parser("decide", help="administrators: uphold (remove the entry) or dismiss a dispute")
    d.add_argument("dispute_id", metavar="DISPUTE_ID", type=int)
    how = d.add_mutually_exclusive_group(required=True)
    how.add_argument("--uphold", action="store_true", help="the complaint stands: remove the entry")
    how.add_argument("--dismiss", action="store_true", help="the record stands: unfreeze it")
    d.add_argument("--cosign", action="append", metavar="ADMIN", help="another administrator signing too")
    d.add_argument("--json", action="store_true", help="print one JSON document")
    d.set_defaults(func=_run(_decide))
    ls = ds.add_parser("list", help="disputes this member filed or that concern its entries (all: admins)")
    ls.add_argument("--json", action="store_true", help="print a JSON list")
    ls.set_defaults(func=_run(_list))
