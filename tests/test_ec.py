"""Group operations of mpc.ec: algebra against the pure-Python reference, and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpc import ec
from mpc.exceptions import InvalidPoint
from tests import h2c_reference as ref
from tests._ec_backends import sm2_backends, use_sm2_backend

CURVES = [ec.P256, ec.SM2]


def _ref(curve: ec.Curve) -> ref.RefCurve:
    return ref.P256 if curve is ec.P256 else ref.SM2


def _k(curve: ec.Curve, x: int) -> bytes:
    return (x % (curve.n - 1) + 1).to_bytes(32, "big")


def _g(curve: ec.Curve) -> bytes:
    return ec.scalar_mult_base(curve, (1).to_bytes(32, "big"))


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_generator_and_scalar_mult_match_reference(curve: ec.Curve) -> None:
    rc = _ref(curve)
    G = _g(curve)
    assert ec.decode_point(curve, G) == (rc.gx, rc.gy)
    k = _k(curve, 0x1234567890ABCDEF1234567890ABCDEF)
    P = ec.scalar_mult(curve, k, G)
    assert ref.encode(ref.mul(rc, int.from_bytes(k, "big"), (rc.gx, rc.gy))) == P
    assert ec.scalar_mult_base(curve, k) == P


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
@given(a=st.integers(min_value=1), b=st.integers(min_value=1))
def test_algebra(curve: ec.Curve, a: int, b: int) -> None:
    ka, kb = _k(curve, a), _k(curve, b)
    A, B = ec.scalar_mult_base(curve, ka), ec.scalar_mult_base(curve, kb)
    s = (int.from_bytes(ka, "big") + int.from_bytes(kb, "big")) % curve.n
    if s:
        assert ec.add(curve, A, B) == ec.scalar_mult_base(curve, s.to_bytes(32, "big"))
        assert ec.sub(curve, ec.add(curve, A, B), B) == A
    # (a*b)G = a(bG), batch = singles, msm = sum
    ab = ec.scalar_muladd(curve, ka, kb, bytes(32))
    assert ec.scalar_mult(curve, ka, B) == ec.scalar_mult_base(curve, ab)
    assert ec.scalar_mult_batch(curve, ka, [A, B]) == [
        ec.scalar_mult(curve, ka, A),
        ec.scalar_mult(curve, ka, B),
    ]
    assert ec.scalar_mult(curve, ec.scalar_inverse(curve, ka), ec.scalar_mult(curve, ka, B)) == B
    G = _g(curve)
    msm = ec.multi_scalar_mult(curve, [ka, kb], [G, G], base_scalar=ka)
    t = (2 * int.from_bytes(ka, "big") + int.from_bytes(kb, "big")) % curve.n
    assert msm == ec.scalar_mult_base(curve, t.to_bytes(32, "big"))
    neg = ec.scalar_negate(curve, ka)
    assert (int.from_bytes(neg, "big") + int.from_bytes(ka, "big")) % curve.n == 0


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_bad_points(curve: ec.Curve) -> None:
    G = _g(curve)
    k = _k(curve, 5)
    bad = [
        b"",
        b"\x00",  # SEC1 encoding of the point at infinity
        G[:-1],
        G + b"\x00",
        b"\x04" + G[1:],  # uncompressed tag on a compressed body
        b"\x05" + G[1:],
        b"\x02" + curve.p.to_bytes(32, "big"),  # x = p: not canonical
        b"\x02" + b"\xff" * 32,
    ]
    # an x with no point on the curve
    rc = _ref(curve)
    x = 1
    while ref.is_square(rc, x**3 + rc.a * x + rc.b):
        x += 1
    bad.append(b"\x02" + x.to_bytes(32, "big"))
    for P in bad:
        with pytest.raises(InvalidPoint):
            ec.decode_point(curve, P)
        with pytest.raises((InvalidPoint, ValueError)):
            ec.scalar_mult(curve, k, P)
        with pytest.raises((InvalidPoint, ValueError)):
            ec.add(curve, G, P)
    with pytest.raises(InvalidPoint):
        ec.encode_point(curve, x, 1)
    with pytest.raises(InvalidPoint):  # P + (-P) is the point at infinity
        ec.sub(curve, G, G)


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
def test_bad_scalars(curve: ec.Curve) -> None:
    G = _g(curve)
    for k in [
        bytes(32),
        curve.n.to_bytes(32, "big"),
        (curve.n + 1).to_bytes(32, "big"),
        b"\xff" * 32,
        b"\x01" * 31,
    ]:
        with pytest.raises(ValueError):
            ec.scalar_mult(curve, k, G)
        with pytest.raises(ValueError):
            ec.scalar_mult_base(curve, k)
        with pytest.raises(ValueError):
            ec.validate_scalar(curve, k)
    with pytest.raises(ValueError):
        ec.scalar_inverse(curve, bytes(32))
    with pytest.raises(TypeError):
        ec.scalar_mult(curve, "k", G)  # type: ignore[arg-type]


def test_curve_lookup_and_repr() -> None:
    assert ec.curve_by_name("P-256") is ec.P256
    assert ec.curve_by_name("SM2") is ec.SM2
    assert repr(ec.SM2) == "Curve(SM2)"
    with pytest.raises(ValueError):
        ec.curve_by_name("P-384")


@pytest.mark.parametrize("curve", CURVES, ids=lambda c: c.name)
@pytest.mark.parametrize("n", [1, 2, 3, 33, 200, 300])
def test_pippenger_msm_matches_openssl(curve: ec.Curve, n: int) -> None:
    from mpc._binding import lib

    pts = [ec.scalar_mult_base(curve, ec.random_scalar(curve)) for _ in range(n)]
    ks = [ec.random_scalar(curve) for _ in range(n)]
    ks[0] = (curve.n - 1).to_bytes(32, "big")  # the largest scalar: the signed recoding carries out
    g = ec.random_scalar(curve)
    results = []
    for mode in (1, 0, 2):  # Jacobian buckets, the backend's, affine buckets from 128 terms
        prev = lib.ec_set_generic_msm(curve.id, mode)
        try:
            results.append(ec.multi_scalar_mult(curve, ks, pts, base_scalar=g))
        finally:
            lib.ec_set_generic_msm(curve.id, prev)
    assert results[0] == results[1] == results[2]


def test_affine_msm_repeated_and_opposite_points() -> None:
    """Affine buckets meet P + P (a doubling) and P + (-P) (the pair vanishes) when a batch
    repeats a point or holds its negation; the sum must still match OpenSSL's."""
    from mpc._binding import lib

    curve = ec.P256
    base = [ec.scalar_mult_base(curve, ec.random_scalar(curve)) for _ in range(20)]
    neg = [bytes([p[0] ^ 1]) + p[1:] for p in base]
    pts = (base * 8) + neg * 4  # 240 terms
    ks = [ec.random_scalar(curve) for _ in range(len(pts))]
    ks[1] = ks[21]  # the same digits for the same point: every window doubles
    ks[0] = ks[160]  # the same digits for P and -P: every window cancels
    results = []
    for mode in (0, 2):
        prev = lib.ec_set_generic_msm(curve.id, mode)
        try:
            results.append(ec.multi_scalar_mult(curve, ks, pts))
        finally:
            lib.ec_set_generic_msm(curve.id, prev)
    assert results[0] == results[1]


