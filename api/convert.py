"""Conversions between protobuf messages and domain objects (the only place that knows both)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from api._generated import common_pb2
from api.errors import BadRequest
from ledger.checkpoint import Checkpoint, Receipt, SignedCheckpoint
from ledger.entry import Signature


def signed_request(raw: bytes, signatures: Sequence[Signature]) -> common_pb2.SignedRequest:
    return common_pb2.SignedRequest(
        canonical=raw, signatures=[common_pb2.Signature(signer=s.signer, der=s.der) for s in signatures]
    )


def from_signed_request(msg: common_pb2.SignedRequest) -> tuple[bytes, tuple[Signature, ...]]:
    if not msg.canonical or not msg.signatures:
        raise BadRequest("a signed request needs its canonical bytes and at least one signature")
    try:
        return bytes(msg.canonical), tuple(Signature(s.signer, bytes(s.der)) for s in msg.signatures)
    except ValueError as e:
        raise BadRequest(f"bad signature: {e}") from None


def receipt(r: Receipt) -> common_pb2.Receipt:
    return common_pb2.Receipt(
        log_id=r.log_id,
        index=r.index,
        leaf_hash=r.leaf_hash,
        deadline_ms=r.deadline_ms,
        batch_start=r.batch_start,
        batch_size=r.batch_size,
        batch_path=list(r.batch_path),
        signature=r.signature,
    )


def from_receipt(m: common_pb2.Receipt) -> Receipt:
    return Receipt(
        bytes(m.log_id),
        m.index,
        bytes(m.leaf_hash),
        m.deadline_ms,
        m.batch_start,
        m.batch_size,
        tuple(bytes(p) for p in m.batch_path),
        bytes(m.signature),
    )


def checkpoint(signed: SignedCheckpoint, cosignatures: Mapping[int, bytes]) -> common_pb2.Checkpoint:
    return common_pb2.Checkpoint(
        encoded=signed.checkpoint.encode(),
        signature=signed.signature,
        cosignatures=[
            common_pb2.CoSignature(auditor=str(a), signature=s) for a, s in sorted(cosignatures.items())
        ],
    )


def from_checkpoint(m: common_pb2.Checkpoint) -> tuple[SignedCheckpoint, dict[int, bytes]]:
    try:
        cp = Checkpoint.decode(bytes(m.encoded))
        cos = {int(c.auditor): bytes(c.signature) for c in m.cosignatures}
    except ValueError as e:
        raise BadRequest(f"malformed checkpoint: {e}") from None
    return SignedCheckpoint(cp, bytes(m.signature)), cos
