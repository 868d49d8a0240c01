"""``riskshare stats``: Paillier statistics rounds (DESIGN.md, Protocols 6).

    riskshare --dir DIR --as ADMIN stats define --statistic NAME --period YEAR --participants A,B,C
    riskshare --dir DIR --as CONTRIBUTOR stats submit --round R --records FILE [--format csv|jsonl]
    riskshare --dir DIR --as CONTRIBUTOR stats seeds --round R      # after a close with dropouts
    riskshare --dir DIR --as ADMIN stats close --round R          # before the deadline
    riskshare --dir DIR --as NAME stats query --round R
    riskshare --dir DIR --as BROKER stats release --round R [--cells 0,5,...] [--json]

``--dir`` and ``--as`` may also follow ``stats``. Exit codes: 0 ok, 1 refused or not found,
2 bad input.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from api import client, errors
from api.consortium import Consortium
from api.stats_client import StatsClient, format_result
from mpc.exceptions import InvalidProof, ProtocolAbort, ProtocolStateError, StatisticsRefused
from mpc.records import parse_records
from mpc.stats import DEFAULT_K, STATISTICS, get_statistic, tabulate_defaults

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2


def _err(msg: str) -> None:
    print(msg, file=sys.stderr)


def _client(args: argparse.Namespace) -> StatsClient:
    root = args.stats_dir or getattr(args, "dir", None)
    name = args.stats_as or getattr(args, "as_member", None)
    if not root:
        raise ValueError("give the consortium directory with --dir DIR")
    if not name:
        raise ValueError("say which member you act as with --as NAME")
    c = Consortium.load(root)
    return StatsClient(client.Session.connect(c, name))


def _run(fn: Callable[[StatsClient, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def wrapper(args: argparse.Namespace) -> int:
        sc: StatsClient | None = None
        try:
            sc = _client(args)
            return fn(sc, args)
        except grpc.RpcError as e:
            _err(f"refused ({e.code().name}): {e.details()}")
            return errors.exit_code(e.code())
        except (ProtocolAbort, StatisticsRefused, ProtocolStateError, InvalidProof, KeyError) as e:
            _err(f"refused: {e}")
            return EXIT_REFUSED
        except (ValueError, TypeError, FileNotFoundError) as e:
            _err(f"error: {e}")
            return EXIT_BAD_INPUT
        finally:
            if sc is not None:
                sc.s.close()

    return wrapper


def _names(sc: StatsClient, ids: object) -> str:
    assert isinstance(ids, list | tuple)
    return ", ".join(sc.s.c.member_by_id(int(i)).name for i in ids) or "-"


@_run
def _define(sc: StatsClient, args: argparse.Namespace) -> int:
    parts = [p.strip() for p in args.participants.split(",") if p.strip()]
    deadline = int((time.time() + args.deadline_s) * 1000)
    rid, receipt = sc.define(args.statistic, args.period, parts, k=args.k, deadline_ms=deadline)
    print(
        f"round {rid} opened: {get_statistic(args.statistic).name} for period {args.period}, "
        f"{len(parts)} participants, k = {args.k} (ledger entry {receipt.index})"
    )
    return EXIT_OK


@_run
def _submit(sc: StatsClient, args: argparse.Namespace) -> int:
    view = sc.ledger()
    r = view.round(args.round)
    spec = get_statistic(r.int_field("statistic"))
    if args.values:
        try:
            values = json.loads(Path(args.values).read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"{args.values}: not JSON ({e}); expected measures × cells of ints") from None
    else:
        if spec.code != 1:
            raise ValueError(
                f"--records tabulates only {get_statistic(1).name}; give --values for {spec.name}"
            )
        parsed = parse_records(Path(args.records).read_bytes(), args.format)
        if not parsed.ok:
            for bad in parsed.errors[:20]:
                _err(f"line {bad.line}: {bad.reason}")
            raise ValueError(f"{len(parsed.errors)} bad rows in {args.records}: nothing submitted")
        values = tabulate_defaults(parsed.records, r.int_field("period"))
    out = sc.submit(args.round, values)
    print(
        f"submitted to round {args.round}: {out.size} bytes, hash {out.submission_hash.hex()[:16]}…, "
        f"ledger entry {out.receipt.index}" + ("; the round is now closed" if out.closed else "")
    )
    return EXIT_OK


@_run
def _seeds(sc: StatsClient, args: argparse.Namespace) -> int:
    n = sc.send_seeds(args.round)
    print(
        f"round {args.round}: "
        + (
            f"seeds for {n} non-submitter(s) sealed to the key holder"
            if n
            else "no non-submitters, nothing to send"
        )
    )
    return EXIT_OK


@_run
def _close(sc: StatsClient, args: argparse.Namespace) -> int:
    dropped = sc.close(args.round)
    print(f"round {args.round} closed; non-submitters: {_names(sc, list(dropped))}")
    return EXIT_OK


@_run
def _query(sc: StatsClient, args: argparse.Namespace) -> int:
    st = sc.status(args.round)  # closes the round if its deadline passed
    view = sc.ledger()  # what the ledger says, verified against the platform-signed checkpoint
    r = view.round(args.round)
    doc = {
        "round": args.round,
        "statistic": get_statistic(r.int_field("statistic")).name,
        "period": r.int_field("period"),
        "k": r.int_field("k"),
        "participants": _names(sc, r.participants),
        "submitted": _names(sc, sorted(r.submissions)),
        "closed": r.closed,
        "non_submitters": _names(sc, list(r.non_submitters or ())),
        "releases": [{"querier": sc.s.c.member_by_id(q).name, "cells": n} for q, n in r.releases],
        "deadline": datetime.datetime.fromtimestamp(st.deadline_ms / 1000, datetime.UTC).isoformat(
            timespec="seconds"
        ),
        "ledger_size": view.size,
    }
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        for k, v in doc.items():
            print(f"{k:>15}: {v}")
    return EXIT_OK


@_run
def _release(sc: StatsClient, args: argparse.Namespace) -> int:
    cells = [int(x) for x in args.cells.split(",")] if args.cells else []
    res, receipt = sc.release(args.round, cells)
    if args.json:
        spec = res.statistic
        print(
            json.dumps(
                {
                    "round": res.round_id,
                    "statistic": spec.name,
                    "period": res.period,
                    "ledger_entry": receipt.index,
                    "released": {
                        " / ".join(spec.cell_labels(c)): dict(zip(spec.measures, v, strict=True))
                        for c, v in sorted(res.values.items())
                    },
                    "suppressed": [" / ".join(spec.cell_labels(c)) for c in res.suppressed],
                },
                indent=2,
            )
        )
    else:
        print(format_result(res))
        print(f"(stat_release at ledger entry {receipt.index})")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    known = ", ".join(s.name for s in STATISTICS.values())
    p = sub.add_parser("stats", help="Paillier statistics: define a round, submit, release")
    p.add_argument("--dir", dest="stats_dir", metavar="DIR", help="consortium directory")
    p.add_argument("--as", dest="stats_as", metavar="NAME", help="act as this member")
    ss = p.add_subparsers(dest="stats_command", metavar="COMMAND", required=True)

    d = ss.add_parser("define", help="open a round (administrators or the platform)")
    d.add_argument("--statistic", required=True, help=f"statistic name or code ({known})")
    d.add_argument("--period", type=int, required=True, help="period, e.g. the year")
    d.add_argument("--participants", required=True, help="comma-separated contributor names (at least k)")
    d.add_argument(
        "--k", type=int, default=DEFAULT_K, help=f"minimum contributors per cell (default {DEFAULT_K})"
    )
    d.add_argument("--deadline-s", type=float, default=3600.0, help="the platform closes the round then")
    d.set_defaults(func=_define)

    s = ss.add_parser("submit", help="submit this contributor's encrypted, masked values")
    s.add_argument("--round", type=int, required=True)
    src = s.add_mutually_exclusive_group(required=True)
    src.add_argument("--records", metavar="FILE", help="risk records (CSV or JSON Lines) to tabulate")
    src.add_argument("--values", metavar="FILE", help="JSON: measures × cells of non-negative ints")
    s.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    s.set_defaults(func=_submit)

    sd = ss.add_parser("seeds", help="after a close with non-submitters: hand the key holder the seeds")
    sd.add_argument("--round", type=int, required=True)
    sd.set_defaults(func=_seeds)

    cl = ss.add_parser("close", help="administrators: close a round before its deadline")
    cl.add_argument("--round", type=int, required=True)
    cl.set_defaults(func=_close)

    q = ss.add_parser("query", help="a round's state on the verified ledger")
    q.add_argument("--round", type=int, required=True)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=_query)

    r = ss.add_parser("release", help="querier: the round's cells fed by at least k contributors")
    r.add_argument("--round", type=int, required=True)
    r.add_argument("--cells", help="comma-separated cell numbers (default: every cell)")
    r.add_argument("--json", action="store_true")
    r.set_defaults(func=_release)
