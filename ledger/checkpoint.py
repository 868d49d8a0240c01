"""Checkpoints, auditors' co-signatures, the restore guard and receipts.

A **checkpoint** commits the log at a size: {log id, size, root, index size, index root,
snapshot root, state root, previous checkpoint hash, rule version, time}, in one canonical
encoding signed by the platform. Auditors co-sign the same bytes (under a different label) after
replaying the log to that size and recomputing the index, snapshot and state roots; their
co-signatures are stored beside the checkpoint. A checkpoint is **witnessed** when more than
half of the auditors co-signed it.

A **receipt** is the platform's signed promise {log id, index, leaf hash, deadline}: the entry
will be covered by a witnessed checkpoint by the deadline. One SM2 signature covers a whole
group commit: it signs the Merkle root of the batch's leaf hashes, and each receipt carries its
leaf's path in that small tree.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledger.entry import DecodeError
from mpc import merkle
from mpc.exceptions import InvalidProof, InvalidSignature
from mpc.sm2 import SM2PrivateKey, SM2PublicKey
from mpc.sm3 import sm3

__all__ = [
    "CHECKPOINT_MAGIC",
    "COSIGN_LABEL",
    "RECEIPT_MAGIC",
    "Checkpoint",
    "NotWitnessed",
    "Receipt",
    "RestoreGuardError",
    "SignedCheckpoint",
    "accept_checkpoint",
    "check_restore_guard",
    "cosign",
    "is_witnessed",
    "valid_cosigners",
]

CHECKPOINT_MAGIC = b"RSCP"
COSIGN_LABEL = b"riskshare auditor co-signature v1\x00"
RECEIPT_MAGIC = b"RSRC"
_VERSION = 1
_CP = struct.Struct(">4sB16sQ32sQ32s32s32s32sIQ")


@dataclass(frozen=True)
class Checkpoint:
    log_id: bytes
    size: int
    root: bytes
    index_size: int
    index_root: bytes
    snapshot_root: bytes
    state_root: bytes
    previous: bytes  # hash of the previous checkpoint's bytes; 32 zero bytes for the first
    rule_version: int
    time_ms: int

    def encode(self) -> bytes:
        return _CP.pack(
            CHECKPOINT_MAGIC,
            _VERSION,
            self.log_id,
            self.size,
            self.root,
            self.index_size,
            self.index_root,
            self.snapshot_root,
            self.state_root,
            self.previous,
            self.rule_version,
            self.time_ms,
        )

    def __post_init__(self) -> None:
        for name in ("root", "index_root", "snapshot_root", "state_root", "previous"):
            if len(getattr(self, name)) != 32:
                raise ValueError(f"checkpoint {name} must be 32 bytes")
        if len(self.log_id) != 16:
            raise ValueError("log id must be 16 bytes")

    @classmethod
    def decode(cls, data: bytes) -> Checkpoint:
        if len(data) != _CP.size:
            raise DecodeError("checkpoint has the wrong length")
        magic, version, *rest = _CP.unpack(data)
        if magic != CHECKPOINT_MAGIC or version != _VERSION:
            raise DecodeError("not a version-1 riskshare checkpoint")
        return cls(*rest)

    def digest(self) -> bytes:
        """SM3 of the canonical bytes: what the next checkpoint names as ``previous``."""
        return sm3(self.encode())

    def as_json(self) -> dict[str, object]:
        return {
            "log_id": self.log_id.hex(),
            "size": self.size,
            "root": self.root.hex(),
            "index_size": self.index_size,
            "index_root": self.index_root.hex(),
            "snapshot_root": self.snapshot_root.hex(),
            "state_root": self.state_root.hex(),
            "previous": self.previous.hex(),
            "rule_version": self.rule_version,
            "time_ms": self.time_ms,
            "hash": self.digest().hex(),
        }


@dataclass(frozen=True)
class SignedCheckpoint:
    checkpoint: Checkpoint
    signature: bytes  # the platform's SM2 signature over checkpoint.encode()

    @classmethod
    def sign(cls, cp: Checkpoint, key: SM2PrivateKey) -> SignedCheckpoint:
        return cls(cp, key.sign(cp.encode()))

    def verify(self, platform_key: SM2PublicKey) -> None:
        platform_key.verify(self.signature, self.checkpoint.encode())


def cosign(cp: Checkpoint, auditor_key: SM2PrivateKey) -> bytes:
    """An auditor's co-signature; call only after replaying and recomputing every root."""
    return auditor_key.sign(COSIGN_LABEL + cp.encode())


def valid_cosigners(
    cp: Checkpoint, cosignatures: Mapping[int, bytes], auditors: Mapping[int, SM2PublicKey]
) -> tuple[set[int], set[int]]:
    """(auditors whose co-signature verifies, signers whose does not or who are no auditor)."""
    good, bad = set(), set()
    msg = COSIGN_LABEL + cp.encode()
    for auditor, sig in cosignatures.items():
        key = auditors.get(auditor)
        try:
            if key is None:
                raise InvalidSignature(f"{auditor} is not an auditor")
            key.verify(sig, msg)
            good.add(auditor)
        except InvalidSignature:
            bad.add(auditor)
    return good, bad


def is_witnessed(
    cp: Checkpoint, cosignatures: Mapping[int, bytes], auditors: Mapping[int, SM2PublicKey]
) -> bool:
    """More than half of the auditors co-signed (valid signatures only)."""
    good, _ = valid_cosigners(cp, cosignatures, auditors)
    return bool(auditors) and 2 * len(good) > len(auditors)


