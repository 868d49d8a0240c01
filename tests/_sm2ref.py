"""Slow, independent SM2 reference in pure Python (affine arithmetic over Python ints).

Written from GB/T 32918 (parts 1, 2 and 5) for cross-checking the C core; never used by the
library. Points are ``(x, y)`` tuples, ``None`` is the point at infinity.
"""

from __future__ import annotations

import hashlib

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = P - 3
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0
G = (GX, GY)

Point = tuple[int, int] | None


def on_curve(pt: Point) -> bool:
    if pt is None:
        return False
    x, y = pt
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def add(p1: Point, p2: Point) -> Point:
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    x1, y1 = p1
    x2, y2 = p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        lam = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (lam * lam - x1 - x2) % P
    return x3, (lam * (x1 - x3) - y1) % P


def neg(pt: Point) -> Point:
    return None if pt is None else (pt[0], (-pt[1]) % P)


def mul(k: int, pt: Point) -> Point:
    result: Point = None
    addend = pt
    k %= N
    while k:
        if k & 1:
            result = add(result, addend)
        addend = add(addend, addend)
        k >>= 1
    return result


def encode(pt: Point) -> bytes:
    assert pt is not None
    return b"\x04" + pt[0].to_bytes(32, "big") + pt[1].to_bytes(32, "big")


def compress(pt: Point) -> bytes:
    assert pt is not None
    return bytes([2 | (pt[1] & 1)]) + pt[0].to_bytes(32, "big")


def decode(data: bytes) -> Point:
    if len(data) == 65 and data[0] == 4:
        pt = (int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big"))
    elif len(data) == 33 and data[0] in (2, 3):
        x = int.from_bytes(data[1:], "big")
        rhs = (x * x * x + A * x + B) % P
        y = pow(rhs, (P + 1) // 4, P)
        if y * y % P != rhs:
            raise ValueError("not on curve")
        if (y & 1) != (data[0] & 1):
            y = P - y
        pt = (x, y)
    else:
        raise ValueError("bad encoding")
    if not on_curve(pt):
        raise ValueError("not on curve")
    return pt


def sm3(data: bytes) -> bytes:
    return hashlib.new("sm3", data).digest()


def za(pub: Point, uid: bytes) -> bytes:
    assert pub is not None
    entl = (8 * len(uid)).to_bytes(2, "big")
    parts = [A, B, GX, GY, pub[0], pub[1]]
    return sm3(entl + uid + b"".join(v.to_bytes(32, "big") for v in parts))


def sign_digest(d: int, e: int, k: int) -> tuple[int, int]:
    x1, _ = mul(k, G)  # type: ignore[misc]
    r = (e + x1) % N
    if r == 0 or r + k == N:
        raise ValueError("bad k")
    s = pow(1 + d, -1, N) * (k - r * d) % N
    if s == 0:
        raise ValueError("bad k")
    return r, s


def verify_digest(pub: Point, e: int, r: int, s: int) -> bool:
    if not (1 <= r < N and 1 <= s < N):
        return False
    t = (r + s) % N
    if t == 0:
        return False
    pt = add(mul(s, G), mul(t, pub))
    if pt is None:
        return False
    return (e + pt[0]) % N == r


def digest(pub: Point, uid: bytes, msg: bytes) -> int:
    return int.from_bytes(sm3(za(pub, uid) + msg), "big")
