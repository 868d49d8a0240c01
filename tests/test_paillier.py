"""Paillier engine: vectors, homomorphic laws, packing, wire formats, bad input, phe interop."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc import paillier as pl
from mpc._binding import lib
from mpc.exceptions import DecryptionError, PaillierKeyMismatch, PaillierOverflow
from mpc.hazmat import paillier as raw
from tests._vectors import load

VECTORS = load("paillier/textbook_djn.txt")


def _is_probable_prime(n: int) -> bool:
    """Independent Miller-Rabin (40 random bases) to check the generator's output."""
    if n < 4:
        return n in (2, 3)
    if n % 2 == 0:
        return False
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(40):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


@pytest.fixture(scope="module")
def keys() -> tuple[pl.PaillierPublicKey, pl.PaillierPrivateKey]:
    return pl._generate_keypair(1024, safe_primes=False)


@pytest.fixture(scope="module")
def keys2048() -> tuple[pl.PaillierPublicKey, pl.PaillierPrivateKey]:
    return pl._generate_keypair(2048, safe_primes=False)


@pytest.fixture(scope="module")
def other_keys() -> tuple[pl.PaillierPublicKey, pl.PaillierPrivateKey]:
    return pl._generate_keypair(1024, safe_primes=False)


def _key_from_vector(v: dict[str, str]) -> tuple[pl.PaillierPublicKey, pl.PaillierPrivateKey]:
    n = int(v["N"], 16)
    pk = pl.PaillierPublicKey(n)
    return pk, pl.PaillierPrivateKey(pk, int(v["P"], 16), int(v["Q"], 16))


# -- known answers ------------------------------------------------------------------------------
@pytest.mark.parametrize("v", VECTORS, ids=lambda v: f"{v['Bits']}-{v['N'][:8]}")
def test_textbook_vector(v: dict[str, str], dispatch: str) -> None:
    pk, sk = _key_from_vector(v)
    m, r, c = int(v["M"], 16), int(v["R"], 16), int(v["C"], 16)
    assert pk._ctx._encrypt_with_r(
        m.to_bytes(pk._nbytes, "big"), r.to_bytes(pk._nbytes, "big")
    ) == c.to_bytes(pk.ciphertext_size, "big")
    assert raw.decrypt_raw(sk, pl.EncryptedNumber(pk, c)) == m
    assert raw.decrypt_raw(sk, pl.EncryptedNumber(pk, c), workers=2) == m


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: f"{v['Bits']}-{v['N'][:8]}")
def test_djn_vector(v: dict[str, str], dispatch: str) -> None:
    pk, sk = _key_from_vector(v)
    m, a, y = int(v["M"], 16), int(v["A"], 16), int(v["Y"], 16)
    assert pk.exponent_bits == (int(v["Bits"]) + 1) // 2
    ab = (pk.exponent_bits + 7) // 8
    c = pk._ctx._encrypt_with_a(
        m.to_bytes(pk._nbytes, "big"), a.to_bytes(ab, "big"), y.to_bytes(pk._nbytes, "big")
    )
    assert pk._h_s() == int(v["HS"], 16)
    assert int.from_bytes(c, "big") == int(v["CDJN"], 16)
    assert raw.decrypt_raw(sk, pl.EncryptedNumber(pk, int(v["CDJN"], 16))) == m


