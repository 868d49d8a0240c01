"""``riskshare demo``: a loopback consortium running every flow once, with a summary.

Platform, key holder (each with one OPRF key share), three contributors, two brokers and an
auditor, all over real gRPC with TLS on 127.0.0.1 and SQLite stores in a fresh directory.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from api import client
from api.consortium import Consortium, init_consortium
from api.dispute_client import decide_dispute, open_dispute
from api.platform import Platform
from api.roles import start_keyholder, start_platform
from api.screen_client import screen_mirror
from api.stats_client import DemoRound, demo_round, format_result
from incentive.adapter import IncentiveHook
from ledger.audit import audit
from ledger.checkpoint import Receipt
from ledger.entry import Entry, Role
from ledger.storage import open_storage
from mpc import index as mindex
from mpc.records import RiskRecord, SubjectType, SyntheticSource
from mpc.screen import parse_ids

MEMBERS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "huaxia-sec:contributor+broker+mirror",
    "dongfang-sec:contributor+broker+mirror",
    "nanhai-sec:contributor",
    "audit-one:auditor",
]
CONTRIBUTORS = ["huaxia-sec", "dongfang-sec", "nanhai-sec"]
STAT_YEAR = 2023
BROKERS = ["huaxia-sec", "dongfang-sec"]


@dataclass
class Timings:
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, what: str, seconds: float, detail: str = "") -> None:
        self.rows.append((what, f"{seconds:.2f} s" + (f"  ({detail})" if detail else "")))


def _split(records: list[RiskRecord], n: int, rng: random.Random) -> list[list[RiskRecord]]:
    """Split a synthetic list among contributors; some subjects are reported by two of them."""
    parts: list[list[RiskRecord]] = [records[i::n] for i in range(n)]
    src = SyntheticSource(seed="overlap")
    for i in range(1, n):
        for r in rng.sample(parts[0], max(1, len(parts[0]) // 50)):
            parts[i].append(src.record(subject=(r.subject_type, r.subject_id)))
    return parts


def run_demo(
    records: int = 30_000, directory: Path | None = None, lookups: int = 50, seed: int = 2026
) -> int:
    console = Console(width=None if sys.stdout.isatty() else 120)
    rng = random.Random(seed)
    root = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="riskshare-demo-"))
    t = Timings()
    console.rule("[bold]riskshare demo[/bold]")
    console.print(f"consortium directory: {root} [dim](demo: every party's keys are generated here)[/dim]")
    t0 = time.perf_counter()
    c0 = init_consortium(
        root / "consortium", MEMBERS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0"
    )
    c = Consortium.load(c0.root)
    p_run, platform = start_platform(c)
    c.platform_address = f"localhost:{p_run.port}"  # the key holder reaches the platform here
    k_run, keyholder = start_keyholder(c)
    c.keyholder_address = f"localhost:{k_run.port}"
    c.save()  # so that CLI commands against this directory find the servers while they run
    paddr, kaddr = c.platform_address, c.keyholder_address
    t.add("consortium: keys, certificates, genesis, servers up", time.perf_counter() - t0)
    sessions = {name: client.Session.connect(c, name, paddr, kaddr) for name in c.member_names()}
    try:
        # -- contributors ----------------------------------------------------------------------
        data = SyntheticSource(seed=seed).records(records)
        parts = _split(data, len(CONTRIBUTORS), rng)
        summary: dict[str, client.ContributeSummary] = {}
        with _progress(console) as progress:
            for name, part in zip(CONTRIBUTORS, parts, strict=True):
                task = progress.add_task(f"{name} contributes", total=len(part))
                t1 = time.perf_counter()

                def advance(n: int, task: TaskID = task) -> None:
                    progress.advance(task, n)

                summary[name] = client.contribute(
                    sessions[name], part, named=name == "nanhai-sec", progress=advance
                )
                progress.update(task, completed=len(part))
                t.add(
                    f"{name}: contribute {len(part):,} records",
                    time.perf_counter() - t1,
                    "OPRF + seal + upload",
                )
        again = client.contribute(sessions["huaxia-sec"], parts[0][:200])
        # -- publication, checkpoint, audit --------------------------------------------------------
        t1 = time.perf_counter()
        published = platform.publish()
        platform.checkpoint()
        auditor = sessions["audit-one"]
        a_state = client.new_auditor(auditor, open_storage(str(c.state_dir("audit-one") / "ledger-copy.db")))
        cp = client.audit_and_cosign(auditor, a_state)
        t.add(
            f"publish {published:,} index operations, checkpoint, auditor replay + co-sign",
            time.perf_counter() - t1,
        )
        # -- brokers -----------------------------------------------------------------------------------
        mirrors = {}
        for name in BROKERS:
            t1 = time.perf_counter()
            mirrors[name] = client.Mirror()
            client.sync(sessions[name], mirrors[name])
            t.add(f"{name}: mirror sync ({mirrors[name].index.size:,} operations)", time.perf_counter() - t1)
        others = {"huaxia-sec": parts[1] + parts[2], "dongfang-sec": parts[0] + parts[2]}
        results: dict[str, list[tuple[bool, bool, float]]] = {
            f"{n} ({mode})": [] for n in BROKERS for mode in ("mirror", "oblivious")
        }
        example: list[client.LookupOutcome] = []

        def broker_run(name: str) -> None:
            src = SyntheticSource(seed=f"miss-{name}")
            oblivious_every = 5  # one lookup in five without the mirror: bucket + 1-of-N OT
            for i in range(lookups):
                if i % 2 == 0:
                    r = rng.choice(others[name])
                    st, sid, expect = r.subject_type, r.subject_id, True
                else:
                    st, sid, expect = SubjectType.PERSON, src.resident_id(), False
                t2 = time.perf_counter()
                if i % oblivious_every == oblivious_every - 1:
                    out = client.lookup_oblivious(sessions[name], st, sid)
                    key = f"{name} (oblivious)"
                else:
                    out = client.lookup_mirror(sessions[name], mirrors[name], st, sid)
                    key = f"{name} (mirror)"
                results[key].append(
                    (expect, out.result.hit and not out.result.bad_slot, time.perf_counter() - t2)
                )
                if expect and not example and any(f.contributor for f in out.result.findings):
                    example.append(out)

        t1 = time.perf_counter()
        threads = [threading.Thread(target=broker_run, args=(n,)) for n in BROKERS]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        t.add(f"{2 * lookups} private lookups by two brokers concurrently", time.perf_counter() - t1)
        # -- batch screening of a client book against the mirror -----------------------------------------
        t1 = time.perf_counter()
        book_src = SyntheticSource(seed="client-book")
        known = rng.sample(parts[1] + parts[2], min(500, len(parts[1]) + len(parts[2])))
        book = [f"{r.subject_type.value},{r.subject_id}" for r in known]
        book += [f"person,{book_src.resident_id()}" for _ in range(1500)]
        rng.shuffle(book)
        screened = screen_mirror(
            sessions["huaxia-sec"], mirrors["huaxia-sec"], parse_ids("\n".join(book)), root / "screen.journal"
        )
        expected = {r.subject_id for r in known}
        flagged = {f.subject_id for f in screened.flagged}
        t.add(
            f"screen {screened.screened:,} IDs (mirror): {len(flagged):,} flagged, "
            f"{len(flagged & expected):,}/{len(expected):,} expected",
            time.perf_counter() - t1,
        )
        screen_ok = flagged == expected
        # -- a statistic: pairwise-masked Paillier sums, released by the key holder ----------------------
        t1 = time.perf_counter()
        stat = demo_round(
            c,
            admin="platform",
            contributors=CONTRIBUTORS,
            querier="huaxia-sec",
            period=STAT_YEAR,
            records=dict(zip(CONTRIBUTORS, parts, strict=True)),
            platform_address=paddr,
            keyholder_address=kaddr,
        )
        t.add(
            f"statistic: {len(stat.submitted)} contributors submit, key holder releases",
            time.perf_counter() - t1,
        )
        # -- a dispute, decided by the administrators; the period's corroboration ----------------------
        t1 = time.perf_counter()
        disputed = _demo_dispute(sessions, mirrors["huaxia-sec"], parts[2], platform)
        t.add(
            "dispute: huaxia-sec files (administrator co-signs: frozen), upheld (removed)",
            time.perf_counter() - t1,
        )
        corroborated = _demo_corroboration(platform, console)
        # -- second audit round and full verification -------------------------------------------------
        t1 = time.perf_counter()
        platform.checkpoint()
        cp = client.audit_and_cosign(auditor, a_state)  # checks the freeze and removal against the ledger
        report = audit(platform.ledger.storage, hook=IncentiveHook())
        t.add("auditor co-signs again; full audit verify of the platform's ledger", time.perf_counter() - t1)
        client.sync(sessions["huaxia-sec"], mirrors["huaxia-sec"])
        dispute_ok = disputed is None or (
            mirrors["huaxia-sec"].index.state.status(disputed) is mindex.EntryStatus.REMOVED
        )
        console.print(
            "dispute: the upheld entry is gone from the brokers' mirrors"
            if disputed is not None and dispute_ok
            else "dispute: [red]the upheld entry is still in the mirror[/red]"
            if disputed is not None
            else "dispute: no record found to dispute"
        )
        if corroborated is None:
            console.print("corroboration: no closed period with records past the holding period yet")
        else:
            e = Entry.decode(platform.ledger.storage.entry(corroborated.index))
            names = {m.id: m.name for m in c.members}
            counts = ", ".join(
                f"{names.get(m, m)} {n}"
                for m, n in zip(e.ints_field("contributors"), e.ints_field("counts"), strict=True)
            )
            console.print(
                f"corroboration of period {e.int_field('period')} (ledger entry {corroborated.index}): "
                f"distinct tags another contributor also reports: {counts}"
            )
        _print_summary(console, c, summary, again, results, example, report.ok, cp.size, platform, t, stat)
        return 0 if report.ok and _all_correct(results) and screen_ok and dispute_ok else 1
    finally:
        for s in sessions.values():
            s.close()
        p_run.stop()
        k_run.stop()
        platform.close()
        keyholder.meter.close()


def _demo_dispute(
    sessions: dict[str, client.Session], mirror: client.Mirror, records: list[RiskRecord], platform: Platform
) -> bytes | None:
    """A data subject contests one of nanhai-sec's records with huaxia-sec, which found it: the
    broker files (the platform administrator co-signs, so the entry freezes at once), the
    administrators uphold, the entry is removed. Returns the entry id (None if none was found)."""
    broker, admin = sessions["huaxia-sec"], sessions["platform"]
    for r in records[:20]:
        out = client.lookup_mirror(broker, mirror, r.subject_type, r.subject_id)
        found = [f for f in out.result.findings if f.record == r]
        if found:
            break
    else:
        return None
    eid = found[0].entry_id
    filed = open_dispute(broker, eid, evidence=b"the subject's complaint", cosigners=["platform"])
    platform.publish()
    decide_dispute(admin, filed.dispute, upheld=True)
    platform.publish()
    return eid


def _demo_corroboration(platform: Platform, console: Console, wait_s: float = 20.0) -> Receipt | None:
    """The platform attests corroboration once a period closed with records held past the
    holding period (demo rules: 15-second periods, one holding period): wait for it, bounded."""
    out = platform.corroborate()
    deadline = time.monotonic() + wait_s
    if out is None:
        console.print("[dim]waiting for an incentive period to close (corroboration)…[/dim]")
    while out is None and time.monotonic() < deadline:
        time.sleep(1.0)
        platform.heartbeat(0)  # an entry, so that the period clock moves
        out = platform.corroborate()
    return out


def _all_correct(results: dict[str, list[tuple[bool, bool, float]]]) -> bool:
    return all(expect == hit for rs in results.values() for expect, hit, _ in rs)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _print_summary(
    console: Console,
    c: Consortium,
    summary: dict[str, client.ContributeSummary],
    again: client.ContributeSummary,
    results: dict[str, list[tuple[bool, bool, float]]],
    example: list[client.LookupOutcome],
    audit_ok: bool,
    ledger_size: int,
    platform: object,
    t: Timings,
    stat: DemoRound,
) -> None:
    tab = Table(
        "contributor",
        "submitted",
        "accepted",
        "duplicates",
        "new distinct tags",
        "OPRF evaluations",
        title="Contributions (the platform never sees an ID or a record)",
    )
    for name, s in summary.items():
        tab.add_row(
            name,
            f"{s.submitted:,}",
            f"{s.accepted:,}",
            f"{s.duplicates:,}",
            f"{s.new_tags:,}",
            f"{s.evaluations:,}",
        )
    tab.add_row(
        "huaxia-sec (re-upload)",
        f"{again.submitted:,}",
        f"{again.accepted:,}",
        f"{again.duplicates:,}",
        "0",
        f"{again.evaluations:,}",
    )
    console.print(tab)
    tab = Table(
        "broker (mode)",
        "lookups",
        "hits (expected)",
        "misses (expected)",
        "correct",
        "p50",
        "p99",
        title="Private lookups (the servers learn 'one evaluation by member M'; oblivious: also the bucket)",
    )
    for name, rs in results.items():
        if not rs:
            continue
        lat = sorted(x[2] for x in rs)
        hits = sum(1 for e, h, _ in rs if h)
        exp_hits = sum(1 for e, _, _ in rs if e)
        correct = sum(1 for e, h, _ in rs if e == h)
        tab.add_row(
            name,
            str(len(rs)),
            f"{hits} ({exp_hits})",
            f"{len(rs) - hits} ({len(rs) - exp_hits})",
            f"{correct}/{len(rs)}",
            f"{statistics.median(lat) * 1000:.1f} ms",
            f"{lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000:.1f} ms",
        )
    console.print(tab)
    if example:
        out = example[0]
        tab = Table(
            "category",
            "amount (fen)",
            "date",
            "reference",
            "contributor",
            "signature",
            title="One hit, as the broker sees it",
        )
        for f in out.result.findings:
            tab.add_row(
                f.record.category.value,
                f"{f.record.amount_fen:,}",
                f.record.event_date.isoformat(),
                f.record.reference,
                f.contributor or "(anonymous)",
                {True: "verified", False: "bad", None: "-"}[f.verified],
            )
        console.print(tab)
    lines = format_result(stat.result, suppressed_rows=False).splitlines()
    console.print(
        f"[bold]Statistic[/bold] (default amount and count by category × month, {STAT_YEAR}; "
        f"released to huaxia-sec, cells fed by fewer than k = 3 contributors suppressed):"
    )
    console.print("\n".join(lines[:14] + (["  …"] if len(lines) > 14 else [])), markup=False, highlight=False)
    engine = platform.hook.engine  # type: ignore[attr-defined]
    tab = Table("member", "roles", "points", title="Points (incentive rules, replayed by the auditor)")
    for m in c.members:
        tab.add_row(
            m.name,
            ", ".join(
                n
                for n in ("contributor", "broker", "auditor", "platform", "keyholder")
                if m.roles & getattr(Role, n.upper())
            ),
            f"{engine.balance(m.id):,}",
        )
    console.print(tab)
    tab = Table("step", "time", title="Timings (2 cores shared by every party)")
    for what, secs in t.rows:
        tab.add_row(what, secs)
    console.print(tab)
    verdict = (
        "[green]all entries, roots, signatures and rules verify[/green]" if audit_ok else "[red]FAILED[/red]"
    )
    console.print(f"audit verify over {ledger_size} ledger entries: {verdict}")
