"""The constant-time SM2 core (mpc.hazmat.sm2core) against the slow reference tests/_sm2ref.py,
the GB/T 32918.5 example, bad input and algebraic laws; both native dispatch paths."""

from __future__ import annotations

import secrets
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mpc import exceptions
from mpc.hazmat import sm2core as c
from tests import _sm2ref as ref
from tests._vectors import load

UID = c.DEFAULT_UID


def rand_scalar() -> int:
    return secrets.randbelow(ref.N - 1) + 1


def b32(v: int) -> bytes:
    return v.to_bytes(32, "big")


def rand_point() -> ref.Point:
    return ref.mul(rand_scalar(), ref.G)


EDGE_SCALARS = [
    1,
    2,
    3,
    15,
    16,
    17,
    31,
    32,
    33,
    63,
    64,
    65,
    2**128,
    2**252,
    2**255,
    ref.N - 2,
    ref.N - 1,
    (ref.N - 1) // 2,
    2**256 - 2**224 - 1 - ref.N + ref.N,
]


@pytest.mark.parametrize("k", [k % ref.N for k in EDGE_SCALARS if k % ref.N])
def test_edge_scalars(dispatch: str, k: int) -> None:
    pt = rand_point()
    assert c.scalar_base_mult(b32(k)) == ref.encode(ref.mul(k, ref.G))
    assert c.scalar_mult(b32(k), ref.encode(pt)) == ref.encode(ref.mul(k, pt))
    assert c.scalar_mult(b32(k), c.generator()) == ref.encode(ref.mul(k, ref.G))


def test_scalars_just_below_n(dispatch: str) -> None:
    # k = n - 2j makes the last window of k*P a doubling: the complete addition must catch it
    m = rand_scalar()
    pt = ref.mul(m, ref.G)
    ks = [ref.N - j for j in range(1, 41)]
    for k in ks:
        want = ref.encode(ref.mul(k * m, ref.G))
        assert c.scalar_mult(b32(k), ref.encode(pt)) == want, k
        assert c.scalar_base_mult(b32(k)) == ref.encode(ref.mul(k, ref.G)), k
        assert c.static_agree(b32(k), ref.encode(pt)) == want[1:33]
    out = c.scalar_mult_batch(b32(ref.N - 6), [ref.encode(pt)] * 3)
    assert out == ref.encode(ref.mul((ref.N - 6) * m, ref.G)) * 3


def test_random_scalar_mult_against_reference(dispatch: str) -> None:
    for _ in range(8):
        k, pt = rand_scalar(), rand_point()
        assert c.scalar_mult(b32(k), ref.encode(pt)) == ref.encode(ref.mul(k, pt))
        assert c.scalar_base_mult(b32(k)) == ref.encode(ref.mul(k, ref.G))
        assert c.public_key(b32(k % (ref.N - 1) or 1)) == ref.encode(ref.mul(k % (ref.N - 1) or 1, ref.G))


def test_scalar_mult_batch(dispatch: str) -> None:
    k = rand_scalar()
    pts = [rand_point() for _ in range(5)]
    out = c.scalar_mult_batch(b32(k), [ref.encode(p) for p in pts])
    assert out == b"".join(ref.encode(ref.mul(k, p)) for p in pts)
    assert c.scalar_mult_batch(b32(k), b"") == b""


def test_scalar_mult_batch_names_bad_point(dispatch: str) -> None:
    good = ref.encode(rand_point())
    bad = bytearray(good)
    bad[-1] ^= 1
    with pytest.raises(exceptions.InvalidPoint, match="point 1 is not on the SM2 curve"):
        c.scalar_mult_batch(b32(5), good + bytes(bad) + good)
    with pytest.raises(ValueError, match="concatenation of 65-byte"):
        c.scalar_mult_batch(b32(5), good[:-1])


def test_point_add_negate_and_encodings(dispatch: str) -> None:
    a, b = rand_point(), rand_point()
    assert c.point_add(ref.encode(a), ref.encode(b)) == ref.encode(ref.add(a, b))
    assert c.point_add(ref.encode(a), ref.encode(a)) == ref.encode(ref.add(a, a))
    assert c.point_negate(ref.encode(a)) == ref.encode(ref.neg(a))
    with pytest.raises(exceptions.InvalidPoint, match="infinity"):
        c.point_add(ref.encode(a), ref.encode(ref.neg(a)))
    assert c.compress_point(ref.encode(a)) == ref.compress(a)
    assert c.decode_point(ref.compress(a)) == ref.encode(a)
    assert c.decode_point(ref.compress(ref.neg(a))) == ref.encode(ref.neg(a))
    assert c.decode_point(ref.encode(a)) == ref.encode(a)


