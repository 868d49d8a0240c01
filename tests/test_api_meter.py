"""The evaluation meter: group-committed charges, replay and quota checks under concurrency, a
failed commit grants nothing, and lookups held until a ledger entry carries them."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from api.meter import MAX_UNRECORDED, Meter, MeterFailure, QuotaExceeded, ReplayedNonce

NOW = 1_700_000_000_000


def _charge(m: Meter, member: int = 1, count: int = 1, nonce: bytes | None = None, **kw: object) -> int:
    return m.charge(member, 7, count, nonce or os.urandom(16), NOW + 600_000, NOW, **kw).used  # type: ignore[arg-type]


def test_concurrent_charges_are_all_durable_and_counted_once(tmp_path: Path) -> None:
    m = Meter(tmp_path / "m.db", 10_000)
    seen: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        for _ in range(50):
            u = _charge(m, count=2)
            with lock:
                seen.append(u)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(2, 801, 2))  # every charge saw a distinct running total
    m.close()
    again = Meter(tmp_path / "m.db", 10_000)
    assert again.used(1, 7) == 800
    assert again.used(2, 7) == 0
    again.close()


def test_quota_holds_under_concurrency(tmp_path: Path) -> None:
    m = Meter(tmp_path / "m.db", 100)
    granted: list[int] = []
    refused: list[BaseException] = []

    def work() -> None:
        for _ in range(30):
            try:
                granted.append(_charge(m, count=1))
            except QuotaExceeded as e:
                refused.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(granted) == 100 and len(refused) == 80
    assert "quota exhausted" in str(refused[0])
    assert m.used(1, 7) == 100
    m.close()


def test_replayed_nonce_is_refused_also_after_restart(tmp_path: Path) -> None:
    m = Meter(tmp_path / "m.db", 100)
    nonce = os.urandom(16)
    _charge(m, nonce=nonce)
    with pytest.raises(ReplayedNonce):
        _charge(m, nonce=nonce)
    assert m.used(1, 7) == 1  # the refused charge changed nothing
    m.close()
    m = Meter(tmp_path / "m.db", 100)
    with pytest.raises(ReplayedNonce):
        _charge(m, nonce=nonce)
    _charge(m, member=2, nonce=nonce)  # nonces are per member
    m.close()


def test_a_failed_commit_grants_nothing(tmp_path: Path) -> None:
    m = Meter(tmp_path / "m.db", 100)
    _charge(m)
    # Another connection holds the write lock: this commit fails (busy), and nothing of it stays.
    other = sqlite3.connect(str(tmp_path / "m.db"), isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")
    m._db.execute("PRAGMA busy_timeout = 0")
    nonce = os.urandom(16)
    with pytest.raises(MeterFailure):
        _charge(m, nonce=nonce)
    other.execute("ROLLBACK")
    other.close()
    assert m.used(1, 7) == 1
    assert _charge(m, nonce=nonce) == 2  # the nonce was not burnt by the failed charge
    m.close()


def test_lookups_are_held_until_recorded(tmp_path: Path) -> None:
    m = Meter(tmp_path / "m.db", 10_000)
    hashes = [os.urandom(32) for _ in range(MAX_UNRECORDED)]
    for h in hashes:
        _charge(m, unrecorded=(h, 5))
    with pytest.raises(QuotaExceeded, match="not yet recorded"):
        _charge(m, unrecorded=(os.urandom(32), 5))
    _charge(m, member=2, unrecorded=(os.urandom(32), 5))  # other brokers are not affected
    with pytest.raises(ValueError, match="not an unrecorded lookup of this member"):
        m.claim(2, hashes[:1])  # another member's evaluation
    claimed = m.claim(1, hashes[:3])
    with pytest.raises(ValueError):
        m.claim(1, hashes[:1])  # claimed once, for one entry
    m.unclaim(claimed)  # the entry was refused: they stay held
    m.settle(m.claim(1, hashes[:3]))
    with pytest.raises(ValueError, match="already recorded"):
        m.claim(1, hashes[:1])
    _charge(m, unrecorded=(os.urandom(32), 5))  # room again
    m.close()  # settled lookups are written at close
    m = Meter(tmp_path / "m.db", 10_000)
    held = m.unrecorded()
    assert len([h for h, (member, _) in held.items() if member == 1]) == MAX_UNRECORDED - 2
    assert all(h not in held for h in hashes[:3])
    m.close()
