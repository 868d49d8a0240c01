"""Signed read requests: who may read the ledger and the index log.

A member reads by signing, with its SM2 key, a fresh message that binds the log, what it reads
(the method and the request's parameters), its member id and a timestamp within ±5 minutes of the
server's clock (``ledger.log.WINDOW_MS``). Reads change nothing, so no nonce is kept: the window
and the bound parameters keep a captured request from serving another read later. The index log's
sync request (mirror brokers and auditors) and every Ledger read (any active member) share this
one mechanism; each caller adds its own role check after :func:`authenticate`.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from enum import IntEnum

from api._generated import common_pb2
from api.directory import Directory, MemberRecord
from api.errors import Refused, Unauthenticated
from ledger.log import WINDOW_MS
from mpc.exceptions import InvalidSignature
from mpc.sm2 import SM2PrivateKey

INDEX_SYNC_LABEL = b"riskshare index sync v1"
LEDGER_READ_LABEL = b"riskshare ledger read v1\x00"


class ReadMethod(IntEnum):
    """The Ledger service's reads, as bound into the signed message."""

    CHECKPOINT = 1
    CHECKPOINTS = 2
    ENTRIES = 3
    INCLUSION = 4
    CONSISTENCY = 5
    ROUND = 6  # Stats.GetRound: a statistics round's state as the ledger holds it
    SNAPSHOT_INFO = 7  # Index.GetSnapshotInfo: the oblivious snapshot's shape and witnessed checkpoint


def read_message(label: bytes, log_id: bytes, member: int, timestamp_ms: int, *params: int) -> bytes:
    """label ‖ log id ‖ member ‖ timestamp ‖ parameters (8-byte big-endian each)."""
    return label + log_id + struct.pack(f">{2 + len(params)}Q", member, timestamp_ms, *params)


def sync_message(log_id: bytes, member: int, timestamp_ms: int, from_size: int, to_size: int) -> bytes:
    """What a mirror broker or an auditor signs to read the index log."""
    return read_message(INDEX_SYNC_LABEL, log_id, member, timestamp_ms, from_size, to_size)


def ledger_read_message(
    log_id: bytes, method: ReadMethod, member: int, timestamp_ms: int, a: int = 0, b: int = 0
) -> bytes:
    """What a member signs to read the ledger: the method and its two parameters (sizes,
    indexes, or 0) are bound, so the signature serves only this read."""
    return read_message(LEDGER_READ_LABEL + bytes([method]), log_id, member, timestamp_ms, a, b)


def authenticate(
    directory: Directory,
    member: int,
    timestamp_ms: int,
    signature: bytes,
    message: bytes,
    now_ms: int,
    what: str = "read request",
) -> MemberRecord:
    """The active member named by a read request whose signature over ``message`` verifies
    (Unauthenticated otherwise) and whose timestamp is fresh (Refused otherwise)."""
    m = directory.get(member)
    if m is None:
        raise Unauthenticated(f"the {what} names an unknown or removed member ({member})")
    try:
        m.sign_key.verify(signature, message)
    except InvalidSignature:
        raise Unauthenticated(f"the {what}'s signature does not verify") from None
    if abs(now_ms - timestamp_ms) > WINDOW_MS:
        raise Refused(f"the {what}'s timestamp is outside the ±5 minute window")
    return m


class Reader:
    """Signs read requests as one member (brokers, auditors, the key holder)."""

    def __init__(
        self, log_id: bytes, member: int, key: SM2PrivateKey, clock: Callable[[], float] = time.time
    ) -> None:
        self.log_id, self.member, self._key, self._clock = log_id, member, key, clock

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    def ledger(self, method: ReadMethod, a: int = 0, b: int = 0) -> common_pb2.ReadAuth:
        ts = self.now_ms()
        sig = self._key.sign(ledger_read_message(self.log_id, method, self.member, ts, a, b))
        return common_pb2.ReadAuth(member=self.member, timestamp_ms=ts, signature=sig)

    def sync(self, from_size: int, to_size: int) -> tuple[int, bytes]:
        """(timestamp, signature) of an index sync request."""
        ts = self.now_ms()
        return ts, self._key.sign(sync_message(self.log_id, self.member, ts, from_size, to_size))
