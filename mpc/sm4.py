"""SM4-GCM (GB/T 32907-2016 block cipher in GCM mode, as RFC 8998 uses it for TLS).

The API has the shape of ``cryptography``'s ``AESGCM``: ``SM4GCM(key).encrypt(nonce, data, aad)``
returns ciphertext ‖ 16-byte tag, ``decrypt`` returns the plaintext or raises ``InvalidTag``.
Raw ECB, CBC and CTR are under ``mpc.hazmat.sm4``.
"""

from __future__ import annotations

import os

from mpc._binding import SM4_GCM_TAG_SIZE, SM4_KEY_SIZE, lib
from mpc.exceptions import InvalidTag

__all__ = ["KEY_SIZE", "NONCE_SIZE", "SM4GCM", "TAG_SIZE", "InvalidTag"]

KEY_SIZE = SM4_KEY_SIZE
TAG_SIZE = SM4_GCM_TAG_SIZE
NONCE_SIZE = 12

Bytes = bytes | bytearray | memoryview


class SM4GCM:
    """Authenticated encryption with SM4-GCM under one 16-byte key.

    Nonces must never repeat under a key; 12 random bytes (``os.urandom(12)``) are the norm, other
    lengths from 1 to 1,024 bytes are accepted as SP 800-38D defines them.
    """

    __slots__ = ("_ctx",)

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray | memoryview):
            raise TypeError("SM4 key must be bytes")
        if len(key) != KEY_SIZE:
            raise ValueError("SM4 key must be 16 bytes")
        self._ctx = lib.SM4GCMContext(key)

    @staticmethod
    def generate_key() -> bytes:
        return os.urandom(KEY_SIZE)

    def encrypt(self, nonce: Bytes, data: Bytes, associated_data: Bytes | None) -> bytes:
        _check_bytes(nonce, data, associated_data)
        return self._ctx.encrypt(nonce, data, associated_data)

    def decrypt(self, nonce: Bytes, data: Bytes, associated_data: Bytes | None) -> bytes:
        _check_bytes(nonce, data, associated_data)
        return self._ctx.decrypt(nonce, data, associated_data)

    def __repr__(self) -> str:
        return "<SM4GCM key=…>"


def _check_bytes(nonce: object, data: object, aad: object) -> None:
    for name, v in (("nonce", nonce), ("data", data)):
        if not isinstance(v, bytes | bytearray | memoryview):
            raise TypeError(f"SM4-GCM {name} must be bytes, not {type(v).__name__}")
    if aad is not None and not isinstance(aad, bytes | bytearray | memoryview):
        raise TypeError(f"SM4-GCM associated_data must be bytes or None, not {type(aad).__name__}")
