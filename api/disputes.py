"""Disputes of index entries (``DESIGN.md``, Incentives and Protocols 2): the binding between a
ledger ``dispute`` entry and the index entry it concerns, the auditors' check of the index log's
freeze / unfreeze / remove operations against the ledger, and the platform's private book of
disputes.

A data subject complains to a member (a broker that found the record, or a contributor); that
member **files** the dispute against the entry id. The ledger entry never holds the entry id: its
``evidence_hash`` is SM3("riskshare dispute v1" ‖ entry id), its ``heights`` stay empty and the
platform attests the disputed entry's upload height (only the platform knows entry id →
contributor), so the rules can freeze and claw back the contributor's pending reward. A filing
co-signed by the administrators' threshold also **freezes** the entry at once. The
administrators' threshold **decides**: upheld removes the entry (clawback and penalty by the
rules), dismissed unfreezes it if the filing froze it. Each index operation names the SM3 of the
ledger request that authorises it, so that auditors (who hold the index log) check that every
freeze, unfreeze and remove is backed by an accepted dispute entry of the right kind for that
very entry id before they co-sign.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.sqlite_db import open_db
from ledger.entry import KIND_OFFSET, Entry, Kind
from ledger.members import DisputeAction, Registry
from mpc import index as mindex
from mpc.exceptions import InvalidIndexOperation
from mpc.sm3 import sm3

__all__ = [
    "DECISION_DISMISSED",
    "DECISION_PENDING",
    "DECISION_UPHELD",
    "DecisionBook",
    "DisputeRecord",
    "DisputeStore",
    "dispute_binding",
    "evidence_digest",
    "list_message",
]

DECISION_PENDING, DECISION_UPHELD, DECISION_DISMISSED = 0, 1, 2
_BINDING_CONTEXT = b"riskshare dispute v1"
_EVIDENCE_CONTEXT = b"riskshare dispute evidence v1"


def dispute_binding(entry_id: bytes) -> bytes:
    """The ``evidence_hash`` of every ledger entry of a dispute about ``entry_id``."""
    if len(entry_id) != 16:
        raise ValueError("an entry id is 16 bytes")
    return sm3(_BINDING_CONTEXT + entry_id)


def evidence_digest(salt: bytes, document: bytes) -> bytes:
    """What the filer hands the platform about its evidence: SM3 of a salted document (the
    document names the subject, so it is never sent, and the salt keeps the digest unguessable)."""
    return sm3(_EVIDENCE_CONTEXT + struct.pack(">I", len(salt)) + salt + document)


def list_message(log_id: bytes, member: int, timestamp_ms: int) -> bytes:
    """What a member signs to list the disputes it may see."""
    return b"riskshare dispute list v1" + log_id + struct.pack(">QQ", member, timestamp_ms)


@dataclass(frozen=True)
class _Decision:
    action: int
    decision: int
    binding: bytes
    threshold_signed: bool


class DecisionBook:
    """Accepted dispute entries of a ledger by the SM3 of their request bytes: the
    :data:`mpc.index.DecisionCheck` that auditors apply to the index log's dispute operations.
    Each ledger entry authorises at most one operation."""

    def __init__(self) -> None:
        self._by_ref: dict[bytes, _Decision] = {}
        self._used: set[bytes] = set()

    @classmethod
    def from_entries(cls, entries: Iterable[tuple[int, bytes, bytes]]) -> DecisionBook:
        """Build from ``(height, entry bytes, leaf)`` in log order; only member and dispute
        entries are decoded (the administrators at each height decide whether a filing was
        co-signed by their threshold)."""
        book = cls()
        registry: Registry | None = None
        for height, body, _ in entries:
            if height == 0:
                registry = Registry.from_genesis(Entry.decode(body).request)
                continue
            kind = body[KIND_OFFSET]
            if kind not in (Kind.MEMBER, Kind.DISPUTE):
                continue
            e = Entry.decode(body)
            if not e.accepted or registry is None:
                continue
            if e.kind is Kind.MEMBER:
                registry.apply(e)
                continue
            admins = registry.admins()
            signed = len(set(e.signers) & admins) >= registry.threshold
            book._by_ref[sm3(e.request.encode())] = _Decision(
                e.int_field("action"), e.int_field("decision"), e.bytes_field("evidence_hash"), signed
            )
        return book

    def check(self, kind: mindex.OpKind, entry_id: bytes, decision: bytes) -> None:
        d = self._by_ref.get(decision)
        if d is None:
            raise InvalidIndexOperation("no accepted dispute entry on the ledger authorises the operation")
        if d.binding != dispute_binding(entry_id):
            raise InvalidIndexOperation("the dispute entry concerns another index entry")
        ok = {
            mindex.OpKind.FREEZE: d.action == DisputeAction.FILE and d.threshold_signed,
            mindex.OpKind.REMOVE: d.action == DisputeAction.DECIDE and d.decision == DECISION_UPHELD,
            mindex.OpKind.UNFREEZE: d.action == DisputeAction.DECIDE and d.decision == DECISION_DISMISSED,
        }.get(kind, False)
        if not ok:
            raise InvalidIndexOperation(f"the dispute entry does not authorise a {kind.name.lower()}")
        if decision in self._used:
            raise InvalidIndexOperation("a dispute entry authorises one index operation")
        self._used.add(decision)

    def check_ops(self, encoded: Sequence[bytes]) -> int:
        """Check every dispute operation among ``encoded`` (the whole index log, in order);
        returns how many there were. Raises InvalidIndexOperation."""
        n = 0
        for raw in encoded:
            if len(raw) > 1 and raw[1] in (
                mindex.OpKind.FREEZE,
                mindex.OpKind.UNFREEZE,
                mindex.OpKind.REMOVE,
            ):
                op = mindex.IndexOp.from_bytes(raw)
                assert op.decision is not None
                self.check(op.kind, op.entry_id, op.decision)
                n += 1
        return n


# ---- the platform's private book ---------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS disputes_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS disputes (
    dispute_id INTEGER PRIMARY KEY,
    entry_id BLOB NOT NULL,
    filer INTEGER NOT NULL,
    owner INTEGER NOT NULL,
    height INTEGER NOT NULL,      -- upload height of the disputed entry
    evidence BLOB NOT NULL,       -- the filer's salted evidence digest (32 bytes or empty)
    status TEXT NOT NULL,         -- filing, open, upheld, dismissed
    froze INTEGER NOT NULL,       -- 1 when the filing froze the entry
    file_index INTEGER,           -- ledger heights of the filing and of the decision
    decide_index INTEGER,
    file_request BLOB NOT NULL    -- SM3 of the filing's request bytes
);
"""
VERSION = 1


