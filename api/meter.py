"""Durable per-member evaluation metering for one OPRF server (platform or key holder).

Each server keeps its own meter (DESIGN.md, Threat model): nonces seen within the timestamp window
(replays refused), evaluations per member per period against the hard quota, and refusal counts
for rate limiting. SQLite in WAL mode with synchronous=FULL: a receipt is only signed after the
count it states is on disk.

Concurrent charges are group-committed: each charge is decided against an in-memory view under a
lock (so the quota and replay checks see every charge already granted, durable or not), then the
first waiter writes every pending charge in one transaction and one fsync while the others wait
for it. A failed commit fails every charge of its batch and reloads the view from the database, so
nothing is granted that is not on disk.

The platform's meter also holds the lookup receipts it issued that no ledger entry has carried
yet (``charge(..., unrecorded=…)``): brokers must record their lookups (and pay their fees) before
they may evaluate more than :data:`MAX_UNRECORDED` further ones.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from api.sqlite_db import open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS meter_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    member INTEGER NOT NULL, period INTEGER NOT NULL, used INTEGER NOT NULL,
    PRIMARY KEY (member, period)
);
CREATE TABLE IF NOT EXISTS nonces (
    member INTEGER NOT NULL, nonce BLOB NOT NULL, expires_ms INTEGER NOT NULL,
    PRIMARY KEY (member, nonce)
);
CREATE INDEX IF NOT EXISTS nonces_expiry ON nonces (expires_ms);
CREATE TABLE IF NOT EXISTS unrecorded (
    request_hash BLOB PRIMARY KEY, member INTEGER NOT NULL, issued_height INTEGER NOT NULL
);
"""
VERSION = 1

# A broker may hold this many evaluated but unrecorded lookups; the next evaluation waits for the
# ledger entries that carry them (a client records each lookup right after it; a gateway batches).
MAX_UNRECORDED = 64

_EXPIRE_EVERY_MS = 10_000  # expired nonces are dropped from memory and disk at most this often


class QuotaExceeded(Exception):
    pass


class ReplayedNonce(Exception):
    pass


class MeterFailure(Exception):
    """The meter could not make a charge durable; nothing was granted."""


@dataclass(frozen=True)
class Charge:
    member: int
    period: int
    used: int  # after this charge


@dataclass
class _Batch:
    usage: dict[tuple[int, int], int] = field(default_factory=dict)
    nonces: list[tuple[int, bytes, int]] = field(default_factory=list)
    unrecorded: list[tuple[bytes, int, int]] = field(default_factory=list)
    settled: list[bytes] = field(default_factory=list)
    expire_before: int | None = None
    done: bool = False
    error: BaseException | None = None


