"""Opening the service's durable SQLite stores: WAL, synchronous=FULL, schema, version check."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_db(path: Path | str, schema: str, version_table: str, version: int, what: str) -> sqlite3.Connection:
    """Connect in autocommit mode (callers run explicit transactions), apply ``schema`` and check
    the stored schema version in ``version_table`` (written on first use)."""
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    row = db.execute(f"SELECT version FROM {version_table}").fetchone()  # noqa: S608 - fixed names
    if row is None:
        db.execute(f"INSERT INTO {version_table} VALUES (?)", (version,))  # noqa: S608
    elif row[0] != version:
        db.close()
        raise RuntimeError(f"{what} database is version {row[0]}, this build knows {version}")
    return db
