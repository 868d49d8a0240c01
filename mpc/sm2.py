"""SM2 (GB/T 32918-2016 parts 1-5): signatures, public-key encryption, static agreement and the
key exchange of part 3, with PKCS#8 / SubjectPublicKeyInfo serialization.

Signatures hash with SM2's own Z_A ‖ M under SM3 (no extra pre-hash) and use the distinguishing ID
``1234567812345678`` unless told otherwise, which is what ``openssl pkeyutl -rawin -digest sm3
-pkeyopt distid:1234567812345678`` does. Signatures are DER ``SEQUENCE { r, s }`` and are never
"low-S" normalized (SM2's s is not malleable that way). Ciphertexts are C1C3C2 in the DER form of
GM/T 0009 (``SEQUENCE { x, y, hash, ciphertext }``), the form OpenSSL reads and writes.

>>> key = SM2PrivateKey.generate()
>>> sig = key.sign(b"request")
>>> key.public_key().verify(sig, b"request")  # None, or InvalidSignature
>>> key.decrypt(key.public_key().encrypt(b"k" * 16)) == b"k" * 16
True
>>> other = SM2PrivateKey.generate()
>>> key.exchange(other.public_key()) == other.exchange(key.public_key())  # static x(d·P)
True

Keys are thin wrappers over an opaque native handle; nothing here depends on OpenSSL objects, so
the arithmetic underneath can be swapped for a faster core without touching callers.
"""

from __future__ import annotations

from typing import Self

from mpc._binding import (
    SM2_POINT_COMPRESSED_SIZE,
    SM2_POINT_SIZE,
    SM2_SCALAR_SIZE,
    SM2_UID_MAX,
    SM2Curve,
    SM2Key,
    ct_equal,
    lib,
)
from mpc.exceptions import (
    DecryptionError,
    InvalidPoint,
    InvalidSignature,
    ProtocolAbort,
    ProtocolStateError,
)
from mpc.sm3 import sm3, sm3_kdf

__all__ = [
    "DEFAULT_UID",
    "POINT_SIZE",
    "SCALAR_SIZE",
    "DecryptionError",
    "InvalidPoint",
    "InvalidSignature",
    "KeyExchangeInitiator",
    "KeyExchangeResponder",
    "SM2PrivateKey",
    "SM2PublicKey",
    "load_der_private_key",
    "load_der_public_key",
    "load_pem_private_key",
    "load_pem_public_key",
]

DEFAULT_UID = b"1234567812345678"
SCALAR_SIZE = SM2_SCALAR_SIZE
POINT_SIZE = SM2_POINT_SIZE
COMPRESSED_POINT_SIZE = SM2_POINT_COMPRESSED_SIZE

Bytes = bytes | bytearray | memoryview


def _bytes(name: str, value: object) -> Bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"SM2 {name} must be bytes, not {type(value).__name__}")
    return value


def _uid(uid: object) -> None:
    if len(_bytes("uid", uid)) > SM2_UID_MAX:
        raise ValueError(f"SM2 uid must be at most {SM2_UID_MAX} bytes (ENTL is 16 bits)")


class SM2PublicKey:
    """An SM2 public key (a point on the recommended curve of GB/T 32918.5)."""

    __slots__ = ("_h",)

    def __init__(self, handle: SM2Key) -> None:
        # Use from_bytes / SM2PrivateKey.public_key(); the handle is an implementation detail.
        if not isinstance(handle, SM2Key):
            raise TypeError("use SM2PublicKey.from_bytes() to build a public key")
        self._h = handle

    @classmethod
    def from_bytes(cls, data: Bytes) -> Self:
        """Decode a 65-byte uncompressed (04 ‖ x ‖ y) or 33-byte compressed point; raises
        ``InvalidPoint`` if it is malformed, off the curve or the point at infinity."""
        return cls._from_bytes_on(data, None)

    @classmethod
    def _from_bytes_on(cls, data: Bytes, curve: SM2Curve | None) -> Self:
        _bytes("public key", data)
        return cls(lib.sm2_key_from_public(data, curve))

    def to_bytes(self, compressed: bool = False) -> bytes:
        return self._h.public_bytes(bool(compressed))

    def verify(self, signature: Bytes, data: Bytes, *, uid: Bytes = DEFAULT_UID) -> None:
        """Return None if ``signature`` (DER) is valid for ``data`` under ``uid``, else raise
        ``InvalidSignature`` (also for malformed DER)."""
        _bytes("signature", signature)
        _bytes("data", data)
        _uid(uid)
        self._h.verify(signature, data, uid)

    def encrypt(self, data: Bytes) -> bytes:
        """SM2 encryption (GB/T 32918.4) to this key: DER C1C3C2 (GM/T 0009)."""
        _bytes("plaintext", data)
        return self._h.encrypt(data)

    def _encrypt_with_k(self, data: Bytes, k: bytes) -> bytes:
        """Encryption with a fixed nonce k (known-answer tests only)."""
        _bytes("plaintext", data)
        _bytes("k", k)
        return self._h.encrypt(data, k)

    def z_a(self, uid: Bytes = DEFAULT_UID) -> bytes:
        """Z_A = SM3(ENTL ‖ ID ‖ a ‖ b ‖ x_G ‖ y_G ‖ x_A ‖ y_A) (GB/T 32918.2, 5.5)."""
        _uid(uid)
        return self._h.z_a(uid)

    def public_bytes_der(self) -> bytes:
        """SubjectPublicKeyInfo, DER."""
        return self._h.serialize(False, False)

    def public_bytes_pem(self) -> bytes:
        """SubjectPublicKeyInfo, PEM (``-----BEGIN PUBLIC KEY-----``)."""
        return self._h.serialize(False, True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SM2PublicKey):
            return NotImplemented
        return self.to_bytes() == other.to_bytes()

    def __hash__(self) -> int:
        return hash(self.to_bytes())

    def __repr__(self) -> str:
        return f"<SM2PublicKey {self.to_bytes(True).hex()[:18]}…>"

    def __reduce__(self) -> tuple[object, tuple[bytes]]:
        if not self._h.curve.recommended:
            raise TypeError("only keys on the recommended curve can be pickled")
        return (type(self).from_bytes, (self.to_bytes(),))


