"""Prime-order curves for protocols: P-256 and the SM2 curve.

.. warning::
   Raw group operations, the building blocks of ``mpc.oprf``. Using them directly is easy to
   get wrong (unvalidated points, scalars reused across roles); prefer the protocol modules.

Points are their 33-byte compressed SEC1 encodings (RFC 9497's ``SerializeElement``); every
function that takes a point decodes it with a full check (canonical x, on the curve, never the
point at infinity, which has no 33-byte encoding) and raises :class:`~mpc.exceptions.InvalidPoint`
otherwise. Scalars are 32 big-endian bytes in [1, n); a zero or out-of-range scalar raises
ValueError. Batch functions cross into C once and release the GIL.

Hash-to-curve follows RFC 9380: ``P256_XMD:SHA-256_SSWU_RO_`` (section 8.2) and our suite
``SM2_XMD:SM3_SSWU_RO_``: the SM2 curve has A = -3, so simplified SWU applies directly, with
expand_message_xmd over SM3, L = 48, h_eff = 1 and Z = -9, the output of the RFC's
``find_z_sswu`` (Appendix H.2) for the SM2 curve; ``tests/h2c_reference.py`` re-derives it.
The map, the square roots and the point additions are constant time (ec_field.c).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from mpc._binding import EC_CURVE_P256, EC_CURVE_SM2, EC_ELEMENT_SIZE, EC_SCALAR_SIZE, lib
from mpc.exceptions import InvalidPoint
from mpc.sm3 import sm3

__all__ = [
    "ELEMENT_SIZE",
    "P256",
    "SCALAR_SIZE",
    "SM2",
    "Curve",
    "add",
    "curve_by_name",
    "decode_point",
    "encode_point",
    "expand_message_xmd",
    "hash_to_curve",
    "hash_to_curve_batch",
    "hash_to_field",
    "hash_to_scalar",
    "join",
    "map_to_curve",
    "multi_scalar_mult",
    "random_scalar",
    "scalar_inverse",
    "scalar_muladd",
    "scalar_mult",
    "scalar_mult_base",
    "scalar_mult_batch",
    "scalar_negate",
    "split",
    "sub",
    "validate_scalar",
]

ELEMENT_SIZE = EC_ELEMENT_SIZE
SCALAR_SIZE = EC_SCALAR_SIZE


@dataclass(frozen=True)
class Curve:
    """A curve with its RFC 9380 suite; ``hash`` is the suite's hash function (32 bytes)."""

    name: str
    id: int
    h2c_suite: str
    hash_name: str
    p: int
    n: int

    def hash(self, data: bytes) -> bytes:
        if self.id == EC_CURVE_SM2:
            return sm3(data)
        return hashlib.sha256(data).digest()

    def __repr__(self) -> str:
        return f"Curve({self.name})"


def _make(cid: int, suite: str, hash_name: str) -> Curve:
    params = lib.ec_curve_params(cid)
    p, n, name = params["p"], params["n"], params["name"]
    assert isinstance(p, bytes) and isinstance(n, bytes) and isinstance(name, str)
    return Curve(name, cid, suite, hash_name, int.from_bytes(p, "big"), int.from_bytes(n, "big"))


P256 = _make(EC_CURVE_P256, "P256_XMD:SHA-256_SSWU_RO_", "SHA-256")
SM2 = _make(EC_CURVE_SM2, "SM2_XMD:SM3_SSWU_RO_", "SM3")
_BY_NAME = {"P-256": P256, "P256": P256, "SM2": SM2}


def curve_by_name(name: str) -> Curve:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown curve {name!r}; choose P-256 or SM2") from None


def _bytes(value: bytes, what: str) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"{what} must be bytes")
    return bytes(value)


def join(points: Sequence[bytes]) -> bytes:
    """Concatenate encoded elements (or scalars) for the batch functions."""
    return b"".join(points)


def split(data: bytes, size: int = ELEMENT_SIZE) -> list[bytes]:
    if len(data) % size:
        raise ValueError(f"batch length {len(data)} is not a multiple of {size}")
    return [data[i : i + size] for i in range(0, len(data), size)]


# ---- hashing (RFC 9380) ----------------------------------------------------------------------


def expand_message_xmd(curve: Curve, msg: bytes, dst: bytes, length: int) -> bytes:
    """RFC 9380 5.3.1 with the curve suite's hash (SHA-256 or SM3)."""
    return lib.ec_expand_xmd(curve.id, _bytes(msg, "msg"), _bytes(dst, "dst"), length)


def hash_to_field(curve: Curve, msg: bytes, dst: bytes, count: int = 2) -> list[int]:
    """RFC 9380 5.2 into GF(p), L = 48."""
    out = lib.ec_hash_to_field(curve.id, _bytes(msg, "msg"), _bytes(dst, "dst"), count, False)
    return [int.from_bytes(out[i : i + 32], "big") for i in range(0, len(out), 32)]


