"""Oblivious transfer: base 1-of-2 OT, 1-of-N OT and the IKNP/KOS OT extension.

Every role is message-driven: each step takes the peer's bytes and returns the bytes to send, so
the same objects run in-process or across gRPC. Messages open with a frame ``"RSOT" ‖ version ‖
type ‖ session id ‖ two counts``; a session id (16 random bytes chosen by the party that speaks
first, or agreed beforehand and passed to both) enters every key derivation, so messages of one
run are useless in another.

Errors: a step called out of order or twice raises :class:`ProtocolStateError`; a message with a
bad frame or length raises :class:`MalformedMessage` (both a ``ProtocolAbort`` and a
``ValueError``); a message from another session, an invalid point, a failed integrity tag or a
failed consistency check raises :class:`ProtocolAbort`. After an abort the object is dead.

Security settings (see each class):

* **Base OT** — Naor–Pinkas (SODA 2001, §3.1, random-oracle variant, batched with one ``C`` and one
  ``g^r`` per batch) over P-256: sender privacy against a malicious receiver under CDH in the
  random-oracle model; receiver privacy is perfect against any sender. Chosen messages are padded
  with AES-CTR under the OT keys and carry a 16-byte tag, so the receiver detects a tampered
  message for its choice.
* **1-of-N OT** — Naor–Pinkas (1999): ``⌈log₂ N⌉`` base OTs choose one of two AES keys per index
  bit; slot ``i`` is padded with the XOR of ``F(K_j^{i_j}, i)`` (AES-CTR at slot ``i``'s counter).
  Same setting as the base OT. The receiver learns exactly its slot.
* **IKNP extension** (Ishai–Kilian–Nissim–Petrank 2003) — 128 base OTs (this module's base OT, the
  extension receiver acting as base sender) → random OTs in batches; the PRG is AES-128-CTR keyed by
  the base-OT keys, the hash is the tweakable correlation-robust hash of Guo–Katz–Wang–Yu (S&P 2020)
  ``H(j, x) = π(π(x) ⊕ j) ⊕ π(x)`` with π fixed-key AES-128 (key = SHA-256 of the session id,
  public), in batches through libcrypto's EVP (AES-NI/VAES). Semi-honest.
* **KOS check** (Keller–Orsini–Scholl, CRYPTO 2015) — 256 extra random OTs per batch, a challenge
  seed chosen by the sender *after* the matrix, and the receiver's proof (x, t): catches a
  malicious **receiver** that uses inconsistent choice bits across columns (it would learn bits of
  the sender's s); the products are carry-less and summed unreduced, which implies the check in
  GF(2¹²⁸). The receiver's privacy against the sender holds as in IKNP.
* **SM4 variant** (``cipher="sm4"``): SM4-CTR as PRG and SM4 as the fixed-key permutation; it is
  benchmarked apart (OpenSSL's SM4 is ~80× slower than AES-NI here).
* **Selective failure**: a receiver's ``ProtocolAbort`` on its last step depends on its choice.
  It happens after the last message, so the sender learns it only if the caller tells it; callers
  (the oblivious lookup) must complete and acknowledge identically either way.
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from mpc._binding import (
    OT_CIPHER_AES,
    OT_CIPHER_SM4,
    OT_KEY_SIZE,
    OT_MAX_BATCH,
    OT_MAX_SLOT_SIZE,
    OT_MAX_SLOTS,
    OT_POINT_SIZE,
    OT_SESSION_ID_SIZE,
    OT_TAG_SIZE,
    lib,
)
from mpc.exceptions import InvalidProof, MalformedMessage, ProtocolAbort, ProtocolStateError

__all__ = [
    "EXT_WIDTH",
    "KEY_SIZE",
    "MAX_SLOTS",
    "MAX_SLOT_SIZE",
    "SESSION_ID_SIZE",
    "BatchReceiver",
    "BatchSender",
    "IKNPReceiver",
    "IKNPSender",
    "KOSReceiver",
    "KOSSender",
    "OneOfNReceiver",
    "OneOfNSender",
    "Receiver",
    "Sender",
    "audit_one_of_n",
]

SESSION_ID_SIZE = OT_SESSION_ID_SIZE
KEY_SIZE = OT_KEY_SIZE
MAX_SLOTS = OT_MAX_SLOTS
MAX_SLOT_SIZE = OT_MAX_SLOT_SIZE

_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_MAGIC = b"RSOT"
_VERSION = 1
_FRAME = struct.Struct(">4sBB16sII")

# Message types. Distinct per protocol, so a message of one protocol never parses as another's.
T_PAIR_SETUP = 0x01
T_PAIR_CHOOSE = 0x02
T_PAIR_CIPHER = 0x03
T_NOFN_SETUP = 0x04
T_NOFN_CHOOSE = 0x05
T_NOFN_CIPHER = 0x06


def _new_session_id(session_id: bytes | None) -> bytes:
    if session_id is None:
        return secrets.token_bytes(SESSION_ID_SIZE)
    if not isinstance(session_id, bytes):
        raise TypeError("session id must be bytes")
    if len(session_id) != SESSION_ID_SIZE:
        raise ValueError(f"session id must be {SESSION_ID_SIZE} bytes")
    return session_id


def pack(kind: int, sid: bytes, a: int, b: int, payload: bytes | bytearray | memoryview = b"") -> bytes:
    """Frame one protocol message."""
    return b"".join((_FRAME.pack(_MAGIC, _VERSION, kind, sid, a, b), payload))


def unpack(msg: bytes, kind: int, sid: bytes | None) -> tuple[bytes, int, int, memoryview]:
    """Parse a frame of type ``kind``; ``sid`` (if known) must match. Returns (sid, a, b, payload)."""
    if not isinstance(msg, bytes | bytearray | memoryview):
        raise TypeError("protocol message must be bytes")
    view = memoryview(msg).cast("B")
    if len(view) < _FRAME.size:
        raise MalformedMessage("protocol message is shorter than its frame")
    magic, version, got_kind, got_sid, a, b = _FRAME.unpack_from(view)
    if magic != _MAGIC or version != _VERSION:
        raise MalformedMessage("not a riskshare OT message of a supported version")
    if got_kind != kind:
        raise ProtocolAbort(f"unexpected OT message type {got_kind:#04x} (expected {kind:#04x})")
    if sid is not None and not secrets.compare_digest(got_sid, sid):
        raise ProtocolAbort("OT message belongs to another session")
    return got_sid, a, b, view[_FRAME.size :]


def expect_length(payload: memoryview, length: int, what: str) -> None:
    if len(payload) != length:
        raise MalformedMessage(f"{what}: expected {length} bytes, got {len(payload)}")


class _Role:
    """Step bookkeeping shared by every role: out-of-order calls and use after an abort."""

    _state: int

    def _enter(self, expected: int, step: str) -> None:
        if self._state != expected:
            raise ProtocolStateError(f"{type(self).__name__}.{step}() called out of order")
        self._state = -1  # an exception inside the step leaves the object dead

    def __repr__(self) -> str:
        return f"<{type(self).__name__} state={self._state}>"


# ---- base OT: Naor–Pinkas 1-of-2, batched ----------------------------------------------------


class BatchSender(_Role):
    """Sender of ``n`` chosen-message 1-of-2 OTs in one run (3 messages, the sender speaks first).

    ``start() -> msg1``; ``finish(msg2) -> msg3``. All messages share one length (1..65536 bytes).
    """

    def __init__(self, pairs: Sequence[tuple[bytes, bytes]], *, session_id: bytes | None = None) -> None:
        if not 1 <= len(pairs) <= OT_MAX_BATCH:
            raise ValueError("a batch holds 1 to 2^24 OTs")
        size = len(pairs[0][0])
        for m0, m1 in pairs:
            if not isinstance(m0, bytes) or not isinstance(m1, bytes):
                raise TypeError("OT messages must be bytes")
            if len(m0) != size or len(m1) != size:
                raise ValueError("all OT messages of a batch must have the same length")
        if not 1 <= size <= OT_MAX_SLOT_SIZE:
            raise ValueError(f"OT messages must be 1 to {OT_MAX_SLOT_SIZE} bytes")
        self._m0 = b"".join(p[0] for p in pairs)
        self._m1 = b"".join(p[1] for p in pairs)
        self._n, self._size = len(pairs), size
        self._sid = _new_session_id(session_id)
        self._secret = b""
        self._state = 0

    @property
    def session_id(self) -> bytes:
        return self._sid

    def start(self) -> bytes:
        self._enter(0, "start")
        public, self._secret = lib.ot_np_sender_setup()
        self._state = 1
        return pack(T_PAIR_SETUP, self._sid, self._n, self._size, public)

    def finish(self, msg: bytes) -> bytes:
        self._enter(1, "finish")
        _, n, _, payload = unpack(msg, T_PAIR_CHOOSE, self._sid)
        if n != self._n:
            raise ProtocolAbort("receiver answered for a different number of OTs")
        expect_length(payload, n * OT_POINT_SIZE, "OT receiver message")
        keys = lib.ot_np_sender_keys(self._sid, self._secret, payload, 0)
        out = lib.ot_pair_encrypt(self._sid, keys, self._m0, self._m1, 0)
        self._secret = self._m0 = self._m1 = b""
        self._state = 2
        return pack(T_PAIR_CIPHER, self._sid, self._n, self._size, out)


class _PairReceiverBase(_Role):
    def __init__(self, choices: Sequence[int], *, session_id: bytes | None, message_size: int | None) -> None:
        if not 1 <= len(choices) <= OT_MAX_BATCH:
            raise ValueError("a batch holds 1 to 2^24 OTs")
        if any(c not in (0, 1) for c in choices):
            raise ValueError("choice bits must be 0 or 1")
        if message_size is not None and not 1 <= message_size <= OT_MAX_SLOT_SIZE:
            raise ValueError(f"OT messages must be 1 to {OT_MAX_SLOT_SIZE} bytes")
        self._choices = bytes(choices)
        self._sid: bytes | None = None if session_id is None else _new_session_id(session_id)
        self._size = message_size
        self._keys = b""
        self._state = 0

    @property
    def session_id(self) -> bytes | None:
        return self._sid

    def respond(self, msg: bytes) -> bytes:
        """Answer the sender's first message with the receiver's choice points."""
        self._enter(0, "respond")
        sid, n, size, payload = unpack(msg, T_PAIR_SETUP, self._sid)
        if n != len(self._choices):
            raise ProtocolAbort("sender offers a different number of OTs")
        if self._size is not None and size != self._size:
            raise ProtocolAbort("sender offers messages of an unexpected size")
        if not 1 <= size <= OT_MAX_SLOT_SIZE:
            raise MalformedMessage("OT message size out of range")
        expect_length(payload, 2 * OT_POINT_SIZE, "OT sender setup")
        self._sid, self._size = sid, size
        pk0, self._keys = lib.ot_np_receiver_choose(sid, payload, self._choices, 0)
        self._state = 1
        return pack(T_PAIR_CHOOSE, sid, n, 0, pk0)

    def _open(self, msg: bytes) -> bytes:
        self._enter(1, "receive")
        assert self._sid is not None and self._size is not None
        _, n, size, payload = unpack(msg, T_PAIR_CIPHER, self._sid)
        if n != len(self._choices) or size != self._size:
            raise ProtocolAbort("sender's ciphertexts do not match the run")
        expect_length(payload, n * 2 * (size + OT_TAG_SIZE), "OT ciphertexts")
        out = lib.ot_pair_decrypt(self._sid, self._keys, self._choices, payload, 0)
        self._keys = b""
        self._state = 2
        return out


class BatchReceiver(_PairReceiverBase):
    """Receiver of ``n`` chosen-message 1-of-2 OTs: ``respond(msg1) -> msg2``;
    ``receive(msg3) -> [m_{c_0}, m_{c_1}, …]``."""

    def __init__(
        self,
        choices: Sequence[int],
        *,
        session_id: bytes | None = None,
        message_size: int | None = None,
    ) -> None:
        super().__init__(choices, session_id=session_id, message_size=message_size)

    def receive(self, msg: bytes) -> list[bytes]:
        out = self._open(msg)
        size = len(out) // len(self._choices)
        return [out[i : i + size] for i in range(0, len(out), size)]


class Sender(BatchSender):
    """Sender of one 1-of-2 OT of ``m0``, ``m1`` (equal lengths)."""

    def __init__(self, m0: bytes, m1: bytes, *, session_id: bytes | None = None) -> None:
        super().__init__([(m0, m1)], session_id=session_id)


class Receiver(_PairReceiverBase):
    """Receiver of one 1-of-2 OT: ``respond(msg1) -> msg2``; ``receive(msg3) -> m_choice``."""

    def __init__(
        self, choice: int, *, session_id: bytes | None = None, message_size: int | None = None
    ) -> None:
        if choice not in (0, 1):
            raise ValueError("choice must be 0 or 1")
        super().__init__([choice], session_id=session_id, message_size=message_size)

    def receive(self, msg: bytes) -> bytes:
        return self._open(msg)


# ---- 1-of-N OT (Naor–Pinkas 1999) --------------------------------------------------------------


def _index_bits(n: int) -> int:
    return max(1, (n - 1).bit_length())


class OneOfNSender(_Role):
    """Sender of one 1-of-N OT over ``N`` equal-sized slots (2 ≤ N ≤ 65536, ≤ 65536 bytes each).

    ``start() -> msg1``; ``finish(msg2) -> msg3`` (all N slots, padded and tagged).
    """

    def __init__(self, slots: Sequence[bytes], *, session_id: bytes | None = None) -> None:
        if not 2 <= len(slots) <= OT_MAX_SLOTS:
            raise ValueError(f"1-of-N OT needs 2 to {OT_MAX_SLOTS} slots")
        size = len(slots[0])
        if not 1 <= size <= OT_MAX_SLOT_SIZE:
            raise ValueError(f"slots must be 1 to {OT_MAX_SLOT_SIZE} bytes")
        if any(not isinstance(s, bytes) or len(s) != size for s in slots):
            raise ValueError("all slots must be bytes of the same length")
        self._slots = b"".join(slots)
        self._n, self._size = len(slots), size
        self._sid = _new_session_id(session_id)
        self._secret = b""
        self._state = 0

    @property
    def session_id(self) -> bytes:
        return self._sid

    def start(self) -> bytes:
        self._enter(0, "start")
        public, self._secret = lib.ot_np_sender_setup()
        self._state = 1
        return pack(T_NOFN_SETUP, self._sid, self._n, self._size, public)

    def finish(self, msg: bytes) -> bytes:
        self._enter(1, "finish")
        _, n, _, payload = unpack(msg, T_NOFN_CHOOSE, self._sid)
        ell = _index_bits(self._n)
        if n != ell:
            raise ProtocolAbort("receiver answered for a different number of index bits")
        expect_length(payload, ell * OT_POINT_SIZE, "1-of-N receiver message")
        keys = lib.ot_np_sender_keys(self._sid, self._secret, payload, 0)
        out = lib.ot_nofn_encrypt(self._sid, keys, self._slots, self._size)
        self._secret = self._slots = b""
        self._state = 2
        return pack(T_NOFN_CIPHER, self._sid, self._n, self._size, out)


class OneOfNReceiver(_Role):
    """Receiver of slot ``index`` out of ``n``: ``respond(msg1) -> msg2``; ``receive(msg3) -> slot``."""

    def __init__(
        self,
        index: int,
        n: int,
        *,
        slot_size: int | None = None,
        session_id: bytes | None = None,
    ) -> None:
        if not 2 <= n <= OT_MAX_SLOTS:
            raise ValueError(f"1-of-N OT needs 2 to {OT_MAX_SLOTS} slots")
        if not 0 <= index < n:
            raise ValueError("slot index out of range")
        if slot_size is not None and not 1 <= slot_size <= OT_MAX_SLOT_SIZE:
            raise ValueError(f"slots must be 1 to {OT_MAX_SLOT_SIZE} bytes")
        self._index, self._n, self._size = index, n, slot_size
        self._sid: bytes | None = None if session_id is None else _new_session_id(session_id)
        self._keys = self._scalars = b""
        self._state = 0

    @property
    def session_id(self) -> bytes | None:
        return self._sid

    def __repr__(self) -> str:  # the index is the secret: never shown
        return f"<OneOfNReceiver n={self._n} state={self._state}>"

    def respond(self, msg: bytes) -> bytes:
        self._enter(0, "respond")
        sid, n, size, payload = unpack(msg, T_NOFN_SETUP, self._sid)
        if n != self._n or (self._size is not None and size != self._size):
            raise ProtocolAbort("sender offers a different number or size of slots")
        if not 1 <= size <= OT_MAX_SLOT_SIZE:
            raise MalformedMessage("slot size out of range")
        expect_length(payload, 2 * OT_POINT_SIZE, "1-of-N sender setup")
        self._sid, self._size = sid, size
        ell = _index_bits(n)
        bits = bytes((self._index >> j) & 1 for j in range(ell))
        # The receiver draws its scalars itself so that it can show them to an auditor later.
        self._scalars = b"".join(
            (secrets.randbelow(_P256_ORDER - 1) + 1).to_bytes(32, "big") for _ in range(ell)
        )
        pk0, self._keys = lib.ot_np_receiver_choose(sid, payload, bits, 0, self._scalars)
        self._state = 1
        return pack(T_NOFN_CHOOSE, sid, ell, 0, pk0)

    def evidence(self) -> bytes:
        """The receiver's OT randomness (its index and scalars), for :func:`audit_one_of_n`.

        Revealing it reveals the index: only for a dispute about a bad slot (DESIGN, Protocols 3).
        """
        if self._state not in (1, 2, -1) or not self._scalars:
            raise ProtocolStateError("no OT randomness yet")
        return self._index.to_bytes(4, "big") + self._scalars

    def receive(self, msg: bytes) -> bytes:
        self._enter(1, "receive")
        assert self._sid is not None and self._size is not None
        _, n, size, payload = unpack(msg, T_NOFN_CIPHER, self._sid)
        if n != self._n or size != self._size:
            raise ProtocolAbort("sender's slots do not match the run")
        rec = size + OT_TAG_SIZE
        expect_length(payload, n * rec, "1-of-N slots")
        mine = payload[self._index * rec : (self._index + 1) * rec]
        out = lib.ot_nofn_decrypt(self._sid, self._keys, self._index, mine)
        self._keys = b""
        self._state = 2
        return out


def audit_one_of_n(msg1: bytes, msg2: bytes, msg3: bytes, evidence: bytes) -> bytes:
    """Replay the receiver's side of a 1-of-N run from its transcript and evidence.

    Returns the slot if the sender's slot for that index opens; raises :class:`ProtocolAbort` if it
    does not (the sender sent a bad slot) and :class:`InvalidProof` if the evidence does not
    reproduce the receiver's own message (the receiver's claim is false).
    """
    sid, n, size, setup = unpack(msg1, T_NOFN_SETUP, None)
    ell = _index_bits(n)
    _, got_ell, _, pk0s = unpack(msg2, T_NOFN_CHOOSE, sid)
    _, n3, size3, slots = unpack(msg3, T_NOFN_CIPHER, sid)
    if got_ell != ell or n3 != n or size3 != size or not 2 <= n <= OT_MAX_SLOTS:
        raise MalformedMessage("transcript messages do not belong to one 1-of-N run")
    expect_length(setup, 2 * OT_POINT_SIZE, "1-of-N sender setup")
    expect_length(pk0s, ell * OT_POINT_SIZE, "1-of-N receiver message")
    rec = size + OT_TAG_SIZE
    expect_length(slots, n * rec, "1-of-N slots")
    if len(evidence) != 4 + 32 * ell:
        raise ValueError("evidence has the wrong length")
    index = int.from_bytes(evidence[:4], "big")
    if index >= n:
        raise InvalidProof("evidence names an index outside the run")
    bits = bytes((index >> j) & 1 for j in range(ell))
    try:
        pk0, keys = lib.ot_np_receiver_choose(sid, setup, bits, 0, evidence[4:])
    except ValueError as e:
        raise InvalidProof("evidence holds an invalid scalar") from e
    if not secrets.compare_digest(pk0, bytes(pk0s)):
        raise InvalidProof("evidence does not reproduce the receiver's message")
    return lib.ot_nofn_decrypt(sid, keys, index, slots[index * rec : (index + 1) * rec])


# ---- IKNP OT extension with the KOS check -------------------------------------------------------

T_EXT_BASE_SETUP = 0x10
T_EXT_BASE_CHOOSE = 0x11
T_EXT_MATRIX = 0x12
T_EXT_CHALLENGE = 0x13
T_EXT_PROOF = 0x14

EXT_WIDTH = 128  # κ: base OTs and columns of the IKNP matrix
_KOS_EXTRA = 256  # κ + 40 statistical bits of extra random OTs, rounded up to whole 128-bit blocks
_CIPHERS = {"aes": OT_CIPHER_AES, "sm4": OT_CIPHER_SM4}


def _cipher_id(cipher: str) -> int:
    try:
        return _CIPHERS[cipher]
    except KeyError:
        raise ValueError("cipher must be 'aes' (fixed-key AES-128, the default) or 'sm4'") from None


def _hash_key(sid: bytes) -> bytes:
    """The public fixed key of the correlation-robust hash, fresh per session."""
    return hashlib.sha256(b"riskshare/ot/tccr/v1" + sid).digest()[:16]


def _bits(choices: Sequence[int] | npt.NDArray[np.uint8], padded: int) -> npt.NDArray[np.uint8]:
    raw = np.asarray(choices)
    if raw.ndim != 1 or raw.size == 0:
        raise ValueError("choices must be a non-empty sequence of bits")
    if raw.dtype.kind not in "biu" or raw.min() < 0 or raw.max() > 1:
        raise ValueError("choice bits must be 0 or 1")
    c = raw.astype(np.uint8)
    pad = np.frombuffer(secrets.token_bytes(padded - c.size), dtype=np.uint8) & 1
    return np.packbits(np.concatenate([c, pad]), bitorder="little")


def _rows(buf: bytes, m: int) -> npt.NDArray[np.uint8]:
    return np.frombuffer(buf, dtype=np.uint8, count=m * 16).reshape(m, 16)


class _ExtReceiverBase(_Role):
    """Extension receiver (chooses). It acts as the *sender* of the 128 base OTs."""

    _kos: bool

    def __init__(self, *, cipher: str = "aes", session_id: bytes | None = None) -> None:
        self._cipher = _cipher_id(cipher)
        self._sid = _new_session_id(session_id)
        self._secret = self._k0 = self._k1 = b""
        self._batch = self._blocks = self._index = 0
        self._out: npt.NDArray[np.uint8] | None = None
        self._t = self._r = b""
        self._state = 0

    @property
    def session_id(self) -> bytes:
        return self._sid

    def start(self) -> bytes:
        """First message: the base-OT setup (this side is the base sender)."""
        self._enter(0, "start")
        public, self._secret = lib.ot_np_sender_setup()
        self._state = 1
        return pack(T_EXT_BASE_SETUP, self._sid, EXT_WIDTH, int(self._kos), public)

    def setup(self, msg: bytes) -> None:
        """Take the sender's base-OT answer; afterwards ``extend`` may run any number of times."""
        self._enter(1, "setup")
        _, n, _, payload = unpack(msg, T_EXT_BASE_CHOOSE, self._sid)
        if n != EXT_WIDTH:
            raise ProtocolAbort("extension sender answered for a different number of base OTs")
        expect_length(payload, EXT_WIDTH * OT_POINT_SIZE, "base-OT answer")
        keys = np.frombuffer(lib.ot_np_sender_keys(self._sid, self._secret, payload, 0), np.uint8)
        pairs = keys.reshape(EXT_WIDTH, 2, OT_KEY_SIZE)
        self._k0, self._k1 = pairs[:, 0].tobytes(), pairs[:, 1].tobytes()
        self._secret = b""
        self._state = 2

    def extend(self, choices: Sequence[int] | npt.NDArray[np.uint8]) -> bytes:
        """Start a batch of random OTs with these choice bits; returns the matrix message."""
        m = len(choices)
        if not 1 <= m <= OT_MAX_BATCH:
            raise ValueError("a batch holds 1 to 2^24 OTs")
        padded = -(-(m + (_KOS_EXTRA if self._kos else 0)) // 128) * 128
        r = _bits(choices, padded).tobytes()  # a bad argument leaves the run usable
        self._enter(2, "extend")
        u, out, t = lib.ot_iknp_recv(
            self._cipher, self._k0, self._k1, self._blocks, r, _hash_key(self._sid), self._index, m, self._kos
        )
        self._out = _rows(out, m)
        msg = pack(T_EXT_MATRIX, self._sid, self._batch, m, u)
        self._batch += 1
        self._blocks += padded // 128
        self._index += padded
        if self._kos:
            self._t, self._r = t, r
            self._state = 3
        else:
            self._state = 2
        return msg

    def outputs(self) -> npt.NDArray[np.uint8]:
        """The receiver's m × 16 random-OT outputs x_{j, c_j} of the last batch."""
        if self._out is None:
            raise ProtocolStateError("no batch has been extended yet")
        return self._out


class _ExtSenderBase(_Role):
    """Extension sender: its random choice string s picks the base-OT keys (base receiver)."""

    _kos: bool

    def __init__(self, *, cipher: str = "aes", session_id: bytes | None = None) -> None:
        self._cipher = _cipher_id(cipher)
        self._sid: bytes | None = None if session_id is None else _new_session_id(session_id)
        self._s = self._ks = self._q = b""
        self._x: tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]] | None = None
        self._batch = self._blocks = self._index = 0
        self._state = 0

    @property
    def session_id(self) -> bytes | None:
        return self._sid

    def respond(self, msg: bytes) -> bytes:
        self._enter(0, "respond")
        sid, n, kos, payload = unpack(msg, T_EXT_BASE_SETUP, self._sid)
        if n != EXT_WIDTH or kos != int(self._kos):
            raise ProtocolAbort("extension receiver asks for different parameters")
        expect_length(payload, 2 * OT_POINT_SIZE, "base-OT setup")
        self._sid = sid
        self._s = secrets.token_bytes(EXT_WIDTH // 8)
        sbits = np.unpackbits(np.frombuffer(self._s, np.uint8), bitorder="little").tobytes()
        pk0, self._ks = lib.ot_np_receiver_choose(sid, payload, sbits, 0)
        self._state = 2
        return pack(T_EXT_BASE_CHOOSE, sid, EXT_WIDTH, 0, pk0)

    def _matrix(self, msg: bytes) -> None:
        assert self._sid is not None
        _, batch, m, payload = unpack(msg, T_EXT_MATRIX, self._sid)
        if batch != self._batch:
            raise ProtocolAbort("extension batch out of sequence (replayed or dropped)")
        if not 1 <= m <= OT_MAX_BATCH:
            raise MalformedMessage("extension batch size out of range")
        padded = -(-(m + (_KOS_EXTRA if self._kos else 0)) // 128) * 128
        expect_length(payload, EXT_WIDTH * padded // 8, "extension matrix")
        x0, x1, self._q = lib.ot_iknp_send(
            self._cipher,
            self._ks,
            self._s,
            self._blocks,
            payload,
            _hash_key(self._sid),
            self._index,
            m,
            self._kos,
        )
        self._x = (_rows(x0, m), _rows(x1, m))
        self._batch += 1
        self._blocks += padded // 128
        self._index += padded

    def _outputs(self) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        out, self._x, self._q = self._x, None, b""
        assert out is not None
        return out


class IKNPReceiver(_ExtReceiverBase):
    """IKNP OT-extension receiver, semi-honest. ``start() -> msg1``; ``setup(msg2)``; then per batch
    ``extend(choices) -> msg`` and ``outputs()``. Secure against a semi-honest sender and receiver
    (IKNP03) with the tweakable correlation-robust hash of GKWY20 as the random oracle."""

    _kos = False


class IKNPSender(_ExtSenderBase):
    """IKNP OT-extension sender, semi-honest: ``respond(msg1) -> msg2``; per batch
    ``extend(msg) -> (x0, x1)``, each m × 16 random pads."""

    _kos = False

    def extend(self, msg: bytes) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        self._enter(2, "extend")
        self._matrix(msg)
        out = self._outputs()
        self._state = 2
        return out


class KOSReceiver(_ExtReceiverBase):
    """IKNP receiver with the KOS15 consistency check: per batch ``extend(choices) -> msg``,
    ``prove(challenge) -> msg``. The check lets the sender catch a malicious receiver that
    uses inconsistent choice bits across columns (the attack that would leak bits of s)."""

    _kos = True

    def prove(self, msg: bytes) -> bytes:
        self._enter(3, "prove")
        _, batch, _, seed = unpack(msg, T_EXT_CHALLENGE, self._sid)
        if batch != self._batch - 1:
            raise ProtocolAbort("challenge for another batch")
        expect_length(seed, 16, "KOS challenge")
        acc, x = lib.ot_kos_combine(self._cipher, seed, self._t, self._r)
        self._t = self._r = b""
        self._state = 2
        return pack(T_EXT_PROOF, self._sid, batch, 0, x + acc)


class KOSSender(_ExtSenderBase):
    """IKNP sender with the KOS15 check against a malicious receiver: per batch
    ``challenge(msg) -> msg``; ``verify(proof) -> (x0, x1)`` or ProtocolAbort."""

    _kos = True

    def challenge(self, msg: bytes) -> bytes:
        self._enter(2, "challenge")
        self._matrix(msg)
        self._seed = secrets.token_bytes(16)
        self._state = 3
        assert self._sid is not None
        return pack(T_EXT_CHALLENGE, self._sid, self._batch - 1, 0, self._seed)

    def verify(self, msg: bytes) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        self._enter(3, "verify")
        assert self._sid is not None
        _, batch, _, payload = unpack(msg, T_EXT_PROOF, self._sid)
        if batch != self._batch - 1:
            raise ProtocolAbort("proof for another batch")
        expect_length(payload, 48, "KOS proof")
        x, acc_t = bytes(payload[:16]), bytes(payload[16:])
        acc_q, _ = lib.ot_kos_combine(self._cipher, self._seed, self._q, b"")
        xs = lib.ot_clmul128(x, self._s)
        if not secrets.compare_digest(acc_q, bytes(a ^ b for a, b in zip(acc_t, xs, strict=True))):
            raise ProtocolAbort("KOS consistency check failed: the receiver deviated")
        out = self._outputs()
        self._state = 2
        return out
