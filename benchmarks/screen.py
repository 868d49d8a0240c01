"""Area ``screen``: batch screening end to end (``DESIGN.md`` Protocols 4; ERRATA targets).

- **Mirror path**: a broker screens N IDs against a mirror of M indexed records (synthetic: 10%
  of the IDs have real sealed entries under the consortium's two-server key, the rest of the
  mirror is random entries). Timed: parsing the ID file, the two-server OPRF in signed chunks of
  4,096 over loopback gRPC (plaintext), both DLEQ proofs per chunk, the journal, the mirror
  lookups and opening of hits, and the ``screen`` ledger entries. The platform and the key holder
  run in **their own processes** on the same 2-core machine as the broker (ERRATA: 100k IDs
  ≤ 15 s, 1M IDs ≤ 150 s). The servers run with a large quota and no incentive hook (the
  default rules' starting grant would refuse 100k evaluations).
- **Bilateral path**: labeled KKRT PSI between the broker and a contributor server in its own
  process, 2^20 × 2^20 over loopback gRPC including the ledger entry (target ≤ 20 s).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api import client, screen_client
from api.consortium import Consortium, init_consortium, key_epoch, oprf_share
from api.platform import epoch_bytes
from benchmarks._harness import Bench, Row
from ledger.checkpoint import Checkpoint
from ledger.entry import Role
from mpc import index as ix
from mpc import oprf
from mpc import screen as sc
from mpc.records import SubjectType, SyntheticSource

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "bank-1:broker+mirror",
    "bank-2:broker+mirror",
    "bank-3:broker",
    "firm:contributor",
    "audit-1:auditor",
]

_SERVER = """
import sys
from api.consortium import Consortium
from ledger.hooks import NullHook
c = Consortium.load(sys.argv[1])
role = sys.argv[2]
if role == "platform":
    from api.roles import start_platform
    run, _ = start_platform(c, hook=NullHook(), quota=10**9)
elif role == "keyholder":
    from api.roles import start_keyholder
    run, _ = start_keyholder(c, quota=10**9)
else:
    import numpy as np
    from api.contributor_server import start_contributor
    raw = open(sys.argv[3], "rb").read()
    items = [raw[i : i + 19] for i in range(0, len(raw), 19)]
    labels = [bytes([1, 1 + i % 15]) for i in range(len(items))]
    run, _ = start_contributor(c, "firm", [], items=(items, labels), run_cap=10**8, period_cap=10**9)
