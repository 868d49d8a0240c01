"""The platform's durable index: published operations, tentative operations of contributions
whose ledger entry is not yet confirmed, and the private registry (entry id → contributor, dedup
keys, upload heights). One SQLite file, WAL, synchronous=FULL.

Crash safety across the two stores (index here, ledger beside it): a contribution's operations are
written here as *tentative*, keyed by the SM3 of its ledger request, before the ledger entry is
submitted; they are confirmed after the ledger's receipt. On restart, tentative rows whose request
is in the ledger as accepted are confirmed and the rest are dropped, so neither store is ever
half-written relative to the other.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS index_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS published (pos INTEGER PRIMARY KEY, op BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS staged (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    request_hash BLOB NOT NULL,
    op BLOB NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS staged_request ON staged (request_hash);
CREATE TABLE IF NOT EXISTS registry (
    entry_id BLOB PRIMARY KEY,
    owner INTEGER NOT NULL,
    dedup BLOB NOT NULL,
    height INTEGER NOT NULL,
    request_hash BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS registry_dedup ON registry (owner, dedup);
CREATE TABLE IF NOT EXISTS tokens (
    receipt_hash BLOB PRIMARY KEY,
    member INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    ot_done INTEGER NOT NULL DEFAULT 0
);
"""
VERSION = 1


@dataclass(frozen=True)
class Registration:
    entry_id: bytes
    owner: int
    dedup: bytes
    height: int


class IndexStore:
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        row = self._db.execute("SELECT version FROM index_version").fetchone()
        if row is None:
            self._db.execute("INSERT INTO index_version VALUES (?)", (VERSION,))
        elif row[0] != VERSION:
            raise RuntimeError(f"index database is version {row[0]}, this build knows {VERSION}")
        self.lock = threading.RLock()

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- published log ---------------------------------------------------------------------------

    def published(self) -> list[bytes]:
        return [bytes(r[0]) for r in self._db.execute("SELECT op FROM published ORDER BY pos")]

    def publish(self, start: int, ops: Iterable[bytes]) -> None:
        """Append published operations and retire every confirmed staged row, atomically."""
        with self.atomic() as db:
            db.executemany(
                "INSERT INTO published VALUES (?, ?)", ((start + i, op) for i, op in enumerate(ops))
            )
            db.execute("DELETE FROM staged WHERE confirmed = 1")

    # -- staged contributions ----------------------------------------------------------------------

    def stage(self, request_hash: bytes, ops: Iterable[bytes], registrations: Iterable[Registration]) -> None:
        with self.atomic() as db:
            db.executemany(
                "INSERT INTO staged (request_hash, op) VALUES (?, ?)", ((request_hash, op) for op in ops)
            )
            db.executemany(
                "INSERT INTO registry VALUES (?, ?, ?, ?, ?)",
                ((r.entry_id, r.owner, r.dedup, r.height, request_hash) for r in registrations),
            )

    def confirm(self, request_hash: bytes, height: int) -> None:
        with self.atomic() as db:
            db.execute("UPDATE staged SET confirmed = 1 WHERE request_hash = ?", (request_hash,))
            db.execute("UPDATE registry SET height = ? WHERE request_hash = ?", (height, request_hash))

    def drop(self, request_hash: bytes) -> None:
        with self.atomic() as db:
            db.execute("DELETE FROM staged WHERE request_hash = ?", (request_hash,))
            db.execute("DELETE FROM registry WHERE request_hash = ? AND height < 0", (request_hash,))

    def staged_requests(self) -> list[bytes]:
        return [
            bytes(r[0])
            for r in self._db.execute("SELECT DISTINCT request_hash FROM staged WHERE confirmed = 0")
        ]

    def confirmed_staged(self) -> list[bytes]:
        return [
            bytes(r[0]) for r in self._db.execute("SELECT op FROM staged WHERE confirmed = 1 ORDER BY seq")
        ]

    # -- registry --------------------------------------------------------------------------------

    def owner(self, entry_id: bytes) -> Registration | None:
        row = self._db.execute(
            "SELECT entry_id, owner, dedup, height FROM registry WHERE entry_id = ? AND height >= 0",
            (entry_id,),
        ).fetchone()
        return None if row is None else Registration(bytes(row[0]), row[1], bytes(row[2]), row[3])

    def entries_with_dedup(self, owner: int, dedup: bytes) -> list[bytes]:
        return [
            bytes(r[0])
            for r in self._db.execute(
                "SELECT entry_id FROM registry WHERE owner = ? AND dedup = ? AND height >= 0", (owner, dedup)
            )
        ]

    # -- one-time lookup tokens (oblivious mode) ---------------------------------------------------

    def use_token_for_bucket(self, receipt_hash: bytes, member: int, bucket: int) -> bool:
        """Spend a token on its one bucket fetch; False if it was already spent."""
        with self.atomic() as db:
            if db.execute("SELECT 1 FROM tokens WHERE receipt_hash = ?", (receipt_hash,)).fetchone():
                return False
            db.execute(
                "INSERT INTO tokens (receipt_hash, member, bucket) VALUES (?, ?, ?)",
                (receipt_hash, member, bucket),
            )
            return True

    def use_token_for_ot(self, receipt_hash: bytes, bucket: int) -> bool:
        """Spend a token on its one OT, of the bucket it fetched; False otherwise."""
        with self.atomic() as db:
            cur = db.execute(
                "UPDATE tokens SET ot_done = 1 WHERE receipt_hash = ? AND bucket = ? AND ot_done = 0",
                (receipt_hash, bucket),
            )
            return cur.rowcount == 1

    def close(self) -> None:
        self._db.close()
