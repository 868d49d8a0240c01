"""Ledger entries: one canonical, versioned, integer-only binary encoding.

An **entry** is what the log sequences and hashes (leaf = H(0x00 ‖ entry bytes)):

* the member's **request** — log id, kind, member id, nonce, timestamp, rule version and the
  kind's request fields — whose canonical bytes (:meth:`Request.encode`) are what members sign
  with SM2 (ID ``1234567812345678``, SM2's own Z_A/SM3 hashing, no pre-hash);
* the **signatures**: the submitter's first, then, for entries that need a threshold of
  administrators, the other administrators' signatures over the same request bytes, by
  ascending member id;
* what the **platform attests** when it sequences: its clock (``sequenced_ms``) and the kind's
  attested fields (e.g. accepted records and new distinct tags of a contribution);
* the **outcome**: code 0 = accepted, any other code = rejected for that reason.

Encoding rules (version 1): integers are fixed-width big-endian (u8 kind, u16 codes, u32
lengths/counts and rule version, u64 ids/counts/times, i64 for signed values); byte strings and
lists carry a u32 length/count prefix; fixed-size fields (log id, nonce, hashes) carry none.
Every value has exactly one encoding and :func:`Entry.decode` accepts exactly the encodings
:meth:`Entry.encode` produces (no trailing bytes, no unknown kinds or codes, no duplicate or
unordered signers). No field ever holds a plaintext subject ID, record, tag, bucket id or
index position; bulk payloads appear as their hash and size.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "ATTESTED",
    "ENTRY_MAGIC",
    "FORMAT_VERSION",
    "KIND_OFFSET",
    "LOG_ID_SIZE",
    "MAX_BYTES_FIELD",
    "MAX_LIST_LEN",
    "MAX_REQUEST_SIZE",
    "NONCE_SIZE",
    "REQUEST_MAGIC",
    "SCHEMAS",
    "Code",
    "DecodeError",
    "Entry",
    "FieldType",
    "FieldValue",
    "Kind",
    "Request",
    "Role",
    "Signature",
]

FORMAT_VERSION: Final = 1
REQUEST_MAGIC: Final = b"RSRQ"
ENTRY_MAGIC: Final = b"RSEN"
LOG_ID_SIZE: Final = 16
NONCE_SIZE: Final = 16
HASH_SIZE: Final = 32
KIND_OFFSET: Final = 14
"""Byte offset of the kind in an encoded entry (magic, version, u32 request length, request
magic, request version): lets replay skip decoding entries whose kind it does not need."""
MAX_REQUEST_SIZE: Final = 64 * 1024
"""Larger requests are refused before any signature is checked."""
MAX_BYTES_FIELD: Final = 16 * 1024
MAX_LIST_LEN: Final = 8192
MAX_SIGNATURE_SIZE: Final = 128
MAX_SIGNERS: Final = 64
_U64: Final = (1 << 64) - 1
_I64_MIN: Final = -(1 << 63)
_I64_MAX: Final = (1 << 63) - 1


class DecodeError(ValueError):
    """Bytes that are not the canonical encoding of a request or an entry."""


class Kind(IntEnum):
    GENESIS = 1
    MEMBER = 2
    KEY_EPOCH = 3
    CONTRIBUTE = 4
    REVOKE = 5
    DISPUTE = 6
    LOOKUP = 7
    SCREEN = 8
    STAT_KEY = 9
    STAT_ROUND = 10
    STAT_SUBMIT = 11
    STAT_CLOSE = 12
    STAT_RELEASE = 13
    RULE_CHANGE = 14
    CORROBORATION = 15
    INDEX_PUBLISH = 16  # the platform's scheduled, tag-sorted publication of index operations


class Role(IntFlag):
    """Roles a member holds (a bit set on the member's record)."""

    PLATFORM = 1
    KEYHOLDER = 2
    CONTRIBUTOR = 4
    BROKER = 8
    AUDITOR = 16
    ADMIN = 32
    MIRROR = 64  # a broker granted mirror lookups by the administrators

    @classmethod
    def all(cls) -> Role:
        r = cls(0)
        for m in cls:
            r |= m
        return r


class Code(IntEnum):
    """Outcome codes. 0 accepts; 1–99 are the ledger's refusals; 100 and above belong to the rule
    layer (the hook), which may use any value there."""

    ACCEPTED = 0
    WRONG_ROLE = 1
    REPLAYED_NONCE = 2
    STALE_TIMESTAMP = 3
    WRONG_LOG = 4
    BAD_THRESHOLD = 5  # too few or unauthorised administrator signatures
    BAD_RULE_VERSION = 6
    INVALID_FIELDS = 7  # fields that the ledger's own state rejects (e.g. unknown target member)
    RULE_REJECTED = 100  # first code of the rule layer's range

    @staticmethod
    def is_ledger(code: int) -> bool:
        return 0 < code < Code.RULE_REJECTED


FieldType = Literal["u64", "i64", "bytes", "hash", "u64[]", "i64[]", "bytes[]"]
FieldValue = int | bytes | tuple[int, ...] | tuple[bytes, ...]
Schema = tuple[tuple[str, FieldType], ...]

# Request fields per kind (signed by the member) — order is the encoding order.
SCHEMAS: Final[Mapping[Kind, Schema]] = MappingProxyType(
    {
        Kind.GENESIS: (
            ("hash_alg", "u64"),  # 1 = SM3, 2 = SHA-256 (the log's Merkle hash)
            ("oprf_suite", "u64"),  # 1 = SM2-SM3, 2 = P256-SHA256
            ("oprf_mode", "u64"),  # 1 = VOPRF (production), 0 = OPRF (vectors only)
            ("admin_threshold", "u64"),
            ("member_ids", "u64[]"),
            ("member_roles", "u64[]"),
            ("sign_keys", "bytes[]"),  # SM2 public keys, uncompressed
            ("agree_keys", "bytes[]"),  # SM2 key-agreement public keys
        ),
        Kind.MEMBER: (
            ("action", "u64"),  # members.Action: add, roles, rekey, remove
            ("target", "u64"),
            ("roles", "u64"),
            ("sign_key", "bytes"),
            ("agree_key", "bytes"),
        ),
        Kind.KEY_EPOCH: (
            ("epoch", "u64"),
            ("suite", "u64"),
            ("holders", "u64[]"),  # member ids of the two share holders (platform, key holder)
            ("shares", "bytes[]"),  # public key shares k_i·G
            ("proofs", "bytes[]"),  # proofs of possession bound to epoch and holder
        ),
        Kind.CONTRIBUTE: (
            ("epoch", "u64"),
            ("evaluations", "u64"),  # OPRF elements evaluated for this upload
            ("submitted", "u64"),  # index entries sent
            ("batch_hash", "hash"),  # SM3 of the upload
            ("batch_size", "u64"),
            ("receipts", "bytes[]"),  # both servers' signed evaluation receipts
        ),
        Kind.REVOKE: (
            ("count", "u64"),
            ("heights", "u64[]"),  # upload heights of what is removed
            ("batch_hash", "hash"),  # SM3 of the tombstones
        ),
        Kind.DISPUTE: (
            ("action", "u64"),  # 1 file, 2 decide
            ("dispute_id", "u64"),
            ("evidence_hash", "hash"),
            ("decision", "u64"),  # 0 pending (file), 1 upheld, 2 dismissed
            ("heights", "u64[]"),  # upload heights the decision affects
        ),
        Kind.LOOKUP: (
            ("epoch", "u64"),
            ("evaluations", "u64"),
            ("mode", "u64"),  # 1 mirror, 2 oblivious
            ("receipts", "bytes[]"),
        ),
        Kind.SCREEN: (
            ("epoch", "u64"),
            ("evaluations", "u64"),  # elements (mirror) or bins + stash (bilateral)
            ("mode", "u64"),  # 1 mirror, 2 bilateral
            ("chunk_hash", "hash"),
            ("counterpart", "u64"),  # the contributor of a bilateral run, else 0
            ("receipts", "bytes[]"),  # evaluation receipts, or the counterpart's signature
        ),
        Kind.STAT_KEY: (
            ("key_id", "u64"),
            ("public_key", "bytes"),  # Paillier n
            ("proof", "bytes"),
        ),
        Kind.STAT_ROUND: (
            ("round_id", "u64"),
            ("statistic", "u64"),
            ("period", "u64"),
            ("key_id", "u64"),
            ("k", "u64"),
            ("participants", "u64[]"),
        ),
        Kind.STAT_SUBMIT: (
            ("round_id", "u64"),
            ("submission_hash", "hash"),
            ("size", "u64"),
        ),
        Kind.STAT_CLOSE: (
            ("round_id", "u64"),
            ("non_submitters", "u64[]"),
        ),
        Kind.STAT_RELEASE: (
            ("round_id", "u64"),
            ("querier", "u64"),
            ("cells", "u64"),
            ("result_hash", "hash"),
        ),
        Kind.RULE_CHANGE: (
            ("new_version", "u64"),
            ("param_ids", "u64[]"),
            ("param_values", "i64[]"),
        ),
        Kind.CORROBORATION: (
            ("period", "u64"),
            ("contributors", "u64[]"),
            ("counts", "u64[]"),
        ),
        # Checkpoints are cut only when new entries exist, so each publication is an entry: the
        # checkpoint after it commits the new index size and root, which auditors recompute.
        Kind.INDEX_PUBLISH: (
            ("start", "u64"),  # index log size before the batch
            ("count", "u64"),  # operations published
            ("root", "hash"),  # index log root after the batch
        ),
    }
)

# Fields the platform attests when it sequences (zero on entries the ledger itself rejects; kept
# on entries the rule layer rejects, so that replay shows the hook what it saw live).
ATTESTED: Final[Mapping[Kind, Schema]] = MappingProxyType(
    {
        **{k: () for k in Kind},
        Kind.CONTRIBUTE: (("accepted", "u64"), ("new_tags", "u64")),
        Kind.REVOKE: (("removed", "u64"),),  # distinct tags left with no active record
        # removed: the same, for an upheld decision's removal; height: the upload height of the
        # disputed entry, attested on filing (the filer cannot know it: the platform keeps entry
        # id → contributor privately), 0 when the request names it itself
        Kind.DISPUTE: (("removed", "u64"), ("height", "u64")),
    }
)


def _default(t: FieldType) -> FieldValue:
    if t in ("u64", "i64"):
        return 0
    if t == "bytes":
        return b""
    if t == "hash":
        return bytes(HASH_SIZE)
    return ()


def _check_value(name: str, t: FieldType, v: object) -> FieldValue:
    def int_ok(x: object, lo: int, hi: int) -> int:
        if not isinstance(x, int) or isinstance(x, bool):
            raise TypeError(f"field {name!r} must hold int values")
        if not lo <= x <= hi:
            raise ValueError(f"field {name!r} value {x} is out of range")
        return x

    def bytes_ok(x: object) -> bytes:
        if not isinstance(x, bytes | bytearray | memoryview):
            raise TypeError(f"field {name!r} must hold bytes")
        b = bytes(x)
        if len(b) > MAX_BYTES_FIELD:
            raise ValueError(f"field {name!r} exceeds {MAX_BYTES_FIELD} bytes")
        return b

    if t == "u64":
        return int_ok(v, 0, _U64)
    if t == "i64":
        return int_ok(v, _I64_MIN, _I64_MAX)
    if t == "bytes":
        return bytes_ok(v)
    if t == "hash":
        b = bytes_ok(v)
        if len(b) != HASH_SIZE:
            raise ValueError(f"field {name!r} must be a 32-byte hash")
        return b
    if not isinstance(v, list | tuple):
        raise TypeError(f"field {name!r} must be a list or tuple")
    if len(v) > MAX_LIST_LEN:
        raise ValueError(f"field {name!r} has more than {MAX_LIST_LEN} items")
    if t == "u64[]":
        return tuple(int_ok(x, 0, _U64) for x in v)
    if t == "i64[]":
        return tuple(int_ok(x, _I64_MIN, _I64_MAX) for x in v)
    return tuple(bytes_ok(x) for x in v)


def _normalise(schema: Schema, given: Mapping[str, object], what: str) -> Mapping[str, FieldValue]:
    names = {n for n, _ in schema}
    extra = set(given) - names
    if extra:
        raise ValueError(f"unknown {what} field(s): {', '.join(sorted(extra))}")
    out = {n: _check_value(n, t, given[n]) if n in given else _default(t) for n, t in schema}
    return MappingProxyType(out)


# ---- byte-level writer and reader -------------------------------------------------------------


def _put(buf: bytearray, t: FieldType, v: FieldValue) -> None:
    if t == "u64":
        buf += struct.pack(">Q", v)
    elif t == "i64":
        buf += struct.pack(">q", v)
    elif t == "hash":
        buf += v  # type: ignore[arg-type]
    elif t == "bytes":
        b: bytes = v  # type: ignore[assignment]
        buf += struct.pack(">I", len(b)) + b
    else:
        items: tuple[int | bytes, ...] = v  # type: ignore[assignment]
        buf += struct.pack(">I", len(items))
        for x in items:
            _put(buf, t[:-2], x)  # type: ignore[arg-type]


_U64S = struct.Struct(">Q")
_U32S = struct.Struct(">I")
_I64S = struct.Struct(">q")
_REQ_HEAD = struct.Struct(">4sBB16sQ16sQI")
_KINDS = {int(k): k for k in Kind}


def _parse(data: bytes, pos: int, schema: Schema) -> tuple[dict[str, FieldValue], int]:
    """Decode the fields of ``schema`` at ``pos`` (the hot path of replay: no re-validation is
    needed, fixed widths bound every integer and lengths are checked here)."""
    out: dict[str, FieldValue] = {}
    n = len(data)
    for name, t in schema:
        if t == "u64":
            if pos + 8 > n:
                raise DecodeError("truncated")
            out[name] = _U64S.unpack_from(data, pos)[0]
            pos += 8
        elif t == "hash":
            if pos + HASH_SIZE > n:
                raise DecodeError("truncated")
            out[name] = data[pos : pos + HASH_SIZE]
            pos += HASH_SIZE
        elif t == "bytes":
            if pos + 4 > n:
                raise DecodeError("truncated")
            ln = _U32S.unpack_from(data, pos)[0]
            pos += 4
            if ln > MAX_BYTES_FIELD:
                raise DecodeError("byte string too long")
            if pos + ln > n:
                raise DecodeError("truncated")
            out[name] = data[pos : pos + ln]
            pos += ln
        elif t == "i64":
            if pos + 8 > n:
                raise DecodeError("truncated")
            out[name] = _I64S.unpack_from(data, pos)[0]
            pos += 8
        else:
            if pos + 4 > n:
                raise DecodeError("truncated")
            count = _U32S.unpack_from(data, pos)[0]
            pos += 4
            if count > MAX_LIST_LEN:
                raise DecodeError("list too long")
            if t == "bytes[]":
                items: list[bytes] = []
                for _ in range(count):
                    if pos + 4 > n:
                        raise DecodeError("truncated")
                    ln = _U32S.unpack_from(data, pos)[0]
                    pos += 4
                    if ln > MAX_BYTES_FIELD:
                        raise DecodeError("byte string too long")
                    if pos + ln > n:
                        raise DecodeError("truncated")
                    items.append(data[pos : pos + ln])
                    pos += ln
                out[name] = tuple(items)
            else:
                if pos + 8 * count > n:
                    raise DecodeError("truncated")
                fmt = f">{count}{'Q' if t == 'u64[]' else 'q'}"
                out[name] = struct.unpack_from(fmt, data, pos)
                pos += 8 * count
    return out, pos


# ---- request -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=True)
class Request:
    """What a member signs. ``fields`` follow :data:`SCHEMAS` for the kind (missing fields take
    their zero value, unknown ones are refused)."""

    kind: Kind
    log_id: bytes
    member: int
    nonce: bytes
    timestamp_ms: int
    rule_version: int
    fields: Mapping[str, FieldValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        if len(self.log_id) != LOG_ID_SIZE:
            raise ValueError(f"log id must be {LOG_ID_SIZE} bytes")
        if len(self.nonce) != NONCE_SIZE:
            raise ValueError(f"nonce must be {NONCE_SIZE} bytes")
        object.__setattr__(self, "log_id", bytes(self.log_id))
        object.__setattr__(self, "nonce", bytes(self.nonce))
        _check_value("member", "u64", self.member)
        _check_value("timestamp_ms", "u64", self.timestamp_ms)
        _check_value("rule_version", "u64", self.rule_version)
        if self.rule_version > 0xFFFFFFFF:
            raise ValueError("rule version must fit in 32 bits")
        object.__setattr__(self, "fields", _normalise(SCHEMAS[self.kind], self.fields, "request"))

    def encode(self) -> bytes:
        buf = bytearray(REQUEST_MAGIC)
        buf += struct.pack(">BB", FORMAT_VERSION, self.kind)
        buf += self.log_id
        buf += struct.pack(">Q", self.member)
        buf += self.nonce
        buf += struct.pack(">QI", self.timestamp_ms, self.rule_version)
        for name, t in SCHEMAS[self.kind]:
            _put(buf, t, self.fields[name])
        return bytes(buf)

    @classmethod
    def decode(cls, data: bytes) -> Request:
        data = bytes(data)
        if len(data) > MAX_REQUEST_SIZE:
            raise DecodeError(f"request exceeds {MAX_REQUEST_SIZE} bytes")
        if len(data) < _REQ_HEAD.size:
            raise DecodeError("truncated")
        magic, version, k, log_id, member, nonce, ts, rv = _REQ_HEAD.unpack_from(data, 0)
        if magic != REQUEST_MAGIC:
            raise DecodeError("not a riskshare request")
        if version != FORMAT_VERSION:
            raise DecodeError("unsupported request format version")
        kind = _KINDS.get(k)
        if kind is None:
            raise DecodeError("unknown entry kind")
        fields, pos = _parse(data, _REQ_HEAD.size, SCHEMAS[kind])
        if pos != len(data):
            raise DecodeError("trailing bytes")
        req = object.__new__(cls)
        sa = object.__setattr__
        sa(req, "kind", kind)
        sa(req, "log_id", log_id)
        sa(req, "member", member)
        sa(req, "nonce", nonce)
        sa(req, "timestamp_ms", ts)
        sa(req, "rule_version", rv)
        sa(req, "fields", MappingProxyType(fields))
        return req

    def int_field(self, name: str) -> int:
        v = self.fields[name]
        if not isinstance(v, int):
            raise TypeError(f"field {name!r} is not an integer")
        return v

    def __hash__(self) -> int:
        return hash(self.encode())

    def __repr__(self) -> str:
        return f"Request({self.kind.name.lower()}, member={self.member}, ts={self.timestamp_ms})"


@dataclass(frozen=True)
class Signature:
    """An SM2 signature (DER) by member ``signer`` over a request's canonical bytes."""

    signer: int
    der: bytes

    def __post_init__(self) -> None:
        _check_value("signer", "u64", self.signer)
        if not isinstance(self.der, bytes) or not 0 < len(self.der) <= MAX_SIGNATURE_SIZE:
            raise ValueError(f"signature must be 1 to {MAX_SIGNATURE_SIZE} bytes of DER")


# ---- entry -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A sequenced entry: request, signatures, the platform's attestation and the outcome."""

    request: Request
    signatures: tuple[Signature, ...]
    sequenced_ms: int
    code: int = Code.ACCEPTED
    attested: Mapping[str, FieldValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sigs = tuple(self.signatures)
        if not 1 <= len(sigs) <= MAX_SIGNERS:
            raise ValueError(f"an entry carries 1 to {MAX_SIGNERS} signatures")
        if sigs[0].signer != self.request.member:
            raise ValueError("the first signature must be the submitting member's")
        rest = [s.signer for s in sigs[1:]]
        if rest != sorted(set(rest)) or self.request.member in rest:
            raise ValueError("co-signatures must be by distinct members in ascending id order")
        object.__setattr__(self, "signatures", sigs)
        _check_value("sequenced_ms", "u64", self.sequenced_ms)
        if not isinstance(self.code, int) or isinstance(self.code, bool) or not 0 <= self.code <= 0xFFFF:
            raise ValueError("outcome code must be an int from 0 to 65535")
        object.__setattr__(
            self, "attested", _normalise(ATTESTED[self.request.kind], self.attested, "attested")
        )

    # convenience views
    @property
    def kind(self) -> Kind:
        return self.request.kind

    @property
    def member(self) -> int:
        return self.request.member

    @property
    def accepted(self) -> bool:
        return self.code == Code.ACCEPTED

    @property
    def signers(self) -> tuple[int, ...]:
        return tuple(s.signer for s in self.signatures)

    def get(self, name: str) -> FieldValue:
        """A request or attested field by name."""
        if name in self.request.fields:
            return self.request.fields[name]
        return self.attested[name]

    def int_field(self, name: str) -> int:
        v = self.get(name)
        if not isinstance(v, int):
            raise TypeError(f"field {name!r} is not an integer")
        return v

    def ints_field(self, name: str) -> tuple[int, ...]:
        v = self.get(name)
        if not isinstance(v, tuple) or any(not isinstance(x, int) for x in v):
            raise TypeError(f"field {name!r} is not a list of integers")
        return v  # type: ignore[return-value]

    def bytes_field(self, name: str) -> bytes:
        v = self.get(name)
        if not isinstance(v, bytes):
            raise TypeError(f"field {name!r} is not a byte string")
        return v

    def bytes_list_field(self, name: str) -> tuple[bytes, ...]:
        v = self.get(name)
        if not isinstance(v, tuple) or any(not isinstance(x, bytes) for x in v):
            raise TypeError(f"field {name!r} is not a list of byte strings")
        return v  # type: ignore[return-value]

    def with_outcome(self, code: int, attested: Mapping[str, FieldValue] | None = None) -> Entry:
        return Entry(
            self.request,
            self.signatures,
            self.sequenced_ms,
            code,
            self.attested if attested is None else attested,
        )

    def encode(self) -> bytes:
        req = self.request.encode()
        buf = bytearray(ENTRY_MAGIC)
        buf += struct.pack(">BI", FORMAT_VERSION, len(req))
        buf += req
        buf += struct.pack(">B", len(self.signatures))
        for s in self.signatures:
            buf += struct.pack(">QH", s.signer, len(s.der)) + s.der
        buf += struct.pack(">Q", self.sequenced_ms)
        for name, t in ATTESTED[self.request.kind]:
            _put(buf, t, self.attested[name])
        buf += struct.pack(">H", self.code)
        return bytes(buf)

    @classmethod
    def decode(cls, data: bytes) -> Entry:
        data = bytes(data)
        n = len(data)
        if n < 9 or data[:4] != ENTRY_MAGIC:
            raise DecodeError("not a riskshare ledger entry")
        if data[4] != FORMAT_VERSION:
            raise DecodeError("unsupported entry format version")
        rlen = _U32S.unpack_from(data, 5)[0]
        if rlen > MAX_REQUEST_SIZE or 9 + rlen + 1 > n:
            raise DecodeError("truncated or oversized request")
        req = Request.decode(data[9 : 9 + rlen])
        pos = 9 + rlen
        count = data[pos]
        pos += 1
        if not 1 <= count <= MAX_SIGNERS:
            raise DecodeError("an entry carries 1 to 64 signatures")
        sigs = []
        prev = -1
        for i in range(count):
            if pos + 10 > n:
                raise DecodeError("truncated")
            signer, ln = struct.unpack_from(">QH", data, pos)
            pos += 10
            if not 0 < ln <= MAX_SIGNATURE_SIZE or pos + ln > n:
                raise DecodeError("bad signature length")
            if i == 0:
                if signer != req.member:
                    raise DecodeError("the first signature must be the submitting member's")
            elif signer <= prev or signer == req.member:
                raise DecodeError("co-signatures must be by distinct members in ascending id order")
            if i:
                prev = signer
            sig = object.__new__(Signature)
            object.__setattr__(sig, "signer", signer)
            object.__setattr__(sig, "der", data[pos : pos + ln])
            sigs.append(sig)
            pos += ln
        if pos + 8 > n:
            raise DecodeError("truncated")
        seq = _U64S.unpack_from(data, pos)[0]
        att, pos = _parse(data, pos + 8, ATTESTED[req.kind])
        if pos + 2 != n:
            raise DecodeError("truncated" if pos + 2 > n else "trailing bytes")
        code = int.from_bytes(data[pos:], "big")
        e = object.__new__(cls)
        sa = object.__setattr__
        sa(e, "request", req)
        sa(e, "signatures", tuple(sigs))
        sa(e, "sequenced_ms", seq)
        sa(e, "code", code)
        sa(e, "attested", MappingProxyType(att))
        return e

    def __hash__(self) -> int:
        return hash(self.encode())

    def __repr__(self) -> str:
        return (
            f"Entry({self.kind.name.lower()}, member={self.member}, code={self.code}, "
            f"signers={list(self.signers)})"
        )
