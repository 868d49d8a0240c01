"""Persisting the incentive state in SQLite beside the ledger: the cells, the journal and the
state root they had when saved. Loading recomputes the root from the cells, so a balance or a rule
parameter edited in the file is detected (:class:`~incentive.exceptions.StateDivergence`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from incentive.engine import Engine, JournalRow
from incentive.exceptions import StateDivergence
from incentive.points import check_int64

__all__ = ["SCHEMA_VERSION", "has_state", "load", "save"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS incentive_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS incentive_cell (k BLOB PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incentive_journal (
    seq INTEGER PRIMARY KEY, height INTEGER NOT NULL, kind TEXT NOT NULL,
    member INTEGER NOT NULL, delta INTEGER NOT NULL, code TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS incentive_journal_member ON incentive_journal (member, seq);
"""


def _connect(db: str | Path | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else sqlite3.connect(str(db))


def save(engine: Engine, db: str | Path | sqlite3.Connection) -> bytes:
    """Write the whole state (replacing what was there) in one transaction; returns the root."""
    conn = _connect(db)
    root = engine.state_root()
    with conn:
        conn.executescript(_SCHEMA)
        conn.execute("DELETE FROM incentive_cell")
        conn.execute("DELETE FROM incentive_journal")
        conn.executemany(
            "INSERT INTO incentive_cell (k, v) VALUES (?, ?)",
            ((k.to_bytes(32, "big"), v) for k, v in engine.book.items()),
        )
        conn.executemany(
            "INSERT INTO incentive_journal (height, kind, member, delta, code) VALUES (?, ?, ?, ?, ?)",
            ((r.height, r.kind, r.member, r.delta, r.code) for r in engine.journal),
        )
        meta = {"schema": str(SCHEMA_VERSION).encode(), "height": str(engine.height).encode(), "root": root}
        conn.executemany("INSERT OR REPLACE INTO incentive_meta (name, value) VALUES (?, ?)", meta.items())
    return root


def has_state(db: str | Path | sqlite3.Connection) -> bool:
    conn = _connect(db)
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'incentive_meta'"
    ).fetchone()
    return row is not None


def load(db: str | Path | sqlite3.Connection, *, verify: bool = True) -> tuple[Engine, list[JournalRow]]:
    """The stored engine and journal; with ``verify`` the recomputed state root must equal the
    stored one (else :class:`StateDivergence`)."""
    conn = _connect(db)
    if not has_state(conn):
        raise LookupError("no incentive state in this database")
    meta = dict(conn.execute("SELECT name, value FROM incentive_meta").fetchall())
    if int(meta["schema"]) != SCHEMA_VERSION:
        raise ValueError(f"incentive schema {int(meta['schema'])} is not {SCHEMA_VERSION}")
    cells = {}
    for kb, v in conn.execute("SELECT k, v FROM incentive_cell"):
        cells[int.from_bytes(kb, "big")] = check_int64(v, "stored cell")
    height = int(meta["height"])
    engine = Engine.from_snapshot(cells, height)
    if verify and engine.state_root() != bytes(meta["root"]):
        raise StateDivergence("stored incentive state does not match its state root", height)
    journal = [
        JournalRow(h, kind, m, d, code)
        for h, kind, m, d, code in conn.execute(
            "SELECT height, kind, member, delta, code FROM incentive_journal ORDER BY seq"
        )
    ]
    return engine, journal
