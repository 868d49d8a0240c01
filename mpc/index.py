"""The encrypted index (``DESIGN.md``, Protocols 2): sealed entries, the append-only operation log,
its mirror replica, and the oblivious-mode snapshot of slots and buckets.

Keys and names. ``h`` is the subject's OPRF output; ``tag = h[0:16]`` files the entry, and the
label key ``HKDF-SM3(salt = epoch id, ikm = h, info = "riskshare label v1")`` encrypts it, so only a
party that evaluated the OPRF on the subject's ID can find and read its entries.

Entry (:data:`ENTRY_SIZE` bytes, one size for every record)::

    u8 version ‖ u8 0 ‖ u16 length ‖ entry id (16) ‖ tag (16) ‖ c = SM3(t) (32) ‖ nonce (12)
    ‖ SM4-GCM(label key, block, aad = entry id ‖ tag ‖ c ‖ u8 len(epoch) ‖ epoch ‖ u8 version)

The block is ``u16 length ‖ record bytes ‖ attribution ‖ zero padding`` to :data:`BLOCK_SIZE`;
the attribution is either ``0x00 ‖ handle`` with handle = HMAC-SM3(contributor secret, entry id),
or, for a contributor that opted in to be named, ``0x01 ‖ name ‖ SM2 signature`` over
(epoch, tag, entry id, record). ``c`` sits in the associated data as well, so that nobody can
swap the tombstone commitment of an entry without breaking it for every reader.

The log's operations carry no contributor: add, tombstone (reveals t with SM3(t) = c),
freeze / unfreeze / remove (each naming the administrators' dispute decision that allows it).
Pending operations are published in tag-sorted batches; the log root is RFC 9162 over SM3.

Oblivious mode (:func:`build_snapshot`): the live entries of one tag form a slot (newest first up
to a cap, an overflow flag inside); tags are grouped into 2^bits buckets by their leading bits;
every bucket is padded with deterministic dummy tags to the same size N; bucket root =
SM3(SM3(sorted tag list) ‖ slot-tree root); snapshot root = RFC 9162 root over the bucket roots.
"""

from __future__ import annotations

import bisect
import enum
import os
import struct
from collections import ChainMap
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from mpc import merkle
from mpc._binding import ct_equal
from mpc.exceptions import InvalidIndexOperation, InvalidProof, InvalidRecord, InvalidTag
from mpc.records import RiskRecord, dedup_key
from mpc.sm3 import hkdf_sm3, hmac_sm3, sm3
from mpc.sm4 import SM4GCM

__all__ = [
    "BLOCK_SIZE",
    "ENTRY_SIZE",
    "FORMAT_VERSION",
    "MAX_NAME_BYTES",
    "MAX_SIGNATURE_BYTES",
    "TAG_SIZE",
    "BucketProof",
    "ContributionRegistry",
    "ContributorSecret",
    "EntrySigner",
    "EntryStatus",
    "EntryVerifier",
    "IndexCheckpoint",
    "IndexDelta",
    "IndexEntry",
    "IndexLog",
    "IndexOp",
    "IndexState",
    "MirrorIndex",
    "OpKind",
    "OpenedEntry",
    "Opener",
    "SealedEntry",
    "Slot",
    "SlotProof",
    "Snapshot",
    "bucket_of",
    "build_snapshot",
    "label_key",
    "publish_batch",
    "seal_entry",
    "signature_message",
    "tag_of",
    "verify_bucket",
    "verify_slot",
]

FORMAT_VERSION = 1
ENTRY_ID_SIZE = 16
TAG_SIZE = 16
COMMIT_SIZE = 32
NONCE_SIZE = 12
GCM_TAG_SIZE = 16
HANDLE_SIZE = 32
SECRET_SIZE = 32
DECISION_SIZE = 32
MAX_NAME_BYTES = 40  # a member name; 13 CJK characters
MAX_SIGNATURE_BYTES = 72  # DER of an SM2 signature: two 32-byte integers, each possibly 33 bytes
MAX_EPOCH_BYTES = 64
# The largest record (100 bytes) + a named, signed attribution (115) + the u16 length is 217
# bytes; 222 makes an add operation as published (2-byte op header + entry) exactly 320 bytes.
BLOCK_SIZE = 222
_FRAME = struct.Struct(">BBH")
_HEADER_SIZE = _FRAME.size + ENTRY_ID_SIZE + TAG_SIZE + COMMIT_SIZE + NONCE_SIZE
ENTRY_SIZE = _HEADER_SIZE + BLOCK_SIZE + GCM_TAG_SIZE
assert ENTRY_SIZE + 2 <= 320, "an entry framed as a published operation stays within 320 bytes (ERRATA)"
_LABEL_INFO = b"riskshare label v1"
_SIG_CONTEXT = b"riskshare entry signature v1"
_TOMBSTONE_CONTEXT = b"riskshare tombstone v1"


# --- keys ---------------------------------------------------------------------------------


def tag_of(h: bytes) -> bytes:
    """The index tag of an OPRF output: its first 16 bytes."""
    _check_h(h)
    return bytes(h[:TAG_SIZE])