def hash_to_scalar(curve: Curve, msg: bytes, dst: bytes) -> bytes:
    """hash_to_field into GF(n) (RFC 9497's HashToScalar); 32 bytes, possibly zero."""
    return lib.ec_hash_to_field(curve.id, _bytes(msg, "msg"), _bytes(dst, "dst"), 1, True)


def map_to_curve(curve: Curve, u: int) -> tuple[int, int]:
    """The simplified SWU map of one field element (for vector tests)."""
    xy = lib.ec_map_to_curve(curve.id, u.to_bytes(32, "big"))
    return int.from_bytes(xy[:32], "big"), int.from_bytes(xy[32:], "big")


def hash_to_curve(curve: Curve, msg: bytes, dst: bytes) -> bytes:
    """hash_to_curve (random-oracle variant) of the curve's suite, encoded."""
    return lib.ec_hash_to_curve(curve.id, [_bytes(msg, "msg")], _bytes(dst, "dst"), None, 0)


def hash_to_curve_batch(curve: Curve, msgs: Sequence[bytes], dst: bytes) -> list[bytes]:
    out = lib.ec_hash_to_curve(curve.id, [_bytes(m, "msg") for m in msgs], _bytes(dst, "dst"), None, 0)
    return split(out)


# ---- points ----------------------------------------------------------------------------------


def decode_point(curve: Curve, data: bytes) -> tuple[int, int]:
    """Affine coordinates of an encoded point, after the full validity check."""
    data = _bytes(data, "point")
    if len(data) != ELEMENT_SIZE:
        raise InvalidPoint(f"point must be {ELEMENT_SIZE} bytes, got {len(data)}")
    xy = lib.ec_decode(curve.id, data)
    return int.from_bytes(xy[:32], "big"), int.from_bytes(xy[32:], "big")


def encode_point(curve: Curve, x: int, y: int) -> bytes:
    if not (0 <= x < curve.p and 0 <= y < curve.p):
        raise InvalidPoint("coordinate out of range")
    return lib.ec_encode(curve.id, x.to_bytes(32, "big") + y.to_bytes(32, "big"))


def scalar_mult(curve: Curve, k: bytes, point: bytes) -> bytes:
    """k * P, constant time in k."""
    return scalar_mult_batch(curve, k, [point])[0]


def scalar_mult_batch(curve: Curve, k: bytes, points: Sequence[bytes]) -> list[bytes]:
    """k * P for many points with one secret scalar (the OPRF server's loop), in one C call."""
    data = join(points)
    if len(data) != ELEMENT_SIZE * len(points):
        raise InvalidPoint(f"points must be {ELEMENT_SIZE} bytes each")
    return split(lib.ec_mul(curve.id, _bytes(k, "scalar"), data))


def scalar_mult_base(curve: Curve, k: bytes) -> bytes:
    """k * G, constant time in k."""
    return lib.ec_mul_base(curve.id, _bytes(k, "scalar"))


def add(curve: Curve, a: bytes, b: bytes) -> bytes:
    """a + b; InvalidPoint if the sum is the point at infinity."""
    return lib.ec_add(curve.id, _bytes(a, "point"), _bytes(b, "point"), False)


def sub(curve: Curve, a: bytes, b: bytes) -> bytes:
    return lib.ec_add(curve.id, _bytes(a, "point"), _bytes(b, "point"), True)


def multi_scalar_mult(
    curve: Curve, scalars: Sequence[bytes], points: Sequence[bytes], base_scalar: bytes | None = None
) -> bytes:
    """base_scalar * G + sum scalars[i] * points[i], for public scalars only (variable time)."""
    if len(scalars) != len(points):
        raise ValueError("need one scalar per point")
    return lib.ec_msm(curve.id, base_scalar, join(scalars), join(points))


# ---- scalars ---------------------------------------------------------------------------------


def random_scalar(curve: Curve) -> bytes:
    """A uniform scalar in [1, n) from the OS generator."""
    return (secrets.randbelow(curve.n - 1) + 1).to_bytes(SCALAR_SIZE, "big")


def validate_scalar(curve: Curve, k: bytes) -> bytes:
    """``k`` if it is 32 bytes in [1, n), else ValueError."""
    k = _bytes(k, "scalar")
    if len(k) != SCALAR_SIZE:
        raise ValueError(f"scalar must be {SCALAR_SIZE} bytes")
    if not 0 < int.from_bytes(k, "big") < curve.n:
        raise ValueError("scalar must be in [1, n)")
    return k


_ZERO = bytes(SCALAR_SIZE)


def scalar_muladd(curve: Curve, a: bytes, b: bytes, c: bytes) -> bytes:
    """a * b + c mod n, constant time (a, b, c canonical)."""
    return lib.ec_scalar(curve.id, 0, a, b, c)


def scalar_inverse(curve: Curve, a: bytes) -> bytes:
    return lib.ec_scalar(curve.id, 1, a, _ZERO, _ZERO)


def scalar_negate(curve: Curve, a: bytes) -> bytes:
    return lib.ec_scalar(curve.id, 2, a, _ZERO, _ZERO)
