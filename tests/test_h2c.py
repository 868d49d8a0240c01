"""RFC 9380 hash-to-curve: the RFC's P-256 vectors, our SM2 suite against the independent reference."""

from __future__ import annotations

import pytest

from mpc import ec
from mpc._binding import lib
from tests import h2c_reference as ref
from tests._vectors import load

P256_RO = load("h2c/rfc9380_p256.txt")
XMD_SHA256 = load("h2c/rfc9380_xmd_sha256.txt")
SM2_FILE = load("h2c/sm2_sm3_reference.txt")
SM2_RO = [v for v in SM2_FILE if v["section"] == "SM2_XMD:SM3_SSWU_RO_"]
SM2_XMD = [v for v in SM2_FILE if v["section"] == "expand_message_xmd(SM3)"]


def _check_ro(curve: ec.Curve, v: dict[str, str]) -> None:
    msg, dst = bytes.fromhex(v["msg_hex"]), v["DST"].encode()
    u0, u1 = ec.hash_to_field(curve, msg, dst, 2)
    assert (u0, u1) == (int(v["u0"], 16), int(v["u1"], 16))
    assert ec.map_to_curve(curve, u0) == (int(v["Q0.x"], 16), int(v["Q0.y"], 16))
    assert ec.map_to_curve(curve, u1) == (int(v["Q1.x"], 16), int(v["Q1.y"], 16))
    P = ec.hash_to_curve(curve, msg, dst)
    assert ec.decode_point(curve, P) == (int(v["P.x"], 16), int(v["P.y"], 16))


@pytest.mark.parametrize("v", P256_RO, ids=lambda v: v["msg_hex"][:12] or "empty")
def test_p256_rfc9380_vectors(v: dict[str, str]) -> None:
    _check_ro(ec.P256, v)


@pytest.mark.parametrize(
    "v", XMD_SHA256, ids=lambda v: f"{v['section']}-{v['len_in_bytes']}-{v['msg_hex'][:8]}"
)
def test_expand_message_xmd_sha256_vectors(v: dict[str, str]) -> None:
    out = ec.expand_message_xmd(
        ec.P256, bytes.fromhex(v["msg_hex"]), v["DST"].encode(), int(v["len_in_bytes"])
    )
    assert out.hex() == v["uniform_bytes"]


@pytest.mark.parametrize("v", SM2_RO, ids=lambda v: v["msg_hex"][:12] or "empty")
def test_sm2_suite_vectors(v: dict[str, str]) -> None:
    _check_ro(ec.SM2, v)


@pytest.mark.parametrize("v", SM2_XMD, ids=lambda v: f"{v['len_in_bytes']}-{v['msg_hex'][:8]}")
def test_expand_message_xmd_sm3_vectors(v: dict[str, str]) -> None:
    out = ec.expand_message_xmd(
        ec.SM2, bytes.fromhex(v["msg_hex"]), v["DST"].encode(), int(v["len_in_bytes"])
    )
    assert out.hex() == v["uniform_bytes"]


def test_reference_passes_the_rfc_vectors_before_it_is_trusted() -> None:
    for v in P256_RO:
        P = ref.hash_to_curve(ref.P256, bytes.fromhex(v["msg_hex"]), v["DST"].encode())
        assert (int(v["P.x"], 16), int(v["P.y"], 16)) == P
    for v in XMD_SHA256:
        out = ref.expand_message_xmd(
            ref.sha256, bytes.fromhex(v["msg_hex"]), v["DST"].encode(), int(v["len_in_bytes"])
        )
        assert out.hex() == v["uniform_bytes"]


def test_sm2_vector_file_is_what_the_reference_produces() -> None:
    assert (ref.VECTORS / "h2c" / "sm2_sm3_reference.txt").read_text() == ref.sm2_h2c_file()


def test_z_is_the_output_of_find_z_sswu() -> None:
    assert ref.find_z_sswu(ref.P256) == ref.P256.p - 10  # RFC 9380 8.2 states Z = -10
    assert ref.find_z_sswu(ref.SM2) == ref.SM2.p - 9
    params = lib.ec_curve_params(ec.SM2.id)
    assert params["z"] == (ref.SM2.p - 9).to_bytes(32, "big")


@pytest.mark.parametrize("curve", [ec.P256, ec.SM2], ids=lambda c: c.name)
def test_random_messages_match_reference(curve: ec.Curve) -> None:
    import random

    rc = ref.P256 if curve is ec.P256 else ref.SM2
    rng = random.Random(9380)
    msgs = [rng.randbytes(rng.randrange(0, 200)) for _ in range(12)]
    dst = b"riskshare-test-" + curve.name.encode()
    got = ec.hash_to_curve_batch(curve, msgs, dst)
    assert got == [ref.encode(ref.hash_to_curve(rc, m, dst)) for m in msgs]
    # long DST (> 255 bytes) takes the oversize path of RFC 9380 5.3.3
    long_dst = b"D" * 300
    assert ec.hash_to_curve(curve, b"x", long_dst) == ref.encode(ref.hash_to_curve(rc, b"x", long_dst))


@pytest.mark.parametrize("curve", [ec.P256, ec.SM2], ids=lambda c: c.name)
def test_map_exceptional_inputs(curve: ec.Curve) -> None:
    rc = ref.P256 if curve is ec.P256 else ref.SM2
    z = ref.Z[rc.name]
    # tv2 = Z^2 u^4 + Z u^2 vanishes at u = 0 and at u^2 = -1/Z (when that is a square)
    candidates = [0, 1, 2, curve.p - 1]
    m1z = (-pow(z, -1, rc.p)) % rc.p
    if ref.is_square(rc, m1z):
        candidates.append(ref.sqrt(rc, m1z))
    for u in candidates:
        assert ec.map_to_curve(curve, u) == ref.map_to_curve_sswu(rc, u)


def test_vectors_on_both_arithmetic_paths(dispatch: str) -> None:
    """The field code has a portable path and a BMI2/ADX one; both give the vectors."""
    for v in P256_RO:
        _check_ro(ec.P256, v)
    for v in SM2_RO:
        _check_ro(ec.SM2, v)


def test_expand_message_xmd_sm3_block_boundaries() -> None:
    # the SM2 suite hashes with its own streaming SM3 (Z_pad state precomputed): every message
    # length around the 64-byte block and padding boundaries, against the reference
    for n in [0, 1, 40, 50, 51, 52, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 129, 200, 1000]:
        msg = bytes((7 * i + n) & 0xFF for i in range(n))
        for dst, length in ((b"QUUX-V01-CS02-with-SM2_XMD:SM3_SSWU_RO_", 48), (b"D" * 300, 96), (b"x", 32)):
            want = ref.expand_message_xmd(ref.sm3, msg, dst, length)
            assert ec.expand_message_xmd(ec.SM2, msg, dst, length) == want, (n, len(dst), length)