def label_key(h: bytes, epoch: bytes) -> bytes:
    """The 16-byte SM4 label key HKDF-SM3(salt = epoch, ikm = h, info = "riskshare label v1")."""
    _check_h(h)
    _check_epoch(epoch)
    return hkdf_sm3(h, 16, salt=epoch, info=_LABEL_INFO)


def _check_h(h: object) -> None:
    if not isinstance(h, bytes | bytearray):
        raise TypeError("OPRF output must be bytes")
    if len(h) < 32:
        raise ValueError("OPRF output must be at least 32 bytes")


def _check_epoch(epoch: object) -> None:
    if not isinstance(epoch, bytes):
        raise TypeError("epoch id must be bytes")
    if not 1 <= len(epoch) <= MAX_EPOCH_BYTES:
        raise ValueError(f"epoch id must be 1 to {MAX_EPOCH_BYTES} bytes")


class ContributorSecret:
    """A contributor's long-term 32-byte secret: derives the opaque handle of each entry and the
    per-entry tombstone secret t, so that nothing per entry needs storing."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes) or len(key) != SECRET_SIZE:
            raise ValueError("contributor secret must be 32 bytes")
        self._key = key

    @classmethod
    def generate(cls) -> ContributorSecret:
        return cls(os.urandom(SECRET_SIZE))

    def private_bytes(self) -> bytes:
        return self._key

    def handle(self, entry_id: bytes) -> bytes:
        """HMAC-SM3(secret, entry id): revealed by the contributor in a dispute."""
        return hmac_sm3(self._key, entry_id)

    def tombstone_secret(self, entry_id: bytes) -> bytes:
        """t for the entry; its commitment c = SM3(t) goes into the entry."""
        return hmac_sm3(self._key, _TOMBSTONE_CONTEXT + entry_id)

    def owns(self, entry: IndexEntry) -> bool:
        """Whether ``entry`` is this contributor's (its c commits to our t): how a contributor
        finds what to revoke among a tag's entries without keeping per-entry state."""
        return ct_equal(sm3(self.tombstone_secret(entry.entry_id)), entry.commitment)

    def tombstone(self, entry_id: bytes) -> IndexOp:
        """The operation that withdraws one of this contributor's entries."""
        return IndexOp.tombstone(entry_id, self.tombstone_secret(entry_id))

    def __repr__(self) -> str:
        return "<ContributorSecret …>"


class EntrySigner(Protocol):
    """What sealing needs of an SM2 private key (``mpc.sm2.SM2PrivateKey``)."""

    def sign(self, data: bytes) -> bytes: ...


class EntryVerifier(Protocol):
    """What a reader needs of an SM2 public key: ``verify`` returns None or raises."""

    def verify(self, signature: bytes, data: bytes) -> None: ...


def signature_message(epoch: bytes, tag: bytes, entry_id: bytes, record_bytes: bytes) -> bytes:
    """The bytes a named contributor signs: context ‖ u8 len ‖ epoch ‖ tag ‖ entry id ‖ record."""
    return b"".join((_SIG_CONTEXT, bytes([len(epoch)]), epoch, tag, entry_id, record_bytes))