@pytest.mark.parametrize("dst_len", [0, 33, 255])
def test_p256_composites_fast_hash_matches_evp(dst_len: int) -> None:
    """ec_xmd256.c's composite scalars (low-level SHA-256, Z_pad and seed absorbed once) against
    the EVP expand_message_xmd of ec_h2c.c, through the M and Z they produce."""
    from mpc._binding import lib

    curve = ec.P256
    cs = b"".join(ec.scalar_mult_base(curve, ec.random_scalar(curve)) for _ in range(300))
    ds = lib.ec_mul(curve.id, ec.random_scalar(curve), cs)
    dst = bytes(range(dst_len))
    results = []
    for generic in (True, False):
        prev = lib.ec_set_generic_composite(curve.id, generic)
        try:
            results.append(lib.ec_composites(curve.id, b"\x07" * 32, cs, ds, dst))
        finally:
            lib.ec_set_generic_composite(curve.id, prev)
    assert results[0] == results[1]


def test_p256_batch_decode_matches_single() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec as crypto_ec

    from mpc._binding import lib

    curve = ec.P256
    pts = [ec.scalar_mult_base(curve, ec.random_scalar(curve)) for _ in range(9)]
    batch = lib.ec_decode(curve.id, b"".join(pts))
    assert batch == b"".join(lib.ec_decode(curve.id, p) for p in pts)
    for i, p in enumerate(pts):  # OpenSSL's decompression as the independent reference
        nums = crypto_ec.EllipticCurvePublicKey.from_encoded_point(crypto_ec.SECP256R1(), p).public_numbers()
        assert batch[64 * i : 64 * i + 64] == nums.x.to_bytes(32, "big") + nums.y.to_bytes(32, "big")
    bad = bytearray(pts[6])
    for i in range(256):  # an x whose x^3 - 3x + b has no square root (about every second x)
        bad[32] = i
        try:
            lib.ec_decode(curve.id, bytes(bad))
        except InvalidPoint:
            break
    with pytest.raises(InvalidPoint):
        lib.ec_decode(curve.id, b"".join(pts[:6]) + bytes(bad) + b"".join(pts[7:]))
    with pytest.raises(InvalidPoint):
        lib.ec_decode(curve.id, b"".join(pts[:5]) + b"\x04" + pts[5][1:] + b"".join(pts[6:]))


@pytest.mark.parametrize("backend", sm2_backends())
def test_sm2_backends_agree_with_reference(backend: str) -> None:
    with use_sm2_backend(backend):
        test_generator_and_scalar_mult_match_reference(ec.SM2)
        test_bad_points(ec.SM2)
        test_bad_scalars(ec.SM2)
        rc = ref.SM2
        pts = [ec.scalar_mult_base(ec.SM2, i.to_bytes(32, "big")) for i in range(1, 6)]
        got = ec.scalar_mult_batch(ec.SM2, (77).to_bytes(32, "big"), pts)
        assert got == [ref.encode(ref.mul(rc, 77 * i, (rc.gx, rc.gy))) for i in range(1, 6)]