@dataclass(frozen=True)
class DisputeRecord:
    dispute_id: int
    entry_id: bytes
    filer: int
    owner: int
    height: int
    evidence: bytes
    status: str
    froze: bool
    file_index: int | None
    decide_index: int | None
    file_request: bytes


class DisputeStore:
    """Disputes as the platform knows them (entry id, contributor): never published. A row is
    written as ``filing`` before its ledger entry is submitted; a restart settles it against the
    ledger (:meth:`settle`)."""

    def __init__(self, path: Path | str) -> None:
        self._db = open_db(path, SCHEMA, "disputes_version", VERSION, "dispute")
        self._lock = threading.Lock()

    def _row(self, r: tuple[Any, ...]) -> DisputeRecord:
        did, eid, filer, owner, h, ev, st, froze, fi, di, fr = r
        return DisputeRecord(
            int(did),
            bytes(eid),
            int(filer),
            int(owner),
            int(h),
            bytes(ev),
            str(st),
            bool(froze),
            None if fi is None else int(fi),
            None if di is None else int(di),
            bytes(fr),
        )

    def get(self, dispute_id: int) -> DisputeRecord | None:
        r = self._db.execute("SELECT * FROM disputes WHERE dispute_id = ?", (dispute_id,)).fetchone()
        return None if r is None else self._row(r)

    def all(self) -> list[DisputeRecord]:
        return [self._row(r) for r in self._db.execute("SELECT * FROM disputes ORDER BY dispute_id")]

    def add(self, rec: DisputeRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO disputes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rec.dispute_id,
                    rec.entry_id,
                    rec.filer,
                    rec.owner,
                    rec.height,
                    rec.evidence,
                    rec.status,
                    int(rec.froze),
                    rec.file_index,
                    rec.decide_index,
                    rec.file_request,
                ),
            )

    def opened(self, dispute_id: int, file_index: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE disputes SET status = 'open', file_index = ? WHERE dispute_id = ?",
                (file_index, dispute_id),
            )

    def decided(self, dispute_id: int, upheld: bool, decide_index: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE disputes SET status = ?, decide_index = ? WHERE dispute_id = ?",
                ("upheld" if upheld else "dismissed", decide_index, dispute_id),
            )

    def forget(self, dispute_id: int) -> None:
        """Drop a filing the ledger did not accept."""
        with self._lock:
            self._db.execute("DELETE FROM disputes WHERE dispute_id = ? AND status = 'filing'", (dispute_id,))

    def settle(self, filed: dict[bytes, int]) -> int:
        """After a restart: open the ``filing`` rows whose request the ledger accepted
        (``filed``: SM3 of request bytes → height), drop the others. Returns how many settled."""
        rows = [r for r in self.all() if r.status == "filing"]
        for r in rows:
            h = filed.get(r.file_request)
            if h is None:
                self.forget(r.dispute_id)
            else:
                self.opened(r.dispute_id, h)
        return len(rows)

    def close(self) -> None:
        self._db.close()