# --- entries ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """A sealed entry as the platform and mirrors hold it; opaque without the label key."""

    entry_id: bytes
    tag: bytes
    commitment: bytes
    nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        return b"".join(
            (
                _FRAME.pack(FORMAT_VERSION, 0, ENTRY_SIZE - _FRAME.size),
                self.entry_id,
                self.tag,
                self.commitment,
                self.nonce,
                self.ciphertext,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> IndexEntry:
        """Parse an entry; a wrong size, version or frame raises :class:`InvalidIndexOperation`."""
        if len(data) != ENTRY_SIZE:
            raise InvalidIndexOperation(f"index entry must be {ENTRY_SIZE} bytes")
        ver, zero, length = _FRAME.unpack_from(data)
        if ver != FORMAT_VERSION or zero != 0 or length != ENTRY_SIZE - _FRAME.size:
            raise InvalidIndexOperation("index entry has an unknown version or a bad frame")
        o = _FRAME.size
        return cls(
            bytes(data[o : o + 16]),
            bytes(data[o + 16 : o + 32]),
            bytes(data[o + 32 : o + 64]),
            bytes(data[o + 64 : o + 76]),
            bytes(data[o + 76 :]),
        )

    def aad(self, epoch: bytes) -> bytes:
        return b"".join((self.entry_id, self.tag, self.commitment, bytes([len(epoch)]), epoch)) + bytes(
            [FORMAT_VERSION]
        )

    def __repr__(self) -> str:
        return f"IndexEntry(id={self.entry_id.hex()[:8]}…)"


@dataclass(frozen=True, slots=True)
class SealedEntry:
    """A contributor's output for one record: the entry and the dedup key sent beside it."""

    entry: IndexEntry
    dedup_key: bytes


def seal_entry(
    h: bytes,
    epoch: bytes,
    record: RiskRecord,
    secret: ContributorSecret,
    *,
    name: str | None = None,
    signer: EntrySigner | None = None,
) -> SealedEntry:
    """Seal ``record`` under the OPRF output ``h`` (contributor side).

    With ``name`` and ``signer`` the contributor is named and signs (epoch, tag, entry id,
    record); otherwise the block carries only the opaque handle.
    """
    return _seal_with(
        h, epoch, record, secret, os.urandom(ENTRY_ID_SIZE), os.urandom(NONCE_SIZE), name, signer
    )


def _seal_with(
    h: bytes,
    epoch: bytes,
    record: RiskRecord,
    secret: ContributorSecret,
    entry_id: bytes,
    nonce: bytes,
    name: str | None = None,
    signer: EntrySigner | None = None,
) -> SealedEntry:
    """Randomness seam: ``entry_id`` and ``nonce`` chosen by the caller (tests only)."""
    if not isinstance(record, RiskRecord):
        raise TypeError("record must be a RiskRecord")
    if (name is None) != (signer is None):
        raise ValueError("a named entry needs both name and signer")
    key = label_key(h, epoch)
    tag = bytes(h[:TAG_SIZE])
    rec = record.to_bytes()
    if name is None or signer is None:
        attribution = b"\x00" + secret.handle(entry_id)
    else:
        nb = name.encode("utf-8")
        if not 1 <= len(nb) <= MAX_NAME_BYTES:
            raise ValueError(f"contributor name must be 1 to {MAX_NAME_BYTES} bytes in UTF-8")
        sig = signer.sign(signature_message(epoch, tag, entry_id, rec))
        if not 1 <= len(sig) <= MAX_SIGNATURE_BYTES:
            raise ValueError(f"signature must be at most {MAX_SIGNATURE_BYTES} bytes")
        attribution = b"\x01" + bytes([len(nb)]) + nb + bytes([len(sig)]) + sig
    content = rec + attribution
    block = struct.pack(">H", len(content)) + content
    assert len(block) <= BLOCK_SIZE  # guaranteed by the record and name limits
    block += bytes(BLOCK_SIZE - len(block))
    commitment = sm3(secret.tombstone_secret(entry_id))
    shell = IndexEntry(entry_id, tag, commitment, nonce, b"")
    ct = SM4GCM(key).encrypt(nonce, block, shell.aad(epoch))
    entry = IndexEntry(entry_id, tag, commitment, nonce, ct)
    return SealedEntry(entry, dedup_key(key, record))


@dataclass(frozen=True, slots=True)
class OpenedEntry:
    """A decrypted entry: the record and who vouches for it (a name, or an opaque handle)."""

    entry_id: bytes
    record: RiskRecord
    contributor: str | None
    signature: bytes | None
    handle: bytes | None

    def verify_contributor(self, public_key: EntryVerifier, epoch: bytes, tag: bytes) -> None:
        """Check a named entry's signature with the contributor's enrolled key; raises
        ``InvalidSignature`` (from the key) or ``ValueError`` for an unnamed entry."""
        if self.signature is None:
            raise ValueError("entry is not named")
        public_key.verify(
            self.signature, signature_message(epoch, tag, self.entry_id, self.record.to_bytes())
        )


class Opener:
    """Opens the entries of one subject (broker side): holds its label key and tag."""

    __slots__ = ("_aead", "epoch", "tag")

    def __init__(self, h: bytes, epoch: bytes) -> None:
        self._aead = SM4GCM(label_key(h, epoch))
        self.tag = bytes(h[:TAG_SIZE])
        self.epoch = epoch

    def open(self, entry: IndexEntry) -> OpenedEntry:
        """Decrypt and parse; every failure (other tag, tamper, bad block) is one ``InvalidTag``."""
        if not ct_equal(entry.tag, self.tag):
            raise InvalidTag("entry does not open")
        try:
            block = self._aead.decrypt(entry.nonce, entry.ciphertext, entry.aad(self.epoch))
            return _parse_block(entry.entry_id, block)
        except (InvalidTag, InvalidRecord, ValueError, IndexError, struct.error):
            raise InvalidTag("entry does not open") from None

    def __repr__(self) -> str:
        return "<Opener …>"


def _parse_block(entry_id: bytes, block: bytes) -> OpenedEntry:
    (n,) = struct.unpack_from(">H", block)
    content = block[2 : 2 + n]
    if len(content) != n or any(block[2 + n :]):
        raise ValueError("bad block padding")
    record, o = RiskRecord._read(content)
    kind = content[o]
    if kind == 0 and len(content) == o + 1 + HANDLE_SIZE:
        return OpenedEntry(entry_id, record, None, None, content[o + 1 :])
    if kind == 1:
        nlen = content[o + 1]
        name = content[o + 2 : o + 2 + nlen].decode("utf-8")
        s = o + 2 + nlen
        slen = content[s]
        sig = content[s + 1 : s + 1 + slen]
        if nlen and slen and len(sig) == slen and len(content) == s + 1 + slen:
            return OpenedEntry(entry_id, record, name, sig, None)
    raise ValueError("bad attribution")


# --- the operation log --------------------------------------------------------------------


class OpKind(enum.IntEnum):
    ADD = 1
    TOMBSTONE = 2
    FREEZE = 3
    UNFREEZE = 4
    REMOVE = 5


_DISPUTE_KINDS = (OpKind.FREEZE, OpKind.UNFREEZE, OpKind.REMOVE)


@dataclass(frozen=True, slots=True)
class IndexOp:
    """One log operation. Encoding: u8 version ‖ u8 kind ‖ body, where the body is the entry
    (add), entry id ‖ t (tombstone) or entry id ‖ decision reference (dispute operations)."""

    kind: OpKind
    entry_id: bytes
    entry: IndexEntry | None = None
    secret: bytes | None = None  # t, revealed by a tombstone
    decision: bytes | None = None  # hash of the administrators' dispute entry on the ledger

    @classmethod
    def add(cls, entry: IndexEntry) -> IndexOp:
        return cls(OpKind.ADD, entry.entry_id, entry=entry)

    @classmethod
    def tombstone(cls, entry_id: bytes, t: bytes) -> IndexOp:
        return cls(OpKind.TOMBSTONE, _id(entry_id), secret=_sized(t, SECRET_SIZE, "tombstone secret"))

    @classmethod
    def dispute(cls, kind: OpKind, entry_id: bytes, decision: bytes) -> IndexOp:
        if kind not in _DISPUTE_KINDS:
            raise ValueError("dispute operations are freeze, unfreeze and remove")
        return cls(kind, _id(entry_id), decision=_sized(decision, DECISION_SIZE, "decision reference"))

    def to_bytes(self) -> bytes:
        head = bytes([FORMAT_VERSION, self.kind])
        if self.kind is OpKind.ADD:
            assert self.entry is not None
            return head + self.entry.to_bytes()
        body = self.secret if self.kind is OpKind.TOMBSTONE else self.decision
        assert body is not None
        return head + self.entry_id + body

    @classmethod
    def from_bytes(cls, data: bytes) -> IndexOp:
        if len(data) < 2 or data[0] != FORMAT_VERSION:
            raise InvalidIndexOperation("index operation has an unknown version")
        try:
            kind = OpKind(data[1])
        except ValueError:
            raise InvalidIndexOperation("unknown index operation kind") from None
        body = data[2:]
        if kind is OpKind.ADD:
            return cls.add(IndexEntry.from_bytes(body))
        if len(body) != ENTRY_ID_SIZE + 32:
            raise InvalidIndexOperation("index operation has a wrong length")
        if kind is OpKind.TOMBSTONE:
            return cls.tombstone(body[:16], body[16:])
        return cls.dispute(kind, body[:16], body[16:])


def _id(entry_id: bytes) -> bytes:
    return _sized(entry_id, ENTRY_ID_SIZE, "entry id")


def _sized(v: bytes, n: int, what: str) -> bytes:
    if not isinstance(v, bytes | bytearray) or len(v) != n:
        raise InvalidIndexOperation(f"{what} must be {n} bytes")
    return bytes(v)


class EntryStatus(enum.Enum):
    LIVE = "live"
    FROZEN = "frozen"
    TOMBSTONED = "tombstoned"
    REMOVED = "removed"


@dataclass(slots=True)
class _Slot:
    entry: IndexEntry
    status: EntryStatus
    position: int  # log index of the add


DecisionCheck = Callable[[OpKind, bytes, bytes], None]
"""Called with (kind, entry id, decision reference) for every dispute operation; raises
``InvalidIndexOperation`` when the ledger holds no such administrators' decision."""

_TRANSITIONS = {
    OpKind.TOMBSTONE: ({EntryStatus.LIVE, EntryStatus.FROZEN}, EntryStatus.TOMBSTONED),
    OpKind.FREEZE: ({EntryStatus.LIVE}, EntryStatus.FROZEN),
    OpKind.UNFREEZE: ({EntryStatus.FROZEN}, EntryStatus.LIVE),
    OpKind.REMOVE: ({EntryStatus.LIVE, EntryStatus.FROZEN}, EntryStatus.REMOVED),
}


class IndexState:
    """The entries the log's operations leave, with their status, by id and by tag."""

    def __init__(self) -> None:
        self._by_id: dict[bytes, _Slot] = {}
        self._by_tag: dict[bytes, list[bytes]] = {}
        self.size = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def status(self, entry_id: bytes) -> EntryStatus | None:
        s = self._by_id.get(entry_id)
        return s.status if s else None

    def entry(self, entry_id: bytes) -> IndexEntry | None:
        s = self._by_id.get(entry_id)
        return s.entry if s else None

    def lookup(self, tag: bytes, *, include_frozen: bool = False) -> list[IndexEntry]:
        """The tag's live entries (and frozen ones if asked), oldest first."""
        ok = {EntryStatus.LIVE, EntryStatus.FROZEN} if include_frozen else {EntryStatus.LIVE}
        out = []
        for eid in self._by_tag.get(tag, ()):
            s = self._by_id[eid]
            if s.status in ok:
                out.append(s.entry)
        return out

    def tags(self) -> Iterable[bytes]:
        return self._by_tag.keys()

    def live_by_tag(self) -> dict[bytes, list[IndexEntry]]:
        """Every tag with at least one live entry → its live entries, oldest first."""
        out: dict[bytes, list[IndexEntry]] = {}
        for tag, ids in self._by_tag.items():
            live = [self._by_id[i].entry for i in ids if self._by_id[i].status is EntryStatus.LIVE]
            if live:
                out[tag] = live
        return out

    def check(self, ops: Sequence[IndexOp], decisions: DecisionCheck | None = None) -> None:
        """Raise InvalidIndexOperation unless every op applies in order; changes nothing."""
        self._check_into(ops, decisions, {}, {})

    def _check_into(
        self,
        ops: Sequence[IndexOp],
        decisions: DecisionCheck | None,
        overlay: MutableMapping[bytes, EntryStatus],
        commitments: MutableMapping[bytes, bytes],
    ) -> None:
        """Check ``ops`` on top of pending changes (``overlay``: status, ``commitments``: c of
        pending adds), recording their effect there."""
        for op in ops:
            cur = overlay.get(op.entry_id) or self.status(op.entry_id)
            if op.kind is OpKind.ADD:
                if cur is not None:
                    raise InvalidIndexOperation("entry id already used")
                assert op.entry is not None
                overlay[op.entry_id] = EntryStatus.LIVE
                commitments[op.entry_id] = op.entry.commitment
                continue
            if cur is None:
                raise InvalidIndexOperation("operation names an unknown entry")
            allowed, after = _TRANSITIONS[op.kind]
            if cur not in allowed:
                raise InvalidIndexOperation(f"cannot {op.kind.name.lower()} a {cur.value} entry")
            if op.kind is OpKind.TOMBSTONE:
                assert op.secret is not None
                c = commitments.get(op.entry_id) or self._by_id[op.entry_id].entry.commitment
                if not ct_equal(sm3(op.secret), c):
                    raise InvalidIndexOperation("tombstone secret does not match the entry")
            elif decisions is not None:
                assert op.decision is not None
                decisions(op.kind, op.entry_id, op.decision)
            overlay[op.entry_id] = after

    def _apply_unchecked(self, op: IndexOp) -> None:
        if op.kind is OpKind.ADD:
            assert op.entry is not None
            self._by_id[op.entry_id] = _Slot(op.entry, EntryStatus.LIVE, self.size)
            self._by_tag.setdefault(op.entry.tag, []).append(op.entry_id)
        else:
            self._by_id[op.entry_id].status = _TRANSITIONS[op.kind][1]
        self.size += 1

    def apply(self, ops: Sequence[IndexOp], decisions: DecisionCheck | None = None) -> None:
        """Apply all of ``ops`` or, if one fails its check, none."""
        self.check(ops, decisions)
        for op in ops:
            self._apply_unchecked(op)

    def tag_of_entry(self, entry_id: bytes) -> bytes | None:
        s = self._by_id.get(entry_id)
        return s.entry.tag if s else None


@dataclass(frozen=True, slots=True)
class IndexCheckpoint:
    """What a witnessed ledger checkpoint says of the index log: its size and root."""

    size: int
    root: bytes


@dataclass(frozen=True, slots=True)
class IndexDelta:
    """Operations ``start`` … ``start + len(ops) - 1`` of the log, as encoded bytes, and the log
    root the sender claims after them (checked against a witnessed checkpoint)."""

    start: int
    ops: tuple[bytes, ...]
    root: bytes

    @property
    def end(self) -> int:
        return self.start + len(self.ops)


def publish_batch(pending: Iterable[IndexOp], tag_of_entry: Callable[[bytes], bytes | None]) -> list[IndexOp]:
    """Order a batch for publication: by tag, then entry id (random), the submission order kept
    for operations on one entry. ``tag_of_entry`` resolves the tag of entries already in the log."""
    ops = list(pending)
    tags: dict[bytes, bytes] = {}
    for op in ops:
        if op.entry is not None:
            tags[op.entry_id] = op.entry.tag

    def key(op: IndexOp) -> tuple[bytes, bytes]:
        tag = tags.get(op.entry_id) or tag_of_entry(op.entry_id) or b""
        return (tag, op.entry_id)

    return sorted(ops, key=key)  # stable: an add precedes the tombstone of the same entry


class _Replica:
    """State, encoded operations and Merkle tree of a log prefix. The tree keeps every complete
    node, so roots of earlier sizes and inclusion / consistency proofs cost O(log n)."""

    def __init__(self) -> None:
        self.state = IndexState()
        self._ops: list[bytes] = []
        self._range = merkle.CompactRange()
        self.tree = merkle.Tree()

    @property
    def size(self) -> int:
        return len(self._ops)

    def root(self) -> bytes:
        return self._range.root()

    def checkpoint(self) -> IndexCheckpoint:
        return IndexCheckpoint(self.size, self.root())

    def lookup(self, tag: bytes) -> list[IndexEntry]:
        return self.state.lookup(tag)

    def delta_since(self, start: int, limit: int | None = None) -> IndexDelta:
        if not 0 <= start <= self.size:
            raise ValueError("delta start beyond the log")
        end = self.size if limit is None else min(self.size, start + limit)
        return IndexDelta(start, tuple(self._ops[start:end]), self.tree.root(end))

    def load(self, encoded: Sequence[bytes]) -> None:
        """Re-apply operations already published (a restart from durable storage), in order."""
        self._append([IndexOp.from_bytes(b) for b in encoded], list(encoded), None)

    def _append(
        self, ops: Sequence[IndexOp], encoded: Sequence[bytes], decisions: DecisionCheck | None
    ) -> None:
        self.state.apply(ops, decisions)
        leaves = merkle.leaf_hashes(encoded)
        for leaf in leaves:
            self._range.append(leaf)
        self._ops.extend(encoded)
        self.tree.extend(leaves)


class IndexLog(_Replica):
    """The platform's index log: takes operations, publishes them in tag-sorted batches.

    ``decisions`` checks dispute operations against the ledger's administrators' decisions.
    The platform's private map entry id → contributor lives beside this, never in the log.
    """

    def __init__(self, decisions: DecisionCheck | None = None) -> None:
        super().__init__()
        self._decisions = decisions
        self._pending: list[IndexOp] = []
        self._overlay: dict[bytes, EntryStatus] = {}
        self._commitments: dict[bytes, bytes] = {}

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(self, op: IndexOp) -> None:
        """Queue an operation; it must apply after everything queued before it."""
        self.submit_many([op])

    def submit_many(self, ops: Sequence[IndexOp]) -> None:
        """Queue several operations, all or none; cost proportional to ``ops`` only."""
        overlay = ChainMap[bytes, EntryStatus]({}, self._overlay)
        commitments = ChainMap[bytes, bytes]({}, self._commitments)
        self.state._check_into(ops, self._decisions, overlay, commitments)
        self._overlay.update(overlay.maps[0])
        self._commitments.update(commitments.maps[0])
        self._pending.extend(ops)

    def check_pending(self, ops: Sequence[IndexOp]) -> None:
        """Raise InvalidIndexOperation unless ``ops`` apply after everything published *and*
        queued (a second tombstone of a queued one, a duplicate of a queued add); changes nothing."""
        self.state._check_into(
            ops,
            self._decisions,
            ChainMap[bytes, EntryStatus]({}, self._overlay),
            ChainMap[bytes, bytes]({}, self._commitments),
        )

    def publish(self) -> IndexDelta:
        """Append the queued operations, tag-sorted, and return them as a delta."""
        start = self.size
        batch = publish_batch(self._pending, self.state.tag_of_entry)
        self._append(batch, [op.to_bytes() for op in batch], self._decisions)
        self._pending = []
        self._overlay.clear()
        self._commitments.clear()
        return self.delta_since(start)


class ContributionRegistry:
    """The platform's private books beside the log: entry id → contributor, and each
    contributor's dedup keys, so that re-uploading a row is a no-op. Never published."""

    def __init__(self) -> None:
        self._owner: dict[bytes, str] = {}
        self._dedup: dict[tuple[str, bytes], bytes] = {}

    def is_new(self, contributor: str, sealed: SealedEntry, state: IndexState) -> bool:
        """False when this contributor already has a live or frozen entry with the same dedup key."""
        prior = self._dedup.get((contributor, sealed.dedup_key))
        return prior is None or state.status(prior) not in (EntryStatus.LIVE, EntryStatus.FROZEN)

    def record(self, contributor: str, sealed: SealedEntry) -> None:
        self._owner[sealed.entry.entry_id] = contributor
        self._dedup[(contributor, sealed.dedup_key)] = sealed.entry.entry_id

    def owner(self, entry_id: bytes) -> str | None:
        return self._owner.get(entry_id)


class MirrorIndex(_Replica):
    """A broker's verified copy of the index log (mirror mode)."""

    def apply_delta(self, delta: IndexDelta, checkpoint: IndexCheckpoint) -> None:
        """Apply ``delta`` if it continues this copy up to exactly the checkpoint's size and the
        resulting root equals the checkpoint's index root; otherwise raise (``InvalidProof`` for a
        root mismatch, ``InvalidIndexOperation`` for a malformed or inapplicable operation) and
        change nothing."""
        if delta.start != self.size:
            raise InvalidProof(f"delta starts at {delta.start}, mirror holds {self.size}")
        if delta.end != checkpoint.size or delta.root != checkpoint.root:
            raise InvalidProof("delta does not end at the checkpoint's index size and root")
        rng = self._range.copy()
        leaves = merkle.leaf_hashes(delta.ops)
        for leaf in leaves:
            rng.append(leaf)
        if not ct_equal(rng.root(), checkpoint.root):
            raise InvalidProof("index root does not match the checkpoint")
        ops = [IndexOp.from_bytes(b) for b in delta.ops]
        if any(b != op.to_bytes() for b, op in zip(delta.ops, ops, strict=True)):
            raise InvalidIndexOperation("index operation is not canonically encoded")
        # Dispute decisions were checked by the auditors who witnessed the checkpoint.
        self.state.apply(ops)
        self._ops.extend(delta.ops)
        self._range = rng
        self.tree.extend(leaves)


# --- oblivious mode ---------------------------------------------------------------------------

_SLOT_HEAD = struct.Struct(">BBB")  # version, count, overflow flag
_DUMMY_CONTEXT = b"riskshare dummy tag v1"


def bucket_of(tag: bytes, bits: int) -> int:
    """The bucket of a tag: its leading ``bits`` bits."""
    return int.from_bytes(tag[:4], "big") >> (32 - bits) if bits else 0


@dataclass(frozen=True, slots=True)
class Slot:
    """All live entries of one tag, newest first, up to ``cap``; ``overflow`` when there were more.

    Wire form: u8 version ‖ u8 count ‖ u8 overflow ‖ entries ‖ zero padding to the fixed size
    ``3 + cap × ENTRY_SIZE``. The Merkle leaf covers tag ‖ the unpadded content."""

    entries: tuple[IndexEntry, ...]
    overflow: bool

    def content(self) -> bytes:
        return _SLOT_HEAD.pack(FORMAT_VERSION, len(self.entries), int(self.overflow)) + b"".join(
            e.to_bytes() for e in self.entries
        )

    def to_bytes(self, cap: int) -> bytes:
        c = self.content()
        return c + bytes(slot_size(cap) - len(c))

    @classmethod
    def from_bytes(cls, data: bytes, cap: int) -> Slot:
        if len(data) != slot_size(cap):
            raise InvalidProof("slot has the wrong size")
        ver, n, ovf = _SLOT_HEAD.unpack_from(data)
        end = _SLOT_HEAD.size + n * ENTRY_SIZE
        if ver != FORMAT_VERSION or n > cap or ovf > 1 or any(data[end:]):
            raise InvalidProof("slot is malformed")
        try:
            entries = tuple(
                IndexEntry.from_bytes(data[o : o + ENTRY_SIZE])
                for o in range(_SLOT_HEAD.size, end, ENTRY_SIZE)
            )
        except InvalidIndexOperation:
            raise InvalidProof("slot holds a malformed entry") from None
        return cls(entries, bool(ovf))


def slot_size(cap: int) -> int:
    return _SLOT_HEAD.size + cap * ENTRY_SIZE


def _slot_leaf(tag: bytes, content: bytes) -> bytes:
    return merkle.leaf_hash(tag + content)  # the leaf binds the slot to its tag


def _bucket_root(tags: Sequence[bytes], slot_root: bytes) -> bytes:
    return sm3(sm3(b"".join(tags)) + slot_root)


@dataclass(frozen=True, slots=True)
class BucketProof:
    """What the broker fetches with its token: the bucket's sorted tag list, its slot-tree root
    and the bucket root's inclusion path in the snapshot tree."""

    bucket: int
    tags: tuple[bytes, ...]
    slot_root: bytes
    path: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class SlotProof:
    """One slot as the OT delivers it, with its Merkle path to the bucket's slot-tree root."""

    index: int
    slot: bytes
    path: tuple[bytes, ...]

    def to_payload(self) -> bytes:
        """Slot ‖ path: the OT message (the receiver knows the index it chose)."""
        return self.slot + b"".join(self.path)

    @classmethod
    def from_payload(cls, index: int, payload: bytes, cap: int, bucket_size: int) -> SlotProof:
        n = slot_size(cap)
        depth = bucket_size.bit_length() - 1
        if len(payload) != n + 32 * depth:
            raise InvalidProof("slot payload has the wrong size")
        return cls(index, payload[:n], tuple(payload[o : o + 32] for o in range(n, len(payload), 32)))


_EMPTY_SLOT = Slot((), False)


class Snapshot:
    """The oblivious-mode view of the index at one checkpoint."""

    def __init__(self, bits: int, bucket_size: int, cap: int) -> None:
        self.bits = bits
        self.bucket_size = bucket_size
        self.cap = cap
        self._tags: list[list[bytes]] = []
        self._slots: list[dict[bytes, Slot]] = []
        self._trees: list[merkle.Tree] = []
        self._bucket_roots: list[bytes] = []
        self._top = merkle.Tree()

    @property
    def buckets(self) -> int:
        return 1 << self.bits

    @property
    def root(self) -> bytes:
        return self._top.root()

    def bucket_proof(self, bucket: int) -> BucketProof:
        return BucketProof(
            bucket,
            tuple(self._tags[bucket]),
            self._trees[bucket].root(),
            tuple(self._top.inclusion_proof(bucket)),
        )

    def slot(self, bucket: int, index: int) -> SlotProof:
        tag = self._tags[bucket][index]
        slot = self._slots[bucket].get(tag, _EMPTY_SLOT)
        return SlotProof(index, slot.to_bytes(self.cap), tuple(self._trees[bucket].inclusion_proof(index)))

    def all_slots(self, bucket: int) -> list[bytes]:
        """The N padded slots of a bucket in tag order."""
        return [self._slots[bucket].get(t, _EMPTY_SLOT).to_bytes(self.cap) for t in self._tags[bucket]]

    def ot_messages(self, bucket: int) -> list[bytes]:
        """The sender's N inputs to the 1-of-N OT: each slot with its Merkle path, one size.

        The slot tree is perfect (N is a power of two), so slot i's path is the sibling at each
        stored level: read directly instead of running the general proof code N times."""
        levels = self._trees[bucket]._levels
        depth = self.bucket_size.bit_length() - 1
        lv = [bytes(levels[k]) for k in range(depth)]
        empty = _EMPTY_SLOT.to_bytes(self.cap)
        slots = self._slots[bucket]
        out = []
        for i, tag in enumerate(self._tags[bucket]):
            slot = slots.get(tag)
            path = b"".join(lv[k][((i >> k) ^ 1) * 32 : ((i >> k) ^ 1) * 32 + 32] for k in range(depth))
            out.append((empty if slot is None else slot.to_bytes(self.cap)) + path)
        return out


def build_snapshot(
    state: IndexState,
    seed: bytes,
    *,
    bucket_size: int = 1024,
    cap: int = 8,
    min_bits: int = 0,
) -> Snapshot:
    """Build the snapshot of ``state``'s live entries (platform and auditors alike).

    ``seed`` (the index root it is cut at) makes the dummy tags deterministic so that auditors
    recompute the same snapshot root. The bucket count is the smallest power of two ≥ 2^min_bits
    for which no bucket holds more than ``bucket_size`` real tags."""
    if bucket_size < 2 or bucket_size & (bucket_size - 1) or not 1 <= cap <= 255:
        # A power of two gives every slot path the same length, so OT messages are one size.
        raise ValueError("bucket size must be a power of two ≥ 2 and the slot cap 1 to 255")
    live = state.live_by_tag()
    bits = min_bits
    while True:
        if bits > 24:
            raise ValueError("too many tags for this bucket size")
        counts: dict[int, int] = {}
        for t in live:
            b = bucket_of(t, bits)
            counts[b] = counts.get(b, 0) + 1
        if not counts or max(counts.values()) <= bucket_size:
            break
        bits += 1
    snap = Snapshot(bits, bucket_size, cap)
    grouped: list[list[bytes]] = [[] for _ in range(1 << bits)]
    for t in live:
        grouped[bucket_of(t, bits)].append(t)
    for b, real in enumerate(grouped):
        tags = set(real)
        j = 0
        while len(tags) < bucket_size:
            d = sm3(_DUMMY_CONTEXT + seed + struct.pack(">II", b, j))[:TAG_SIZE]
            j += 1
            if bits:  # force the bucket's prefix onto the dummy tag
                top = (b << (32 - bits)) | (int.from_bytes(d[:4], "big") & ((1 << (32 - bits)) - 1))
                d = top.to_bytes(4, "big") + d[4:]
            tags.add(d)
        ordered = sorted(tags)
        slots: dict[bytes, Slot] = {}
        for t in real:
            es = live[t]
            slots[t] = Slot(tuple(reversed(es[-cap:])), len(es) > cap)
        empty = _EMPTY_SLOT.content()
        tree = merkle.Tree(
            "sm3", merkle.leaf_hashes([t + (slots[t].content() if t in slots else empty) for t in ordered])
        )
        snap._tags.append(ordered)
        snap._slots.append(slots)
        snap._trees.append(tree)
        snap._bucket_roots.append(_bucket_root(ordered, tree.root()))
    snap._top = merkle.Tree("sm3", merkle.leaf_hashes(snap._bucket_roots))
    return snap


def verify_bucket(
    proof: BucketProof, snapshot_root: bytes, bits: int, bucket_size: int, tag: bytes
) -> int | None:
    """Broker side: check the tag list against the snapshot root and locate ``tag``.

    Returns the slot index of ``tag`` or None, a verified non-membership: the list is the
    complete, strictly sorted list of the bucket the tag belongs to. Raises InvalidProof."""
    if proof.bucket != bucket_of(tag, bits):
        raise InvalidProof("bucket proof is for another bucket")
    tags = proof.tags
    if len(tags) != bucket_size or any(len(t) != TAG_SIZE for t in tags):
        raise InvalidProof("tag list has the wrong size")
    if any(tags[i] >= tags[i + 1] for i in range(len(tags) - 1)):
        raise InvalidProof("tag list is not strictly sorted")
    if any(bucket_of(t, bits) != proof.bucket for t in (tags[0], tags[-1])):
        raise InvalidProof("tag list strays outside its bucket")
    root = _bucket_root(tags, proof.slot_root)
    merkle.verify_inclusion(merkle.leaf_hash(root), proof.bucket, 1 << bits, proof.path, snapshot_root)
    i = bisect.bisect_left(tags, tag)
    return i if i < len(tags) and tags[i] == tag else None


def verify_slot(proof: SlotProof, bucket: BucketProof, cap: int) -> Slot:
    """Broker side: check a slot against the verified bucket's slot-tree root; raises InvalidProof."""
    slot = Slot.from_bytes(proof.slot, cap)
    if not 0 <= proof.index < len(bucket.tags):
        raise InvalidProof("slot index out of range")
    leaf = _slot_leaf(bucket.tags[proof.index], slot.content())
    merkle.verify_inclusion(leaf, proof.index, len(bucket.tags), proof.path, bucket.slot_root)
    if any(e.tag != bucket.tags[proof.index] for e in slot.entries):
        raise InvalidProof("slot holds an entry of another tag")
    return slot
