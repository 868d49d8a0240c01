"""Area ``incentive``: rule events applied per second and the incremental state root.

No external library computes these rules, so the rows have no reference column; the issue's
targets are stated in each row's note (≥ 100k rule events/s on one core; state root for 10k changed
balances ≤ 10 ms). Times are this process's CPU time (``time.process_time``), so that other work on
a shared machine does not count against the single-threaded figure."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from benchmarks._harness import Bench, Row
from incentive.engine import Engine
from incentive.events import (
    ContributeEvent,
    EvaluationEvent,
    Event,
    GenesisEvent,
    PeriodCloseEvent,
    Receipts,
    RevokeEvent,
)
from incentive.params import Params
from incentive.points import NS, key

T0 = 1_700_000_000
PARAMS = Params(period_seconds=3_600, evaluation_quota=10**9, starting_grant=10**12, record_reward_cap=10**12)


def _events(n: int, members: int, seed: int = 1) -> list[Event]:
    """A mixed stream: 80 % evaluations (lookups/screens), 15 % contributions with tag
    derivations, 5 % revokes of earlier uploads, and a witnessed-checkpoint period close every
    10,000 events (vesting, pool sharing, bonuses, counter resets)."""
    rng = random.Random(seed)
    out: list[Event] = []
    uploads: list[tuple[int, int]] = []
    t = T0
    for h in range(1, n + 1):
        m = rng.randrange(members)
        r = rng.random()
        if h % 10_000 == 0:
            t += PARAMS.period_seconds
            out.append(PeriodCloseEvent(h, t))
        elif r < 0.80:
            c = rng.choice((1, 1, 1, 4, 100))
            out.append(EvaluationEvent(h, m, Receipts(c, c), kind_code=0 if c == 1 else 1))
        elif r < 0.95 or not uploads:
            recs = rng.randrange(1, 50)
            out.append(ContributeEvent(h, m, recs, recs // 2, Receipts(recs, recs)))
            uploads.append((m, h))
        else:
            um, uh = uploads[rng.randrange(len(uploads))]
            out.append(RevokeEvent(h, um, ((uh, 1),), 0))
    return out


def _fresh(members: int) -> Engine:
    e = Engine()
    e.apply(GenesisEvent(0, T0, 1, 1, PARAMS, tuple(range(members))))
    e.state_root()
    return e


def run(bench: Bench) -> None:
    n = 20_000 if bench.quick else 200_000
    members = 1_000
    events = _events(n, members)
    repeats = 1 if bench.quick else 3

    rates, rates_ckpt = [], []
    for _ in range(repeats):
        e = _fresh(members)
        start = time.process_time()
        for ev in events:
            e.apply(ev)
        rates.append(n / (time.process_time() - start))
        accepted = sum(1 for r in e.journal if r.code == "ok")
        e = _fresh(members)
        start = time.process_time()
        for i, ev in enumerate(events, start=1):
            e.apply(ev)
            if i % 1_000 == 0:
                e.state_root()
        e.state_root()
        rates_ckpt.append(n / (time.process_time() - start))
    bench.record(
        Row(
            area="",
            operation="apply rule events (mixed stream)",
            unit="events/s",
            ours=statistics.median(rates),
            note=(
                f"target ≥ 100,000/s, one core, no external reference; best run {max(rates):,.0f}/s; "
                f"{n:,} events over {members:,} "
                f"members (80% evaluations, 15% contributions, 5% revokes, a period close per 10k); "
                f"journal on; {accepted:,} journal rows"
            ),
        )
    )
    bench.record(
        Row(
            area="",
            operation="apply + state root every 1,000 events",
            unit="events/s",
            ours=statistics.median(rates_ckpt),
            note=(
                f"the checkpoint cadence of the ledger (≤ 1,000 entries); best run {max(rates_ckpt):,.0f}/s; "
                "no external reference"
            ),
        )
    )

    _run_replay(bench)

    # State root after 10k changed balances, in a state of 10k members with history.
    big = 10_000
    e = _fresh(big)
    for ev in _events(20_000 if bench.quick else 60_000, big, seed=2):
        e.apply(ev)
    e.state_root()
    cells = len(e.book)
    times = []
    for rep in range(3 if bench.quick else 15):
        e.book.apply({key(NS.BALANCE, m): (rep % 7) + 1 for m in range(big)})
        start = time.process_time()
        e.state_root()
        times.append(time.process_time() - start)
    ms = statistics.median(times) * 1_000
    bench.record(
        Row(
            area="",
            operation="state root, 10k changed balances",
            unit="roots/s",
            ours=1_000 / ms,
            note=(
                f"median {ms:.2f} ms per root (best {min(times) * 1_000:.2f} ms); target ≤ 10 ms "
                "(≥ 100 roots/s), no external reference; "
                f"state of {cells:,} cells, SM3, 8,192 buckets"
            ),
        )
    )


def _ledger_entries(n: int, seed: int = 3) -> list[bytes]:
    """Encoded ledger entries (placeholder signatures: the rules never read them) in the same
    mix as :func:`_events`, one millisecond apart, so that replay decodes, adapts and applies."""
    from ledger.entry import Entry, Kind, Request, Signature

    rng = random.Random(seed)
    log_id = bytes(16)
    firms, brokers = list(range(100, 120)), list(range(200, 240))
    ms = T0 * 1000
    out: list[bytes] = []

    def add(kind: Kind, member: int, attested: dict[str, int] | None = None, **fields: Any) -> None:
        req = Request(kind, log_id, member, len(out).to_bytes(16, "big"), ms, 1, fields)
        out.append(Entry(req, (Signature(member, b"s"),), ms, 0, attested or {}).encode())

    add(Kind.GENESIS, 1, admin_threshold=1, member_ids=[1, *firms, *brokers])
    uploads: list[tuple[int, int]] = []
    while len(out) < n:
        ms += 1
        r = rng.random()
        if r < 0.80:
            c = rng.choice((1, 1, 1, 4, 100))
            add(Kind.LOOKUP if c == 1 else Kind.SCREEN, rng.choice(brokers), evaluations=c, mode=1)
        elif r < 0.95 or not uploads:
            m, recs = rng.choice(firms), rng.randrange(1, 50)
            uploads.append((m, len(out)))
            add(Kind.CONTRIBUTE, m, {"accepted": recs, "new_tags": recs // 2}, evaluations=recs)
        else:
            m, h = uploads[rng.randrange(len(uploads))]
            add(Kind.REVOKE, m, {"removed": 0}, count=1, heights=[h])
    return out


def _run_replay(bench: Bench) -> None:
    from incentive.replay import replay_entries

    n = 10_000 if bench.quick else 100_000
    bodies = _ledger_entries(n)
    fast = Params(**{**PARAMS.as_dict(), "period_seconds": 10})
    rates = []
    for _ in range(1 if bench.quick else 3):
        start = time.process_time()
        result = replay_entries(enumerate(bodies), roots_at=range(1_000, n + 1, 1_000), genesis_params=fast)
        rates.append(n / (time.process_time() - start))
        assert result.first_divergence is None or result.first_divergence >= 0
    bench.record(
        Row(
            area="",
            operation="ledger replay through IncentiveHook",
            unit="entries/s",
            ours=statistics.median(rates),
            note=(
                "decode + adapt + rules + state root every 1,000 entries, no signature checks; "
                "the ledger's target for full replay with the rules is ≥ 50k/s (its own area)"
            ),
        )
    )
