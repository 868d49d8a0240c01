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

from api.sqlite_db import open_db

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
    receipt_hash BLOB PRIMARY KEY,   -- SM3 of the platform's evaluation receipt of a recorded lookup
    oblivious INTEGER NOT NULL,      -- 1: may buy one bucket fetch and one OT; 0: mirror lookup, spent
    index_size INTEGER,              -- the snapshot the bucket was fetched from
    bucket INTEGER,
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
        self._db = open_db(path, SCHEMA, "index_version", VERSION, "index")
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
        """Forget a request's *unconfirmed* rows (a confirmed request's rows are never dropped)."""
        with self.atomic() as db:
            db.execute("DELETE FROM staged WHERE request_hash = ? AND confirmed = 0", (request_hash,))
            db.execute("DELETE FROM registry WHERE request_hash = ? AND height < 0", (request_hash,))

    def known_request(self, request_hash: bytes) -> bool:
        """Whether this request was staged or registered before (a replay)."""
        return bool(
            self._db.execute(
                "SELECT 1 FROM staged WHERE request_hash = ? LIMIT 1", (request_hash,)
            ).fetchone()
            or self._db.execute(
                "SELECT 1 FROM registry WHERE request_hash = ? LIMIT 1", (request_hash,)
            ).fetchone()
        )

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

    def add_token(self, receipt_hash: bytes, oblivious: bool) -> None:
        """A lookup was recorded on the ledger; its receipt may now pay for one bucket and one OT
        (oblivious mode) or for nothing more (mirror mode)."""
        with self.atomic() as db:
            db.execute(
                "INSERT OR IGNORE INTO tokens (receipt_hash, oblivious) VALUES (?, ?)",
                (receipt_hash, int(oblivious)),
            )

    def use_token_for_bucket(self, receipt_hash: bytes, index_size: int, bucket: int) -> str | None:
        """Spend a token on its one bucket fetch; returns None or why it cannot be spent."""
        with self.atomic() as db:
            row = db.execute(
                "SELECT oblivious, bucket FROM tokens WHERE receipt_hash = ?", (receipt_hash,)
            ).fetchone()
            if row is None:
                return "record the lookup on the ledger before fetching a bucket"
            if not row[0] or row[1] is not None:
                return "this evaluation's token was already spent"
            db.execute(
                "UPDATE tokens SET index_size = ?, bucket = ? WHERE receipt_hash = ?",
                (index_size, bucket, receipt_hash),
            )
            return None

    def use_token_for_ot(self, receipt_hash: bytes, index_size: int, bucket: int) -> bool:
        """Spend a token on its one OT, of the bucket and snapshot it fetched."""
        with self.atomic() as db:
            cur = db.execute(
                "UPDATE tokens SET ot_done = 1"
                " WHERE receipt_hash = ? AND index_size = ? AND bucket = ? AND ot_done = 0",
                (receipt_hash, index_size, bucket),
            )
            return cur.rowcount == 1

    def close(self) -> None:
        self._db.close()
