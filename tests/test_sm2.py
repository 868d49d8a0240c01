from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc._binding import SM2Curve
from mpc.exceptions import InvalidPoint, InvalidSignature
from mpc.sm2 import DEFAULT_UID, SM2PrivateKey, SM2PublicKey
from mpc.sm3 import sm3
from tests._vectors import load

SIGN_EXAMPLE = load("sm2/gbt32918_2_sign.txt")
RECOMMENDED = {v["section"]: v for v in load("sm2/gbt32918_5_recommended.txt")}

# The recommended curve's order n (GB/T 32918.5).
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123


def _curve(v: dict[str, str]) -> SM2Curve:
    return SM2Curve(*(bytes.fromhex(v[k]) for k in ("p", "a", "b", "Gx", "Gy", "n")))


def _der_sig(r: int, s: int) -> bytes:
    def integer(x: int) -> bytes:
        body = x.to_bytes((x.bit_length() + 8) // 8 or 1, "big")
        return bytes([2, len(body)]) + body

    body = integer(r) + integer(s)
    return bytes([0x30, len(body)]) + body


def _rs(sig: bytes) -> tuple[int, int]:
    assert sig[0] == 0x30 and sig[1] == len(sig) - 2
    lr = sig[3]
    r = int.from_bytes(sig[4 : 4 + lr], "big")
    ls = sig[5 + lr]
    s = int.from_bytes(sig[6 + lr : 6 + lr + ls], "big")
    return r, s


@pytest.fixture(scope="module")
def key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


# ---- known answers ------------------------------------------------------------------------------


@pytest.mark.parametrize("v", SIGN_EXAMPLE)
def test_gbt32918_2_example_signature(v: dict[str, str]) -> None:
    curve = _curve(v)
    key = SM2PrivateKey._from_private_bytes_on(bytes.fromhex(v["d"]), curve)
    pub = key.public_key()
    uid = v["ID"].encode()
    msg = v["Message"].encode()
    assert pub.to_bytes() == bytes.fromhex("04" + v["Px"] + v["Py"])
    assert pub.z_a(uid) == bytes.fromhex(v["ZA"])
    assert sm3(pub.z_a(uid) + msg) == bytes.fromhex(v["e"])
    sig = key._sign_with_k(msg, bytes.fromhex(v["k"]), uid=uid)
    assert _rs(sig) == (int(v["r"], 16), int(v["s"], 16))
    pub.verify(sig, msg, uid=uid)
    with pytest.raises(InvalidSignature):
        pub.verify(sig, msg, uid=DEFAULT_UID)


def test_gbt32918_5_recommended_curve_signature() -> None:
    v = RECOMMENDED["sign"]
    key = SM2PrivateKey.from_private_bytes(bytes.fromhex(v["d"]))
    pub = key.public_key()
    msg = v["Message"].encode()
    assert v["ID"].encode() == DEFAULT_UID
    assert pub.to_bytes() == bytes.fromhex("04" + v["Px"] + v["Py"])
    assert pub.z_a() == bytes.fromhex(v["ZA"])
    assert sm3(pub.z_a() + msg) == bytes.fromhex(v["e"])
    sig = key._sign_with_k(msg, bytes.fromhex(v["k"]))
    assert sig == _der_sig(int(v["r"], 16), int(v["s"], 16))
    # The published signature verifies with a public key built from the bare point.
    SM2PublicKey.from_bytes(bytes.fromhex("04" + v["Px"] + v["Py"])).verify(sig, msg)


# ---- tamper -------------------------------------------------------------------------------------


def test_sign_verify_tamper(key: SM2PrivateKey) -> None:
    pub = key.public_key()
    msg = b"ledger entry v1"
    sig = key.sign(msg)
    pub.verify(sig, msg)
    bad: list[tuple[bytes, bytes, bytes]] = []
    for i in range(len(sig)):
        flipped = bytearray(sig)
        flipped[i] ^= 0x01
        bad.append((bytes(flipped), msg, DEFAULT_UID))
    bad += [
        (sig, msg + b"x", DEFAULT_UID),
        (sig, msg[:-1], DEFAULT_UID),
        (sig, bytes([msg[0] ^ 1]) + msg[1:], DEFAULT_UID),
        (sig, msg, b"1234567812345679"),
        (sig, msg, b""),
        (sig[:-1], msg, DEFAULT_UID),
        (sig + b"\x00", msg, DEFAULT_UID),
        (b"", msg, DEFAULT_UID),
        (sig[:2], msg, DEFAULT_UID),
    ]
    for s, m, uid in bad:
        with pytest.raises(InvalidSignature):
            pub.verify(s, m, uid=uid)
    other = SM2PrivateKey.generate().public_key()
    with pytest.raises(InvalidSignature):
        other.verify(sig, msg)


def test_verify_rejects_out_of_range_and_noncanonical_der(key: SM2PrivateKey) -> None:
    pub = key.public_key()
    msg = b"m"
    r, s = _rs(key.sign(msg))
    for rr, ss in [(0, s), (r, 0), (N, s), (r, N), (r + N, s), (r, s + N), (N - r, N - s)]:
        if rr.bit_length() <= 256 and ss.bit_length() <= 256:
            with pytest.raises(InvalidSignature):
                pub.verify(_der_sig(rr, ss), msg)
    # Low-S style negation must not verify: SM2 has no such symmetry.
    with pytest.raises(InvalidSignature):
        pub.verify(_der_sig(r, N - s), msg)
    good = _der_sig(r, s)
    # Non-minimal INTEGER (extra leading zero), long-form length, negative r, trailing data.
    padded_r = b"\x02" + bytes([good[3] + 1]) + b"\x00" + good[4 : 4 + good[3]]
    rest = good[4 + good[3] :]
    body = padded_r + rest
    for bad in (
        bytes([0x30, len(body)]) + body,
        bytes([0x30, 0x81, len(good) - 2]) + good[2:],
        good + b"\x00",
        b"\x31" + good[1:],
    ):
        with pytest.raises(InvalidSignature):
            pub.verify(bad, msg)


def test_signatures_are_randomized_and_never_normalized(key: SM2PrivateKey) -> None:
    pub = key.public_key()
    sigs = {key.sign(b"same") for _ in range(40)}
    assert len(sigs) == 40
    for sig in sigs:
        pub.verify(sig, b"same")
    # About half of the s values are in the upper half of [1, n-1]: nothing forces low S.
    high = sum(_rs(sig)[1] > N // 2 for sig in sigs)
    assert 5 <= high <= 35


# ---- keys and bad input -------------------------------------------------------------------------


def test_public_key_encodings(key: SM2PrivateKey) -> None:
    pub = key.public_key()
    full = pub.to_bytes()
    comp = pub.to_bytes(compressed=True)
    assert len(full) == 65 and full[0] == 4
    assert len(comp) == 33 and comp[0] in (2, 3) and comp[1:] == full[1:33]
    assert SM2PublicKey.from_bytes(comp) == pub == SM2PublicKey.from_bytes(full)
    assert hash(SM2PublicKey.from_bytes(comp)) == hash(pub)
    assert SM2PublicKey.from_bytes(bytearray(full)) == pub
    assert pub != SM2PrivateKey.generate().public_key()


def test_private_key_round_trip(key: SM2PrivateKey) -> None:
    d = key.private_bytes()
    assert len(d) == 32
    again = SM2PrivateKey.from_private_bytes(d)
    assert again == key
    assert again.public_key() == key.public_key()
    assert hash(again) == hash(key)


def test_no_secret_in_repr(key: SM2PrivateKey) -> None:
    d = key.private_bytes().hex()
    text = repr(key) + str(key)
    assert d not in text and d[:8] not in text
    assert "SM2PrivateKey" in text
    assert "SM2PublicKey" in repr(key.public_key())


@pytest.mark.parametrize(
    ("scalar", "message"),
    [
        (0, "[1, n-2]"),
        (N - 1, "[1, n-2]"),
        (N, "[1, n-2]"),
        (2**256 - 1, "[1, n-2]"),
    ],
)
def test_private_scalar_range(scalar: int, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        SM2PrivateKey.from_private_bytes(scalar.to_bytes(32, "big"))
    SM2PrivateKey.from_private_bytes((N - 2).to_bytes(32, "big"))
    SM2PrivateKey.from_private_bytes((1).to_bytes(32, "big"))


def test_private_key_bad_input() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SM2PrivateKey.from_private_bytes(b"\x01" * 31)
    with pytest.raises(ValueError, match="32 bytes"):
        SM2PrivateKey.from_private_bytes(b"\x01" * 33)
    with pytest.raises(TypeError, match="must be bytes"):
        SM2PrivateKey.from_private_bytes("01" * 32)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be bytes"):
        SM2PrivateKey.from_private_bytes(12345)  # type: ignore[arg-type]


def test_public_key_bad_input(key: SM2PrivateKey) -> None:
    full = key.public_key().to_bytes()
    off_curve = bytearray(full)
    off_curve[-1] ^= 1
    with pytest.raises(InvalidPoint, match="not a point on the curve"):
        SM2PublicKey.from_bytes(bytes(off_curve))
    with pytest.raises(InvalidPoint, match="65 bytes"):
        SM2PublicKey.from_bytes(full[:-1])
    with pytest.raises(InvalidPoint, match="65 bytes"):
        SM2PublicKey.from_bytes(b"\x00")  # the encoding of the point at infinity
    with pytest.raises(InvalidPoint, match="0x04"):
        SM2PublicKey.from_bytes(b"\x02" + full[1:])
    with pytest.raises(InvalidPoint, match="0x02 or 0x03"):
        SM2PublicKey.from_bytes(b"\x04" + full[1:33])
    # x = p (not reduced) and an x with no square root
    p = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
    with pytest.raises(InvalidPoint):
        SM2PublicKey.from_bytes(b"\x02" + p.to_bytes(32, "big"))
    with pytest.raises(InvalidPoint):
        SM2PublicKey.from_bytes(bytes(65))
    with pytest.raises(TypeError, match="must be bytes"):
        SM2PublicKey.from_bytes(full.hex())  # type: ignore[arg-type]
    assert issubclass(InvalidPoint, ValueError)


def test_sign_verify_bad_types(key: SM2PrivateKey) -> None:
    pub = key.public_key()
    sig = key.sign(b"x")
    with pytest.raises(TypeError, match="data must be bytes"):
        key.sign("x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="uid must be bytes"):
        key.sign(b"x", uid="1234567812345678")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="signature must be bytes"):
        pub.verify(sig.hex(), b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="data must be bytes"):
        pub.verify(sig, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="8191"):
        key.sign(b"x", uid=bytes(8192))
    key.sign(b"x", uid=bytes(8191))
    with pytest.raises(TypeError):
        SM2PublicKey(b"\x04" + bytes(64))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SM2PrivateKey(pub._h)


def test_uid_is_bound(key: SM2PrivateKey) -> None:
    pub = key.public_key()
    sig = key.sign(b"payload", uid=b"alice@firm-a")
    pub.verify(sig, b"payload", uid=b"alice@firm-a")
    with pytest.raises(InvalidSignature):
        pub.verify(sig, b"payload")
    assert pub.z_a(b"alice@firm-a") != pub.z_a()
    assert pub.z_a() == pub.z_a(DEFAULT_UID)


def test_openssl_evp_agrees_in_process(key: SM2PrivateKey) -> None:
    pub = key.public_key()
    for msg in (b"", b"a", b"x" * 1000):
        pub.verify(key._h.openssl_sign(msg, DEFAULT_UID), msg)
        key._h.openssl_verify(key.sign(msg), msg, DEFAULT_UID)
        uid = b"BILL456@YAHOO.COM"
        pub.verify(key._h.openssl_sign(msg, uid), msg, uid=uid)
        key._h.openssl_verify(key.sign(msg, uid=uid), msg, uid)


# ---- properties ---------------------------------------------------------------------------------


@settings(max_examples=25)
@given(data=st.binary(max_size=300), uid=st.binary(max_size=40))
def test_sign_verify_round_trip(key: SM2PrivateKey, data: bytes, uid: bytes) -> None:
    sig = key.sign(data, uid=uid)
    key.public_key().verify(sig, data, uid=uid)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(sig, data + b"\x00", uid=uid)


@settings(max_examples=15)
@given(d=st.integers(min_value=1, max_value=N - 2))
def test_any_scalar_round_trips(d: int) -> None:
    key = SM2PrivateKey.from_private_bytes(d.to_bytes(32, "big"))
    assert int.from_bytes(key.private_bytes(), "big") == d
    pub = key.public_key()
    assert SM2PublicKey.from_bytes(pub.to_bytes(True)) == pub
    pub.verify(key.sign(b"m"), b"m")
