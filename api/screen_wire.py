"""Canonical signed messages of bilateral screening (broker ↔ contributor), beside the ledger's.

- :class:`ScreenHello`: the broker's signed opening {log id, broker, contributor, PSI session id,
  time}; the contributor checks it against the directory (broker role, ±5 minutes) before it
  spends anything on the run.
- :class:`ScreenReceipt`: the contributor's signed statement that it served run ``run_hash`` for
  ``broker`` at ``charged`` = bins + stash. The broker's mode-2 ``screen`` entry carries it as its
  only receipt, so the entry holds both parties' signatures, and the platform checks it (see
  :func:`check_bilateral`).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from api.directory import Directory
from ledger.entry import DecodeError, Kind, Request, Role
from ledger.metering import EvaluationReceipt, SignedBlob
from mpc.exceptions import InvalidSignature
from mpc.screen import segment_hash
from mpc.sm2 import SM2PrivateKey, SM2PublicKey
from mpc.sm3 import sm3

__all__ = [
    "PART_BYTES",
    "SCREEN_BILATERAL",
    "ScreenHello",
    "ScreenReceipt",
    "check_bilateral",
    "mirror_chunk_hash",
    "run_hash",
]

VERSION = 1
SCREEN_BILATERAL = 2  # the screen entry's mode for bilateral runs (1 is mirror)
PART_BYTES = 4 * 1024 * 1024  # bytes per streamed part of a PSI message (server limit 16 MiB)
_DOMAIN = b"riskshare bilateral screen v1"


def run_hash(session_id: bytes, m1: bytes, m2: bytes, charged: int) -> bytes:
    """Binds a run: its session id, both base-OT messages and the charge (no IDs, no tags)."""
    return sm3(_DOMAIN + session_id + sm3(m1) + sm3(m2) + struct.pack(">Q", charged))


@dataclass(frozen=True)
class ScreenHello:
    MAGIC: ClassVar[bytes] = b"RSBH"
    _FMT: ClassVar[str] = ">4sB16sQQ16sQ"
    SIZE: ClassVar[int] = struct.calcsize(_FMT)

    log_id: bytes
    broker: int
    contributor: int
    session_id: bytes
    timestamp_ms: int

    def encode(self) -> bytes:
        return struct.pack(
            self._FMT, self.MAGIC, VERSION, self.log_id, self.broker, self.contributor, self.session_id,
            self.timestamp_ms,
        )  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> ScreenHello:
        if len(data) != cls.SIZE:
            raise DecodeError("screen hello has the wrong size")
        magic, version, log_id, broker, contributor, sid, ts = struct.unpack(cls._FMT, data)
        if magic != cls.MAGIC or version != VERSION:
            raise DecodeError("not a screen hello of version 1")
        return cls(log_id, broker, contributor, sid, ts)

    def sign(self, key: SM2PrivateKey) -> bytes:
        body = self.encode()
        return SignedBlob(body, key.sign(body)).encode()

    @classmethod
    def open(cls, data: bytes) -> tuple[ScreenHello, SignedBlob]:
        blob = SignedBlob.split(data, cls.SIZE)
        return cls.decode(blob.body), blob


@dataclass(frozen=True)
class ScreenReceipt:
    MAGIC: ClassVar[bytes] = b"RSBR"
    _FMT: ClassVar[str] = ">4sB16sQQ16s32sQQ"
    SIZE: ClassVar[int] = struct.calcsize(_FMT)

    log_id: bytes
    contributor: int
    broker: int
    session_id: bytes
    run_hash: bytes
    charged: int  # bins + stash
    time_ms: int

    def encode(self) -> bytes:
        return struct.pack(
            self._FMT, self.MAGIC, VERSION, self.log_id, self.contributor, self.broker, self.session_id,
            self.run_hash, self.charged, self.time_ms,
        )  # fmt: skip

    @classmethod
    def decode(cls, data: bytes) -> ScreenReceipt:
        if len(data) != cls.SIZE:
            raise DecodeError("screen receipt has the wrong size")
        magic, version, log_id, contributor, broker, sid, rh, charged, t = struct.unpack(cls._FMT, data)
        if magic != cls.MAGIC or version != VERSION:
            raise DecodeError("not a screen receipt of version 1")
        return cls(log_id, contributor, broker, sid, rh, charged, t)

    def sign(self, key: SM2PrivateKey) -> bytes:
        body = self.encode()
        return SignedBlob(body, key.sign(body)).encode()

    @classmethod
    def verified(cls, data: bytes, key: SM2PublicKey) -> ScreenReceipt:
        blob = SignedBlob.split(data, cls.SIZE)
        blob.verify(key)
        return cls.decode(blob.body)


def mirror_chunk_hash(receipts: Sequence[bytes], platform_id: int) -> bytes:
    """The ``chunk_hash`` a mirror ``screen`` entry must carry: :func:`mpc.screen.segment_hash`
    over the request hashes of the platform's receipts, in order (each request names the SM3 of
    its chunk's blinded batch), so the ledger binds the entry to exactly those signed chunks."""
    hashes = []
    for raw in receipts:
        r, _ = EvaluationReceipt.open(raw)
        if r.server == platform_id:
            hashes.append(r.request_hash)
    return segment_hash(hashes)


def check_bilateral(req: Request, directory: Directory, log_id: bytes) -> ScreenReceipt:
    """The platform's check of a mode-2 ``screen`` request: exactly one receipt, signed by the
    contributor named as counterpart, for this broker and log, with ``evaluations`` equal to the
    receipt's bins + stash and ``chunk_hash`` equal to its run hash. Raises ValueError."""
    if req.kind is not Kind.SCREEN or req.int_field("mode") != SCREEN_BILATERAL:
        raise ValueError("not a bilateral screen request")
    receipts = req.fields["receipts"]
    assert isinstance(receipts, tuple)
    if len(receipts) != 1:
        raise ValueError("a bilateral screen entry carries exactly the contributor's receipt")
    counterpart = req.int_field("counterpart")
    member = directory.get(counterpart)
    if member is None or not member.has(Role.CONTRIBUTOR):
        raise ValueError("the counterpart of a bilateral screen is not a contributor")
    try:
        r = ScreenReceipt.verified(bytes(receipts[0]), member.sign_key)
    except (ValueError, InvalidSignature) as e:
        raise ValueError(f"the contributor's screen receipt is rejected: {e}") from None
    if (
        r.log_id != log_id
        or r.contributor != counterpart
        or r.broker != req.member
        or r.charged != req.int_field("evaluations")
        or r.run_hash != req.fields["chunk_hash"]
    ):
        raise ValueError("the contributor's screen receipt does not match the entry")
    return r