def test_decryption_matches_paper_formula(keys, dispatch: str) -> None:
    pk, sk = keys
    p, q = sk.private_numbers()
    lam = (p - 1) * (q - 1) // math.gcd(p - 1, q - 1)
    mu = pow((pow(pk.g, lam, pk.nsquare) - 1) // pk.n, -1, pk.n)
    for value in (0, 1, -1, 12345, pk.max_int, -pk.max_int):
        c = pk.encrypt(value)
        m = (pow(c.ciphertext(), lam, pk.nsquare) - 1) // pk.n * mu % pk.n
        assert m == value % pk.n
        assert sk.decrypt(c) == value


# -- laws ----------------------------------------------------------------------------------------
ints = st.integers(min_value=-(2**200), max_value=2**200)


@given(a=ints, b=ints)
def test_add_law(keys, a: int, b: int) -> None:
    pk, sk = keys
    ea, eb = pk.encrypt(a), pk.encrypt(b)
    assert sk.decrypt(ea + eb) == a + b
    assert sk.decrypt(ea - eb) == a - b
    assert sk.decrypt(ea + b) == a + b
    assert sk.decrypt(b + ea) == a + b
    assert sk.decrypt(b - ea) == b - a
    assert sk.decrypt(-ea) == -a


@given(a=ints, k=st.integers(min_value=-(2**64), max_value=2**64))
def test_scalar_law(keys, a: int, k: int) -> None:
    pk, sk = keys
    ea = pk.encrypt(a)
    assert sk.decrypt(ea * k) == a * k
    assert sk.decrypt(k * ea) == a * k


@settings(max_examples=20)
@given(values=st.lists(ints, min_size=0, max_size=9), workers=st.integers(1, 3))
def test_batch_roundtrip(keys, values: list[int], workers: int) -> None:
    pk, sk = keys
    cts = pk.encrypt_many(values, workers=workers)
    assert sk.decrypt_many(cts, workers=workers) == values


def test_batch_both_paths_2048(keys2048, dispatch: str) -> None:
    pk, sk = keys2048
    values = [secrets.randbelow(pk.max_int // 8) - pk.max_int // 16 for _ in range(6)] + [0, pk.max_int // 4]
    cts = pk.encrypt_many(values, workers=2)
    assert sk.decrypt_many(cts, workers=2) == values
    assert [sk.decrypt(c, workers=2) for c in cts[:2]] == values[:2]
    assert sk.decrypt(sum(cts[1:], cts[0])) == sum(values)


def test_3072_supported(dispatch: str) -> None:
    pk, sk = pl._generate_keypair(3072, safe_primes=False)
    assert pk.n_length == 3072 and pk.exponent_bits == 1536
    vals = [7, -(2**1000), 2**3000]
    assert sk.decrypt_many(pk.encrypt_many(vals)) == vals
    assert sk.decrypt(pk.encrypt(-5), workers=2) == -5


def test_rerandomize_and_equality(keys) -> None:
    pk, sk = keys
    c = pk.encrypt(42)
    c2 = c.rerandomize()
    assert c2 != c and sk.decrypt(c2) == 42
    same = pl.EncryptedNumber(pk, c.ciphertext())
    assert same == c and hash(same) == hash(c)
    assert pk.encrypt(42) != pk.encrypt(42)


def test_obfuscator_pool(keys) -> None:
    pk, sk = keys
    pk.fill_pool(5, workers=2)
    assert pk.pool_size == 5
    c = pk.encrypt(-9)
    assert pk.pool_size == 4 and sk.decrypt(c) == -9
    cts = pk.encrypt_many([1, 2, 3])
    assert pk.pool_size == 1 and sk.decrypt_many(cts) == [1, 2, 3]
    assert len({x.ciphertext() for x in [c, *cts]}) == 4
    pk.fill_pool(0)


def test_overflow_detected(keys) -> None:
    pk, sk = keys
    with pytest.raises(PaillierOverflow):
        pk.encrypt(pk.max_int + 1)
    with pytest.raises(PaillierOverflow):
        pk.encrypt(-pk.max_int - 1)
    big = pk.encrypt(pk.max_int)
    with pytest.raises(PaillierOverflow):
        sk.decrypt(big + big)
    with pytest.raises(PaillierOverflow):
        big * (pk.max_int + 1)


# -- bad input -----------------------------------------------------------------------------------
def test_bad_plaintexts(keys) -> None:
    pk, _ = keys
    for bad in (1.5, "3", b"\x01", None, True):
        with pytest.raises(TypeError):
            pk.encrypt(bad)
    with pytest.raises(TypeError):
        pk.encrypt(2) * pk.encrypt(3)
    with pytest.raises(TypeError):
        pk.encrypt(2) * 1.5
    with pytest.raises(ValueError):
        raw.encrypt_raw(pk, pk.n)
    with pytest.raises(ValueError):
        raw.encrypt_raw(pk, -1)
    assert pk.encrypt(np.int64(5)).exponent == 0


def test_bad_ciphertexts(keys) -> None:
    pk, sk = keys
    p, _ = sk.private_numbers()
    for c in (0, pk.nsquare, pk.nsquare + 5, -3):
        with pytest.raises(DecryptionError):
            pl.EncryptedNumber(pk, c)
    for c in (p, pk.n, p * 12345):
        with pytest.raises(DecryptionError, match="invertible"):
            pl.EncryptedNumber(pk, c)
    # the native decryption refuses a non-invertible ciphertext even past the checks
    forged = pl.EncryptedNumber._trusted(pk, p.to_bytes(pk.ciphertext_size, "big"))
    with pytest.raises(DecryptionError):
        sk.decrypt(forged)
    with pytest.raises(DecryptionError):
        sk.decrypt_many([pk.encrypt(1), forged])


def test_other_key_rejected(keys, other_keys) -> None:
    pk, sk = keys
    opk, osk = other_keys
    mine, theirs = pk.encrypt(1), opk.encrypt(2)
    with pytest.raises(PaillierKeyMismatch):
        mine + theirs
    with pytest.raises(PaillierKeyMismatch):
        sk.decrypt(theirs)
    with pytest.raises(PaillierKeyMismatch):
        osk.decrypt_many([theirs, mine])
    with pytest.raises(PaillierKeyMismatch):
        pl.EncryptedNumber.from_bytes(pk, theirs.to_bytes())
    with pytest.raises(ValueError):
        pl.PaillierPrivateKey(pk, *osk.private_numbers())


# -- wire formats and tampering --------------------------------------------------------------------
def test_wire_roundtrip(keys) -> None:
    pk, sk = keys
    assert pl.PaillierPublicKey.from_bytes(pk.to_bytes()) == pk
    c = pk.encrypt(-77)
    data = c.to_bytes()
    assert len(data) == 1 + 8 + 2 + 2 + pk.ciphertext_size
    back = pl.EncryptedNumber.from_bytes(pk, data)
    assert back == c and sk.decrypt(back) == -77


def test_ciphertext_tamper(keys) -> None:
    pk, sk = keys
    c = pk.encrypt(1234)
    data = bytearray(c.to_bytes())
    header = 13
    for i in (0, 1, 5, 11, 12):  # version, key id, length
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(ValueError):
            pl.EncryptedNumber.from_bytes(pk, bytes(bad))
    with pytest.raises(ValueError):
        pl.EncryptedNumber.from_bytes(pk, bytes(data[:-1]))
    with pytest.raises(ValueError):
        pl.EncryptedNumber.from_bytes(pk, bytes(data) + b"\x00")
    # Paillier is malleable: a flipped body byte is another ciphertext, never the same plaintext.
    for i in (header, header + 100, len(data) - 1):
        bad = bytearray(data)
        bad[i] ^= 0x80
        try:
            x = pl.EncryptedNumber.from_bytes(pk, bytes(bad))
        except DecryptionError:
            continue
        with contextlib.suppress(PaillierOverflow):
            assert sk.decrypt(x) != 1234
    bad = bytearray(data)
    bad[header : header + pk.ciphertext_size] = pk.nsquare.to_bytes(pk.ciphertext_size, "big")
    with pytest.raises(DecryptionError):
        pl.EncryptedNumber.from_bytes(pk, bytes(bad))


def test_public_key_tamper(keys) -> None:
    pk, _ = keys
    data = bytearray(pk.to_bytes())
    for i, flip in ((0, 1), (1, 1), (2, 1), (3, 0x80), (len(data) - 1, 1)):
        bad = bytearray(data)
        bad[i] ^= flip
        with pytest.raises(ValueError):
            pl.PaillierPublicKey.from_bytes(bytes(bad))
    with pytest.raises(ValueError):
        pl.PaillierPublicKey.from_bytes(bytes(data[:-1]))
    bad = bytearray(data)
    bad[40] ^= 0x04  # still odd and full length: a different key, so old ciphertexts are refused
    other = pl.PaillierPublicKey.from_bytes(bytes(bad))
    with pytest.raises(PaillierKeyMismatch):
        pl.EncryptedNumber.from_bytes(other, pk.encrypt(5).to_bytes())


def test_repr_has_no_secret(keys) -> None:
    pk, sk = keys
    p, q = sk.private_numbers()
    text = repr(sk) + repr(pk) + repr(pk.encrypt(3))
    for secret in (p, q):
        assert str(secret) not in text and f"{secret:x}" not in text


# -- key generation ------------------------------------------------------------------------------
def test_generate_safe_keypair_small() -> None:
    pk, sk = pl._generate_keypair(1024, safe_primes=True)
    p, q = sk.private_numbers()
    assert pk.n_length == 1024 and p != q and p.bit_length() == q.bit_length() == 512
    for x in (p, q):
        assert _is_probable_prime(x) and _is_probable_prime((x - 1) // 2)
    assert math.gcd(pk.n, (p - 1) * (q - 1)) == 1
    assert sk.decrypt(pk.encrypt(-1)) == -1


def test_generate_keypair_sizes() -> None:
    for bad in (1024, 2000, 2049):
        with pytest.raises(ValueError):
            pl.generate_keypair(bad)
    with pytest.raises(ValueError):
        pl.PaillierPublicKey(2**255 + 1)


# -- hazmat raw ---------------------------------------------------------------------------------
def test_raw_full_range_and_masks(keys) -> None:
    pk, sk = keys
    assert raw.decrypt_raw(sk, raw.encrypt_raw(pk, pk.n - 1)) == pk.n - 1
    masks = [secrets.randbelow(pk.n) for _ in range(3)]
    masks.append((-sum(masks)) % pk.n)
    values = [11, 22, 33, 44]
    cts = raw.encrypt_raw_many(pk, [(v + m) % pk.n for v, m in zip(values, masks, strict=True)])
    total = cts[0] + cts[1] + cts[2] + cts[3]
    assert raw.decrypt_raw(sk, total) == sum(values)
    assert raw.decrypt_raw_many(sk, cts[:1]) == [(values[0] + masks[0]) % pk.n]
    assert raw.decrypt_raw(sk, raw.add_raw(cts[0], 5)) == (values[0] + masks[0] + 5) % pk.n


# -- packing -------------------------------------------------------------------------------------
def test_packed_geometry(keys2048) -> None:
    pk, _ = keys2048
    enc = pl.PackedEncoder.for_key(pk)
    assert enc.slots >= 25 and enc.slot_bits == 80 and enc.max_summands == 2**16
    pl.PackedEncoder(25, 80).check_key(pk)
    with pytest.raises(PaillierOverflow):
        pl.PackedEncoder(30, 80).check_key(pk)


u64 = st.integers(min_value=0, max_value=2**64 - 1)


@settings(max_examples=25)
@given(rows=st.lists(st.lists(u64, min_size=25, max_size=25), min_size=1, max_size=4))
def test_packed_slotwise_sums(keys2048, rows: list[list[int]]) -> None:
    pk, sk = keys2048
    enc = pl.PackedEncoder(25, 80)
    arrays = [np.array(r, dtype=np.uint64) for r in rows]
    cts = pk.encrypt_many([enc.encode(a) for a in arrays])
    total = cts[0]
    for c in cts[1:]:
        total = total + c
    got = enc.decode(sk.decrypt(total))
    assert [int(x) for x in got] == [sum(col) for col in zip(*rows, strict=True)]


@given(values=st.lists(st.integers(0, 2**16 - 1), min_size=0, max_size=10))
def test_packed_small_slots(values: list[int]) -> None:
    for bits in (16, 20):
        enc = pl.PackedEncoder(10, bits, value_bits=16)
        out = enc.decode(enc.encode(np.array(values, dtype=np.uint64)))
        assert out.dtype == np.uint64
        assert out.tolist() == values + [0] * (10 - len(values))


def test_packed_bad_values() -> None:
    enc = pl.PackedEncoder(4, 80)
    with pytest.raises(PaillierOverflow):
        enc.encode(np.array([-1, 2]))
    with pytest.raises(TypeError):
        enc.encode(np.array([1.5]))
    with pytest.raises(ValueError):
        enc.encode(np.zeros(5, dtype=np.uint64))
    with pytest.raises(PaillierOverflow):
        pl.PackedEncoder(4, 24, value_bits=16).encode(np.array([2**16]))
    with pytest.raises(PaillierOverflow):
        enc.decode(1 << 320)


# -- phe interop ---------------------------------------------------------------------------------
phe = pytest.importorskip("phe")


def test_phe_keys_both_ways(keys) -> None:
    pk, sk = keys
    ppk, psk = pl.to_phe(pk), pl.to_phe(sk)
    assert ppk.n == pk.n and (psk.p, psk.q) in {sk.private_numbers(), sk.private_numbers()[::-1]}
    assert pl.from_phe(ppk) == pk
    back = pl.from_phe(psk)
    assert isinstance(back, pl.PaillierPrivateKey) and back.public_key == pk


def test_phe_ciphertexts_both_ways(keys) -> None:
    pk, sk = keys
    ppk, psk = pl.to_phe(pk), pl.to_phe(sk)
    for value in (0, 5, -5, 2**300, -pk.max_int):
        assert psk.decrypt(pl.to_phe(pk.encrypt(value), ppk)) == value
        ours = pl.from_phe(ppk.encrypt(value), pk)
        assert isinstance(ours, pl.EncryptedNumber) and sk.decrypt(ours) == value
    # mixed arithmetic: phe sum of our ciphertexts, our sum of phe ciphertexts
    s = pl.to_phe(pk.encrypt(3), ppk) + pl.to_phe(pk.encrypt(4), ppk) * 5
    assert psk.decrypt(s) == 23
    a, b = pl.from_phe(ppk.encrypt(10), pk), pl.from_phe(ppk.encrypt(-4), pk)
    assert isinstance(a, pl.EncryptedNumber) and isinstance(b, pl.EncryptedNumber)
    assert sk.decrypt(a * 3 + b) == 26
    _, osk = pl._generate_keypair(1024, safe_primes=False)
    with pytest.raises(PaillierKeyMismatch):
        pl.from_phe(ppk.encrypt(1), osk.public_key)


def test_phe_floats_both_ways(keys) -> None:
    pk, sk = keys
    ppk, psk = pl.to_phe(pk), pl.to_phe(sk)
    for x in (3.141592653589793, -2.5e-7, 1e30, 0.0, -1.0):
        theirs = pl.from_phe(ppk.encrypt(x), pk)
        assert isinstance(theirs, pl.EncryptedNumber)
        assert sk.decrypt_float(theirs) == x
        assert psk.decrypt(pl.to_phe(pk.encrypt_float(x), ppk)) == x
    a, b = pl.from_phe(ppk.encrypt(1.5), pk), pl.from_phe(ppk.encrypt(2.25), pk)
    assert isinstance(a, pl.EncryptedNumber) and isinstance(b, pl.EncryptedNumber)
    enc = a + b
    assert sk.decrypt_float(enc) == 3.75
    assert sk.decrypt_float(enc + 1) == 4.75
    with pytest.raises(ValueError):
        sk.decrypt(enc)
    assert psk.decrypt(pl.to_phe(pk.encrypt_float(0.1, precision=1e-6), ppk)) == pytest.approx(0.1, abs=1e-6)


def test_native_constants() -> None:
    assert lib.PAILLIER_MAX_WORKERS >= 2
    assert lib.paillier_backend() in {"portable", "avx512ifma"}


def test_packed_headroom_edge(keys2048) -> None:
    pk, sk = keys2048
    enc = pl.PackedEncoder(25, 80)
    top = np.full(25, 2**64 - 1, dtype=np.uint64)
    total = pk.encrypt(enc.encode(top)) * enc.max_summands  # the sum of 2^16 maximal vectors
    assert [int(v) for v in enc.decode(sk.decrypt(total))] == [(2**64 - 1) * 2**16] * 25


def test_paths_interoperate(keys2048) -> None:
    pk, sk = keys2048
    values = [3, -4, 2**500]
    try:
        lib.set_portable(True)
        portable_cts = pk.encrypt_many(values)
        pk.fill_pool(1)
        pooled = pk.encrypt(9)
    finally:
        lib.set_portable(False)
    native_cts = pk.encrypt_many(values)
    assert sk.decrypt_many(portable_cts) == values and sk.decrypt(pooled) == 9
    assert sk.decrypt(portable_cts[0] + native_cts[1]) == -1
    try:
        lib.set_portable(True)
        assert sk.decrypt_many(native_cts, workers=2) == values
        assert sk.decrypt(native_cts[2] - portable_cts[2]) == 0
    finally:
        lib.set_portable(False)


@pytest.mark.slow
def test_quick_benchmark_runs(tmp_path) -> None:
    from benchmarks.__main__ import main

    out = tmp_path / "paillier.json"
    assert main(["paillier", "--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert {"encrypt", "decrypt (1 core)", "ct + ct"} <= {r["operation"] for r in rows}
    assert all(r["ours"] > 0 for r in rows)


@pytest.mark.parametrize("k", [0, 1, 15, 16, 2**64 - 1, -1, -(2**63), "big", "-big"])
def test_scalar_power_exact(keys2048, dispatch: str, k: int | str) -> None:
    pk, _ = keys2048
    c = pk.encrypt(3)
    if isinstance(k, str):
        k = (secrets.randbelow(pk.max_int)) * (-1 if k.startswith("-") else 1)
    base = c.ciphertext() if k >= 0 else pow(c.ciphertext(), -1, pk.nsquare)
    assert (c * k).ciphertext() == pow(base, abs(k), pk.nsquare)
    d = pk.encrypt(4)
    assert (c + d).ciphertext() == c.ciphertext() * d.ciphertext() % pk.nsquare
    assert (c + 7).ciphertext() == c.ciphertext() * (1 + 7 * pk.n) % pk.nsquare


def test_concurrent_first_use() -> None:
    from concurrent.futures import ThreadPoolExecutor

    pk, sk = pl._generate_keypair(1024, safe_primes=False)  # fresh key: the table is built on first use
    with ThreadPoolExecutor(4) as pool:
        batches = list(pool.map(lambda i: pk.encrypt_many([i, -i, 2 * i], workers=2), range(8)))
    assert [sk.decrypt_many(b) for b in batches] == [[i, -i, 2 * i] for i in range(8)]


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("RISKSHARE_SLOW"), reason="2048-bit safe primes: RISKSHARE_SLOW=1")
def test_generate_keypair_default_safe() -> None:
    pk, sk = pl.generate_keypair()
    p, q = sk.private_numbers()
    assert pk.n_length == 2048 and _is_probable_prime((p - 1) // 2) and _is_probable_prime((q - 1) // 2)
    assert sk.decrypt(pk.encrypt(-123)) == -123
