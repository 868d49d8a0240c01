"""Durable per-member evaluation metering for one OPRF server (platform or key holder).

Each server keeps its own meter (DESIGN.md, Threat model): nonces seen within the timestamp window
(replays refused), evaluations per member per period against the hard quota, and refusal counts
for rate limiting. SQLite in WAL mode with synchronous=FULL: a receipt is only signed after the
count it states is on disk.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
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
"""
VERSION = 1


class QuotaExceeded(Exception):
    pass


class ReplayedNonce(Exception):
    pass


@dataclass(frozen=True)
class Charge:
    member: int
    period: int
    used: int  # after this charge


class Meter:
    def __init__(self, path: Path | str, quota: int) -> None:
        self.quota = quota
        self._lock = threading.Lock()
        self._db = open_db(path, SCHEMA, "meter_version", VERSION, "meter")

    def used(self, member: int, period: int) -> int:
        row = self._db.execute(
            "SELECT used FROM usage WHERE member=? AND period=?", (member, period)
        ).fetchone()
        return int(row[0]) if row else 0

    def charge(
        self, member: int, period: int, count: int, nonce: bytes, expires_ms: int, now_ms: int
    ) -> Charge:
        """Record ``count`` evaluations and the nonce in one transaction, or change nothing."""
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM nonces WHERE expires_ms < ?", (now_ms,))
                if db.execute("SELECT 1 FROM nonces WHERE member=? AND nonce=?", (member, nonce)).fetchone():
                    raise ReplayedNonce("this request's nonce was already used")
                used = self.used(member, period) + count
                if used > self.quota:
                    raise QuotaExceeded(
                        f"evaluation quota exhausted: {used - count} of {self.quota} used this period, "
                        f"{count} requested"
                    )
                db.execute("INSERT INTO nonces VALUES (?, ?, ?)", (member, nonce, expires_ms))
                db.execute(
                    "INSERT INTO usage VALUES (?, ?, ?) ON CONFLICT(member, period) DO UPDATE SET used=?",
                    (member, period, used, used),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            return Charge(member, period, used)

    def close(self) -> None:
        self._db.close()
