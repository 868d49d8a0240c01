"""Service commands: ``init``, ``serve``, ``contribute``, ``sync``, ``lookup``, ``cosign``.

They call the same domain functions as the servicers (api.platform, api.client); each prints a
human summary or, with ``--json``, one JSON document. Exit codes: 0 ok, 1 refused or not found,
2 bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
from rich.console import Console
from rich.table import Table

from api import client, errors, keystore
from api.consortium import Consortium, init_consortium, role_names
from api.roles import start_keyholder, start_platform
from api.slot_report import SlotReport
from ledger.audit import SplitView
from ledger.entry import Role
from ledger.storage import open_storage
from mpc import index as mindex
from mpc.records import RiskRecord, SubjectType, parse_records

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2
console = Console(stderr=True)


def _consortium(args: argparse.Namespace) -> Consortium:
    if not args.dir:
        raise ValueError("give the consortium directory with --dir DIR")
    return Consortium.load(args.dir)


def _session(args: argparse.Namespace) -> client.Session:
    c = _consortium(args)
    if not args.as_member:
        raise ValueError("say which member you act as with --as NAME")
    return client.Session.connect(c, args.as_member)


def _run(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Map errors to exit codes with one clear line on stderr."""

    def wrapper(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except grpc.RpcError as e:
            code = e.code()
            console.print(f"[red]refused[/red] ({code.name}): {e.details()}")
            return errors.exit_code(code)
        except (ValueError, TypeError, FileNotFoundError, FileExistsError, KeyError) as e:
            console.print(f"[red]error:[/red] {e}")
            return EXIT_BAD_INPUT
        except client.StaleState as e:
            console.print(f"[red]refused:[/red] {e}")
            return EXIT_REFUSED

    return wrapper


def _save_slot_report(c: Consortium, name: str, report: SlotReport) -> Path:
    d = c.state_dir(name) / "slot-reports"
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{int(time.time() * 1000)}-bucket{report.bucket}.json"
    keystore.write_private(path, report.to_json().encode())  # 0600: it reveals the slot
    return path


# ---- init / serve ------------------------------------------------------------------------------------


def _init(args: argparse.Namespace) -> int:
    c = init_consortium(
        Path(args.directory),
        args.member,
        suite=args.suite,
        platform_address=args.platform_address,
        keyholder_address=args.keyholder_address,
        use_tls=not args.no_tls,
    )
    console.print(
        f"[bold]consortium[/bold] {c.root} (log id {c.log_id.hex()}), suite {c.suite}\n"
        "[yellow]DEMO/TEST ONLY:[/yellow] every party's keys were generated in this directory. "
        "Real members run `riskshare keygen` on their own machines and enrol public keys."
    )
    t = Table("id", "member", "roles")
    for m in c.members:
        t.add_row(str(m.id), m.name, ", ".join(role_names(m.roles)))
    console.print(t)
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    c = Consortium.load(args.directory)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if args.role == "platform":
        running, platform = start_platform(c, args.address)
        console.print(f"platform serving on port {running.port} (ledger, index, OPRF share k1)")
        # Tag-sorted batches hide which upload made which entry only if they gather many uploads:
        # hourly in production, a second in demo consortia.
        interval = args.publish_interval or (1.0 if c.demo else 3600.0)
        next_publish = time.monotonic() + interval
        with contextlib.suppress(KeyboardInterrupt):
            while not stop.wait(min(interval, 5.0)):
                if time.monotonic() >= next_publish:
                    platform.publish()
                    platform.corroborate()  # attests the last closed period once it is due
                    next_publish = time.monotonic() + interval
                platform.heartbeat()  # keep a fresh checkpoint on a quiet ledger
        running.stop()
        platform.close()
    elif args.role == "keyholder":
        running, evaluator = start_keyholder(c, args.address)
        console.print(f"key holder serving on port {running.port} (OPRF share k2)")
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
        running.stop()
        evaluator.meter.close()
    elif args.role == "contributor":
        from api.cmd_screen import serve_contributor

        return serve_contributor(c, args.as_member, args.list, args.address)
    else:
        raise ValueError(f"role {args.role!r} is not served by this build")
    return EXIT_OK


# ---- contributor -------------------------------------------------------------------------------------


def _contribute(args: argparse.Namespace) -> int:
    records = _read_records(args)
    if records is None:
        return EXIT_BAD_INPUT
    s = _session(args)
    try:
        t0 = time.perf_counter()
        out = client.contribute(s, records, named=args.named)
        dt = time.perf_counter() - t0
    finally:
        s.close()
    doc = {
        "submitted": out.submitted,
        "accepted": out.accepted,
        "duplicates": out.duplicates,
        "new_distinct_tags": out.new_tags,
        "evaluations": out.evaluations,
        "ledger_index": out.receipt.index,
        "seconds": round(dt, 3),
    }
    if args.json:
        print(json.dumps(doc))
    else:
        console.print(
            f"uploaded {out.submitted} records: {out.accepted} new, {out.duplicates} already there; "
            f"ledger entry {out.receipt.index} ({dt:.1f} s)"
        )
    return EXIT_OK


def _read_records(args: argparse.Namespace) -> list[RiskRecord] | None:
    path = Path(args.file)
    data = sys.stdin.read() if args.file == "-" else path.read_text(encoding="utf-8")
    fmt = args.format or ("jsonl" if path.suffix in (".jsonl", ".json") else "csv")
    parsed = parse_records(data, fmt)
    for err in parsed.errors:
        console.print(f"[red]line {err.line}:[/red] {err.reason}")
    if parsed.errors and not args.skip_bad:
        console.print(
            f"{len(parsed.errors)} bad rows; nothing was sent (use --skip-bad to send the good rows)"
        )
        return None
    return parsed.records


def _revoke(args: argparse.Namespace) -> int:
    records = _read_records(args)
    if records is None:
        return EXIT_BAD_INPUT
    s = _session(args)
    try:
        out = client.revoke(s, records)
    finally:
        s.close()
    where = f"; ledger entry {out.receipt.index}" if out.receipt else ""
    console.print(
        f"revoked {out.revoked} entries; {out.not_found} records not found among this member's uploads{where}"
    )
    return EXIT_OK if out.revoked else EXIT_REFUSED


# ---- broker ------------------------------------------------------------------------------------------


class MirrorFile:
    """A broker's mirror kept between commands: the verified index operations and the witnessed
    checkpoint they reproduce, in SQLite (re-verified against that checkpoint when loaded)."""

    def __init__(self, path: Path) -> None:
        import sqlite3

        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("CREATE TABLE IF NOT EXISTS ops (pos INTEGER PRIMARY KEY, op BLOB NOT NULL)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS cp (id INTEGER PRIMARY KEY CHECK (id = 1), body BLOB NOT NULL)"
        )

    def load(self) -> client.Mirror:
        from ledger.checkpoint import Checkpoint

        m = client.Mirror()
        row = self.db.execute("SELECT body FROM cp").fetchone()
        ops = [bytes(r[0]) for r in self.db.execute("SELECT op FROM ops ORDER BY pos")]
        if row is not None:
            cp = Checkpoint.decode(bytes(row[0]))
            # apply_delta recomputes the root from the operations and compares it to the checkpoint's
            m.index.apply_delta(
                mindex.IndexDelta(0, tuple(ops), cp.index_root),
                mindex.IndexCheckpoint(cp.index_size, cp.index_root),
            )
            m.checkpoint = cp
        return m

    def save(self, m: client.Mirror, start: int) -> None:
        assert m.checkpoint is not None
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT OR REPLACE INTO ops VALUES (?, ?)",
            ((i, op) for i, op in enumerate(m.index._ops[start:], start=start)),
        )
        self.db.execute("INSERT OR REPLACE INTO cp VALUES (1, ?)", (m.checkpoint.encode(),))
        self.db.execute("COMMIT")