class NotWitnessed(Exception):
    """A checkpoint a client must not rely on: not witnessed, badly signed, or too old."""


def accept_checkpoint(
    signed: SignedCheckpoint,
    cosignatures: Mapping[int, bytes],
    platform_key: SM2PublicKey,
    auditors: Mapping[int, SM2PublicKey],
    now_ms: int,
    max_age_ms: int = 60_000,
) -> Checkpoint:
    """What brokers, contributors and OPRF clients do before using state from a checkpoint:
    platform signature, a majority of auditors' co-signatures, and age at most ``max_age_ms``
    (60 s for lookups)."""
    cp = signed.checkpoint
    try:
        signed.verify(platform_key)
    except InvalidSignature:
        raise NotWitnessed("platform signature does not verify") from None
    if not is_witnessed(cp, cosignatures, auditors):
        raise NotWitnessed(f"checkpoint of size {cp.size} is not co-signed by a majority of the auditors")
    if now_ms - cp.time_ms > max_age_ms:
        raise NotWitnessed(f"checkpoint is {now_ms - cp.time_ms} ms old (bound {max_age_ms} ms)")
    return cp


class RestoreGuardError(RuntimeError):
    """The platform would sign a checkpoint older than, or inconsistent with, a witnessed one."""


def check_restore_guard(
    candidate: Checkpoint,
    witnessed: Checkpoint | None,
    consistency_proof: Sequence[bytes] | None,
    alg: merkle.HashAlg = "sm3",
) -> None:
    """Refuse (RestoreGuardError) to sign ``candidate`` if it is smaller than the newest witnessed
    checkpoint the auditors hold, or if the log is not an extension of it."""
    if witnessed is None:
        return
    if witnessed.log_id != candidate.log_id:
        raise RestoreGuardError("witnessed checkpoint is for another log")
    if candidate.size < witnessed.size:
        raise RestoreGuardError(
            f"log holds {candidate.size} entries but a witnessed checkpoint covers {witnessed.size}: "
            "restored from an old backup?"
        )
    try:
        merkle.verify_consistency(
            witnessed.size, candidate.size, witnessed.root, candidate.root, consistency_proof or [], alg
        )
    except InvalidProof as e:
        raise RestoreGuardError(f"log is not consistent with the witnessed checkpoint: {e}") from None


@dataclass(frozen=True)
class Receipt:
    """Platform-signed promise {log id, index, leaf hash, deadline}, via a batch signature."""

    log_id: bytes
    index: int
    leaf_hash: bytes
    deadline_ms: int
    batch_start: int
    batch_size: int
    batch_path: tuple[bytes, ...]
    signature: bytes

    @staticmethod
    def batch_message(log_id: bytes, start: int, size: int, batch_root: bytes, deadline_ms: int) -> bytes:
        return struct.pack(
            ">4sB16sQQ32sQ", RECEIPT_MAGIC, _VERSION, log_id, start, size, batch_root, deadline_ms
        )

    @classmethod
    def issue(
        cls,
        log_id: bytes,
        start: int,
        leaf_hashes: Sequence[bytes],
        deadline_ms: int,
        key: SM2PrivateKey,
        alg: merkle.HashAlg = "sm3",
    ) -> list[Receipt]:
        """Receipts for entries start … start + len(leaf_hashes) − 1, under one signature."""
        tree = merkle.Tree(alg, leaf_hashes)
        sig = key.sign(cls.batch_message(log_id, start, len(leaf_hashes), tree.root(), deadline_ms))
        return [
            cls(
                log_id,
                start + i,
                h,
                deadline_ms,
                start,
                len(leaf_hashes),
                tuple(tree.inclusion_proof(i)),
                sig,
            )
            for i, h in enumerate(leaf_hashes)
        ]

    def verify(self, platform_key: SM2PublicKey, alg: merkle.HashAlg = "sm3") -> None:
        """Check the platform's signature (InvalidSignature) and the batch path (InvalidProof)."""
        if not self.batch_start <= self.index < self.batch_start + self.batch_size:
            raise InvalidProof("receipt index outside its batch")
        root = merkle.root_from_inclusion(
            self.leaf_hash, self.index - self.batch_start, self.batch_size, self.batch_path, alg
        )
        platform_key.verify(
            self.signature,
            self.batch_message(self.log_id, self.batch_start, self.batch_size, root, self.deadline_ms),
        )

    def check_against(
        self, cp: Checkpoint, inclusion_proof: Sequence[bytes], alg: merkle.HashAlg = "sm3"
    ) -> None:
        """The promise is kept: the checkpoint covers the entry (InvalidProof otherwise)."""
        if cp.log_id != self.log_id or cp.size <= self.index:
            raise InvalidProof("checkpoint does not cover the receipted entry")
        merkle.verify_inclusion(self.leaf_hash, self.index, cp.size, inclusion_proof, cp.root, alg)

    def as_json(self) -> dict[str, object]:
        return {
            "log_id": self.log_id.hex(),
            "index": self.index,
            "leaf_hash": self.leaf_hash.hex(),
            "deadline_ms": self.deadline_ms,
            "batch_start": self.batch_start,
            "batch_size": self.batch_size,
            "batch_path": [p.hex() for p in self.batch_path],
            "signature": self.signature.hex(),
        }