class SM2PrivateKey:
    """An SM2 private key d in [1, n-2] with its public key P = d·G."""

    __slots__ = ("_h", "_pub")

    def __init__(self, handle: SM2Key) -> None:
        if not isinstance(handle, SM2Key) or not handle.has_private:
            raise TypeError("use SM2PrivateKey.generate() or from_private_bytes() to build a private key")
        self._h = handle
        self._pub: SM2PublicKey | None = None

    @classmethod
    def generate(cls) -> Self:
        """A fresh key from OpenSSL's DRBG (seeded from the OS)."""
        return cls(lib.sm2_key_generate(None))

    @classmethod
    def from_private_bytes(cls, data: Bytes) -> Self:
        """The key with the 32-byte big-endian scalar ``data`` (must be in [1, n-2])."""
        return cls._from_private_bytes_on(data, None)

    @classmethod
    def _from_private_bytes_on(cls, data: Bytes, curve: SM2Curve | None) -> Self:
        _bytes("private key", data)
        if len(data) != SCALAR_SIZE:
            raise ValueError(f"SM2 private key must be {SCALAR_SIZE} bytes, got {len(data)}")
        return cls(lib.sm2_key_from_private(data, curve))

    def private_bytes(self) -> bytes:
        """The raw 32-byte private scalar. Handle with care."""
        return self._h.private_bytes()

    def public_key(self) -> SM2PublicKey:
        if self._pub is None:
            self._pub = SM2PublicKey(lib.sm2_key_from_public(self._h.public_bytes(False), self._h.curve))
        return self._pub

    def sign(self, data: Bytes, *, uid: Bytes = DEFAULT_UID) -> bytes:
        """DER signature (r, s) over SM3(Z_A ‖ data) (GB/T 32918.2, 6.1); a fresh nonce each call."""
        _bytes("data", data)
        _uid(uid)
        return self._h.sign(data, uid)

    def _sign_with_k(self, data: Bytes, k: bytes, *, uid: Bytes = DEFAULT_UID) -> bytes:
        """Signing with a fixed nonce k (known-answer tests only: a repeated k leaks d)."""
        _bytes("data", data)
        _bytes("k", k)
        _uid(uid)
        return self._h.sign(data, uid, k)

    def decrypt(self, ciphertext: Bytes) -> bytes:
        """Decrypt DER C1C3C2; ``DecryptionError`` for every kind of failure (one message)."""
        _bytes("ciphertext", ciphertext)
        return self._h.decrypt(ciphertext)

    def exchange(self, peer: SM2PublicKey) -> bytes:
        """Static agreement: the 32-byte x coordinate of d·P_peer (no interaction, no KDF; derive
        keys from it with ``mpc.sm3.sm3_kdf`` and both parties' Z values)."""
        if not isinstance(peer, SM2PublicKey):
            raise TypeError(f"SM2 peer must be an SM2PublicKey, not {type(peer).__name__}")
        return self._h.exchange(peer._h)

    def private_bytes_der(self, password: Bytes | None = None) -> bytes:
        """PKCS#8 DER; with a password, encrypted PKCS#8 (PBES2: PBKDF2-HMAC-SHA256, 100,000 rounds,
        16-byte salt; AES-256-CBC), readable by `openssl pkey` and other PKCS#8 readers."""
        return self._h.serialize(True, False, _password(password))

    def private_bytes_pem(self, password: Bytes | None = None) -> bytes:
        """PKCS#8 PEM (``PRIVATE KEY``, or ``ENCRYPTED PRIVATE KEY`` with a password)."""
        return self._h.serialize(True, True, _password(password))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SM2PrivateKey):
            return NotImplemented
        return ct_equal(self.private_bytes(), other.private_bytes())

    def __hash__(self) -> int:
        return hash(self._h.public_bytes(False))

    def __reduce__(self) -> tuple[object, ...]:
        # Private keys leave the process only through private_bytes*() on purpose.
        raise TypeError("SM2PrivateKey cannot be pickled; use private_bytes_pem(password)")

    def __repr__(self) -> str:
        return f"<SM2PrivateKey public={self._h.public_bytes(True).hex()[:18]}…>"


