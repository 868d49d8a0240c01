"""Concurrent mirror lookups with every party in its own process, as deployed.

The platform and the key holder run as ``riskshare serve`` processes (TLS, SQLite, the incentive
hook), the clients in two worker processes of their own, all on the same cores. Two shapes of
"16 concurrent clients" are measured in the same run:

- ``brokers``: 16 brokers, each its own member, key and session, one lookup in flight each —
  every lookup is its own signed evaluation request, two evaluations, and its own ledger entry;
- ``desks``: 2 brokers' nodes with 8 desks each (one session per broker, 8 threads) — concurrent
  lookups of one broker share one evaluation and one ledger entry (:class:`api.client.LookupBatcher`),
  each lookup still counted and paid.

Each row reports lookups/s, latency p50/p99, and the CPU each process spent per lookup.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api import client
from api.consortium import Consortium, init_consortium
from ledger.storage.memory import MemoryStorage
from mpc.records import RiskRecord, SubjectType, SyntheticSource

Query = tuple[SubjectType, str, bool]


@dataclass(frozen=True)
class LoadResult:
    shape: str
    clients: int
    lookups: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms: dict[str, float]  # per lookup: platform, keyholder, clients
    batch_mean: float

    @property
    def rate(self) -> float:
        return self.lookups / self.seconds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _serve(root: Path, role: str) -> subprocess.Popen[bytes]:
    code = "import sys; from api.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, "serve", str(root), "--role", role],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _connect(c: Consortium, name: str, deadline_s: float = 60.0) -> client.Session:
    """A session once the servers answer (they take a moment to start)."""
    end = time.monotonic() + deadline_s
    while True:
        s = client.Session.connect(c, name)
        try:
            s.rule_version  # noqa: B018 - one signed checkpoint fetch proves the platform is up
            return s
        except Exception:
            s.close()
            if time.monotonic() > end:
                raise
            time.sleep(0.2)


def _worker(
    root: str,
    members: list[str],
    desks: int,
    queries: list[Query],
    duration: float,
    barrier: Any,
    out: Any,
) -> None:
    """One client process: its members' sessions and mirrors, ``desks`` threads per member."""
    c = Consortium.load(root)
    sessions = [_connect(c, m) for m in members]
    mirrors = []
    for s in sessions:
        m = client.Mirror()
        client.sync(s, m)
        st, sid, _ = queries[0]
        client.lookup_mirror(s, m, st, sid)  # warm up channels and caches
        mirrors.append(m)
    threads = len(sessions) * desks
    counts = [0] * threads
    latencies: list[list[float]] = [[] for _ in range(threads)]
    batches: list[int] = []
    errors: list[str] = []
    start = threading.Barrier(threads + 1)

    def desk(i: int) -> None:
        s, m = sessions[i // desks], mirrors[i // desks]
        start.wait()
        end = time.perf_counter() + duration
        j = i * 7919
        try:
            while not counts[i] or time.perf_counter() < end:
                st, sid, expect = queries[j % len(queries)]
                j += 1
                t = time.perf_counter()
                o = client.lookup_mirror(s, m, st, sid)
                latencies[i].append(time.perf_counter() - t)
                if o.result.hit != expect:
                    raise RuntimeError("a concurrent lookup returned a wrong result")
                counts[i] += 1
                batches.append(o.batched_with)
        except BaseException as e:  # reported to the parent
            errors.append(repr(e))

    ts = [threading.Thread(target=desk, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    cpu0 = os.times()
    start.wait()
    for t in ts:
        t.join()
    cpu1 = os.times()
    for s in sessions:
        s.close()
    cpu = cpu1.user - cpu0.user + cpu1.system - cpu0.system
    out.put((sum(counts), [x for lat in latencies for x in lat], batches, cpu, errors))


class LoadConsortium:
    """A consortium whose servers run in their own processes, with a contributed index."""

    def __init__(self, brokers: int, records: int) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="riskshare-load-")
        self.root = Path(self._tmp.name) / "consortium"
        specs = [
            "platform:platform+admin",
            "supervisor:keyholder+admin",
            "contrib:contributor",
            "audit-1:auditor",
            *(f"broker-{i:02d}:broker+mirror" for i in range(brokers)),
        ]
        init_consortium(
            self.root,
            specs,
            platform_address=f"127.0.0.1:{_free_port()}",
            keyholder_address=f"127.0.0.1:{_free_port()}",
        )
        self.c = Consortium.load(self.root)
        self.procs = {"platform": _serve(self.root, "platform"), "keyholder": _serve(self.root, "keyholder")}
        try:
            self.records = self._contribute(records)
        except BaseException:
            self.close()
            raise

    def _contribute(self, n: int) -> list[RiskRecord]:
        records = SyntheticSource(seed=2027).records(n)
        contrib = _connect(self.c, "contrib")
        try:
            if client.contribute(contrib, records).accepted != n:
                raise RuntimeError("the load consortium's contribution was not accepted whole")
        finally:
            contrib.close()
        self.auditor = _connect(self.c, "audit-1")
        self._audit = client.new_auditor(self.auditor, MemoryStorage())
        end = time.monotonic() + 60
        while self.witness().index_size < n:  # the platform publishes every second (demo consortium)
            if time.monotonic() > end:
                raise RuntimeError("the platform did not publish the contribution within a minute")
            time.sleep(0.5)
        return records

    def witness(self) -> Any:
        return client.audit_and_cosign(self.auditor, self._audit)

    def run(self, shape: str, members: list[list[str]], desks: int, duration: float) -> LoadResult:
        """``members[k]`` are the brokers of client process k; ``desks`` threads per broker."""
        self.witness()  # lookups need a witnessed checkpoint younger than a minute
        queries = lookups(self.records, 4096, "load")
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(len(members) + 1)
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_worker, args=(str(self.root), ms, desks, queries, duration, barrier, out))
            for ms in members
        ]
        for p in procs:
            p.start()
        try:
            barrier.wait(timeout=300)
        except BaseException:
            for p in procs:
                p.kill()
            raise
        servers0 = {k: _cpu_s(p.pid) for k, p in self.procs.items()}
        t0 = time.perf_counter()
        results = [out.get(timeout=duration + 300) for _ in procs]
        elapsed = time.perf_counter() - t0
        servers1 = {k: _cpu_s(p.pid) for k, p in self.procs.items()}
        for p in procs:
            p.join()
        errors = [e for r in results for e in r[4]]
        if errors:
            raise RuntimeError(f"{len(errors)} client threads failed, first: {errors[0]}")
        n = sum(r[0] for r in results)
        lat = sorted(x for r in results for x in r[1])
        batches = [b for r in results for b in r[2]]
        cpu = {k: (servers1[k] - servers0[k]) / n * 1e3 for k in self.procs}
        cpu["clients"] = sum(r[3] for r in results) / n * 1e3
        return LoadResult(
            shape,
            sum(len(ms) for ms in members) * desks,
            n,
            elapsed,
            statistics.median(lat) * 1e3,
            lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1e3,
            cpu,
            statistics.fmean(batches),
        )

    def close(self) -> None:
        if hasattr(self, "auditor"):
            self.auditor.close()
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        self._tmp.cleanup()


def lookups(records: list[RiskRecord], count: int, seed: str) -> list[Query]:
    """Half hits (contributed subjects), half misses (fresh resident IDs)."""
    rng = random.Random(seed)
    src = SyntheticSource(seed=f"miss-{seed}")
    out: list[Query] = []
    for i in range(count):
        if i % 2 == 0:
            r = rng.choice(records)
            out.append((r.subject_type, r.subject_id, True))
        else:
            out.append((SubjectType.PERSON, src.resident_id(), False))
    return out
