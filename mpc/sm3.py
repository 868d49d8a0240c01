"""SM3 (GB/T 32905-2016): the hash, a hashlib-style object, HMAC-SM3, the SM3 KDF of
GB/T 32918.4-2016 (section 5.4.3) and HKDF-SM3 (RFC 5869 instantiated with HMAC-SM3).

>>> sm3(b"abc").hex()[:16]
'66c7f0f462eeedd9'
"""

from __future__ import annotations

from typing import Self

from mpc._binding import SM3_BLOCK_SIZE, SM3_DIGEST_SIZE, lib

__all__ = [
    "BLOCK_SIZE",
    "DIGEST_SIZE",
    "SM3",
    "hkdf_sm3",
    "hkdf_sm3_expand",
    "hkdf_sm3_extract",
    "hmac_sm3",
    "sm3",
    "sm3_kdf",
]

DIGEST_SIZE = SM3_DIGEST_SIZE
BLOCK_SIZE = SM3_BLOCK_SIZE
_HKDF_MAX = 255 * SM3_DIGEST_SIZE


def sm3(data: bytes | bytearray | memoryview) -> bytes:
    """The 32-byte SM3 digest of ``data``."""
    return lib.sm3(data)


class SM3:
    """hashlib-style running SM3 hash: ``update``, ``digest``, ``hexdigest``, ``copy``.

    Also usable as ``digestmod`` for the standard library's ``hmac`` module.
    """

    name = "sm3"
    digest_size = SM3_DIGEST_SIZE
    block_size = SM3_BLOCK_SIZE
    __slots__ = ("_ctx",)

    def __init__(self, data: bytes | bytearray | memoryview = b"") -> None:
        self._ctx = lib.SM3Context(data)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._ctx.update(data)

    def digest(self) -> bytes:
        return self._ctx.digest()

    def hexdigest(self) -> str:
        return self._ctx.digest().hex()

    def copy(self) -> Self:
        c = object.__new__(type(self))
        c._ctx = self._ctx.copy()
        return c

    def __repr__(self) -> str:
        return "<SM3 running hash>"


def hmac_sm3(key: bytes, data: bytes | bytearray | memoryview) -> bytes:
    """HMAC-SM3 (RFC 2104 with SM3, block size 64)."""
    return lib.hmac_sm3(key, data)


def sm3_kdf(z: bytes, length: int) -> bytes:
    """The key-derivation function of GB/T 32918.4-2016, 5.4.3: SM3(Z ‖ ct) for ct = 1, 2, …,
    concatenated and truncated to ``length`` bytes."""
    if not isinstance(length, int) or isinstance(length, bool):
        raise TypeError("SM3 KDF length must be an int")
    return lib.sm3_kdf(z, length)


def hkdf_sm3_extract(salt: bytes, ikm: bytes) -> bytes:
    """HKDF-Extract (RFC 5869, 2.2) with HMAC-SM3; an empty salt means 32 zero bytes."""
    return lib.hmac_sm3(salt or bytes(SM3_DIGEST_SIZE), ikm)


def hkdf_sm3_expand(prk: bytes, info: bytes, length: int) -> bytes:
    """HKDF-Expand (RFC 5869, 2.3) with HMAC-SM3; ``length`` at most 255 × 32 bytes."""
    if not 0 <= length <= _HKDF_MAX:
        raise ValueError(f"HKDF-SM3 length must be between 0 and {_HKDF_MAX} bytes")
    if len(prk) < SM3_DIGEST_SIZE:
        raise ValueError("HKDF-SM3 pseudorandom key must be at least 32 bytes")
    out = bytearray()
    block = b""
    counter = 1
    while len(out) < length:
        block = lib.hmac_sm3(prk, block + info + bytes([counter]))
        out += block
        counter += 1
    return bytes(out[:length])


def hkdf_sm3(ikm: bytes, length: int, salt: bytes = b"", info: bytes = b"") -> bytes:
    """HKDF (RFC 5869) with HMAC-SM3: extract then expand."""
    return hkdf_sm3_expand(hkdf_sm3_extract(salt, ikm), info, length)
