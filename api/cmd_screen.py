"""``riskshare --dir DIR --as NAME screen FILE --out FILE [--with CONTRIBUTOR]``: batch screening.

Without ``--with``: the mirror path (two-server OPRF in chunks, the broker's verified mirror,
``screen`` ledger entries with both servers' receipts); an interrupted run resumes from its
journal (``OUT.journal``) by replaying stored responses. With ``--with CONTRIBUTOR``: bilateral
screening against that contributor's own server (labeled KKRT PSI). The result file lists the
flagged IDs with their categories (CSV, mode 0600: it names clients). A malformed ID file is
refused with every bad line listed and nothing evaluated or recorded (exit 2).

:func:`serve_contributor` runs ``riskshare --dir DIR --as NAME serve DIR --role contributor
--list FILE`` (wired from ``api.cmd_service``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import screen_client
from api.cmd_service import EXIT_BAD_INPUT, EXIT_OK, MirrorFile, _mirror_path, _run, _session, console
from api.consortium import Consortium
from api.contributor_server import contributor_address, load_list, start_contributor
from mpc import screen as sc

MAX_SHOWN_ERRORS = 50


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _screen(args: argparse.Namespace) -> int:
    data = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    ids = sc.parse_ids(data)
    if not ids.ok:
        for err in ids.errors[:MAX_SHOWN_ERRORS]:
            console.print(f"[red]line {err.line}:[/red] {err.reason}")
        more = len(ids.errors) - MAX_SHOWN_ERRORS
        if more > 0:
            console.print(f"… and {more} more bad lines")
        console.print(f"{len(ids.errors)} bad lines; nothing was screened, evaluated or recorded")
        return EXIT_BAD_INPUT
    out_path = Path(args.out)
    journal = Path(args.journal) if args.journal else out_path.with_name(out_path.name + ".journal")
    s = _session(args)
    try:
        columns = (
            TextColumn("[bold]screening[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("screen", total=len(ids.subjects))

            def advance(n: int) -> None:
                bar.advance(task, n)

            if args.with_contributor:
                address = args.address or contributor_address(s.c, args.with_contributor)
                out = screen_client.screen_bilateral(s, args.with_contributor, address, ids, progress=advance)
            else:
                store = MirrorFile(_mirror_path(s.c, s.name))
                mirror = store.load()
                start = mirror.index.size
                out = screen_client.screen_mirror(
                    s, mirror, ids, journal, progress=advance, max_age_ms=int(args.max_age * 1000)
                )
                store.save(mirror, start)
    finally:
        s.close()
    _write_private(out_path, sc.results_csv(out.flagged))
    if not args.with_contributor and not args.keep_journal:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(str(journal) + suffix)
    t = Table(show_header=False, title="screening summary")
    t.add_row(
        "IDs screened",
        f"{out.screened:,}" + (f" ({ids.duplicates:,} duplicates skipped)" if ids.duplicates else ""),
    )
    t.add_row("flagged", f"{len(out.flagged):,}")
    t.add_row("time", f"{out.seconds:.2f} s")
    if out.mode == sc.MODE_MIRROR:
        t.add_row("path", "mirror (two-server OPRF)")
        t.add_row("evaluated / replayed", f"{out.evaluated:,} / {out.replayed:,}")
    else:
        t.add_row("path", f"bilateral with {args.with_contributor} (KKRT PSI)")
        t.add_row("charged (bins + stash)", f"{out.charged:,}")
    t.add_row("ledger entries", ", ".join(str(r.index) for r in out.entries) or "(already recorded)")
    t.add_row("result file", str(out_path))
    console.print(t)
    return EXIT_OK


def serve_contributor(c: Consortium, name: str | None, list_file: str | None, address: str | None) -> int:
    """``serve --role contributor``: answer bilateral screening runs over the member's raw list."""
    if not name:
        raise ValueError("say which contributor serves with --as NAME")
    path = Path(list_file) if list_file else c.state_dir(name) / "screen-list.csv"
    if not path.exists():
        raise FileNotFoundError(f"{path}: no risk list to screen against (give --list FILE)")
    records = load_list(path)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    running, service = start_contributor(c, name, records, address or "127.0.0.1:0")
    console.print(
        f"contributor {name} serving bilateral screening on port {running.port} "
        f"({service.size:,} subjects; per-run cap {service.run_cap:,} bins + stash)"
    )
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    running.stop()
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("screen", help="batch screening of a client book (flagged IDs with categories)")
    p.add_argument("file", metavar="FILE", help="one ID a line, or CSV subject_type,subject_id; '-' = stdin")
    p.add_argument("--out", required=True, metavar="FILE", help="result CSV (flagged IDs), mode 0600")
    p.add_argument(
        "--with",
        dest="with_contributor",
        metavar="CONTRIBUTOR",
        help="bilateral screening against this contributor's own server instead of the mirror",
    )
    p.add_argument("--address", metavar="HOST:PORT", help="the contributor's screening server")
    p.add_argument("--journal", metavar="FILE", help="resumable run state (default: OUT.journal)")
    p.add_argument(
        "--max-age",
        type=float,
        default=screen_client.MAX_MIRROR_AGE_MS / 1000,
        metavar="S",
        help="mirror path: refuse when the newest witnessed checkpoint is older (default 600 s)",
    )
    p.add_argument("--keep-journal", action="store_true", help="keep the journal after a complete run")
    p.set_defaults(func=_run(_screen))
