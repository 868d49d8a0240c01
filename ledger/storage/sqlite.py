"""SQLite ledger storage: WAL, ``synchronous=FULL``, a migrations table, one transaction (and so
one fsync) per committed batch.

The connection is opened in autocommit mode and transactions are explicit (``BEGIN IMMEDIATE`` …
``COMMIT``), so a crash at any point leaves either the whole batch or none of it. Member ids are
u64 on the ledger but SQLite integers are signed 64-bit: they are stored two's-complement.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlite_utils

from ledger.storage import Batch, CheckpointRow, StorageError

__all__ = ["MIGRATIONS", "SQLiteStorage"]

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001 ledger tables",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
        CREATE TABLE entries (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL, body BLOB NOT NULL);
        CREATE TABLE nodes (
            level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
            PRIMARY KEY (level, idx)) WITHOUT ROWID;
        CREATE TABLE nonces (
            member INTEGER NOT NULL, nonce BLOB NOT NULL, ms INTEGER NOT NULL,
            PRIMARY KEY (member, nonce)) WITHOUT ROWID;
        CREATE INDEX nonces_ms ON nonces (ms);
        CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, body BLOB NOT NULL, sig BLOB NOT NULL);
        CREATE TABLE cosignatures (
            size INTEGER NOT NULL REFERENCES checkpoints(size), auditor INTEGER NOT NULL,
            sig BLOB NOT NULL, PRIMARY KEY (size, auditor)) WITHOUT ROWID;
        """,
    ),
]


