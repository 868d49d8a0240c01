"""Area ``stats``: Paillier statistics rounds (mpc.stats) at n = 2048.

No external library runs this protocol, so the rows have no reference; the issue's targets
(12 months × 4 categories from 10 contributors: submit ≤ 1 s per contributor, release ≤ 2 s) are
in the notes, with the measured time per operation. The rows marked "gRPC" run the service
(api/stats_service.py) end to end on loopback: platform, key holder and every client in this one
process on the shared 2 cores, SQLite stores with fsync, plaintext gRPC (TLS off).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._harness import Bench, Row
from mpc import paillier as pl
from mpc import stats
from mpc.sm2 import SM2PrivateKey

CONTRIBUTORS = 10
SPEC = stats.DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH


def _note(row: Row, target_s: float, what: str) -> None:
    seconds = 1 / row.ours
    ok = "meets" if seconds <= target_s else "MISSES"
    row.note = f"{seconds * 1e3:.1f} ms {what}; target ≤ {target_s:g} s (issue 10): {ok}"


def run(bench: Bench) -> None:
    pk, sk = pl._generate_keypair(2048, safe_primes=False)  # prime shape does not change speed
    signs = [SM2PrivateKey.generate() for _ in range(CONTRIBUTORS)]
    agrees = [SM2PrivateKey.generate() for _ in range(CONTRIBUTORS)]
    ids = list(range(1, CONTRIBUTORS + 1))
    rnd = stats.RoundSpec(
        1,
        SPEC,
        2025,
        pk,
        tuple(
            stats.RoundMember(i, s.public_key(), a.public_key())
            for i, s, a in zip(ids, signs, agrees, strict=True)
        ),
    )
    rng = random.Random(5)
    inputs = [
        [[rng.randrange(1 << 40) for _ in range(SPEC.cells)], [rng.randrange(50) for _ in range(SPEC.cells)]]
        for _ in ids
    ]
    holder, querier = SM2PrivateKey.generate(), SM2PrivateKey.generate()

    def participant(x: int) -> stats.Participant:
        return stats.Participant(rnd, ids[x], signs[x], agrees[x])

    stats.Participant(rnd, ids[0], signs[0], agrees[0]).submit(inputs[0])  # builds the key's table
    row = bench.compare(
        f"submit 12×4 cells, amount + count ({CONTRIBUTORS} in round)",
        lambda: participant(0).submit(inputs[0]).to_bytes(),
        unit="contrib/s",
    )
    _note(row, 1.0, "per contributor: 9 SM2 agreements, 5 masks, 5 raw encryptions, 1 signature")

    parts = [participant(x) for x in range(CONTRIBUTORS)]
    subs = [p.submit(v) for p, v in zip(parts, inputs, strict=True)]
    wire = [s.to_bytes() for s in subs]
    closed = stats.ClosedRound(rnd, (), {s.member_id: s.submission_hash() for s in subs})
    q = querier.public_key()
    row = bench.compare(
        f"release, {CONTRIBUTORS} contributors, no dropout",
        lambda: stats.KeyHolder(sk, holder).release(closed, wire, [], q, 99),
        unit="release/s",
    )
    _note(row, 2.0, "per release: 10 checks, product, 5 decryptions, seal")

    # Two contributors drop out; the eight survivors hand over their seeds.
    parts = [participant(x) for x in range(CONTRIBUTORS)]
    subs = [p.submit(v) for p, v in zip(parts[2:], inputs[2:], strict=True)]
    wire = [s.to_bytes() for s in subs]
    closed = stats.ClosedRound(rnd, tuple(ids[:2]), {s.member_id: s.submission_hash() for s in subs})
    hpk = holder.public_key()
    shares = [p.seed_share(closed, hpk) for p in parts[2:]]
    row = bench.compare(
        f"release, {CONTRIBUTORS} contributors, 2 dropped",
        lambda: stats.KeyHolder(sk, holder).release(closed, wire, shares, q, 99),
        unit="release/s",
    )
    _note(row, 2.0, "per release incl. 8 seed shares (signature + envelope) and 16 mask removals")
    bench.compare(
        "seed share for 2 non-submitters (seal + sign)",
        lambda: stats.Participant(
            rnd, ids[5], signs[5], agrees[5], submitted=parts[5].submitted_hash
        ).seed_share(closed, hpk),
    )
    rel = stats.KeyHolder(sk, holder).release(closed, wire, shares, q, 99)
    bench.compare(
        "querier opens a 48-cell release", lambda: stats.Querier(99, querier).open(rel, rnd), unit="open/s"
    )

    # Scaling: the pairwise masks cost one SM2 agreement and a few KDF calls per peer.
    big = 100
    bsigns = [SM2PrivateKey.generate() for _ in range(big)]
    bagrees = [SM2PrivateKey.generate() for _ in range(big)]
    brnd = stats.RoundSpec(
        2,
        SPEC,
        2025,
        pk,
        tuple(
            stats.RoundMember(i + 1, s.public_key(), a.public_key())
            for i, (s, a) in enumerate(zip(bsigns, bagrees, strict=True))
        ),
    )
    row = bench.compare(
        f"submit 12×4 cells, amount + count ({big} in round)",
        lambda: stats.Participant(brnd, 1, bsigns[0], bagrees[0]).submit(inputs[0]),
        unit="contrib/s",
    )
    _note(row, 1.0, f"per contributor with {big - 1} peers")

    _service(bench, pk, sk)


def _service(bench: Bench, pk: pl.PaillierPublicKey, sk: pl.PaillierPrivateKey) -> None:
    """The same statistic through the gRPC service: define, 10 submits, close, release."""
    from api import client
    from api.consortium import Consortium, init_consortium
    from api.roles import start_keyholder, start_platform
    from api.stats_client import StatsClient
    from api.stats_service import platform_stats, store_paillier_key

    names = [f"sec-{i:02d}" for i in range(CONTRIBUTORS)]
    specs = ["platform:platform+admin", "supervisor:keyholder+admin", "broker-x:broker"]
    specs += [f"{n}:contributor" for n in names]
    rounds = 1 if bench.quick else 3
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        c = init_consortium(
            Path(tmp) / "c",
            specs,
            platform_address="127.0.0.1:0",
            keyholder_address="127.0.0.1:0",
            use_tls=False,
        )
        c = Consortium.load(c.root)
        store_paillier_key(c, sk)
        p_run, platform = start_platform(c)
        c.platform_address = f"127.0.0.1:{p_run.port}"
        k_run, _ = start_keyholder(c)
        kaddr = f"127.0.0.1:{k_run.port}"
        clients = {
            n: StatsClient(client.Session.connect(c, n, c.platform_address, kaddr))
            for n in [*names, "platform", "broker-x"]
        }
        submit_s: list[float] = []
        release_s: list[float] = []
        seeds_s: list[float] = []
        dropped_s: list[float] = []
        try:
            for r in range(rounds * 2):
                rid, _ = clients["platform"].define(SPEC.name, 3000 + r, names)
                drop = r % 2 == 1  # every other round, two contributors drop out
                for n in names[2:] if drop else names:
                    values = [
                        [rng.randrange(1 << 40) for _ in range(SPEC.cells)],
                        [rng.randrange(50) for _ in range(SPEC.cells)],
                    ]
                    t = time.perf_counter()
                    clients[n].submit(rid, values)
                    if not drop:
                        submit_s.append(time.perf_counter() - t)
                if drop:
                    platform_stats(platform).close(rid)
                    for n in names[2:]:
                        t = time.perf_counter()
                        clients[n].send_seeds(rid)
                        seeds_s.append(time.perf_counter() - t)
                t = time.perf_counter()
                result, _ = clients["broker-x"].release(rid)
                (dropped_s if drop else release_s).append(time.perf_counter() - t)
                assert len(result.values) == SPEC.cells
        finally:
            for sc in clients.values():
                sc.s.close()
            p_run.stop()
            k_run.stop()
            platform.close()

    def record(op: str, samples: list[float], unit: str, target_s: float | None, what: str) -> None:
        med = statistics.median(samples)
        row = bench.record(Row(area="", operation=op, unit=unit, ours=1 / med))
        if target_s is None:
            row.note = f"{med * 1e3:.0f} ms {what} (median of {len(samples)})"
        else:
            ok = "meets" if med <= target_s else "MISSES"
            row.note = (
                f"{med * 1e3:.0f} ms {what} (median of {len(samples)}, max {max(samples) * 1e3:.0f} ms); "
                f"target ≤ {target_s:g} s (issue 10): {ok}"
            )

    record(
        "gRPC submit 12×4 cells, 10 in round",
        submit_s,
        "contrib/s",
        1.0,
        "per contributor: verified ledger, mask, encrypt, sign, store, fsync'd stat_submit",
    )
    record(
        "gRPC release 12×4 cells, 10 contributors",
        release_s,
        "release/s",
        2.0,
        "order to opened result: ledger check, fetch, product, decrypt, stat_release, open",
    )
    record(
        "gRPC release, 2 of 10 dropped",
        dropped_s,
        "release/s",
        2.0,
        "as above, with 8 seed shares and mask removal",
    )
    record("gRPC seed share for 2 non-submitters", seeds_s, "op/s", None, "per survivor")
