from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpc import sm3
from tests._vectors import load

GBT32905 = load("sm3/gbt32905.txt")


@pytest.mark.parametrize("v", GBT32905, ids=lambda v: f"{len(v['Msg']) // 2}B")
def test_gbt32905_vectors(v: dict[str, str]) -> None:
    msg = bytes.fromhex(v["Msg"])
    assert sm3.sm3(msg).hex() == v["Digest"]
    h = sm3.SM3()
    for i in range(len(msg)):  # byte at a time exercises buffering
        h.update(msg[i : i + 1])
    assert h.hexdigest() == v["Digest"]


def test_tamper_changes_digest() -> None:
    msg = bytes.fromhex(GBT32905[0]["Msg"])
    assert sm3.sm3(b"abd").hex() != GBT32905[0]["Digest"]
    assert sm3.sm3(msg[:-1]).hex() != GBT32905[0]["Digest"]


@given(st.binary(max_size=5000), st.integers(min_value=0, max_value=5000))
def test_matches_openssl_and_copy(data: bytes, cut: int) -> None:
    want = hashlib.new("sm3", data).digest()
    assert sm3.sm3(data) == want
    h = sm3.SM3(data[:cut])
    c = h.copy()
    h.update(data[cut:])
    assert h.digest() == want
    assert c.digest() == sm3.sm3(data[:cut])  # the copy is independent


def test_large_input_releases_gil_and_matches() -> None:
    data = bytes(range(256)) * 8192  # 2 MiB, above the GIL threshold
    assert sm3.sm3(data) == hashlib.new("sm3", data).digest()
    assert sm3.sm3(memoryview(data)) == sm3.sm3(bytearray(data))


@given(st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_matches_stdlib(key: bytes, data: bytes) -> None:
    want = hmac.new(key, data, "sm3").digest()
    assert sm3.hmac_sm3(key, data) == want
    assert hmac.new(key, data, sm3.SM3).digest() == want  # type: ignore[arg-type]


def test_kdf_definition() -> None:
    # GB/T 32918.4-2016, 5.4.3: K = SM3(Z || 00000001) || SM3(Z || 00000002) ..., truncated.
    z = bytes(range(64))
    want = sm3.sm3(z + b"\x00\x00\x00\x01") + sm3.sm3(z + b"\x00\x00\x00\x02")
    assert sm3.sm3_kdf(z, 40) == want[:40]
    assert sm3.sm3_kdf(z, 0) == b""
    with pytest.raises(ValueError, match="SM3 KDF length"):
        sm3.sm3_kdf(z, -1)
    with pytest.raises(TypeError):
        sm3.sm3_kdf(z, 1.5)  # type: ignore[arg-type]


def test_hkdf_against_rfc5869_construction() -> None:
    ikm, salt, info = b"\x0b" * 22, bytes(range(13)), bytes(range(0xF0, 0xFA))
    prk = hmac.new(salt, ikm, "sm3").digest()
    t1 = hmac.new(prk, info + b"\x01", "sm3").digest()
    t2 = hmac.new(prk, t1 + info + b"\x02", "sm3").digest()
    assert sm3.hkdf_sm3(ikm, 42, salt=salt, info=info) == (t1 + t2)[:42]
    with pytest.raises(ValueError, match="HKDF-SM3 length"):
        sm3.hkdf_sm3(ikm, 255 * 32 + 1)


def test_bad_types() -> None:
    with pytest.raises(TypeError):
        sm3.sm3("abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sm3.SM3().update(123)  # type: ignore[arg-type]
    assert "abc" not in repr(sm3.SM3(b"abc"))