class Meter:
    def __init__(self, path: Path | str, quota: int) -> None:
        self.quota = quota
        self._db = open_db(path, SCHEMA, "meter_version", VERSION, "meter")
        self._cond = threading.Condition(threading.Lock())
        self._pending = _Batch()
        self._committing = False
        self._load()

    def _load(self) -> None:
        """(Re)build the in-memory view from the database (at start and after a failed commit)."""
        db = self._db
        self._usage: dict[tuple[int, int], int] = {
            (m, p): u for m, p, u in db.execute("SELECT member, period, used FROM usage")
        }
        rows = db.execute("SELECT member, nonce, expires_ms FROM nonces")
        self._nonces = {(m, bytes(n)): e for m, n, e in rows}
        self._unrecorded: dict[bytes, tuple[int, int]] = {
            bytes(h): (m, height) for h, m, height in db.execute("SELECT * FROM unrecorded")
        }
        self._claimed: set[bytes] = set()
        self._next_expiry = 0

    def used(self, member: int, period: int) -> int:
        with self._cond:
            return int(self._usage.get((member, period), 0))

    # -- charging ------------------------------------------------------------------------------------

    def charge(
        self,
        member: int,
        period: int,
        count: int,
        nonce: bytes,
        expires_ms: int,
        now_ms: int,
        *,
        unrecorded: tuple[bytes, int] | None = None,
    ) -> Charge:
        """Record ``count`` evaluations and the nonce durably, or change nothing.

        ``unrecorded=(request_hash, ledger_height)`` also holds the evaluation as a lookup that no
        ledger entry has carried yet; :meth:`claim` and :meth:`settle` release it.
        """
        with self._cond:
            key = (member, nonce)
            if key in self._nonces:
                raise ReplayedNonce("this request's nonce was already used")
            if unrecorded is not None:
                held = self.unrecorded_count(member)
                if held >= MAX_UNRECORDED:
                    raise QuotaExceeded(
                        f"{held} evaluated lookups are not yet recorded on the ledger: record them first"
                    )
                if unrecorded[0] in self._unrecorded:
                    raise ReplayedNonce("this evaluation request was already charged")
            used = self._usage.get((member, period), 0) + count
            if used > self.quota:
                raise QuotaExceeded(
                    f"evaluation quota exhausted: {used - count} of {self.quota} used this period, "
                    f"{count} requested"
                )
            batch = self._pending
            self._usage[(member, period)] = used
            batch.usage[(member, period)] = used
            self._nonces[key] = expires_ms
            batch.nonces.append((member, nonce, expires_ms))
            if unrecorded is not None:
                self._unrecorded[unrecorded[0]] = (member, unrecorded[1])
                batch.unrecorded.append((unrecorded[0], member, unrecorded[1]))
            if now_ms >= self._next_expiry:
                self._next_expiry = now_ms + _EXPIRE_EVERY_MS
                self._nonces = {k: e for k, e in self._nonces.items() if e >= now_ms}
                batch.expire_before = now_ms
            self._await(batch)
            return Charge(member, period, used)

    def _await(self, batch: _Batch) -> None:
        """Wait (holding ``_cond``) until ``batch`` is durable; the first waiter commits it."""
        while not batch.done:
            if self._committing:
                self._cond.wait()
                continue
            self._committing = True
            self._pending = _Batch()
            self._cond.release()
            try:
                self._write(batch)
            except BaseException as e:  # nothing of this batch was granted
                batch.error = e
            finally:
                self._cond.acquire()
                self._committing = False
                batch.done = True
                if batch.error is not None:  # the view held these charges too: fail and reload
                    self._pending.error, self._pending.done = batch.error, True
                    self._pending = _Batch()
                    self._load()
                self._cond.notify_all()
        if batch.error is not None:
            raise MeterFailure(f"the meter could not commit: {batch.error}") from None

    def _write(self, b: _Batch) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if b.expire_before is not None:
                db.execute("DELETE FROM nonces WHERE expires_ms < ?", (b.expire_before,))
            db.executemany(
                "INSERT INTO usage VALUES (?, ?, ?)"
                " ON CONFLICT(member, period) DO UPDATE SET used=excluded.used",
                [(m, p, u) for (m, p), u in b.usage.items()],
            )
            db.executemany("INSERT INTO nonces VALUES (?, ?, ?)", b.nonces)
            db.executemany("INSERT INTO unrecorded VALUES (?, ?, ?)", b.unrecorded)
            db.executemany("DELETE FROM unrecorded WHERE request_hash = ?", [(h,) for h in b.settled])
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    # -- lookups not yet recorded ----------------------------------------------------------------------

    def unrecorded_count(self, member: int) -> int:
        return sum(1 for m, _ in self._unrecorded.values() if m == member)

    def unrecorded(self) -> dict[bytes, tuple[int, int]]:
        """Every held evaluation: request hash → (member, ledger height when it was evaluated)."""
        with self._cond:
            return dict(self._unrecorded)

    def claim(self, member: int, request_hashes: Iterable[bytes]) -> list[bytes]:
        """Reserve held evaluations of ``member`` for one ledger entry. Raises ValueError naming
        the first that is not held (never evaluated here, another member's, or already recorded);
        release with :meth:`unclaim` if the entry is refused, or :meth:`settle` once it is logged."""
        hashes = list(request_hashes)
        with self._cond:
            for h in hashes:
                owner = self._unrecorded.get(h)
                if owner is None or owner[0] != member or h in self._claimed:
                    raise ValueError(
                        f"evaluation {h.hex()[:16]}… is not an unrecorded lookup of this member"
                        " (already recorded, or never evaluated here)"
                    )
            if len(set(hashes)) != len(hashes):
                raise ValueError("an evaluation appears twice in one entry")
            self._claimed.update(hashes)
        return hashes

    def unclaim(self, request_hashes: Iterable[bytes]) -> None:
        with self._cond:
            self._claimed.difference_update(request_hashes)

    def settle(self, request_hashes: Iterable[bytes]) -> None:
        """The evaluations are on the ledger: stop holding them. Written with the next commit
        (or at close), not waited for: after a crash the platform settles them again from the
        ledger, which holds them durably already."""
        with self._cond:
            for h in request_hashes:
                self._claimed.discard(h)
                if self._unrecorded.pop(h, None) is not None:
                    self._pending.settled.append(h)

    def flush(self) -> None:
        """Make everything pending durable now."""
        with self._cond:
            self._await(self._pending)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error, MeterFailure):
            self.flush()
        with self._cond, contextlib.suppress(sqlite3.Error):
            self._db.close()
