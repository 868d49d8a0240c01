"""Evaluation requests and receipts: how both OPRF servers meter every evaluated element.

A member asks for OPRF evaluations with a signed :class:`EvaluationRequest` {log id, member, key
epoch, purpose, count, SM3 of the blinded batch, nonce, time}; the same request goes to the
platform and to the key holder. Each server checks the signature and its own quota, counts the
elements, and answers with a signed :class:`EvaluationReceipt`. The ledger entry of the
contribution, lookup or screening carries both receipts, so auditors reconcile the two servers'
counts and the rules charge one fee per evaluated element from what the ledger holds.

Encodings are canonical and versioned (fixed-width big-endian integers), like ``ledger.entry``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Final

from ledger.entry import LOG_ID_SIZE, NONCE_SIZE, DecodeError, Kind
from mpc.sm2 import SM2PrivateKey, SM2PublicKey
from mpc.sm3 import sm3

__all__ = ["PURPOSES", "EvaluationReceipt", "EvaluationRequest", "SignedBlob"]

VERSION: Final = 1
PURPOSES: Final = frozenset({Kind.CONTRIBUTE, Kind.LOOKUP, Kind.SCREEN})
MAX_BATCH: Final = 1 << 16
_MAX_SIG: Final = 128


@dataclass(frozen=True)
class SignedBlob:
    """Canonical bytes with an SM2 signature appended: body ‖ u16 length ‖ DER signature."""

    body: bytes
    signature: bytes

    def encode(self) -> bytes:
        return self.body + struct.pack(">H", len(self.signature)) + self.signature

    @classmethod
    def split(cls, data: bytes, body_size: int) -> SignedBlob:
        if len(data) < body_size + 2:
            raise DecodeError("signed blob is truncated")
        (n,) = struct.unpack_from(">H", data, body_size)
        if n == 0 or n > _MAX_SIG or len(data) != body_size + 2 + n:
            raise DecodeError("signed blob has a bad signature length")
        return cls(data[:body_size], data[body_size + 2 :])

    def verify(self, key: SM2PublicKey) -> None:
        key.verify(self.signature, self.body)


@dataclass(frozen=True)
class EvaluationRequest:
    MAGIC: ClassVar[bytes] = b"RSEQ"
    _FMT: ClassVar[str] = ">4sB16sQQBI32s16sQ"
    SIZE: ClassVar[int] = struct.calcsize(_FMT)

    log_id: bytes
    member: int
    epoch: int
    purpose: Kind
    count: int
    batch_hash: bytes  # SM3 of the encoded OPRF request (the blinded batch)
    nonce: bytes
    timestamp_ms: int

    def __post_init__(self) -> None:
        if len(self.log_id) != LOG_ID_SIZE or len(self.nonce) != NONCE_SIZE or len(self.batch_hash) != 32:
            raise ValueError("evaluation request: log id and nonce are 16 bytes, batch hash 32")
        if self.purpose not in PURPOSES:
            raise ValueError(
                f"evaluation request: purpose must be contribute, lookup or screen, not {self.purpose}"
            )
        if not 0 < self.count <= MAX_BATCH:
            raise ValueError(f"evaluation request: count must be between 1 and {MAX_BATCH}")
        for name in ("member", "epoch", "timestamp_ms"):
            if not 0 <= getattr(self, name) < 1 << 64:
                raise ValueError(f"evaluation request: {name} out of range")

    def encode(self) -> bytes:
        return struct.pack(
            self._FMT,
            self.MAGIC,
            VERSION,
            self.log_id,
            self.member,
            self.epoch,
            int(self.purpose),
            self.count,
            self.batch_hash,
            self.nonce,
            self.timestamp_ms,
        )

    @classmethod
    def decode(cls, data: bytes) -> EvaluationRequest:
        if len(data) != cls.SIZE:
            raise DecodeError("evaluation request has the wrong size")
        magic, version, log_id, member, epoch, purpose, count, bh, nonce, ts = struct.unpack(cls._FMT, data)
        if magic != cls.MAGIC or version != VERSION:
            raise DecodeError("not an evaluation request of version 1")
        try:
            kind = Kind(purpose)
            return cls(log_id, member, epoch, kind, count, bh, nonce, ts)
        except ValueError as e:
            raise DecodeError(str(e)) from None

    def sign(self, key: SM2PrivateKey) -> bytes:
        body = self.encode()
        return SignedBlob(body, key.sign(body)).encode()

    @classmethod
    def open(cls, data: bytes) -> tuple[EvaluationRequest, SignedBlob]:
        """Decode a signed request; the caller verifies the signature with the member's key."""
        blob = SignedBlob.split(data, cls.SIZE)
        return cls.decode(blob.body), blob


@dataclass(frozen=True)
class EvaluationReceipt:
    """A server's signed statement: it evaluated ``count`` elements for ``member`` under the
    request with hash ``request_hash``, bringing the member's use this period to ``used``."""

    MAGIC: ClassVar[bytes] = b"RSER"
    _FMT: ClassVar[str] = ">4sB16sQQQBI32sQQQ"
    SIZE: ClassVar[int] = struct.calcsize(_FMT)

    log_id: bytes
    server: int  # member id of the share holder (platform or key holder)
    member: int
    epoch: int
    purpose: Kind
    count: int
    request_hash: bytes  # SM3 of the member's signed request bytes
    period: int
    used: int  # the member's evaluations at this server in this period, this one included
    time_ms: int

    def encode(self) -> bytes:
        return struct.pack(
            self._FMT,
            self.MAGIC,
            VERSION,
            self.log_id,
            self.server,
            self.member,
            self.epoch,
            int(self.purpose),
            self.count,
            self.request_hash,
            self.period,
            self.used,
            self.time_ms,
        )

    @classmethod
    def decode(cls, data: bytes) -> EvaluationReceipt:
        if len(data) != cls.SIZE:
            raise DecodeError("evaluation receipt has the wrong size")
        magic, version, log_id, server, member, epoch, purpose, count, rh, period, used, t = struct.unpack(
            cls._FMT, data
        )
        if magic != cls.MAGIC or version != VERSION:
            raise DecodeError("not an evaluation receipt of version 1")
        try:
            return cls(log_id, server, member, epoch, Kind(purpose), count, rh, period, used, t)
        except ValueError as e:
            raise DecodeError(str(e)) from None

    def sign(self, key: SM2PrivateKey) -> bytes:
        body = self.encode()
        return SignedBlob(body, key.sign(body)).encode()

    @classmethod
    def open(cls, data: bytes) -> tuple[EvaluationReceipt, SignedBlob]:
        blob = SignedBlob.split(data, cls.SIZE)
        return cls.decode(blob.body), blob

    @classmethod
    def verified(cls, data: bytes, server_key: SM2PublicKey) -> EvaluationReceipt:
        receipt, blob = cls.open(data)
        blob.verify(server_key)
        return receipt

    def matches(self, request_bytes: bytes) -> bool:
        return sm3(request_bytes) == self.request_hash
