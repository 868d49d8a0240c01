from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc._binding import SM2Curve
from mpc.exceptions import InvalidPoint, InvalidSignature
from mpc.sm2 import DEFAULT_UID, KeyExchangeInitiator, KeyExchangeResponder, SM2PrivateKey, SM2PublicKey
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


# ---- encryption ---------------------------------------------------------------------------------

ENCRYPT_EXAMPLE = load("sm2/gbt32918_4_encrypt.txt")


def _der_cipher(x: int, y: int, c3: bytes, c2: bytes) -> bytes:
    def tlv(tag: int, body: bytes) -> bytes:
        n = len(body)
        if n < 0x80:
            head = bytes([n])
        else:
            raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
            head = bytes([0x80 | len(raw)]) + raw
        return bytes([tag]) + head + body

    def integer(v: int) -> bytes:
        return tlv(2, v.to_bytes((v.bit_length() + 8) // 8 or 1, "big"))

    return tlv(0x30, integer(x) + integer(y) + tlv(4, c3) + tlv(4, c2))


def _split_cipher(ct: bytes) -> tuple[int, int, bytes, bytes]:
    """Parse our DER C1C3C2 (test helper: assumes well-formed input)."""
    i = 2 if ct[1] < 0x80 else 2 + (ct[1] & 0x7F)
    out: list[bytes] = []
    while i < len(ct):
        n = ct[i + 1]
        j = i + 2
        if n >= 0x80:
            k = n & 0x7F
            n = int.from_bytes(ct[j : j + k], "big")
            j += k
        out.append(ct[j : j + n])
        i = j + n
    x, y, c3, c2 = out
    return int.from_bytes(x, "big"), int.from_bytes(y, "big"), c3, c2


@pytest.mark.parametrize("v", ENCRYPT_EXAMPLE)
def test_gbt32918_4_example_encryption(v: dict[str, str]) -> None:
    curve = _curve(v)
    key = SM2PrivateKey._from_private_bytes_on(bytes.fromhex(v["d"]), curve)
    pub = key.public_key()
    assert pub.to_bytes() == bytes.fromhex("04" + v["Px"] + v["Py"])
    msg = v["Message"].encode()
    ct = pub._encrypt_with_k(msg, bytes.fromhex(v["k"]))
    want = _der_cipher(int(v["C1x"], 16), int(v["C1y"], 16), bytes.fromhex(v["C3"]), bytes.fromhex(v["C2"]))
    assert ct == want
    assert key.decrypt(ct) == msg


def test_gbt32918_5_recommended_curve_encryption() -> None:
    v = RECOMMENDED["encrypt"]
    key = SM2PrivateKey.from_private_bytes(bytes.fromhex(v["d"]))
    msg = v["Message"].encode()
    ct = key.public_key()._encrypt_with_k(msg, bytes.fromhex(v["k"]))
    want = _der_cipher(int(v["C1x"], 16), int(v["C1y"], 16), bytes.fromhex(v["C3"]), bytes.fromhex(v["C2"]))
    assert ct == want
    assert key.decrypt(want) == msg
    # OpenSSL's EVP SM2 decryption reads the same DER.
    assert key._h.openssl_crypt(want, True) == msg


def test_decrypt_tamper(key: SM2PrivateKey) -> None:
    from mpc.exceptions import DecryptionError

    msg = b"wrapped SM4 key!"
    ct = key.public_key().encrypt(msg)
    x, y, c3, c2 = _split_cipher(ct)
    assert key.decrypt(_der_cipher(x, y, c3, c2)) == msg
    other = SM2PrivateKey.generate().public_key().to_bytes()
    ox, oy = int.from_bytes(other[1:33], "big"), int.from_bytes(other[33:], "big")
    cases = [
        _der_cipher(x ^ 1, y, c3, c2),  # C1 off the curve
        _der_cipher(ox, oy, c3, c2),  # C1 another valid point
        _der_cipher(x, y, bytes([c3[0] ^ 1]) + c3[1:], c2),  # C3
        _der_cipher(x, y, c3, bytes([c2[0] ^ 0x80]) + c2[1:]),  # C2
        _der_cipher(x, y, c3, c2[:-1]),  # C2 truncated
        _der_cipher(x, y, c3, c2 + b"\x00"),  # C2 extended
        _der_cipher(x, y, c3[:31], c2),  # C3 wrong length
        _der_cipher(x, y, c3, b""),  # empty C2
        ct[:-1],  # truncated DER
        ct + b"\x00",  # trailing data
        ct[:40],
        b"",
        b"\x30\x00",
    ]
    for bad in cases:
        with pytest.raises(DecryptionError, match=r"^SM2 decryption failed$"):
            key.decrypt(bad)
    with pytest.raises(DecryptionError):
        SM2PrivateKey.generate().decrypt(ct)


def test_encrypt_bad_types(key: SM2PrivateKey) -> None:
    with pytest.raises(TypeError, match="plaintext must be bytes"):
        key.public_key().encrypt("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ciphertext must be bytes"):
        key.decrypt(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"k must be in \[1, n-1\]"):
        key.public_key()._encrypt_with_k(b"x", bytes(32))
    with pytest.raises(ValueError, match=r"k must be in \[1, n-1\]"):
        key._sign_with_k(b"x", N.to_bytes(32, "big"))
    with pytest.raises(ValueError, match="k must be 32 bytes"):
        key._sign_with_k(b"x", b"\x01")


def test_openssl_evp_encryption_interop(key: SM2PrivateKey) -> None:
    pub = key.public_key()
    for msg in (b"a", b"x" * 200, bytes(range(256)) * 5):
        assert key.decrypt(key._h.openssl_crypt(msg, False)) == msg
        assert key._h.openssl_crypt(pub.encrypt(msg), True) == msg


@settings(max_examples=20)
@given(data=st.binary(max_size=400))
def test_encrypt_round_trip(key: SM2PrivateKey, data: bytes) -> None:
    ct = key.public_key().encrypt(data)
    assert key.decrypt(ct) == data
    assert len(ct) >= 96 + len(data) + 4


# ---- static agreement ---------------------------------------------------------------------------


def test_exchange_is_symmetric_and_bound_to_keys() -> None:
    a, b, c = (SM2PrivateKey.generate() for _ in range(3))
    ab = a.exchange(b.public_key())
    assert len(ab) == 32
    assert ab == b.exchange(a.public_key())
    assert ab != a.exchange(c.public_key())
    # x(d_a · P_b) equals the x of the point d_a·d_b·G, independent of who computes it.
    d_ab = int.from_bytes(a.private_bytes(), "big") * int.from_bytes(b.private_bytes(), "big") % N
    if 1 <= d_ab <= N - 2:
        assert SM2PrivateKey.from_private_bytes(d_ab.to_bytes(32, "big")).public_key().to_bytes()[1:33] == ab
    with pytest.raises(TypeError, match="SM2PublicKey"):
        a.exchange(b)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.exchange(b.public_key().to_bytes())  # type: ignore[arg-type]


def test_exchange_refuses_other_curve() -> None:
    v = SIGN_EXAMPLE[0]
    other = SM2PrivateKey._from_private_bytes_on(bytes.fromhex(v["d"]), _curve(v))
    with pytest.raises(ValueError, match="different curves"):
        SM2PrivateKey.generate().exchange(other.public_key())


# ---- serialization ------------------------------------------------------------------------------


def test_pem_der_round_trips(key: SM2PrivateKey) -> None:
    from mpc.sm2 import load_der_private_key, load_der_public_key, load_pem_private_key, load_pem_public_key

    pub = key.public_key()
    pem = key.private_bytes_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----\n")
    assert load_pem_private_key(pem) == key
    der = key.private_bytes_der()
    assert der[0] == 0x30 and load_der_private_key(der) == key
    assert load_pem_public_key(pub.public_bytes_pem()) == pub
    assert pub.public_bytes_pem().startswith(b"-----BEGIN PUBLIC KEY-----\n")
    assert load_der_public_key(pub.public_bytes_der()) == pub
    # The SM2 curve OID 1.2.156.10197.1.301 sits in the algorithm identifier.
    assert bytes.fromhex("06082a811ccf5501822d") in pub.public_bytes_der()
    assert bytes.fromhex("06082a811ccf5501822d") in der


def test_encrypted_pkcs8(key: SM2PrivateKey) -> None:
    from mpc.sm2 import load_der_private_key, load_pem_private_key

    pem = key.private_bytes_pem(password=b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert key.private_bytes().hex().encode() not in pem
    assert load_pem_private_key(pem, password=b"correct horse") == key
    der = key.private_bytes_der(password=b"pw")
    assert load_der_private_key(der, password=b"pw") == key
    # PBES2: PBKDF2-HMAC-SHA256 with 100,000 rounds and a 16-byte salt, AES-256-CBC.
    assert bytes.fromhex("02030186a0") in der
    assert bytes.fromhex("06082a864886f70d0209") in der  # hmacWithSHA256
    assert bytes.fromhex("060960864801650304012a") in der  # aes-256-cbc
    assert bytes.fromhex("0410") in der[:40]
    with pytest.raises(ValueError, match="wrong password"):
        load_pem_private_key(pem, password=b"wrong horse")
    with pytest.raises(ValueError, match="wrong password"):
        load_der_private_key(der, password=b"px")
    with pytest.raises(TypeError, match="password was not given"):
        load_pem_private_key(pem)
    with pytest.raises(TypeError, match="password was not given"):
        load_der_private_key(der)
    with pytest.raises(TypeError, match="password was given"):
        load_pem_private_key(key.private_bytes_pem(), password=b"pw")
    with pytest.raises(TypeError, match="password was given"):
        load_der_private_key(key.private_bytes_der(), password=b"pw")
    with pytest.raises(ValueError, match="must not be empty"):
        key.private_bytes_pem(password=b"")
    with pytest.raises(TypeError, match="password must be bytes"):
        key.private_bytes_pem(password="pw")  # type: ignore[arg-type]


def test_load_bad_input(key: SM2PrivateKey) -> None:
    from mpc.sm2 import load_der_private_key, load_der_public_key, load_pem_private_key, load_pem_public_key

    der = key.private_bytes_der()
    spki = key.public_key().public_bytes_der()
    for bad in (der[:-1], der[:10], b"", b"\x30\x00", der + b"\x00" * 0):
        if bad == der:
            continue
        with pytest.raises(ValueError, match="could not load SM2 private key"):
            load_der_private_key(bad)
    for bad in (spki[:-1], spki[:20], b""):
        with pytest.raises(ValueError, match="could not load SM2 public key"):
            load_der_public_key(bad)
    with pytest.raises(ValueError, match="could not load"):
        load_pem_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(ValueError, match="could not load"):
        load_pem_public_key(key.private_bytes_pem())
    with pytest.raises(TypeError, match="must be bytes"):
        load_pem_public_key(key.public_key().public_bytes_pem().decode())  # type: ignore[arg-type]


def test_key_on_another_curve_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from mpc.sm2 import load_pem_private_key, load_pem_public_key

    p256 = ec.generate_private_key(ec.SECP256R1())
    pem = p256.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(ValueError, match="not on the SM2 curve"):
        load_pem_private_key(pem)
    spki = p256.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="not on the SM2 curve"):
        load_pem_public_key(spki)


def test_example_curve_keys_cannot_serialize() -> None:
    v = SIGN_EXAMPLE[0]
    key = SM2PrivateKey._from_private_bytes_on(bytes.fromhex(v["d"]), _curve(v))
    with pytest.raises(ValueError, match="recommended SM2 curve"):
        key.private_bytes_pem()


# ---- interoperability: the openssl command line and gmssl ---------------------------------------

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl command line not installed")
DISTID = ["-pkeyopt", "distid:1234567812345678"]


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    assert OPENSSL is not None
    proc = subprocess.run([OPENSSL, *args], input=data, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


@needs_openssl
def test_openssl_cli_verifies_our_signature_and_reads_our_keys(key: SM2PrivateKey, tmp_path: Path) -> None:
    (tmp_path / "pub.pem").write_bytes(key.public_key().public_bytes_pem())
    (tmp_path / "key.pem").write_bytes(key.private_bytes_pem(password=b"s3cret"))
    msg = b"request v1: member=7 nonce=42"
    (tmp_path / "msg").write_bytes(msg)
    (tmp_path / "sig").write_bytes(key.sign(msg))
    out = _openssl(
        "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
        "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig"), *DISTID,
    )  # fmt: skip
    assert b"Signature Verified Successfully" in out
    (tmp_path / "bad").write_bytes(key.sign(msg + b"!"))
    with pytest.raises(RuntimeError):
        _openssl(
            "pkeyutl", "-verify", "-rawin", "-digest", "sm3", "-pubin", "-inkey", str(tmp_path / "pub.pem"),
            "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "bad"), *DISTID,
        )  # fmt: skip
    # The encrypted PKCS#8 opens with openssl pkey and holds the same scalar.
    text = _openssl("pkey", "-in", str(tmp_path / "key.pem"), "-passin", "pass:s3cret", "-noout", "-text")
    priv_hex = "".join(
        line.strip().replace(":", "")
        for line in text.decode().split("priv:")[1].split("pub:")[0].splitlines()
        if line.strip()
    )
    assert int(priv_hex, 16) == int.from_bytes(key.private_bytes(), "big")
    # OpenSSL decrypts our ciphertext.
    (tmp_path / "ct").write_bytes(key.public_key().encrypt(b"wrapped key"))
    (tmp_path / "plain.pem").write_bytes(key.private_bytes_pem())
    pt = _openssl("pkeyutl", "-decrypt", "-inkey", str(tmp_path / "plain.pem"), "-in", str(tmp_path / "ct"))
    assert pt == b"wrapped key"


@needs_openssl
def test_we_verify_openssl_cli_signatures_and_read_its_keys(tmp_path: Path) -> None:
    from mpc.sm2 import load_pem_private_key, load_pem_public_key

    _openssl("genpkey", "-algorithm", "SM2", "-out", str(tmp_path / "key.pem"))
    key = load_pem_private_key((tmp_path / "key.pem").read_bytes())
    _openssl("pkey", "-in", str(tmp_path / "key.pem"), "-pubout", "-out", str(tmp_path / "pub.pem"))
    pub = load_pem_public_key((tmp_path / "pub.pem").read_bytes())
    assert pub == key.public_key()
    msg = b"\x00binary\xffpayload" * 20
    (tmp_path / "msg").write_bytes(msg)
    sig = _openssl(
        "pkeyutl", "-sign", "-rawin", "-digest", "sm3", "-inkey", str(tmp_path / "key.pem"),
        "-in", str(tmp_path / "msg"), *DISTID,
    )  # fmt: skip
    pub.verify(sig, msg)
    with pytest.raises(InvalidSignature):
        pub.verify(sig, msg, uid=b"other id")
    # An encrypted PKCS#8 written by openssl.
    _openssl(
        "pkcs8", "-topk8", "-in", str(tmp_path / "key.pem"), "-out", str(tmp_path / "enc.pem"),
        "-v2", "aes-256-cbc", "-passout", "pass:pw",
    )  # fmt: skip
    assert load_pem_private_key((tmp_path / "enc.pem").read_bytes(), password=b"pw") == key
    # We decrypt OpenSSL's ciphertext.
    ct = _openssl(
        "pkeyutl", "-encrypt", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-in", str(tmp_path / "msg")
    )
    assert key.decrypt(ct) == msg


def _gmssl_key() -> SM2PrivateKey:
    """gmssl's CryptSM2 strips a leading "04" from the public key hex with ``lstrip("04")``,
    which also eats leading 0/4 digits of x; use keys whose x does not start with 0x04."""
    while True:
        key = SM2PrivateKey.generate()
        if not key.public_key().to_bytes()[1:].hex().startswith("04"):
            return key


def test_gmssl_signatures_with_z_a_interoperate() -> None:
    """gmssl's ``sign_with_sm3`` hashes Z_A (default ID) ‖ M like we do; its bare ``sign`` does
    not, so only the former is compared."""
    gm_sm2 = pytest.importorskip("gmssl.sm2")
    key = _gmssl_key()
    pub_hex = key.public_key().to_bytes()[1:].hex()
    gm = gm_sm2.CryptSM2(private_key=key.private_bytes().hex(), public_key=pub_hex, asn1=True)
    msg = b"cross-check"
    k = (0x1234567890ABCDEF * 0x1000000000000000001).to_bytes(32, "big")
    theirs = bytes.fromhex(gm.sign_with_sm3(msg, k.hex()))
    assert theirs == key._sign_with_k(msg, k)
    key.public_key().verify(theirs, msg)
    assert gm.verify_with_sm3(key.sign(msg).hex(), msg)


def test_gmssl_encryption_interoperates_after_conversion() -> None:
    """gmssl writes raw C1 (x ‖ y, no 04) ‖ C3 ‖ C2 in mode 1. Its decrypt skips the C3 check,
    so it is used only to read our well-formed ciphertexts."""
    gm_sm2 = pytest.importorskip("gmssl.sm2")
    key = _gmssl_key()
    pub_hex = key.public_key().to_bytes()[1:].hex()
    gm = gm_sm2.CryptSM2(private_key=key.private_bytes().hex(), public_key=pub_hex, mode=1)
    msg = b"sealed SM4 key 0123456789abcdef"
    raw = gm.encrypt(msg)
    x, y, c3, c2 = raw[:32], raw[32:64], raw[64:96], raw[96:]
    der = _der_cipher(int.from_bytes(x, "big"), int.from_bytes(y, "big"), c3, c2)
    assert key.decrypt(der) == msg
    ox, oy, oc3, oc2 = _split_cipher(key.public_key().encrypt(msg))
    ours_raw = ox.to_bytes(32, "big") + oy.to_bytes(32, "big") + oc3 + oc2
    assert gm.decrypt(ours_raw) == msg


# ---- key exchange (GB/T 32918.3) ----------------------------------------------------------------

EXCHANGE_EXAMPLE = load("sm2/gbt32918_3_exchange.txt")


@pytest.mark.parametrize("v", EXCHANGE_EXAMPLE)
def test_gbt32918_3_example_key_exchange(v: dict[str, str]) -> None:
    from mpc.sm2 import KeyExchangeInitiator, KeyExchangeResponder

    curve = _curve(v)
    a = SM2PrivateKey._from_private_bytes_on(bytes.fromhex(v["dA"]), curve)
    b = SM2PrivateKey._from_private_bytes_on(bytes.fromhex(v["dB"]), curve)
    ida, idb = v["IDA"].encode(), v["IDB"].encode()
    assert a.public_key().to_bytes() == bytes.fromhex("04" + v["PAx"] + v["PAy"])
    assert b.public_key().to_bytes() == bytes.fromhex("04" + v["PBx"] + v["PBy"])
    assert a.public_key().z_a(ida) == bytes.fromhex(v["ZA"])
    assert b.public_key().z_a(idb) == bytes.fromhex(v["ZB"])
    klen = len(v["K"]) // 2
    alice = KeyExchangeInitiator(a, b.public_key(), key_length=klen, uid=ida, peer_uid=idb)
    bob = KeyExchangeResponder(b, a.public_key(), key_length=klen, uid=idb, peer_uid=ida)
    r_a = alice._start(bytes.fromhex(v["rA"]))
    r_b, s_b = bob._respond(r_a, bytes.fromhex(v["rB"]))
    assert s_b == bytes.fromhex(v["SB"])
    k_a, s_a = alice.finish(r_b, s_b)
    assert k_a == bytes.fromhex(v["K"])
    assert s_a == bytes.fromhex(v["SA"])
    assert bob.finish(s_a) == k_a


def _pair(
    klen: int = 16,
) -> tuple[SM2PrivateKey, SM2PrivateKey, KeyExchangeInitiator, KeyExchangeResponder]:
    from mpc.sm2 import KeyExchangeInitiator, KeyExchangeResponder

    a, b = SM2PrivateKey.generate(), SM2PrivateKey.generate()
    alice = KeyExchangeInitiator(a, b.public_key(), key_length=klen, uid=b"alice", peer_uid=b"bob")
    bob = KeyExchangeResponder(b, a.public_key(), key_length=klen, uid=b"bob", peer_uid=b"alice")
    return a, b, alice, bob


def test_key_exchange_round_trip_and_fresh_keys() -> None:
    keys = set()
    for _ in range(3):
        _, _, alice, bob = _pair(32)
        r_b, s_b = bob.respond(alice.start())
        k_a, s_a = alice.finish(r_b, s_b)
        assert bob.finish(s_a) == k_a and len(k_a) == 32
        keys.add(k_a)
    assert len(keys) == 3


def test_key_exchange_without_confirmation() -> None:
    _, _, alice, bob = _pair()
    r_b, _ = bob.respond(alice.start())
    k_a, _ = alice.finish(r_b, None)
    assert bob.finish(None) == k_a


def test_key_exchange_tamper_and_misuse() -> None:
    from mpc.exceptions import ProtocolAbort, ProtocolStateError
    from mpc.sm2 import KeyExchangeInitiator, KeyExchangeResponder

    # A flipped confirmation value aborts on both sides.
    _, _, alice, bob = _pair()
    r_b, s_b = bob.respond(alice.start())
    with pytest.raises(ProtocolAbort, match="S_B"):
        alice.finish(r_b, bytes([s_b[0] ^ 1]) + s_b[1:])
    _, _, alice, bob = _pair()
    r_b, s_b = bob.respond(alice.start())
    _, s_a = alice.finish(r_b, s_b)
    with pytest.raises(ProtocolAbort, match="S_A"):
        bob.finish(s_a[:-1] + bytes([s_a[-1] ^ 1]))
    # A swapped R_B gives a different key, caught by S_B.
    _, _, alice, bob = _pair()
    r_a = alice.start()
    _, s_b = bob.respond(r_a)
    other = SM2PrivateKey.generate().public_key().to_bytes()
    with pytest.raises(ProtocolAbort):
        alice.finish(other, s_b)
    # Points off the curve are refused as protocol aborts.
    _, _, alice, bob = _pair()
    bad = bytearray(alice.start())
    bad[-1] ^= 1
    with pytest.raises(ProtocolAbort, match="R_A"):
        bob.respond(bytes(bad))
    # The wrong peer identity breaks the agreement.
    a, b = SM2PrivateKey.generate(), SM2PrivateKey.generate()
    alice = KeyExchangeInitiator(a, b.public_key(), uid=b"alice", peer_uid=b"bob")
    bob = KeyExchangeResponder(b, a.public_key(), uid=b"bob", peer_uid=b"mallory")
    r_b, s_b = bob.respond(alice.start())
    with pytest.raises(ProtocolAbort):
        alice.finish(r_b, s_b)
    # Steps out of order.
    _, _, alice, bob = _pair()
    with pytest.raises(ProtocolStateError):
        alice.finish(b"\x04" + bytes(64), None)
    with pytest.raises(ProtocolStateError):
        bob.finish(None)
    r_a = alice.start()
    with pytest.raises(ProtocolStateError):
        alice.start()
    bob.respond(r_a)
    with pytest.raises(ProtocolStateError):
        bob.respond(r_a)
    with pytest.raises(ValueError, match="key_length"):
        KeyExchangeInitiator(a, b.public_key(), key_length=0)
    with pytest.raises(TypeError):
        KeyExchangeInitiator(a, b)  # type: ignore[arg-type]
    assert "state=" in repr(alice) and a.private_bytes().hex() not in repr(alice)


def test_handles_are_shared_safely_across_threads(key: SM2PrivateKey) -> None:
    """The native calls release the GIL; key handles are read-only after construction."""
    from concurrent.futures import ThreadPoolExecutor

    pub = key.public_key()

    def job(i: int) -> bytes:
        msg = i.to_bytes(4, "big")
        sig = key.sign(msg)
        pub.verify(sig, msg)
        assert key.decrypt(pub.encrypt(msg)) == msg
        return key.exchange(pub)

    with ThreadPoolExecutor(4) as pool:
        results = set(pool.map(job, range(64)))
    assert len(results) == 1


def test_der_keys_with_trailing_bytes_are_refused(key: SM2PrivateKey) -> None:
    from mpc.sm2 import load_der_private_key, load_der_public_key

    with pytest.raises(ValueError, match="malformed"):
        load_der_public_key(key.public_key().public_bytes_der() + b"\x00")
    with pytest.raises(ValueError, match="malformed"):
        load_der_private_key(key.private_bytes_der() + b"\x00")


def test_pickling(key: SM2PrivateKey) -> None:
    import copy
    import pickle

    pub = key.public_key()
    assert pickle.loads(pickle.dumps(pub)) == pub
    assert copy.deepcopy(pub) == pub
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(key)
    assert key.public_key() is key.public_key()


@settings(max_examples=8)
@given(
    klen=st.integers(min_value=1, max_value=100), uid_a=st.binary(max_size=20), uid_b=st.binary(max_size=20)
)
def test_key_exchange_property(klen: int, uid_a: bytes, uid_b: bytes) -> None:
    a, b = SM2PrivateKey.generate(), SM2PrivateKey.generate()
    alice = KeyExchangeInitiator(a, b.public_key(), key_length=klen, uid=uid_a, peer_uid=uid_b)
    bob = KeyExchangeResponder(b, a.public_key(), key_length=klen, uid=uid_b, peer_uid=uid_a)
    r_b, s_b = bob.respond(alice.start())
    k_a, s_a = alice.finish(r_b, s_b)
    assert len(k_a) == klen and bob.finish(s_a) == k_a
