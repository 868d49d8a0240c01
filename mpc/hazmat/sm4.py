"""Raw SM4 modes: ECB, CBC with PKCS#7 padding, CTR.

.. warning::
   These provide confidentiality only, no integrity; ECB leaks equal blocks. Use
   ``mpc.sm4.SM4GCM`` unless a standard or a test vector requires one of these.
"""

from __future__ import annotations

from mpc._binding import SM4_BLOCK_SIZE, SM4_KEY_SIZE, lib

__all__ = [
    "BLOCK_SIZE",
    "KEY_SIZE",
    "cbc_decrypt",
    "cbc_encrypt",
    "ctr_xcrypt",
    "ecb_decrypt",
    "ecb_encrypt",
]

BLOCK_SIZE = SM4_BLOCK_SIZE
KEY_SIZE = SM4_KEY_SIZE


def ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """SM4-ECB over whole blocks (no padding)."""
    return lib.sm4_ecb_encrypt(key, data)


def ecb_decrypt(key: bytes, data: bytes) -> bytes:
    return lib.sm4_ecb_decrypt(key, data)


def cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """SM4-CBC with PKCS#7 padding; ``iv`` is 16 unpredictable bytes."""
    return lib.sm4_cbc_encrypt(key, iv, data)


def cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Raises ``DecryptionError`` on bad padding (a padding oracle if exposed: authenticate first)."""
    return lib.sm4_cbc_decrypt(key, iv, data)


def ctr_xcrypt(key: bytes, counter_block: bytes, data: bytes) -> bytes:
    """SM4-CTR with a 128-bit big-endian counter starting at ``counter_block``; its own inverse."""
    return lib.sm4_ctr(key, counter_block, data)
