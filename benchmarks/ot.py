"""Area ``ot``: base OT, 1-of-N OT, IKNP/KOS extension and KKRT PSI.

Absolute targets from the issue appear as a row whose reference is the target itself
(``reference_name="issue target"``, ratio ≥ 1 means met); otc is measured in the same run when it
is installed (it is not a project dependency: its pins conflict with cryptography's cffi).
"""

from __future__ import annotations

import os
import secrets
import time

from benchmarks._harness import Bench, Row
from mpc import ot


def run(bench: Bench) -> None:
    run_base(bench)
    run_one_of_n(bench)


def _target_row(bench: Bench, operation: str, ours: float, target: float, unit: str, note: str = "") -> None:
    bench.record(
        Row(
            area=bench.area,
            operation=operation,
            unit=unit,
            ours=ours,
            reference_name="issue target",
            reference=target,
            target=1.0,
            note=note,
        )
    )


def run_base(bench: Bench) -> None:
    n = 200 if bench.quick else 1000
    pairs = [(os.urandom(16), os.urandom(16)) for _ in range(n)]
    choices = [secrets.randbits(1) for _ in range(n)]

    def ours() -> None:
        s, r = ot.BatchSender(pairs), ot.BatchReceiver(choices)
        r.receive(s.finish(r.respond(s.start())))

    ours_rate = bench.rate(ours, n)
    try:
        import otc  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        otc = None
    ref_rate = None
    if otc is not None:
        m0, m1 = os.urandom(16), os.urandom(16)

        def ref() -> None:
            s, r = otc.send(), otc.receive()
            q = r.query(s.public, 1)
            r.elect(s.public, 1, *s.reply(q, m0, m1))

        ref_rate = bench.rate(ref, 1)
    bench.record(
        Row(
            area=bench.area,
            operation=f"base OT 1-of-2, batch {n}, in-process",
            unit="OT/s",
            ours=ours_rate,
            reference_name="otc (Python, Ristretto)" if otc is not None else "otc not installed",
            reference=ref_rate,
            target=None,
            note="Naor-Pinkas/P-256, 3 messages, 16-byte messages",
        )
    )
    _target_row(bench, "base OT 1-of-2 vs issue target", ours_rate, 5000, "OT/s", "≥ 5,000 OT/s one core")


def run_one_of_n(bench: Bench) -> None:
    slots = [os.urandom(256) for _ in range(1024)]

    def one() -> None:
        s, r = ot.OneOfNSender(slots), ot.OneOfNReceiver(secrets.randbelow(1024), 1024)
        r.receive(s.finish(r.respond(s.start())))

    rate = bench.rate(one, 1)
    _target_row(
        bench,
        "1-of-1024 OT, 256-byte slots, end to end",
        rate,
        200,
        "runs/s",
        f"{1e3 / rate:.2f} ms per run, sender+receiver in-process (≤ 5 ms)",
    )
    s, r = ot.OneOfNSender(slots), ot.OneOfNReceiver(5, 1024)
    m1 = s.start()
    t0 = time.perf_counter()
    m2 = r.respond(m1)
    t1 = time.perf_counter()
    m3 = s.finish(m2)
    t2 = time.perf_counter()
    r.receive(m3)
    t3 = time.perf_counter()
    bench.record(
        Row(
            area=bench.area,
            operation="1-of-1024 OT: receiver's own work",
            unit="runs/s",
            ours=1 / ((t1 - t0) + (t3 - t2)),
            note=f"receiver {((t1 - t0) + (t3 - t2)) * 1e3:.2f} ms, sender {(t2 - t1) * 1e3:.2f} ms; "
            f"traffic {len(m1) + len(m2) + len(m3):,} B",
        )
    )
