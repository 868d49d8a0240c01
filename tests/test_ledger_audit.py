"""Audit replay, tamper detection, split views, and the kill -9 crash drill."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.audit import Auditor, AuditReport, SplitView, audit, sync
from ledger.checkpoint import Checkpoint, SignedCheckpoint
from ledger.entry import Code, Entry, Kind
from ledger.hooks import CountingHook, NullHook
from ledger.log import Log
from ledger.storage.memory import MemoryStorage
from ledger.storage.sqlite import SQLiteStorage
from ledger.synth import Consortium, synth
from mpc import merkle

N = 700
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Consortium]:
    path = tmp_path_factory.mktemp("golden") / "ledger.db"
    storage = SQLiteStorage(str(path))
    _, c = synth(storage, N, consortium=Consortium(seed=b"audit-tests"), seed=7)
    storage.close()
    return path, c


@pytest.fixture
def db(golden: tuple[Path, Consortium], tmp_path: Path) -> Path:
    dst = tmp_path / "copy.db"
    shutil.copy(golden[0], dst)
    return dst


def _sql(path: Path, *stmts: tuple[str, tuple[object, ...]]) -> None:
    conn = sqlite3.connect(path)
    with conn:
        for sql, args in stmts:
            conn.execute(sql, args)
    conn.close()


def _row(path: Path, idx: int) -> tuple[bytes, bytes]:
    conn = sqlite3.connect(path)
    body, leaf = conn.execute("SELECT body, leaf FROM entries WHERE idx = ?", (idx,)).fetchone()
    conn.close()
    return bytes(body), bytes(leaf)


def _audit(path: Path, mode: str = "full", **kw: Any) -> AuditReport:
    s = SQLiteStorage(str(path))
    try:
        return audit(s, mode=mode, hook=kw.pop("hook", CountingHook()), **kw)
    finally:
        s.close()


@pytest.mark.parametrize("mode", ["roots", "rules", "full"])
def test_synth_log_verifies(db: Path, mode: str) -> None:
    r = _audit(db, mode)
    assert r.ok, r.divergence
    assert r.size == N and r.entries_checked == N and r.checkpoints >= 2 and r.witnessed == r.checkpoints
    assert r.latest is not None and r.latest.size == N
    kinds = {Entry.decode(b).kind for _, b, _ in SQLiteStorage(str(db)).entries()}
    assert {Kind.GENESIS, Kind.CONTRIBUTE, Kind.LOOKUP, Kind.SCREEN, Kind.REVOKE, Kind.STAT_KEY} <= kinds


@pytest.mark.parametrize("mode", ["roots", "full"])
def test_one_flipped_byte_is_named(db: Path, mode: str) -> None:
    h = 321
    body, _ = _row(db, h)
    bad = bytearray(body)
    bad[40] ^= 1
    _sql(db, ("UPDATE entries SET body = ? WHERE idx = ?", (bytes(bad), h)))
    r = _audit(db, mode)
    assert r.divergence is not None and r.divergence.height == h
    assert r.divergence.kind == Entry.decode(body).kind.name.lower()
    assert "leaf hash" in r.divergence.what


def test_rewritten_entry_with_matching_leaf(db: Path) -> None:
    h = 250
    body, _ = _row(db, h)
    bad = bytearray(body)
    bad[30] ^= 1  # inside the signed request
    _sql(
        db,
        (
            "UPDATE entries SET body = ?, leaf = ? WHERE idx = ?",
            (bytes(bad), merkle.leaf_hash(bytes(bad)), h),
        ),
    )
    full = _audit(db, "full")
    assert full.divergence is not None and full.divergence.height == h
    roots = _audit(db, "roots")  # no signatures: the checkpoint root and the stored nodes find it
    assert roots.divergence is not None and roots.divergence.height in (h, h - 1)
    assert "root differs" in roots.divergence.what


def test_changed_outcome_is_named(db: Path) -> None:
    h = next(
        i for i, b, _ in SQLiteStorage(str(db)).entries() if i > 100 and Entry.decode(b).kind is Kind.LOOKUP
    )
    body, _ = _row(db, h)
    e = Entry.decode(body).with_outcome(Code.WRONG_ROLE, {})
    new = e.encode()
    _sql(db, ("UPDATE entries SET body = ?, leaf = ? WHERE idx = ?", (new, merkle.leaf_hash(new), h)))
    r = _audit(db, "rules")
    assert r.divergence is not None and r.divergence.height == h and r.divergence.kind == "lookup"
    assert "verdict differs" in r.divergence.what


@pytest.mark.parametrize("where", ["middle", "last"])
def test_deleted_row_is_named(db: Path, where: str) -> None:
    h = 400 if where == "middle" else N - 1
    _sql(db, ("DELETE FROM entries WHERE idx = ?", (h,)))
    for mode in ("roots", "full"):
        r = _audit(db, mode)
        assert r.divergence is not None and r.divergence.height == h and "missing" in r.divergence.what


def test_reordered_rows_are_named(db: Path) -> None:
    a, b = 510, 515
    ra, rb = _row(db, a), _row(db, b)
    _sql(
        db,
        ("UPDATE entries SET body = ?, leaf = ? WHERE idx = ?", (rb[0], rb[1], a)),
        ("UPDATE entries SET body = ?, leaf = ? WHERE idx = ?", (ra[0], ra[1], b)),
    )
    for mode in ("roots", "rules", "full"):
        r = _audit(db, mode)
        assert r.divergence is not None and r.divergence.height in (a, a + 1), (mode, r.divergence)


def test_swapped_checkpoint_signature_is_named(db: Path) -> None:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT size, sig FROM checkpoints ORDER BY size").fetchall()
    conn.close()
    (s1, g1), (s2, g2) = rows[1], rows[2]
    _sql(
        db,
        ("UPDATE checkpoints SET sig = ? WHERE size = ?", (g2, s1)),
        ("UPDATE checkpoints SET sig = ? WHERE size = ?", (g1, s2)),
    )
    r = _audit(db, "roots")
    assert r.divergence is not None and r.divergence.checkpoint_size == s1
    assert "platform signature" in r.divergence.what


def test_bad_cosignature_is_named(db: Path) -> None:
    conn = sqlite3.connect(db)
    size, auditor, sig = conn.execute(
        "SELECT size, auditor, sig FROM cosignatures ORDER BY size LIMIT 1"
    ).fetchone()
    conn.close()
    bad = bytes(sig[:-1]) + bytes([sig[-1] ^ 1])
    _sql(db, ("UPDATE cosignatures SET sig = ? WHERE size = ? AND auditor = ?", (bad, size, auditor)))
    r = _audit(db, "roots")
    assert r.divergence is not None and r.divergence.checkpoint_size == size
    assert f"auditor {auditor}" in r.divergence.what


def test_other_rules_are_detected(db: Path) -> None:
    r = _audit(db, "rules", hook=CountingHook(quota=1))
    assert r.divergence is not None and "rule outcome differs" in r.divergence.what
    r = _audit(db, "rules", hook=NullHook())
    assert r.divergence is not None and "state root" in r.divergence.what


def test_split_view_is_detected(db: Path, golden: tuple[Path, Consortium], tmp_path: Path) -> None:
    _, c = golden
    original = SQLiteStorage(str(db))
    trusted = Checkpoint.decode(original.latest_checkpoint().body)  # type: ignore[union-attr]
    original.close()
    # The platform rewrites history after entry 600 and presents the new log to an auditor.
    fork = tmp_path / "fork.db"
    shutil.copy(db, fork)
    _sql(
        fork,
        ("DELETE FROM entries WHERE idx >= 600", ()),
        ("DELETE FROM cosignatures WHERE size > 600", ()),
        ("DELETE FROM checkpoints WHERE size > 600", ()),
    )
    s = SQLiteStorage(str(fork))
    first = Entry.decode(s.entry(N - 101))
    log = Log(s, c.platform.sign, hook=CountingHook(), clock=lambda: first.sequenced_ms / 1000 + 1)
    for _ in range(150):
        log.submit(*c.request(Kind.LOOKUP, 200, {"mode": 2}, now_ms=first.sequenced_ms), receipt=False)
    signed = log.checkpoint()
    assert signed is not None and signed.checkpoint.size > trusted.size
    proof = log.consistency_proof(trusted.size, signed.checkpoint.size)
    # the fork alone audits clean; against what the auditor trusted it does not
    assert audit(s, mode="roots").ok
    r = audit(s, mode="roots", trusted=trusted)
    assert r.divergence is not None and "split view" in r.divergence.what
    auditor = Auditor(300, c.parties[300].sign, c.platform.sign.public_key(), trusted=trusted)
    with pytest.raises(SplitView, match="split view"):
        auditor.observe(signed, proof)
    with pytest.raises(SplitView):
        auditor.cosign(s, hook=CountingHook(), mode="roots")
    s.close()


def test_replica_sync_names_the_first_rewritten_height(
    db: Path, tmp_path: Path, golden: tuple[Path, Consortium]
) -> None:
    _, c = golden
    source = SQLiteStorage(str(db))
    replica = MemoryStorage()
    assert sync(source, replica) == N
    assert audit(replica, hook=CountingHook()).ok and sync(source, replica) == 0
    assert replica.cosignatures(N) == source.cosignatures(N)
    source.close()
    # the node rewrites history from height 600 on
    fork = tmp_path / "fork2.db"
    shutil.copy(db, fork)
    _sql(
        fork,
        ("DELETE FROM entries WHERE idx >= 600", ()),
        ("DELETE FROM cosignatures WHERE size > 600", ()),
        ("DELETE FROM checkpoints WHERE size > 600", ()),
    )
    s = SQLiteStorage(str(fork))
    first = Entry.decode(s.entry(599))
    log = Log(s, c.platform.sign, hook=CountingHook(), clock=lambda: first.sequenced_ms / 1000 + 1)
    for _ in range(120):
        log.submit(*c.request(Kind.LOOKUP, 200, {"mode": 2}, now_ms=first.sequenced_ms), receipt=False)
    log.checkpoint()
    with pytest.raises(SplitView) as ei:
        sync(s, replica)
    assert ei.value.height == 600
    s.close()


def test_auditor_cosigns_extensions(db: Path, golden: tuple[Path, Consortium]) -> None:
    _, c = golden
    s = SQLiteStorage(str(db))
    cps = s.checkpoints()
    old = Checkpoint.decode(cps[1].body)
    new = SignedCheckpoint(Checkpoint.decode(cps[-1].body), cps[-1].signature)
    log = Log(s, c.platform.sign, hook=CountingHook())
    auditor = Auditor(302, c.parties[302].sign, c.platform.sign.public_key(), trusted=old)
    auditor.observe(new, log.consistency_proof(old.size, new.checkpoint.size))
    sig = auditor.cosign(s, hook=CountingHook())
    assert s.cosignatures(new.checkpoint.size)[302] == sig
    s.close()


def test_kill_9_mid_load_loses_no_receipted_entry(tmp_path: Path) -> None:
    from tests.ledger_writer import consortium

    path = tmp_path / "crash.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger_writer", str(path), "4000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    receipts: list[tuple[int, str]] = []
    assert proc.stdout is not None
    start = time.monotonic()
    try:
        while len(receipts) < 150 and time.monotonic() - start < 60:
            line = proc.stdout.readline()
            if not line:
                break
            idx, leaf = line.split()
            receipts.append((int(idx), leaf))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    assert len(receipts) >= 20
    s = SQLiteStorage(str(path))
    for i, h in receipts:
        assert s.get_nodes([(0, i)])[0].hex() == h
    r = audit(s, mode="full", hook=CountingHook())
    assert r.ok, r.divergence
    assert r.size >= max(i for i, _ in receipts) + 1
    c = consortium()
    log = Log(s, c.platform.sign, hook=CountingHook())  # restart continues the log
    log.submit(*c.request(Kind.LOOKUP, 200, {"mode": 2}, now_ms=int(time.time() * 1000)))
    log.checkpoint()
    assert audit(s, mode="full", hook=CountingHook()).ok
    s.close()
