"""Digital envelope (數字信封 / 数字信封): data sealed for one SM2 recipient.

``seal`` draws a fresh SM4 key, encrypts the data with SM4-GCM under it and wraps the key with SM2
public-key encryption (GB/T 32918.4) for the recipient; ``open`` reverses it and raises one
``InvalidEnvelope`` for every failure, whatever the cause, so the error is no oracle.

Format, version 1 (all lengths fixed except the data)::

    0x01 ‖ C1 (33, compressed point) ‖ C3 (32) ‖ C2 (16, the wrapped SM4 key) ‖ SM4-GCM(data) ‖ tag (16)

C1 ‖ C3 ‖ C2 is the SM2 ciphertext of the key with C1 in compressed form, which saves 32 bytes
over the uncompressed form and about 40 over GM/T 0009's DER (98 bytes of overhead in all). The GCM
associated data is the 82-byte header followed by the caller's ``aad``, so the version and the
wrapped key are authenticated too. The GCM nonce is the constant 0^96: each SM4 key is drawn
afresh for one envelope and used once, which is all SP 800-38D asks of a nonce.

Anyone can seal to a public key: an envelope proves nothing about its sender. Where the sender
matters, sign the envelope (``SM2PrivateKey.sign``) or bind the sender into ``aad``.
"""

from __future__ import annotations

import os

from mpc.exceptions import DecryptionError, InvalidEnvelope, InvalidPoint, InvalidTag
from mpc.sm2 import SM2PrivateKey, SM2PublicKey
from mpc.sm4 import KEY_SIZE, SM4GCM, TAG_SIZE

__all__ = ["OVERHEAD", "VERSION", "InvalidEnvelope", "open", "seal"]

VERSION = 1
_C1 = 33
_C3 = 32
_HEADER = 1 + _C1 + _C3 + KEY_SIZE
OVERHEAD = _HEADER + TAG_SIZE
_NONCE = bytes(12)

Bytes = bytes | bytearray | memoryview


def _check(name: str, value: object) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"envelope {name} must be bytes, not {type(value).__name__}")


def _der_len(n: int) -> bytes:
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def _der_uint(v: bytes) -> bytes:
    v = v.lstrip(b"\x00") or b"\x00"
    if v[0] & 0x80:
        v = b"\x00" + v
    return b"\x02" + _der_len(len(v)) + v


def _wrap_compact(der: bytes) -> bytes:
    """GM/T 0009 DER (from our own encrypt) → compressed C1 ‖ C3 ‖ C2."""
    i = 3 if der[1] == 0x81 else 2
    parts: list[bytes] = []
    while i < len(der):
        n = der[i + 1]
        parts.append(der[i + 2 : i + 2 + n])
        i += 2 + n
    x, y, c3, c2 = (p.rjust(32, b"\x00")[-32:] if k < 2 else p for k, p in enumerate(parts))
    return bytes([2 | (y[-1] & 1)]) + x + c3 + c2


def _unwrap_der(c1: bytes, c3: bytes, c2: bytes) -> bytes:
    """Compressed C1 ‖ C3 ‖ C2 → GM/T 0009 DER; ``InvalidPoint`` if C1 is not on the curve."""
    point = SM2PublicKey.from_bytes(c1).to_bytes()
    body = (
        _der_uint(point[1:33]) + _der_uint(point[33:]) + b"\x04\x20" + c3 + b"\x04" + _der_len(len(c2)) + c2
    )
    return b"\x30" + _der_len(len(body)) + body


def seal(recipient: SM2PublicKey, data: Bytes, aad: Bytes = b"") -> bytes:
    """Seal ``data`` for ``recipient``; ``aad`` is authenticated but not encrypted (``open`` needs
    the same value)."""
    if not isinstance(recipient, SM2PublicKey):
        raise TypeError(f"envelope recipient must be an SM2PublicKey, not {type(recipient).__name__}")
    _check("data", data)
    _check("aad", aad)
    key = os.urandom(KEY_SIZE)
    header = bytes([VERSION]) + _wrap_compact(recipient.encrypt(key))
    return header + SM4GCM(key).encrypt(_NONCE, data, header + bytes(aad))


def open(private_key: SM2PrivateKey, envelope: Bytes, aad: Bytes = b"") -> bytes:
    """Open an envelope sealed to ``private_key``'s public key; ``InvalidEnvelope`` on any
    failure (wrong key, tampered or truncated envelope, other ``aad``, unknown version)."""
    if not isinstance(private_key, SM2PrivateKey):
        raise TypeError(f"envelope key must be an SM2PrivateKey, not {type(private_key).__name__}")
    _check("envelope", envelope)
    _check("aad", aad)
    env = bytes(envelope)
    if len(env) < OVERHEAD or env[0] != VERSION:
        raise InvalidEnvelope("envelope could not be opened")
    header = env[:_HEADER]
    c1, c3, c2 = header[1 : 1 + _C1], header[1 + _C1 : 1 + _C1 + _C3], header[1 + _C1 + _C3 :]
    try:
        key = private_key.decrypt(_unwrap_der(c1, c3, c2))
    except (DecryptionError, InvalidPoint):
        # Carry on with a random key so both failure paths do the same work and fail the same way.
        key = os.urandom(KEY_SIZE)
    try:
        return SM4GCM(key).decrypt(_NONCE, env[_HEADER:], header + bytes(aad))
    except InvalidTag:
        raise InvalidEnvelope("envelope could not be opened") from None