def _password(password: object) -> bytes | None:
    if password is None:
        return None
    pw = bytes(_bytes("password", password))
    if not pw:
        raise ValueError("SM2 key password must not be empty")
    return pw


# ---- loading ----------------------------------------------------------------------------------


def _check_encryption(encrypted: bool, password: bytes | None) -> None:
    if encrypted and password is None:
        raise TypeError("password was not given but the private key is encrypted")
    if not encrypted and password is not None:
        raise TypeError("password was given but the private key is not encrypted")


def _private_from_loaded(d: bytes | None, pub: bytes) -> SM2PrivateKey:
    if d is None:  # pragma: no cover - the native loader always returns d for private keys
        raise ValueError("could not load SM2 private key: no private scalar")
    key = SM2PrivateKey.from_private_bytes(d)
    if key.public_key() != SM2PublicKey.from_bytes(pub):
        raise ValueError("SM2 private key file holds a public key that does not match its scalar")
    return key


def load_pem_private_key(data: Bytes, password: Bytes | None = None) -> SM2PrivateKey:
    """Load a PEM PKCS#8 (plain or encrypted) or SEC1 SM2 private key."""
    _bytes("PEM data", data)
    pw = None if password is None else _password(password)
    raw = bytes(data)
    _check_encryption(b"ENCRYPTED PRIVATE KEY" in raw or b"Proc-Type: 4,ENCRYPTED" in raw, pw)
    d, pub = lib.sm2_load(raw, True, True, pw)
    return _private_from_loaded(d, pub)


def load_der_private_key(data: Bytes, password: Bytes | None = None) -> SM2PrivateKey:
    """Load a DER PKCS#8 (plain or encrypted) or SEC1 SM2 private key."""
    _bytes("DER data", data)
    pw = None if password is None else _password(password)
    _check_encryption(lib.sm2_der_is_encrypted(data), pw)
    d, pub = lib.sm2_load(data, True, False, pw)
    return _private_from_loaded(d, pub)


def load_pem_public_key(data: Bytes) -> SM2PublicKey:
    """Load a PEM SubjectPublicKeyInfo holding an SM2 point."""
    _bytes("PEM data", data)
    _, pub = lib.sm2_load(data, False, True, None)
    return SM2PublicKey.from_bytes(pub)


def load_der_public_key(data: Bytes) -> SM2PublicKey:
    """Load a DER SubjectPublicKeyInfo holding an SM2 point."""
    _bytes("DER data", data)
    _, pub = lib.sm2_load(data, False, False, None)
    return SM2PublicKey.from_bytes(pub)


# ---- key exchange (GB/T 32918.3) --------------------------------------------------------------