print("ready", run.port, flush=True)
sys.stdin.read()
run.stop()
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Servers:
    def __init__(self, c: Consortium, *roles: tuple[str, str]) -> None:
        self.procs = []
        self.ports: dict[str, int] = {}
        for role, arg in roles:
            p = subprocess.Popen(
                [sys.executable, "-c", _SERVER, str(c.root), role, arg],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            self.procs.append(p)
            assert p.stdout is not None
            line = p.stdout.readline().split()
            if not line or line[0] != "ready":
                self.close()
                raise RuntimeError(f"the {role} server did not start")
            self.ports[role] = int(line[1])

    def cpu_seconds(self) -> float:
        """User + system CPU time the server processes used so far (Linux /proc)."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for p in self.procs:
            fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def close(self) -> None:
        for p in self.procs:
            if p.stdin:
                p.stdin.close()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def _consortium(root: Path, suite: str = "SM2-SM3") -> Consortium:
    c = init_consortium(
        root,
        SPECS,
        suite=suite,
        platform_address=f"127.0.0.1:{_port()}",
        keyholder_address=f"127.0.0.1:{_port()}",
        use_tls=False,
    )
    return Consortium.load(c.root)


def _oprf_local(c: Consortium, inputs: list[bytes]) -> list[bytes]:
    """H for the hits, computed in-process with both shares (benchmark setup only)."""
    p, k = c.the(Role.PLATFORM).name, c.the(Role.KEYHOLDER).name
    s1 = oprf.Server(oprf_share(c, p), oprf.Mode.VOPRF, holder=str(c.member(p).id), production=True)
    s2 = oprf.Server(oprf_share(c, k), oprf.Mode.VOPRF, holder=str(c.member(k).id), production=True)
    cl = oprf.TwoServerClient(key_epoch(c), additive=True)
    out: list[bytes] = []
    for a in range(0, len(inputs), 4096):
        st, req = cl.blind(inputs[a : a + 4096])
        out += cl.finalize(st, s1.blind_evaluate(req), s2.blind_evaluate(req))
    return out


def _mirror(c: Consortium, n_records: int, hit_text: list[str], src: SyntheticSource) -> client.Mirror:
    """A verified-looking mirror: sealed entries for the hits, random entries for the rest."""
    epoch = epoch_bytes(c)
    ids = sc.parse_ids("\n".join(hit_text))
    hs = _oprf_local(c, ids.inputs())
    secret = ix.ContributorSecret.generate()
    ops: list[bytes] = []
    for (st, sid), h in zip(ids.subjects, hs, strict=True):
        rec = src.record(subject=(st, sid))
        ops.append(ix.IndexOp.add(ix.seal_entry(h, epoch, rec, secret).entry).to_bytes())
    body = ix.ENTRY_SIZE - 4 - 16 - 16 - 32 - 12
    rnd = os.urandom((n_records - len(ops)) * (ix.ENTRY_SIZE - 4))
    step = ix.ENTRY_SIZE - 4
    for i in range(n_records - len(ops)):
        r = rnd[i * step : (i + 1) * step]
        entry = ix.IndexEntry(r[:16], r[16:32], r[32:64], r[64:76], r[76 : 76 + body])
        ops.append(ix.IndexOp.add(entry).to_bytes())
    m = client.Mirror()
    m.index.load(ops)
    m.checkpoint = Checkpoint(
        c.log_id, 1, bytes(32), m.index.size, m.index.root(), bytes(32), bytes(32), bytes(32), 1,
        int(time.time() * 1000) + 3_600_000,
    )  # fmt: skip
    return m


def _mirror_row(
    bench: Bench, c: Consortium, servers: _Servers, broker: str, n_ids: int, n_records: int
) -> None:
    src = SyntheticSource(n_ids)
    subjects = list(src.ids(n_ids))
    text = [f"{t.value},{sid}" for t, sid in subjects]
    t0 = time.perf_counter()
    mirror = _mirror(c, n_records, text[: n_ids // 10], src)
    setup = time.perf_counter() - t0
    s = client.Session.connect(
        c, broker, f"127.0.0.1:{servers.ports['platform']}", f"127.0.0.1:{servers.ports['keyholder']}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        cpu0, scpu0 = time.process_time(), servers.cpu_seconds()
        t0 = time.perf_counter()
        ids = sc.parse_ids("\n".join(text))
        out = screen_client.screen_mirror(
            s, mirror, ids, Path(tmp) / "j", max_age_ms=10**12, sync_first=False
        )
        dt = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
        scpu = servers.cpu_seconds() - scpu0
    s.close()
    # Synthetic IDs can repeat at 1M draws; the file is deduped, so count distinct hit subjects.
    want = len(set(subjects[: n_ids // 10]))
    if len(out.flagged) != want:
        raise AssertionError(f"flagged {len(out.flagged):,} subjects; the intersection has {want:,}")
    target = n_ids / 1e5 * 15
    bench.record(
        Row(
            area=bench.area,
            operation=f"mirror screening {n_ids:,} IDs vs {n_records:,} records ({c.suite})",
            unit="IDs/s",
            ours=n_ids / dt,
            reference_name="ERRATA target",
            reference=n_ids / target,
            target=1.0,
            note=(
                f"{dt:.1f} s wall (target ≤ {target:.0f} s); CPU: broker {cpu:.1f} s + both servers "
                f"{scpu:.1f} s = {cpu + scpu:.1f} s, i.e. ≈ {(cpu + scpu) / 2:.1f} s on 2 idle cores; "
                "parse + 2-server OPRF over gRPC (servers in own processes) + journal + match + "
                f"{len(out.entries)} ledger entries; {len(out.flagged):,} flagged; "
                f"mirror setup {setup:.0f} s untimed"
            ),
        )
    )


def _bilateral_row(bench: Bench, log_n: int) -> None:
    n = 1 << log_n
    with tempfile.TemporaryDirectory() as tmp:
        c = _consortium(Path(tmp) / "c")
        theirs = [b"\x01" + os.urandom(9).hex()[:18].encode() for _ in range(n)]
        mine = theirs[: n // 10] + [b"\x01" + os.urandom(9).hex()[:18].encode() for _ in range(n - n // 10)]
        items_file = Path(tmp) / "items"
        items_file.write_bytes(b"".join(theirs))
        servers = _Servers(c, ("platform", ""), ("keyholder", ""), ("contributor", str(items_file)))
        try:
            s = client.Session.connect(
                c,
                "bank-3",
                f"127.0.0.1:{servers.ports['platform']}",
                f"127.0.0.1:{servers.ports['keyholder']}",
            )
            ids = sc.IdFile(
                subjects=[(SubjectType.PERSON, x[1:].decode()) for x in mine], lines=list(range(1, n + 1))
            )
            t0 = time.perf_counter()
            out = screen_client.screen_bilateral(s, "firm", f"127.0.0.1:{servers.ports['contributor']}", ids)
            dt = time.perf_counter() - t0
            s.close()
        finally:
            servers.close()
    assert len(out.flagged) >= n // 10
    bench.record(
        Row(
            area=bench.area,
            operation=f"bilateral labeled KKRT PSI 2^{log_n} x 2^{log_n} incl. gRPC",
            unit="runs/s",
            ours=1 / dt,
            reference_name="issue target" if log_n == 20 else "",
            reference=1 / 20 if log_n == 20 else None,
            target=1.0 if log_n == 20 else None,
            note=(
                f"{dt:.2f} s; contributor in its own process; 10% overlap; charged {out.charged:,} bins + "
                f"stash; ledger entry included"
            ),
        )
    )


def run(bench: Bench) -> None:
    # The OPRF suite decides the cost: SM2-SM3's curve arithmetic still runs on libcrypto's
    # generic code in this build, P256-SHA256 on its optimised one; both rows are reported.
    suites = ["P256-SHA256"] if bench.quick else ["SM2-SM3", "P256-SHA256"]
    for suite in suites:
        with tempfile.TemporaryDirectory() as tmp:
            c = _consortium(Path(tmp) / "c", suite)
            servers = _Servers(c, ("platform", ""), ("keyholder", ""))
            try:
                if bench.quick:
                    _mirror_row(bench, c, servers, "bank-1", 10_000, 100_000)
                else:
                    _mirror_row(bench, c, servers, "bank-1", 100_000, 1_000_000)
                    if os.environ.get("RISKSHARE_BENCH_1M_IDS"):
                        _mirror_row(bench, c, servers, "bank-2", 1_000_000, 1_000_000)
            finally:
                servers.close()
    _bilateral_row(bench, 14 if bench.quick else 20)