def _mirror_path(c: Consortium, name: str) -> Path:
    return c.state_dir(name) / "mirror.db"


def _sync(args: argparse.Namespace) -> int:
    s = _session(args)
    try:
        store = MirrorFile(_mirror_path(s.c, s.name))
        m = store.load()
        start = m.index.size
        n = client.sync(s, m)
        store.save(m, start)
    finally:
        s.close()
    assert m.checkpoint is not None
    console.print(
        f"mirror holds {m.index.size} index operations ({n} new), "
        f"witnessed at ledger size {m.checkpoint.size}"
    )
    return EXIT_OK


def _ids(args: argparse.Namespace) -> Iterator[str]:
    if args.id == "-":
        yield from (line.strip() for line in sys.stdin if line.strip())
    elif args.id.startswith("@"):
        yield from (line.strip() for line in Path(args.id[1:]).read_text().splitlines() if line.strip())
    else:
        yield args.id


def _lookup(args: argparse.Namespace) -> int:
    s = _session(args)
    stype = SubjectType.PERSON if args.type == "person" else SubjectType.ORG
    found_any = False
    try:
        m = None
        if args.mode == "mirror":
            store = MirrorFile(_mirror_path(s.c, s.name))
            m = store.load()
            start = m.index.size
            client.sync(s, m)
            store.save(m, start)
        for sid in _ids(args):
            if m is not None:
                out = client.lookup_mirror(s, m, stype, sid)
            else:
                out = client.lookup_oblivious(s, stype, sid)
                if out.result.bad_slot and out.slot_report is not None:
                    path = _save_slot_report(s.c, s.name, out.slot_report)
                    console.print(
                        f"[red]{sid}: the platform sent a slot that fails its proof; report for the"
                        f" auditors (reveals the slot, not the ID): {path}[/red]"
                    )
            found_any |= out.result.hit
            rows = [
                {
                    "category": f.record.category.value,
                    "amount_fen": f.record.amount_fen,
                    "event_date": f.record.event_date.isoformat(),
                    "reference": f.record.reference,
                    "status": f.record.status.value,
                    "contributor": f.contributor or "(anonymous)",
                }
                for f in out.result.findings
            ]
            if args.json:
                # the entry id is what a dispute names (riskshare dispute open ENTRY_ID)
                records = [
                    {**r, "entry_id": f.entry_id.hex()}
                    for r, f in zip(rows, out.result.findings, strict=True)
                ]
                print(
                    json.dumps(
                        {
                            "id": sid,
                            "hit": out.result.hit,
                            "records": records,
                            "ledger_index": out.receipt.index,
                        }
                    )
                )
            elif not rows:
                console.print(f"{sid}: [green]no record[/green] (ledger entry {out.receipt.index})")
            else:
                t = Table("category", "amount (fen)", "date", "reference", "status", "contributor", title=sid)
                for r in rows:
                    t.add_row(*(str(v) for v in r.values()))
                Console().print(t)
    finally:
        s.close()
    return EXIT_OK if found_any or args.json else EXIT_REFUSED