def _s64(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


def _u64(s: int) -> int:
    return s + (1 << 64) if s < 0 else s


class SQLiteStorage:
    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.RLock()
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self._conn = conn
        self.db = sqlite_utils.Database(conn)
        self._migrate()
        # Readers use their own connection: WAL lets them run while a commit is fsyncing.
        self._rlock = threading.RLock()
        self._rconn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._rconn.execute("PRAGMA busy_timeout=5000")
        # A row rewritten by hand may hold TEXT where BLOBs belong: read it as bytes, let audit judge.
        self._rconn.text_factory = bytes
        row = conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM entries").fetchone()
        self._size = int(row[0])

    # -- schema -----------------------------------------------------------------------------

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed (and fsynced) on success, rolled back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self.atomic() as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS _migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL)"
            )
            done = {int(r[0]) for r in c.execute("SELECT version FROM _migrations")}
            for version, (name, sql) in enumerate(MIGRATIONS, start=1):
                if version in done:
                    continue
                for stmt in sql.split(";"):
                    if stmt.strip():
                        c.execute(stmt)
                c.execute(
                    "INSERT INTO _migrations VALUES (?, ?, ?)", (version, name, int(time.time() * 1000))
                )

    def migrations(self) -> list[str]:
        return [str(r["name"]) for r in self.db["_migrations"].rows_where(order_by="version")]

    # -- writes -----------------------------------------------------------------------------

    def size(self) -> int:
        return self._size

    def commit(self, batch: Batch) -> None:
        with self.atomic() as c:
            if batch.start != self._size:
                raise StorageError(f"batch starts at {batch.start} but the store holds {self._size} entries")
            c.executemany(
                "INSERT INTO entries (idx, leaf, body) VALUES (?, ?, ?)",
                [(batch.start + i, leaf, body) for i, (body, leaf) in enumerate(batch.entries)],
            )
            if batch.nodes:
                c.executemany("INSERT OR REPLACE INTO nodes VALUES (?, ?, ?)", batch.nodes)
            if batch.nonces:
                c.executemany(
                    "INSERT OR IGNORE INTO nonces VALUES (?, ?, ?)",
                    [(_s64(m), n, ms) for m, n, ms in batch.nonces],
                )
            if batch.meta:
                c.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(batch.meta.items()))
            for cp in batch.checkpoints:
                if cp.size > batch.start + len(batch.entries):
                    raise StorageError("a checkpoint covers entries the store will not hold")
                try:
                    c.execute("INSERT INTO checkpoints VALUES (?, ?, ?)", (cp.size, cp.body, cp.signature))
                except sqlite3.IntegrityError:
                    raise StorageError(f"a checkpoint of size {cp.size} exists") from None
        self._size = batch.start + len(batch.entries)

    def add_cosignature(self, size: int, auditor: int, signature: bytes) -> None:
        with self.atomic() as c:
            if c.execute("SELECT 1 FROM checkpoints WHERE size = ?", (size,)).fetchone() is None:
                raise StorageError(f"no checkpoint of size {size}")
            c.execute(
                "INSERT OR REPLACE INTO cosignatures VALUES (?, ?, ?)", (size, _s64(auditor), signature)
            )

    def prune_nonces(self, before_ms: int) -> int:
        with self.atomic() as c:
            return c.execute("DELETE FROM nonces WHERE ms < ?", (before_ms,)).rowcount

    # -- reads ------------------------------------------------------------------------------

    def _one(self, sql: str, args: tuple[object, ...]) -> Any:
        with self._rlock:
            return self._rconn.execute(sql, args).fetchone()

    def entry(self, index: int) -> bytes:
        row = self._one("SELECT body FROM entries WHERE idx = ?", (index,))
        if row is None:
            raise IndexError(f"no entry at index {index}")
        return bytes(row[0])

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes, bytes]]:
        stop = self._size if end is None else min(end, self._size)
        pos = start
        while pos < stop:
            chunk_end = min(stop, pos + 4096)
            with self._rlock:
                rows = self._rconn.execute(
                    "SELECT idx, body, leaf FROM entries WHERE idx >= ? AND idx < ? ORDER BY idx",
                    (pos, chunk_end),
                ).fetchall()
            for idx, body, leaf in rows:
                yield int(idx), bytes(body), bytes(leaf)
            pos = chunk_end

    def get_nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        out = []
        with self._rlock:
            ex = self._rconn.execute
            for level, index in coords:
                if level == 0:
                    row = ex("SELECT leaf FROM entries WHERE idx = ?", (index,)).fetchone()
                else:
                    row = ex("SELECT hash FROM nodes WHERE level = ? AND idx = ?", (level, index)).fetchone()
                if row is None:
                    raise KeyError(f"no Merkle node ({level}, {index})")
                out.append(bytes(row[0]))
        return out

    def nonce_seen(self, member: int, nonce: bytes) -> int | None:
        row = self._one("SELECT ms FROM nonces WHERE member = ? AND nonce = ?", (_s64(member), nonce))
        return None if row is None else int(row[0])

    def nonces_since(self, since_ms: int) -> Iterator[tuple[int, bytes, int]]:
        with self._rlock:
            rows = self._rconn.execute(
                "SELECT member, nonce, ms FROM nonces WHERE ms >= ?", (since_ms,)
            ).fetchall()
        for m, n, ms in rows:
            yield _u64(int(m)), bytes(n), int(ms)

    def get_meta(self, key: str) -> bytes | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else bytes(row[0])

    @staticmethod
    def _cp(row: Any) -> CheckpointRow | None:
        if row is None:
            return None
        return CheckpointRow(int(row[0]), bytes(row[1]), bytes(row[2]))

    def checkpoint(self, size: int) -> CheckpointRow | None:
        return self._cp(self._one("SELECT size, body, sig FROM checkpoints WHERE size = ?", (size,)))

    def checkpoints(self) -> list[CheckpointRow]:
        with self._rlock:
            rows = self._rconn.execute("SELECT size, body, sig FROM checkpoints ORDER BY size").fetchall()
        return [CheckpointRow(int(s), bytes(b), bytes(g)) for s, b, g in rows]

    def latest_checkpoint(self) -> CheckpointRow | None:
        return self._cp(self._one("SELECT size, body, sig FROM checkpoints ORDER BY size DESC LIMIT 1", ()))

    def cosignatures(self, size: int) -> dict[int, bytes]:
        with self._rlock:
            rows = self._rconn.execute(
                "SELECT auditor, sig FROM cosignatures WHERE size = ?", (size,)
            ).fetchall()
        return {_u64(int(a)): bytes(s) for a, s in rows}

    def close(self) -> None:
        with self._rlock:
            self._rconn.close()
        with self._lock:
            self._conn.close()