def test_multi_and_double_scalar_mult(dispatch: str) -> None:
    pts = [rand_point() for _ in range(4)]
    ks = [rand_scalar() for _ in range(3)] + [0]
    expected: ref.Point = None
    for k, p in zip(ks, pts, strict=True):
        expected = ref.add(expected, ref.mul(k, p))
    assert c.multi_scalar_mult([b32(k) for k in ks], [ref.encode(p) for p in pts]) == ref.encode(expected)
    u1, u2, p = rand_scalar(), rand_scalar(), pts[0]
    want = ref.add(ref.mul(u1, ref.G), ref.mul(u2, p))
    assert c.double_scalar_mult(b32(u1), b32(u2), ref.encode(p)) == ref.encode(want)
    with pytest.raises(exceptions.InvalidPoint, match="infinity"):
        c.multi_scalar_mult([b32(1), b32(1)], [ref.encode(p), ref.encode(ref.neg(p))])
    with pytest.raises(ValueError, match="scalar must be below n"):
        c.multi_scalar_mult([b32(ref.N)], [ref.encode(p)])


def test_multi_scalar_mult_pippenger_matches_straus(dispatch: str) -> None:
    # 300 terms take the bucket method; chunks of 30 take Straus: the sums must agree, also with
    # repeated and opposite points (buckets that double or cancel) and edge scalars
    base = [rand_point() for _ in range(20)]
    pts = [base[i % 20] if i % 3 else ref.neg(base[i % 20]) for i in range(300)]
    ks = [rand_scalar() for _ in range(300)]
    ks[:6] = [0, 1, ref.N - 1, 2**255, 2, ref.N - 2]
    enc = [ref.encode(p) for p in pts]
    big = c.multi_scalar_mult([b32(k) for k in ks], enc)
    acc: bytes | None = None
    for i in range(0, 300, 30):
        part = c.multi_scalar_mult([b32(k) for k in ks[i : i + 30]], enc[i : i + 30])
        acc = part if acc is None else c.point_add(acc, part)
    assert big == acc
    with pytest.raises(exceptions.InvalidPoint, match="infinity"):
        c.multi_scalar_mult([b32(7)] * 300, [ref.encode(base[0]), ref.encode(ref.neg(base[0]))] * 150)
    k = rand_scalar()  # one point many times: every bucket sum is a doubling chain
    same = c.multi_scalar_mult([b32(k)] * 257, [ref.encode(base[1])] * 257)
    assert same == c.scalar_mult(b32(257 * k % ref.N), ref.encode(base[1]))


def test_gbt32918_5_signature_example(dispatch: str) -> None:
    for v in load("sm2/gbt32918_5.txt"):
        d, k = bytes.fromhex(v["D"]), bytes.fromhex(v["K"])
        pub = b"\x04" + bytes.fromhex(v["Px"]) + bytes.fromhex(v["Py"])
        uid, msg = bytes.fromhex(v["Uid"]), bytes.fromhex(v["Msg"])
        sig = bytes.fromhex(v["R"]) + bytes.fromhex(v["S"])
        assert c.public_key(d) == pub
        e = ref.sm3(c.za(pub, uid) + msg)
        assert e.hex().upper() == v["E"]
        assert c._sign_digest_with_k(d, e, k) == sig
        c.verify(pub, msg, uid, sig)
        c.verify(pub, msg, uid, c.encode_der(sig))
        c.verify_digest(pub, e, sig, cache=False)
        with pytest.raises(exceptions.InvalidSignature):
            c.verify(pub, msg + b".", uid, sig)