# ---- auditor -----------------------------------------------------------------------------------------


def _cosign(args: argparse.Namespace) -> int:
    s = _session(args)
    try:
        if not s.member.roles & Role.AUDITOR:
            raise ValueError(f"{s.name} is not an auditor")
        storage = open_storage(str(s.c.state_dir(s.name) / "ledger-copy.db"))
        try:
            st = client.new_auditor(s, storage)
            cp = client.audit_and_cosign(s, st)
        except (client.RestoreGuardRefusal, SplitView) as e:
            # a platform restored from an old backup, or a split view: evidence, not a retry
            console.print(f"[red]refused:[/red] {e}")
            return EXIT_REFUSED
        finally:
            storage.close()
    finally:
        s.close()
    console.print(f"replayed and co-signed the checkpoint of size {cp.size} (index size {cp.index_size})")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("init", help="create a consortium directory (keys for every party: demo/tests only)")
    p.add_argument("directory", metavar="DIR")
    p.add_argument(
        "--member",
        action="append",
        required=True,
        metavar="NAME:ROLE[+ROLE]",
        help="a member and its roles (platform, keyholder, contributor, broker, auditor, admin, mirror)",
    )
    p.add_argument("--suite", default="SM2-SM3", choices=["SM2-SM3", "P256-SHA256"])
    p.add_argument("--platform-address", default="127.0.0.1:50051")
    p.add_argument("--keyholder-address", default="127.0.0.1:50052")
    p.add_argument("--no-tls", action="store_true", help="plaintext gRPC (loopback only)")
    p.set_defaults(func=_run(_init))

    p = sub.add_parser("serve", help="run a server of the consortium")
    p.add_argument("directory", metavar="DIR")
    p.add_argument("--role", default="platform", choices=["platform", "keyholder", "contributor"])
    p.add_argument("--address", metavar="HOST:PORT", help="default: the address in consortium.toml")
    p.add_argument(
        "--list", metavar="FILE", help="contributor: its raw risk list (CSV/JSONL) for bilateral screening"
    )
    p.add_argument(
        "--publish-interval",
        type=float,
        default=None,
        metavar="S",
        help="seconds between tag-sorted index publications (default: hourly; 1 s in demo consortia)",
    )
    p.set_defaults(func=_run(_serve))

    p = sub.add_parser("contribute", help="upload a risk list (CSV or JSON Lines) as encrypted index entries")
    p.add_argument("file", metavar="FILE", help="CSV or JSONL with a header; '-' reads stdin")
    p.add_argument("--format", choices=["csv", "jsonl"])
    p.add_argument("--named", action="store_true", help="name and sign as contributor inside each record")
    p.add_argument("--skip-bad", action="store_true", help="upload the good rows even if some are bad")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run(_contribute))

    p = sub.add_parser(
        "revoke", help="withdraw records this member uploaded (tombstones; unvested rewards clawed back)"
    )
    p.add_argument("file", metavar="FILE", help="CSV or JSONL of the records to withdraw; '-' reads stdin")
    p.add_argument("--format", choices=["csv", "jsonl"])
    p.add_argument("--skip-bad", action="store_true")
    p.set_defaults(func=_run(_revoke))

    p = sub.add_parser("sync", help="bring this broker's mirror up to the newest witnessed checkpoint")
    p.set_defaults(func=_run(_sync))

    p = sub.add_parser("lookup", help="private lookup of one subject (exit 1 when nothing is found)")
    p.add_argument(
        "id", metavar="ID", help="resident ID or credit code; '-' reads IDs from stdin, @FILE from a file"
    )
    p.add_argument("--type", choices=["person", "org"], default="person")
    p.add_argument(
        "--mode",
        choices=["oblivious", "mirror"],
        default="oblivious",
        help="oblivious (default): one bucket + a 1-of-N OT, no local copy; "
        "mirror: a verified local copy (brokers granted it)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_run(_lookup))

    p = sub.add_parser(
        "cosign", help="auditor: sync, replay the ledger and index, co-sign the newest checkpoint"
    )
    p.set_defaults(func=_run(_cosign))
