from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from mpc import _binding
from mpc.exceptions import DecryptionError
from mpc.hazmat import sm4 as raw
from mpc.sm4 import SM4GCM, InvalidTag
from tests._vectors import load

GBT32907 = load("sm4/gbt32907.txt")
RFC8998 = load("sm4/rfc8998_gcm.txt")


@pytest.mark.parametrize("v", GBT32907, ids=lambda v: f"iter{v['Iterations']}")
def test_gbt32907_vectors(v: dict[str, str]) -> None:
    key = bytes.fromhex(v["Key"])
    block = bytes.fromhex(v["Plaintext"])
    n = int(v["Iterations"])
    # Iterate in chunks of ECB calls over one block: 1,000,000 sequential encryptions.
    for _ in range(n):
        block = raw.ecb_encrypt(key, block)
    assert block.hex() == v["Ciphertext"]
    if n == 1:
        assert raw.ecb_decrypt(key, block) == bytes.fromhex(v["Plaintext"])


@pytest.mark.parametrize("v", RFC8998)
def test_rfc8998_gcm(v: dict[str, str], dispatch: str) -> None:
    key, iv, aad = (bytes.fromhex(v[k]) for k in ("Key", "IV", "AAD"))
    pt, ct, tag = (bytes.fromhex(v[k]) for k in ("Plaintext", "Ciphertext", "Tag"))
    gcm = SM4GCM(key)
    assert gcm.encrypt(iv, pt, aad) == ct + tag
    assert gcm.decrypt(iv, ct + tag, aad) == pt


def _tamper_cases(sealed: bytes, iv: bytes, aad: bytes) -> list[tuple[str, bytes, bytes, bytes]]:
    flipped = bytearray(sealed)
    flipped[0] ^= 1
    tag_flipped = bytearray(sealed)
    tag_flipped[-1] ^= 0x80
    return [
        ("ciphertext bit", bytes(flipped), iv, aad),
        ("tag bit", bytes(tag_flipped), iv, aad),
        ("truncated", sealed[:-1], iv, aad),
        ("too short", sealed[:15], iv, aad),
        ("aad", sealed, iv, aad + b"x"),
        ("nonce", sealed, bytes(12), aad),
    ]


def test_gcm_tamper_raises_invalid_tag(dispatch: str) -> None:
    v = RFC8998[0]
    key, iv, aad = (bytes.fromhex(v[k]) for k in ("Key", "IV", "AAD"))
    gcm = SM4GCM(key)
    sealed = gcm.encrypt(iv, b"payload" * 5, aad)
    for what, data, n, a in _tamper_cases(sealed, iv, aad):
        with pytest.raises(InvalidTag):
            gcm.decrypt(n, data, a)
        assert what


@given(
    key=st.binary(min_size=16, max_size=16),
    nonce=st.binary(min_size=8, max_size=64),
    data=st.binary(max_size=600),
    aad=st.binary(max_size=100),
    portable=st.booleans(),
)
def test_gcm_interop_with_cryptography(
    key: bytes, nonce: bytes, data: bytes, aad: bytes, portable: bool
) -> None:
    _binding.set_portable(portable)
    try:
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        theirs = enc.update(data) + enc.finalize() + enc.tag
        assert SM4GCM(key).encrypt(nonce, data, aad) == theirs
        assert SM4GCM(key).decrypt(nonce, theirs, aad) == data
    finally:
        _binding.set_portable(False)


def test_gcm_large_and_none_aad() -> None:
    key, nonce = os.urandom(16), os.urandom(12)
    data = os.urandom(3 << 20)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    theirs = enc.update(data) + enc.finalize() + enc.tag
    assert SM4GCM(key).encrypt(nonce, data, None) == theirs
    assert SM4GCM(key).decrypt(nonce, theirs, b"") == data


def test_ghash_paths_agree() -> None:
    h = os.urandom(16)
    for n in (0, 1, 16, 17, 1000):
        data = os.urandom(n)
        _binding.set_portable(True)
        portable = _binding.lib.ghash(h, data)
        _binding.set_portable(False)
        assert _binding.lib.ghash(h, data) == portable


def test_gcm_bad_input() -> None:
    with pytest.raises(ValueError, match="SM4 key must be 16 bytes"):
        SM4GCM(b"short")
    with pytest.raises(TypeError, match="SM4 key must be bytes"):
        SM4GCM("0123456789abcdef")  # type: ignore[arg-type]
    gcm = SM4GCM(os.urandom(16))
    with pytest.raises(ValueError, match="nonce must be between"):
        gcm.encrypt(b"", b"data", None)
    with pytest.raises(TypeError, match="data must be bytes"):
        gcm.encrypt(os.urandom(12), "text", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="associated_data"):
        gcm.encrypt(os.urandom(12), b"x", "aad")  # type: ignore[arg-type]
    assert "key" in repr(gcm) and "0x" not in repr(gcm)


@given(
    key=st.binary(min_size=16, max_size=16),
    iv=st.binary(min_size=16, max_size=16),
    data=st.binary(max_size=200),
)
def test_cbc_and_ctr_interop(key: bytes, iv: bytes, data: bytes) -> None:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    enc = Cipher(algorithms.SM4(key), modes.CBC(iv)).encryptor()
    assert raw.cbc_encrypt(key, iv, data) == enc.update(padded) + enc.finalize()
    assert raw.cbc_decrypt(key, iv, raw.cbc_encrypt(key, iv, data)) == data
    enc = Cipher(algorithms.SM4(key), modes.CTR(iv)).encryptor()
    assert raw.ctr_xcrypt(key, iv, data) == enc.update(data) + enc.finalize()
    assert raw.ctr_xcrypt(key, iv, raw.ctr_xcrypt(key, iv, data)) == data


def test_raw_modes_bad_input() -> None:
    key, iv = os.urandom(16), os.urandom(16)
    with pytest.raises(ValueError, match="multiple of 16"):
        raw.ecb_encrypt(key, b"abc")
    with pytest.raises(ValueError, match="16 bytes"):
        raw.cbc_encrypt(key, b"short-iv", b"abc")
    with pytest.raises(ValueError, match="non-empty multiple of 16"):
        raw.cbc_decrypt(key, iv, b"")
    ct = bytearray(raw.cbc_encrypt(key, iv, b"x" * 16))
    ct[-1] ^= 0xFF
    with pytest.raises(DecryptionError):
        raw.cbc_decrypt(key, iv, bytes(ct))