def test_sign_verify_against_reference(dispatch: str) -> None:
    for _ in range(4):
        d = secrets.randbelow(ref.N - 2) + 1
        pub_pt = ref.mul(d, ref.G)
        pub = ref.encode(pub_pt)
        msg = secrets.token_bytes(secrets.randbelow(100))
        assert c.za(pub, UID) == ref.za(pub_pt, UID)
        # ours verifies under the reference
        sig = c.sign(b32(d), msg, UID)
        e = ref.digest(pub_pt, UID, msg)
        assert ref.verify_digest(pub_pt, e, int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
        assert c.sign(b32(d), msg, UID, pub=pub) != sig  # fresh nonce every time
        # the reference's verifies under ours, with and without the key cache
        k = rand_scalar()
        r, s = ref.sign_digest(d, e, k)
        rs = b32(r) + b32(s)
        assert c._sign_digest_with_k(b32(d), b32(e), b32(k)) == rs
        for cache in (False, True, True, True):
            c.verify(pub, msg, UID, rs, cache=cache)


def test_static_agreement(dispatch: str) -> None:
    da, db = rand_scalar(), rand_scalar()
    pa, pb = ref.mul(da, ref.G), ref.mul(db, ref.G)
    x = c.static_agree(b32(da), ref.encode(pb))
    assert x == c.static_agree(b32(db), ref.encode(pa))
    shared = ref.mul(da * db, ref.G)
    assert shared is not None
    assert x == b32(shared[0])


def test_verify_batch(dispatch: str) -> None:
    items = []
    for i in range(6):
        d = rand_scalar() % (ref.N - 1) or 1
        pub = c.public_key(b32(d))
        msg = f"request {i}".encode()
        sig = c.sign(b32(d), msg, UID, pub=pub)
        if i % 2:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        items.append((pub, msg, UID, sig))
    assert c.verify_batch(items) == [True, False, True, False, True, False]
    assert c.verify_batch([]) == []


def test_key_cache_lru_and_threads() -> None:
    c.clear_cache()
    keys = [rand_scalar() % (ref.N - 1) or 1 for _ in range(20)]
    signed = []
    for d in keys:
        pub = c.public_key(b32(d))
        sig = c.sign(b32(d), b"m", UID, pub=pub)
        signed.append((pub, sig))
    for _ in range(3):  # more keys than cache slots: tables are built, evicted, rebuilt
        for pub, sig in signed:
            c.verify(pub, b"m", UID, sig)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            for pub, sig in signed * 2:
                c.verify(pub, b"m", UID, sig)
                with pytest.raises(exceptions.InvalidSignature):
                    c.verify(pub, b"n", UID, sig)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    c.clear_cache()


# ---- bad input ------------------------------------------------------------------------------------
def test_bad_scalars() -> None:
    g = c.generator()
    for bad in (b32(0), b32(ref.N), b32(ref.N + 1), b"\xff" * 32):
        with pytest.raises(ValueError, match=r"scalar must be in \[1, n-1\]"):
            c.scalar_mult(bad, g)
        with pytest.raises(ValueError, match=r"scalar must be in \[1, n-1\]"):
            c.scalar_base_mult(bad)
        with pytest.raises(ValueError, match=r"scalar must be in \[1, n-1\]"):
            c.scalar_mult_batch(bad, g)
    for bad in (b32(0), b32(ref.N - 1), b32(ref.N)):
        with pytest.raises(ValueError, match=r"SM2 private key must be in \[1, n-2\]"):
            c.public_key(bad)
        with pytest.raises(ValueError, match=r"SM2 private key must be in \[1, n-2\]"):
            c.sign(bad, b"m")
    with pytest.raises(ValueError, match="scalar must be 32 bytes"):
        c.scalar_mult(b"\x01" * 31, g)
    with pytest.raises(ValueError, match="scalar must be 32 bytes"):
        c.scalar_base_mult(b"\x01" * 33)
    with pytest.raises(ValueError, match="SM2 private key must be 32 bytes"):
        c.sign(b"\x01" * 31, b"m")


def test_bad_points() -> None:
    k = b32(7)
    pt = rand_point()
    assert pt is not None
    good = ref.encode(pt)
    off = b"\x04" + b32(pt[0]) + b32((pt[1] + 1) % ref.P)
    big = b"\x04" + b32(pt[0] + ref.P) + b32(pt[1]) if pt[0] + ref.P < 2**256 else b"\x04" + b"\xff" * 64
    for bad in (off, big, b"\x04" + bytes(64)):
        with pytest.raises(exceptions.InvalidPoint, match="not on the SM2 curve"):
            c.scalar_mult(k, bad)
        with pytest.raises(exceptions.InvalidPoint, match="not on the SM2 curve"):
            c.decode_point(bad)
        with pytest.raises(exceptions.InvalidPoint):
            c.verify(bad, b"m", UID, bytes(64))
    with pytest.raises(exceptions.InvalidPoint, match="point at infinity"):
        c.decode_point(b"\x00")
    with pytest.raises(exceptions.InvalidPoint, match="bad prefix"):
        c.decode_point(b"\x05" + good[1:])
    with pytest.raises(exceptions.InvalidPoint, match="bad prefix"):
        c.decode_point(b"\x04" + good[1:33])
    with pytest.raises(exceptions.InvalidPoint, match="65 bytes"):
        c.decode_point(good[:-1])
    with pytest.raises(ValueError, match="point must be 65 bytes"):
        c.scalar_mult(k, ref.compress(pt))
    # an x with no square root: not on the curve in compressed form
    x = 0
    while pow((x**3 - 3 * x + ref.B) % ref.P, (ref.P - 1) // 2, ref.P) == 1:
        x += 1
    with pytest.raises(exceptions.InvalidPoint, match="not on the SM2 curve"):
        c.decode_point(b"\x02" + b32(x))


def test_bad_signatures() -> None:
    d = rand_scalar() % (ref.N - 1) or 1
    pub = c.public_key(b32(d))
    sig = c.sign(b32(d), b"m", UID, pub=pub)
    for bad in (
        bytes(64),
        b32(0) + sig[32:],
        sig[:32] + b32(0),
        b32(ref.N) + sig[32:],
        sig[:32] + b32(ref.N),
        b32((ref.N - int.from_bytes(sig[32:], "big")) % ref.N) + sig[32:],  # r + s = n
        sig[:-1],
        sig + b"\x00",
        b"",
    ):
        with pytest.raises(exceptions.InvalidSignature):
            c.verify(pub, b"m", UID, bad)
    for i in range(64):  # tamper: every byte position
        flipped = bytearray(sig)
        flipped[i] ^= 0x40
        with pytest.raises(exceptions.InvalidSignature):
            c.verify(pub, b"m", UID, bytes(flipped), cache=False)
    with pytest.raises(exceptions.InvalidSignature):
        c.verify(pub, b"m", b"another id", sig)
    with pytest.raises(ValueError, match="at most 8191 bytes"):
        c.verify(pub, b"m", b"u" * 8192, sig)
    with pytest.raises(ValueError, match="k in"):
        c._sign_digest_with_k(b32(d), bytes(32), b32(0))


def test_der_round_trip_and_strictness() -> None:
    sig = b32(1) + b32(ref.N - 1)
    der = c.encode_der(sig)
    assert c.decode_der(der) == sig
    for bad in (
        der[:-1],
        der + b"\x00",
        b"\x31" + der[1:],
        der.replace(b"\x02\x01\x01", b"\x02\x02\x00\x01"),
    ):
        with pytest.raises(ValueError):
            c.decode_der(bad)


# ---- laws -------------------------------------------------------------------------------------------
scalars = st.integers(min_value=1, max_value=ref.N - 1)
# the laws run on both dispatch paths; the fixture only flips a flag, so reuse across examples is fine
laws = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@laws
@given(k=scalars, m=scalars)
def test_law_scalar_mult_composes(dispatch: str, k: int, m: int) -> None:
    km = k * m % ref.N
    mp = c.scalar_base_mult(b32(m))
    assert c.scalar_mult(b32(k), mp) == c.scalar_base_mult(b32(km))


@laws
@given(d=st.integers(min_value=1, max_value=ref.N - 2), msg=st.binary(max_size=64), flip=st.integers(0, 63))
def test_law_sign_verifies_and_flip_fails(dispatch: str, d: int, msg: bytes, flip: int) -> None:
    pub = c.public_key(b32(d))
    sig = c.sign(b32(d), msg, UID)
    c.verify(pub, msg, UID, sig, cache=False)
    bad = bytearray(sig)
    bad[flip] ^= 1
    with pytest.raises(exceptions.InvalidSignature):
        c.verify(pub, msg, UID, bytes(bad), cache=False)


@laws
@given(k=scalars)
def test_law_batch_equals_single(dispatch: str, k: int) -> None:
    pts = [c.scalar_base_mult(b32(i + 2)) for i in range(3)]
    out = c.scalar_mult_batch(b32(k), pts)
    assert [out[i : i + 65] for i in range(0, len(out), 65)] == [c.scalar_mult(b32(k), p) for p in pts]


def test_openssl_cross_check_both_directions(dispatch: str) -> None:
    from mpc._binding import lib

    for i in range(6):
        d = secrets.randbelow(ref.N - 2) + 1
        pub = c.public_key(b32(d))
        msg = secrets.token_bytes(secrets.randbelow(200))
        uid = UID if i % 2 else secrets.token_bytes(1 + i)
        # OpenSSL signs, we verify (DER and raw)
        der = lib.sm2c_openssl_sign(b32(d), pub, msg, uid)
        c.verify(pub, msg, uid, der)
        c.verify(pub, msg, uid, c.decode_der(der), cache=False)
        with pytest.raises(exceptions.InvalidSignature):
            c.verify(pub, msg + b"!", uid, der)
        # we sign, OpenSSL verifies
        sig = c.sign(b32(d), msg, uid)
        assert lib.sm2c_openssl_verify(pub, msg, uid, c.encode_der(sig))
        assert not lib.sm2c_openssl_verify(pub, msg + b"!", uid, c.encode_der(sig))


def test_scalar_arithmetic(dispatch: str) -> None:
    for _ in range(5):
        a, b = rand_scalar(), rand_scalar()
        assert c.scalar_add(b32(a), b32(b)) == b32((a + b) % ref.N)
        assert c.scalar_sub(b32(a), b32(b)) == b32((a - b) % ref.N)
        assert c.scalar_mul(b32(a), b32(b)) == b32(a * b % ref.N)
        assert c.scalar_inv(b32(a)) == b32(pow(a, -1, ref.N))
        wide = secrets.token_bytes(48)
        assert c.scalar_reduce(wide) == b32(int.from_bytes(wide, "big") % ref.N)
    assert c.scalar_reduce(b"\xff" * 64) == b32((2**512 - 1) % ref.N)
    assert c.scalar_reduce(b"") == b32(0)
    assert c.scalar_add(b32(0), b32(ref.N - 1)) == b32(ref.N - 1)
    with pytest.raises(ValueError, match="scalar must be below n"):
        c.scalar_mul(b32(ref.N), b32(1))
    with pytest.raises(ValueError, match=r"scalar must be in \[1, n-1\]"):
        c.scalar_inv(b32(0))
    with pytest.raises(ValueError, match="at most 64 bytes"):
        c.scalar_reduce(bytes(65))


@given(
    data=st.one_of(
        st.binary(min_size=65, max_size=65), st.binary(min_size=33, max_size=33), st.binary(max_size=70)
    )
)
def test_law_decode_never_returns_an_off_curve_point(data: bytes) -> None:
    try:
        out = c.decode_point(data)
    except exceptions.InvalidPoint:
        return
    assert ref.on_curve(ref.decode(out))
    if len(data) == 65:
        assert out == data


@given(x=st.integers(min_value=0, max_value=ref.P - 1), odd=st.booleans())
def test_law_compressed_decode_matches_reference(x: int, odd: bool) -> None:
    enc = bytes([3 if odd else 2]) + b32(x)
    try:
        want = ref.encode(ref.decode(enc))
    except ValueError:
        with pytest.raises(exceptions.InvalidPoint, match="not on the SM2 curve"):
            c.decode_point(enc)
        return
    assert c.decode_point(enc) == want


def test_concurrent_use_from_threads() -> None:
    # the GIL is released: several threads sign, verify and multiply at once (per-thread
    # blinding pools, the shared key cache, GMP) and every result is checked
    errors: list[BaseException] = []
    g = c.generator()

    def worker(seed: int) -> None:
        try:
            for i in range(15):
                d = (seed * 1000 + i) % (ref.N - 2) + 1
                pub = c.public_key(b32(d))
                sig = c.sign(b32(d), b"t", UID, pub=pub)
                c.verify(pub, b"t", UID, sig)
                assert c.scalar_mult(b32(d), g) == pub
                assert c.scalar_mult_batch(b32(d), [g, g]) == pub * 2
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