class _KeyExchange:
    """Shared state of one side of the SM2 key exchange."""

    _initiator: bool

    def __init__(
        self,
        private_key: SM2PrivateKey,
        peer_public_key: SM2PublicKey,
        *,
        key_length: int = 16,
        uid: Bytes = DEFAULT_UID,
        peer_uid: Bytes = DEFAULT_UID,
    ) -> None:
        if not isinstance(private_key, SM2PrivateKey):
            raise TypeError("SM2 key exchange needs an SM2PrivateKey")
        if not isinstance(peer_public_key, SM2PublicKey):
            raise TypeError("SM2 key exchange needs the peer's SM2PublicKey")
        if not isinstance(key_length, int) or isinstance(key_length, bool):
            raise TypeError("SM2 key exchange key_length must be an int")
        if not 1 <= key_length <= 1 << 20:
            raise ValueError("SM2 key exchange key_length must be in [1, 2^20] bytes")
        self._key = private_key
        self._peer = peer_public_key
        self._klen = key_length
        own_z = private_key.public_key().z_a(uid)
        peer_z = peer_public_key.z_a(peer_uid)
        # Z_A is always the initiator's, Z_B the responder's.
        self._za, self._zb = (own_z, peer_z) if self._initiator else (peer_z, own_z)
        self._eph: SM2PrivateKey | None = None
        self._state = "new"

    def _point(self, data: Bytes, name: str) -> SM2PublicKey:
        _bytes(name, data)
        try:
            return SM2PublicKey._from_bytes_on(data, self._key._h.curve)
        except InvalidPoint as e:
            raise ProtocolAbort(f"SM2 key exchange: {name} is not a valid point ({e})") from e

    def _ephemeral(self, r: bytes | None) -> SM2PrivateKey:
        if r is None:
            return SM2PrivateKey(lib.sm2_key_generate(self._key._h.curve))
        return SM2PrivateKey._from_private_bytes_on(r, self._key._h.curve)

    def _shared(self, peer_eph: SM2PublicKey, r_a: bytes, r_b: bytes) -> tuple[bytes, bytes, bytes]:
        """(K, y_U, inner hash) from U = [t](P_peer + [x̄_peer] R_peer)."""
        assert self._eph is not None
        u = self._key._h.kx_point(self._eph._h, self._peer._h, peer_eph._h)
        xu, yu = u[:32], u[32:]
        k = sm3_kdf(xu + yu + self._za + self._zb, self._klen)
        inner = sm3(xu + self._za + self._zb + r_a[1:] + r_b[1:])
        return k, yu, inner

    def _step(self, expected: str, new: str) -> None:
        if self._state != expected:
            raise ProtocolStateError(f"SM2 key exchange: step called in state {self._state!r}")
        self._state = new

    def __repr__(self) -> str:
        return f"<{type(self).__name__} state={self._state}>"


class KeyExchangeInitiator(_KeyExchange):
    """User A of GB/T 32918.3, 6.1: ``start()`` → R_A; ``finish(R_B, S_B)`` → (K_A, S_A)."""

    _initiator = True

    def start(self) -> bytes:
        return self._start(None)

    def _start(self, r_a: bytes | None) -> bytes:
        """Steps A1-A3 (``r_a`` fixed only in known-answer tests)."""
        self._step("new", "started")
        self._eph = self._ephemeral(r_a)
        return self._eph.public_key().to_bytes()

    def finish(self, r_b: Bytes, s_b: Bytes | None) -> tuple[bytes, bytes]:
        """Steps A4-A10: check R_B, derive K_A, check S_B when given (key confirmation) and return
        (K_A, S_A) — send S_A to B for its confirmation. ``ProtocolAbort`` on a bad R_B or S_B."""
        self._step("started", "done")
        assert self._eph is not None
        peer_eph = self._point(r_b, "R_B")
        r_a = self._eph.public_key().to_bytes()
        rb = peer_eph.to_bytes()
        k, yu, inner = self._shared(peer_eph, r_a, rb)
        if s_b is not None:
            _bytes("S_B", s_b)
            if not ct_equal(sm3(b"\x02" + yu + inner), bytes(s_b)):
                raise ProtocolAbort("SM2 key exchange: responder's confirmation S_B does not match")
        self._eph = None
        return k, sm3(b"\x03" + yu + inner)


class KeyExchangeResponder(_KeyExchange):
    """User B of GB/T 32918.3, 6.1: ``respond(R_A)`` → (R_B, S_B); ``finish(S_A)`` → K_B."""

    _initiator = False

    def respond(self, r_a: Bytes) -> tuple[bytes, bytes]:
        return self._respond(r_a, None)

    def _respond(self, r_a: Bytes, r_b: bytes | None) -> tuple[bytes, bytes]:
        """Steps B1-B9 (``r_b`` fixed only in known-answer tests)."""
        self._step("new", "responded")
        peer_eph = self._point(r_a, "R_A")
        self._eph = self._ephemeral(r_b)
        rb = self._eph.public_key().to_bytes()
        k, yv, inner = self._shared(peer_eph, peer_eph.to_bytes(), rb)
        self._k, self._s2 = k, sm3(b"\x03" + yv + inner)
        self._eph = None
        return rb, sm3(b"\x02" + yv + inner)

    def finish(self, s_a: Bytes | None) -> bytes:
        """Step B10: check A's confirmation S_A (pass None to skip confirmation) and return K_B."""
        self._step("responded", "done")
        if s_a is not None:
            _bytes("S_A", s_a)
            if not ct_equal(self._s2, bytes(s_a)):
                raise ProtocolAbort("SM2 key exchange: initiator's confirmation S_A does not match")
        k = self._k
        del self._k, self._s2
        return k
