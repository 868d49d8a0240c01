"""``riskshare audit``: verify a ledger and print proofs and checkpoints as JSON (hex hashes).

* ``verify DB`` replays the log (leaves, roots, checkpoints, co-signatures, every member
  signature, the ledger's verdicts and the rule hook) — exit 0 when all holds, 1 with the first
  divergent height otherwise;
* ``proof DB --index I [--size N]`` — inclusion proof of entry I (default: in the latest
  checkpoint that covers it);
* ``consistency DB --old M [--new N]`` — consistency proof between two sizes;
* ``checkpoint DB`` — the latest checkpoint with its signature and co-signatures;
* ``sync SOURCE REPLICA`` — bring an auditor's own copy up to date from a node's store; a node
  that rewrote history is refused naming the first differing height (exit 1);
* ``--dir DIR --as MEMBER audit fetch [REPLICA]`` — the same against the live platform, with the
  member's signed ledger reads (default replica: the auditor's own copy, the one ``cosign`` keeps);
  the restore guard refuses a platform whose newest checkpoint is smaller than, or inconsistent
  with, the one this auditor co-signed or its copy holds (exit 1). ``audit verify REPLICA`` then
  replays it offline;
* ``--dir DIR audit slot REPORT.json DB`` — check a broker's report of a bad oblivious-lookup
  slot (exit 0 when the platform is shown to have sent a bad slot, 1 when the report is unfounded
  or not genuine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from api.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REFUSED
from ledger.storage import Storage


class _NotFound(Exception):
    pass


@contextmanager
def _open(path: str) -> Iterator[Storage]:
    from ledger.storage.sqlite import SQLiteStorage

    if not os.path.exists(path):
        raise _NotFound(f"{path}: no such ledger")
    s = SQLiteStorage(path)
    try:
        if s.size() == 0:
            raise _NotFound(f"{path}: the ledger is empty")
        yield s
    finally:
        s.close()


def _params(s: Storage) -> tuple[bytes, str]:
    from ledger.entry import Entry
    from ledger.log import LedgerState

    state = LedgerState(Entry.decode(s.entry(0)))
    return state.log_id, state.hash_alg


def _print(obj: object) -> None:
    print(json.dumps(obj, indent=2))


def _verify(args: argparse.Namespace) -> int:
    from ledger.audit import audit
    from ledger.hooks import hook_by_name

    with _open(args.db) as s:
        name = args.hook or (s.get_meta("hook") or b"null").decode()
        report = audit(s, mode=args.mode, hook=hook_by_name(name), threads=args.threads)
    out = report.as_json()
    out["hook"] = name
    if args.json:
        _print(out)
    elif report.ok:
        print(
            f"ok: {report.size} entries, {report.checkpoints} checkpoints ({report.witnessed} witnessed), "
            f"mode {report.mode}, {report.seconds:.2f} s"
        )
        for note in report.notes:
            print(f"note: {note}")
    else:
        print(f"DIVERGENCE: {report.divergence}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_REFUSED


def _proof(args: argparse.Namespace) -> int:
    from ledger.checkpoint import Checkpoint
    from mpc import merkle

    with _open(args.db) as s:
        log_id, alg = _params(s)
        size = args.size
        cp = None
        if size is None:
            row = s.latest_checkpoint()
            cp = Checkpoint.decode(row.body) if row is not None else None
            size = cp.size if cp is not None and cp.size > args.index else s.size()
        if not 0 <= args.index < size <= s.size():
            print(f"need 0 <= index < size <= {s.size()}", file=sys.stderr)
            return EXIT_BAD_INPUT
        leaf = s.get_nodes([(0, args.index)])[0]
        proof = merkle.inclusion_proof_from(s.get_nodes, args.index, size, alg)  # type: ignore[arg-type]
        root = merkle.root_from(s.get_nodes, size, alg)  # type: ignore[arg-type]
        merkle.verify_inclusion(leaf, args.index, size, proof, root, alg)  # type: ignore[arg-type]
        _print(
            {
                "log_id": log_id.hex(),
                "hash": alg,
                "index": args.index,
                "size": size,
                "leaf_hash": leaf.hex(),
                "root": root.hex(),
                "checkpoint": cp.as_json() if cp is not None and cp.size == size else None,
                "proof": [p.hex() for p in proof],
            }
        )
    return EXIT_OK


def _consistency(args: argparse.Namespace) -> int:
    from mpc import merkle

    with _open(args.db) as s:
        log_id, alg = _params(s)
        new = s.size() if args.new is None else args.new
        if not 0 <= args.old <= new <= s.size():
            print(f"need 0 <= old <= new <= {s.size()}", file=sys.stderr)
            return EXIT_BAD_INPUT
        old_root = merkle.root_from(s.get_nodes, args.old, alg)  # type: ignore[arg-type]
        new_root = merkle.root_from(s.get_nodes, new, alg)  # type: ignore[arg-type]
        proof = merkle.consistency_proof_from(s.get_nodes, args.old, new, alg)  # type: ignore[arg-type]
        merkle.verify_consistency(args.old, new, old_root, new_root, proof, alg)  # type: ignore[arg-type]
        _print(
            {
                "log_id": log_id.hex(),
                "hash": alg,
                "old_size": args.old,
                "new_size": new,
                "old_root": old_root.hex(),
                "new_root": new_root.hex(),
                "proof": [p.hex() for p in proof],
            }
        )
    return EXIT_OK


def _checkpoint(args: argparse.Namespace) -> int:
    from ledger.checkpoint import Checkpoint, valid_cosigners
    from ledger.entry import KIND_OFFSET, Entry, Kind, Role
    from ledger.log import LedgerState

    with _open(args.db) as s:
        row = s.latest_checkpoint()
        if row is None:
            print("no checkpoint yet", file=sys.stderr)
            return EXIT_REFUSED
        cp = Checkpoint.decode(row.body)
        # Auditors as enrolled at genesis and by later member entries (replayed cheaply).
        state = LedgerState(Entry.decode(s.entry(0)))
        for _, body, _ in s.entries(1, cp.size):
            if body[KIND_OFFSET] == Kind.MEMBER:  # only member entries change the auditors
                state.advance(Entry.decode(body))
        auditors = {i: state.registry.public_key(i) for i in state.registry.with_role(Role.AUDITOR)}
        cosigs = s.cosignatures(cp.size)
        good, bad = valid_cosigners(cp, cosigs, auditors)
        out = cp.as_json()
        out["signature"] = row.signature.hex()
        out["cosignatures"] = {str(a): sig.hex() for a, sig in sorted(cosigs.items())}
        out["cosigners_valid"] = sorted(good)
        out["cosigners_invalid"] = sorted(bad)
        out["auditors"] = len(auditors)
        out["witnessed"] = bool(auditors) and 2 * len(good) > len(auditors)
        _print(out)
    return EXIT_OK


def _sync(args: argparse.Namespace) -> int:
    from ledger.audit import SplitView, sync
    from ledger.storage.sqlite import SQLiteStorage

    with _open(args.source) as src:
        replica = SQLiteStorage(args.replica)
        try:
            copied = sync(src, replica)
        except SplitView as e:
            print(f"SPLIT VIEW: {e}", file=sys.stderr)
            return EXIT_REFUSED
        finally:
            size = replica.size()
            replica.close()
    _print({"copied": copied, "replica_size": size})
    return EXIT_OK


def _fetch(args: argparse.Namespace) -> int:
    from api import client
    from api.cmd_service import _session
    from ledger.storage.sqlite import SQLiteStorage

    s = _session(args)
    try:
        path = args.replica or str(s.c.state_dir(s.name) / "ledger-copy.db")
        replica = SQLiteStorage(path)
        try:
            before = replica.size()
            cp = client.pull_ledger(s, replica, cosignatures=True)
        except client.RestoreGuardRefusal as e:
            print(f"RESTORE GUARD: {e}", file=sys.stderr)
            return EXIT_REFUSED
        finally:
            size = replica.size()
            replica.close()
    finally:
        s.close()
    _print({"replica": path, "copied": size - before, "replica_size": size, "checkpoint": cp.as_json()})
    return EXIT_OK


def _fetch_cmd(args: argparse.Namespace) -> int:
    from api.cmd_service import _run as service_run  # maps gRPC refusals to exit codes

    return service_run(_fetch)(args)


def _slot(args: argparse.Namespace) -> int:
    """Check a broker's bad-slot report against the auditor's ledger copy and the consortium."""
    from api import slot_report
    from api.consortium import Consortium
    from ledger.checkpoint import Checkpoint
    from ledger.entry import Role

    if not args.dir:
        print("audit slot needs --dir DIR (the consortium: platform key, bucket shape)", file=sys.stderr)
        return EXIT_BAD_INPUT
    c = Consortium.load(args.dir)
    try:
        with open(args.report, encoding="utf-8") as f:
            report = slot_report.SlotReport.from_json(f.read())
    except (OSError, ValueError) as e:
        print(f"{args.report}: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    with _open(args.db) as s:
        committed = any(
            (cp := Checkpoint.decode(row.body)).index_size == report.index_size
            and cp.snapshot_root == report.snapshot_root
            for row in s.checkpoints()
        )
    if not committed:
        print("no checkpoint of this ledger commits the report's snapshot root", file=sys.stderr)
        return EXIT_REFUSED
    from mpc.exceptions import InvalidProof

    try:
        verdict = slot_report.check(
            report,
            c.the(Role.PLATFORM).sign_public(),
            bits=len(report.path),
            bucket_size=c.bucket_size,
            cap=c.slot_cap,
        )
    except InvalidProof as e:
        _print({"verdict": "invalid report", "reason": str(e)})
        return EXIT_REFUSED
    _print(
        {"verdict": verdict.value, "bucket": report.bucket, "member": report.member, "reason": report.reason}
    )
    return EXIT_OK if verdict is slot_report.Verdict.CONFIRMED else EXIT_REFUSED


def _run(fn: object) -> object:
    def wrapped(args: argparse.Namespace) -> int:
        try:
            return fn(args)  # type: ignore[operator, no-any-return]
        except _NotFound as e:
            print(str(e), file=sys.stderr)
            return EXIT_REFUSED

    return wrapped


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("audit", help="verify a ledger; print proofs and checkpoints as JSON")
    a = p.add_subparsers(dest="audit_command", metavar="COMMAND", required=True)
    v = a.add_parser("verify", help="replay and verify everything; exit 1 naming the first divergence")
    v.add_argument("db", metavar="DB")
    v.add_argument("--mode", choices=["full", "rules", "roots"], default="full")
    v.add_argument("--hook", help="rule hook to replay with (default: the one the log records)")
    v.add_argument("--threads", type=int, default=2, help="signature-checking threads")
    v.add_argument("--json", action="store_true", help="print the whole report as JSON")
    v.set_defaults(func=_run(_verify))
    pr = a.add_parser("proof", help="inclusion proof of one entry")
    pr.add_argument("db", metavar="DB")
    pr.add_argument("--index", type=int, required=True, metavar="I")
    pr.add_argument("--size", type=int, metavar="N", help="tree size (default: latest checkpoint covering I)")
    pr.set_defaults(func=_run(_proof))
    c = a.add_parser("consistency", help="consistency proof between two tree sizes")
    c.add_argument("db", metavar="DB")
    c.add_argument("--old", type=int, required=True, metavar="M")
    c.add_argument("--new", type=int, metavar="N", help="default: the whole log")
    c.set_defaults(func=_run(_consistency))
    k = a.add_parser("checkpoint", help="the latest checkpoint, signatures and witness status")
    k.add_argument("db", metavar="DB")
    k.set_defaults(func=_run(_checkpoint))
    y = a.add_parser("sync", help="update an auditor's own copy of the log from a node's store")
    y.add_argument("source", metavar="SOURCE", help="the node's SQLite ledger")
    y.add_argument("replica", metavar="REPLICA", help="the auditor's SQLite copy (created if missing)")
    y.set_defaults(func=_run(_sync))
    f = a.add_parser(
        "fetch",
        help="update an auditor's own copy of the log from the live platform (signed reads, restore guard)",
    )
    f.add_argument(
        "replica", metavar="REPLICA", nargs="?", help="SQLite copy (default: the member's ledger-copy.db)"
    )
    f.set_defaults(func=_fetch_cmd)
    sl = a.add_parser(
        "slot",
        help="check a broker's bad-slot report (exit 0: the platform sent a bad slot; 1: unfounded)",
    )
    sl.add_argument("report", metavar="REPORT.json", help="written by `lookup` when a slot fails its proof")
    sl.add_argument("db", metavar="DB", help="the auditor's copy of the ledger (its checkpoints)")
    sl.set_defaults(func=_run(_slot))
