from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc import envelope
from mpc.exceptions import InvalidEnvelope
from mpc.sm2 import SM2PrivateKey
from mpc.sm4 import SM4GCM


@pytest.fixture(scope="module")
def key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


def test_round_trip_and_size(key: SM2PrivateKey) -> None:
    sealed = envelope.seal(key.public_key(), b"cell values", b"round 7")
    assert sealed[0] == envelope.VERSION
    assert len(sealed) == len(b"cell values") + envelope.OVERHEAD == 11 + 98
    assert envelope.open(key, sealed, b"round 7") == b"cell values"
    assert envelope.open(key, envelope.seal(key.public_key(), b"")) == b""
    # Fresh key every time: the same input seals differently.
    assert envelope.seal(key.public_key(), b"x") != envelope.seal(key.public_key(), b"x")


def test_every_failure_is_one_error(key: SM2PrivateKey) -> None:
    data, aad = b"secret statistics " * 4, b"ctx"
    sealed = envelope.seal(key.public_key(), data, aad)
    cases: list[tuple[SM2PrivateKey, bytes, bytes]] = []
    # Flip one bit in every byte position: version, C1, C3, wrapped key, ciphertext, tag.
    for i in range(len(sealed)):
        bad = bytearray(sealed)
        bad[i] ^= 0x04
        cases.append((key, bytes(bad), aad))
    cases += [
        (key, sealed, b"ctx2"),
        (key, sealed, b""),
        (key, sealed[:-1], aad),
        (key, sealed[: envelope.OVERHEAD - 1], aad),
        (key, sealed + b"\x00", aad),
        (key, b"", aad),
        (key, b"\x02" + sealed[1:], aad),
        (SM2PrivateKey.generate(), sealed, aad),
    ]
    for k, env, a in cases:
        with pytest.raises(InvalidEnvelope) as info:
            envelope.open(k, env, a)
        assert str(info.value) == "envelope could not be opened"
        assert info.value.__cause__ is None


def test_wrapped_key_swap_is_rejected(key: SM2PrivateKey) -> None:
    """Re-wrapping a known SM4 key (anyone can encrypt to the recipient) over someone else's
    ciphertext fails: the header is in the GCM associated data."""
    pub = key.public_key()
    a = envelope.seal(pub, b"first", b"")
    b = envelope.seal(pub, b"second", b"")
    mixed = a[:82] + b[82:]
    with pytest.raises(InvalidEnvelope):
        envelope.open(key, mixed)


def test_forged_envelope_with_known_key_needs_the_header_as_aad(key: SM2PrivateKey) -> None:
    # An outsider can build a valid envelope (public-key encryption): what it proves is only that
    # the format is the documented one.
    pub = key.public_key()
    k = bytes(range(16))
    wrapped = envelope._wrap_compact(pub.encrypt(k))
    header = bytes([1]) + wrapped
    forged = header + SM4GCM(k).encrypt(bytes(12), b"hello", header + b"aad")
    assert envelope.open(key, forged, b"aad") == b"hello"


def test_bad_types(key: SM2PrivateKey) -> None:
    with pytest.raises(TypeError, match="SM2PublicKey"):
        envelope.seal(key, b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="data must be bytes"):
        envelope.seal(key.public_key(), "x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="aad must be bytes"):
        envelope.seal(key.public_key(), b"x", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="SM2PrivateKey"):
        envelope.open(key.public_key(), b"x")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="envelope must be bytes"):
        envelope.open(key, "x")  # type: ignore[arg-type]


@settings(max_examples=25)
@given(data=st.binary(max_size=2000), aad=st.binary(max_size=64))
def test_round_trip_property(key: SM2PrivateKey, data: bytes, aad: bytes) -> None:
    sealed = envelope.seal(key.public_key(), data, aad)
    assert len(sealed) == len(data) + envelope.OVERHEAD
    assert envelope.open(key, bytearray(sealed), memoryview(aad)) == data
