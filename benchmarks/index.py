"""Area ``index``: records, sealed entries, the mirror replica and the oblivious snapshot.

No external library does this, so the rows have no reference; the issue's end-to-end targets
are in the notes (they include the OPRF and the network, which arrive with other issues).
"""

from __future__ import annotations

import os
import statistics
import time

from benchmarks._harness import Bench, Row
from mpc import index as ix
from mpc import lookup
from mpc.records import SyntheticSource, parse_csv, records_to_csv

EPOCH = b"\x00\x00\x00\x01"
CONTRIBUTE_TARGET = "issue: contributing 100k records ≤ 30 s end to end (OPRF included, later)"
LOOKUP_TARGET = "issue: mirror lookup p50 ≤ 5 ms incl. network (service, later)"


def run(bench: Bench) -> None:
    n = 10_000 if bench.quick else 100_000
    src = SyntheticSource(2026)
    recs = src.records(n)
    hs = [os.urandom(32) for _ in range(n)]
    secret = ix.ContributorSecret.generate()

    r0, h0 = recs[0], hs[0]
    sealed0 = ix.seal_entry(h0, EPOCH, r0, secret)
    opener = ix.Opener(h0, EPOCH)
    bench.compare(
        "seal entry (HKDF + SM4-GCM + pad)", lambda: ix.seal_entry(h0, EPOCH, r0, secret), unit="entry/s"
    )
    from mpc.sm2 import SM2PrivateKey

    key = SM2PrivateKey.generate()
    bench.compare(
        "seal named entry (+ SM2 signature)",
        lambda: ix.seal_entry(h0, EPOCH, r0, secret, name="member-a", signer=key),
        unit="entry/s",
    )
    bench.compare(
        "open entry (HKDF + SM4-GCM + parse)",
        lambda: ix.Opener(h0, EPOCH).open(sealed0.entry),
        unit="entry/s",
    )
    bench.compare("open entry, opener reused", lambda: opener.open(sealed0.entry), unit="entry/s")

    # Contributor pipeline without the OPRF: parse the file, seal every row, publish, root.
    text = records_to_csv(recs)
    t0 = time.perf_counter()
    parsed = parse_csv(text)
    t1 = time.perf_counter()
    log = ix.IndexLog()
    log.submit_many(
        [
            ix.IndexOp.add(ix.seal_entry(h, EPOCH, r, secret).entry)
            for h, r in zip(hs, parsed.records, strict=True)
        ]
    )
    t2 = time.perf_counter()
    delta = log.publish()
    root = log.root()
    t3 = time.perf_counter()
    assert parsed.ok and len(delta.ops) == n
    note = f"{n:,} records; {CONTRIBUTE_TARGET}"
    bench.record(
        Row(area=bench.area, operation=f"parse + validate CSV ({n:,})", unit="s", ours=t1 - t0, note=note)
    )
    bench.record(Row(area=bench.area, operation=f"seal + queue ({n:,})", unit="s", ours=t2 - t1, note=note))
    bench.record(
        Row(area=bench.area, operation=f"publish batch + log root ({n:,})", unit="s", ours=t3 - t2, note=note)
    )

    t0 = time.perf_counter()
    mirror = ix.MirrorIndex()
    mirror.apply_delta(delta, ix.IndexCheckpoint(log.size, root))
    t1 = time.perf_counter()
    bench.record(
        Row(
            area=bench.area,
            operation=f"mirror: verify + apply delta ({n:,} ops)",
            unit="op/s",
            ours=n / (t1 - t0),
        )
    )

    samples = []
    for i in range(0, n, max(1, n // 2000)):
        t = time.perf_counter()
        res = lookup.mirror_lookup(mirror, hs[i], EPOCH)
        samples.append(time.perf_counter() - t)
        assert res.hit
    samples.sort()
    p50 = statistics.median(samples) * 1e3
    p99 = samples[int(len(samples) * 0.99)] * 1e3
    bench.record(
        Row(
            area=bench.area,
            operation=f"mirror lookup p50 ({n:,} entries, local)",
            unit="ms",
            ours=p50,
            note=f"p99 {p99:.3f} ms; lower is better; {LOOKUP_TARGET}",
        )
    )

    t0 = time.perf_counter()
    snap = ix.build_snapshot(log.state, root, bucket_size=1024, cap=8)
    t1 = time.perf_counter()
    bench.record(
        Row(
            area=bench.area,
            operation=f"snapshot root build ({n:,} entries, N=1024)",
            unit="s",
            ours=t1 - t0,
            note=f"{snap.buckets} buckets; lower is better; once per checkpoint, auditors too",
        )
    )
    q_h = hs[1]
    bp = snap.bucket_proof(ix.bucket_of(ix.tag_of(q_h), snap.bits))

    def verify_one() -> None:
        q = lookup.ObliviousLookup(
            q_h, EPOCH, snapshot_root=snap.root, bits=snap.bits, bucket_size=1024, cap=8
        )
        i = q.receive_bucket(bp)
        assert q.receive_slot(snap.slot(bp.bucket, i).to_payload()).hit

    bench.compare("oblivious: verify tag list + slot + open (N=1024)", verify_one, unit="query/s")
