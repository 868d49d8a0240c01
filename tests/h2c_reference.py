"""Slow, independent pure-Python reference for RFC 9380 hash-to-curve and RFC 9497 OPRF.

Shares no code with ``mpc`` (not even its SM3: SM3 comes from gmssl's pure-Python code, SHA-256
from hashlib). It follows the RFCs' plain descriptions rather than the straight-line code the C
implementation uses: the simplified SWU map of RFC 9380 6.6.2 with its explicit exceptional case,
affine double-and-add, Python integers. It checks itself against the RFC's P-256 vectors in the
tests before it is trusted to produce the SM2 vector files:

    python -m tests.h2c_reference            # rewrite tests/vectors/{h2c,oprf}/*sm2*.txt
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gmssl import func as gm_func
from gmssl import sm3 as gm_sm3

Point = tuple[int, int] | None  # None is the point at infinity


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sm3(data: bytes) -> bytes:
    return bytes.fromhex(gm_sm3.sm3_hash(gm_func.bytes_to_list(data)))


@dataclass(frozen=True)
class RefCurve:
    name: str
    p: int
    a: int
    b: int
    n: int
    gx: int
    gy: int
    hash: Callable[[bytes], bytes]
    suite: str
    oprf_id: str


P256 = RefCurve(
    "P-256",
    p=2**256 - 2**224 + 2**192 + 2**96 - 1,
    a=-3,
    b=0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B,
    n=0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    gx=0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    gy=0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    hash=sha256,
    suite="P256_XMD:SHA-256_SSWU_RO_",
    oprf_id="P256-SHA256",
)
# GB/T 32918.5-2017, the recommended curve
SM2 = RefCurve(
    "SM2",
    p=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF,
    a=-3,
    b=0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93,
    n=0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123,
    gx=0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    gy=0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
    hash=sm3,
    suite="SM2_XMD:SM3_SSWU_RO_",
    oprf_id="SM2-SM3",
)


# ---- RFC 9380 --------------------------------------------------------------------------------


def i2osp(x: int, n: int) -> bytes:
    return x.to_bytes(n, "big")


def expand_message_xmd(H: Callable[[bytes], bytes], msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    b_in_bytes, s_in_bytes = 32, 64
    if len(dst) > 255:
        dst = H(b"H2C-OVERSIZE-DST-" + dst)
    ell = -(-len_in_bytes // b_in_bytes)
    assert ell <= 255 and len_in_bytes <= 65535
    dst_prime = dst + i2osp(len(dst), 1)
    msg_prime = bytes(s_in_bytes) + msg + i2osp(len_in_bytes, 2) + i2osp(0, 1) + dst_prime
    b = [H(msg_prime)]
    b.append(H(b[0] + i2osp(1, 1) + dst_prime))
    for i in range(2, ell + 1):
        b.append(H(bytes(x ^ y for x, y in zip(b[0], b[i - 1], strict=True)) + i2osp(i, 1) + dst_prime))
    return b"".join(b[1:])[:len_in_bytes]


def hash_to_field(c: RefCurve, msg: bytes, count: int, dst: bytes, modulus: int | None = None) -> list[int]:
    m = c.p if modulus is None else modulus
    L = 48
    ub = expand_message_xmd(c.hash, msg, dst, count * L)
    return [int.from_bytes(ub[L * i : L * (i + 1)], "big") % m for i in range(count)]


def is_square(c: RefCurve, x: int) -> bool:
    x %= c.p
    return x == 0 or pow(x, (c.p - 1) // 2, c.p) == 1


def sqrt(c: RefCurve, x: int) -> int:
    assert c.p % 4 == 3
    r = pow(x % c.p, (c.p + 1) // 4, c.p)
    assert r * r % c.p == x % c.p
    return r


def sgn0(x: int) -> int:
    return x % 2


def inv0(c: RefCurve, x: int) -> int:
    return pow(x % c.p, c.p - 2, c.p)


def find_z_sswu(c: RefCurve) -> int:
    """RFC 9380 Appendix H.2. Criterion 3 (g(x) - Z irreducible) is, for a cubic, "no root in
    GF(p)", tested with gcd(x^p - x, g(x) - Z)."""
    p, A, B = c.p, c.a % c.p, c.b

    def g(x: int) -> int:
        return (x**3 + A * x + B) % p

    def has_root(z: int) -> bool:
        mod = [(B - z) % p, A, 0]  # x^3 + A x + (B - z), low -> high, monic implied

        def mulmod(u: list[int], v: list[int]) -> list[int]:
            r = [0] * (len(u) + len(v) - 1)
            for i, ui in enumerate(u):
                for j, vj in enumerate(v):
                    r[i + j] = (r[i + j] + ui * vj) % p
            while len(r) > 3:
                top = r.pop()
                for k in range(3):
                    r[len(r) - 3 + k] = (r[len(r) - 3 + k] - top * mod[k]) % p
            return r

        acc, base, e = [1], [0, 1], p
        while e:
            if e & 1:
                acc = mulmod(acc, base)
            base = mulmod(base, base)
            e >>= 1
        acc = [*acc, 0, 0, 0][:3]
        acc[1] = (acc[1] - 1) % p

        def trim(u: list[int]) -> list[int]:
            while u and u[-1] == 0:
                u.pop()
            return u

        x, y = trim([*mod, 1]), trim(acc)
        while y:
            inv = pow(y[-1], -1, p)
            while len(x) >= len(y) and x:
                f, sh = x[-1] * inv % p, len(x) - len(y)
                for i, yi in enumerate(y):
                    x[sh + i] = (x[sh + i] - f * yi) % p
                x = trim(x)
            x, y = y, x
        return len(x) > 1  # a nonconstant gcd means a root

    ctr = 1
    while True:
        for z in (ctr % p, -ctr % p):
            if is_square(c, z) or z == p - 1 or has_root(z):
                continue
            if is_square(c, g(B * pow(z * A, -1, p) % p)):
                return z
        ctr += 1


Z = {"P-256": P256.p - 10, "SM2": SM2.p - 9}


def map_to_curve_sswu(c: RefCurve, u: int) -> tuple[int, int]:
    """RFC 9380 6.6.2, the plain description."""
    p, A, B, z = c.p, c.a % c.p, c.b, Z[c.name]
    tv1 = inv0(c, z * z * pow(u, 4, p) + z * u * u)
    x1 = (-B * pow(A, -1, p) * (1 + tv1)) % p
    if tv1 == 0:
        x1 = B * pow(z * A, -1, p) % p
    gx1 = (x1**3 + A * x1 + B) % p
    x2 = z * u * u * x1 % p
    gx2 = (x2**3 + A * x2 + B) % p
    if is_square(c, gx1):
        x, y = x1, sqrt(c, gx1)
    else:
        x, y = x2, sqrt(c, gx2)
    if sgn0(u) != sgn0(y):
        y = -y % p
    return x, y


def on_curve(c: RefCurve, P: Point) -> bool:
    if P is None:
        return False
    x, y = P
    return (y * y - (x**3 + c.a * x + c.b)) % c.p == 0


def add(c: RefCurve, P: Point, Q: Point) -> Point:
    if P is None:
        return Q
    if Q is None:
        return P
    p = c.p
    (x1, y1), (x2, y2) = P, Q
    if x1 == x2 and (y1 + y2) % p == 0:
        return None
    if P == Q:  # noqa: SIM108 - two formulas read better apart
        lam = (3 * x1 * x1 + c.a) * pow(2 * y1, -1, p) % p
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, p) % p
    x3 = (lam * lam - x1 - x2) % p
    return x3, (lam * (x1 - x3) - y1) % p


def neg(c: RefCurve, P: Point) -> Point:
    return None if P is None else (P[0], -P[1] % c.p)


def mul(c: RefCurve, k: int, P: Point) -> Point:
    R: Point = None
    for bit in bin(k % c.n)[2:]:
        R = add(c, R, R)
        if bit == "1":
            R = add(c, R, P)
    return R


def hash_to_curve(c: RefCurve, msg: bytes, dst: bytes) -> tuple[int, int]:
    u0, u1 = hash_to_field(c, msg, 2, dst)
    P = add(c, map_to_curve_sswu(c, u0), map_to_curve_sswu(c, u1))
    assert P is not None
    return P


def encode(P: Point) -> bytes:
    assert P is not None
    return bytes([2 + (P[1] & 1)]) + P[0].to_bytes(32, "big")


def decode(c: RefCurve, data: bytes) -> Point:
    assert len(data) == 33 and data[0] in (2, 3)
    x = int.from_bytes(data[1:], "big")
    assert x < c.p
    y = sqrt(c, x**3 + c.a * x + c.b)
    if y & 1 != data[0] & 1:
        y = c.p - y
    return x, y


# ---- RFC 9497 ----------------------------------------------------------------------------------

MODES = {"OPRF": 0, "VOPRF": 1, "POPRF": 2}


def context_string(c: RefCurve, mode: str) -> bytes:
    return b"OPRFV1-" + i2osp(MODES[mode], 1) + b"-" + c.oprf_id.encode()


def hash_to_scalar(c: RefCurve, msg: bytes, ctx: bytes, dst: bytes | None = None) -> int:
    return hash_to_field(c, msg, 1, dst if dst is not None else b"HashToScalar-" + ctx, c.n)[0]


def hash_to_group(c: RefCurve, msg: bytes, ctx: bytes) -> tuple[int, int]:
    return hash_to_curve(c, msg, b"HashToGroup-" + ctx)


def derive_key_pair(c: RefCurve, mode: str, seed: bytes, info: bytes) -> tuple[int, Point]:
    ctx = context_string(c, mode)
    derive_input = seed + i2osp(len(info), 2) + info
    for counter in range(256):
        sk = hash_to_scalar(c, derive_input + i2osp(counter, 1), ctx, b"DeriveKeyPair" + ctx)
        if sk:
            return sk, mul(c, sk, (c.gx, c.gy))
    raise ValueError("DeriveKeyPairError")


def _len_prefixed(*parts: bytes) -> bytes:
    return b"".join(i2osp(len(x), 2) + x for x in parts)


def compute_composites(
    c: RefCurve, ctx: bytes, B: Point, C: list[Point], D: list[Point]
) -> tuple[Point, Point]:
    seed = c.hash(_len_prefixed(encode(B), b"Seed-" + ctx))
    M: Point = None
    Zc: Point = None
    for i, (ci, di) in enumerate(zip(C, D, strict=True)):
        t = i2osp(len(seed), 2) + seed + i2osp(i, 2) + _len_prefixed(encode(ci), encode(di)) + b"Composite"
        d = hash_to_scalar(c, t, ctx)
        M = add(c, mul(c, d, ci), M)
        Zc = add(c, mul(c, d, di), Zc)
    return M, Zc


def generate_proof(
    c: RefCurve, ctx: bytes, k: int, A: Point, B: Point, C: list[Point], D: list[Point], r: int
) -> bytes:
    M, Zc = compute_composites(c, ctx, B, C, D)  # the plain (not "Fast") composites
    t2, t3 = mul(c, r, A), mul(c, r, M)
    transcript = _len_prefixed(encode(B), encode(M), encode(Zc), encode(t2), encode(t3)) + b"Challenge"
    ch = hash_to_scalar(c, transcript, ctx)
    s = (r - ch * k) % c.n
    return i2osp(ch, 32) + i2osp(s, 32)


def finalize_hash(c: RefCurve, inp: bytes, N: Point, info: bytes | None = None) -> bytes:
    if info is None:
        return c.hash(_len_prefixed(inp, encode(N)) + b"Finalize")
    return c.hash(_len_prefixed(inp, info, encode(N)) + b"Finalize")


def vector(
    c: RefCurve, mode: str, seed: bytes, key_info: bytes, inputs: list[bytes], blinds: list[int], proof_r: int
) -> dict[str, str]:
    """One RFC 9497-style test vector (OPRF or VOPRF mode) for a batch of inputs."""
    ctx = context_string(c, mode)
    sk, pk = derive_key_pair(c, mode, seed, key_info)
    G = (c.gx, c.gy)
    blinded = [mul(c, r, hash_to_group(c, x, ctx)) for x, r in zip(inputs, blinds, strict=True)]
    evaluated = [mul(c, sk, b) for b in blinded]
    outputs = [
        finalize_hash(c, x, mul(c, pow(r, -1, c.n), z))
        for x, r, z in zip(inputs, blinds, evaluated, strict=True)
    ]
    v = {
        "Seed": seed.hex(),
        "KeyInfo": key_info.hex(),
        "skSm": i2osp(sk, 32).hex(),
    }
    if mode != "OPRF":
        v["pkSm"] = encode(pk).hex()
    v["Input"] = ",".join(x.hex() for x in inputs)
    v["Blind"] = ",".join(i2osp(r, 32).hex() for r in blinds)
    v["BlindedElement"] = ",".join(encode(b).hex() for b in blinded)
    v["EvaluationElement"] = ",".join(encode(z).hex() for z in evaluated)
    if mode == "VOPRF":
        v["Proof"] = generate_proof(c, ctx, sk, G, pk, blinded, evaluated, proof_r).hex()
        v["ProofRandomScalar"] = i2osp(proof_r, 32).hex()
    v["Output"] = ",".join(o.hex() for o in outputs)
    return v


# ---- vector files ------------------------------------------------------------------------------

VECTORS = Path(__file__).parent / "vectors"
H2C_MSGS = [b"", b"abc", b"abcdef0123456789", b"q128_" + b"q" * 128, b"a512_" + b"a" * 512]
SM2_H2C_DST = b"QUUX-V01-CS02-with-SM2_XMD:SM3_SSWU_RO_"
SM2_XMD_DST = b"QUUX-V01-CS02-with-expander-SM3-128"
OPRF_SEED = bytes([0xA3]) * 32
OPRF_KEY_INFO = b"test key"
# the RFC 9497 vectors' blinds and proof scalars, reduced mod n of the SM2 curve (all < n already)
BLIND_1 = 0x3338FA65EC36E0290022B48EB562889D89DBFA691D1CDE91517FA222ED7AD364
BLIND_2 = 0xF9DB001266677F62C095021DB018CD8CBB55941D4073698CE45C405D1348B7B1
PROOF_R_1 = 0xF9DB001266677F62C095021DB018CD8CBB55941D4073698CE45C405D1348B7B1
PROOF_R_2 = 0x350E8040F828BF6CECA27405420CDF3D63CB3AEF005F40BA51943C8026877963


def sm2_h2c_file() -> str:
    c = SM2
    out = [
        "# source: riskshare's own vectors for the SM2_XMD:SM3_SSWU_RO_ suite (RFC 9380 applied to the SM2",
        "# source: curve of GB/T 32918.5 with SM3, L = 48, Z = -9 from RFC 9380 Appendix H.2 find_z_sswu),",
        "# source: generated by tests/h2c_reference.py (pure Python, gmssl SM3); messages of RFC 9380 J.1.1",
        f"# Z = -9; DST = {SM2_H2C_DST.decode()}",
        "",
    ]
    for m in H2C_MSGS:
        u0, u1 = hash_to_field(c, m, 2, SM2_H2C_DST)
        q0, q1 = map_to_curve_sswu(c, u0), map_to_curve_sswu(c, u1)
        P = add(c, q0, q1)
        assert P is not None and on_curve(c, P) and on_curve(c, q0) and on_curve(c, q1)
        out += [
            "[SM2_XMD:SM3_SSWU_RO_]",
            f"DST = {SM2_H2C_DST.decode()}",
            f"msg_hex = {m.hex()}".rstrip(),
            f"P.x = {P[0]:064x}",
            f"P.y = {P[1]:064x}",
            f"u0 = {u0:064x}",
            f"u1 = {u1:064x}",
            f"Q0.x = {q0[0]:064x}",
            f"Q0.y = {q0[1]:064x}",
            f"Q1.x = {q1[0]:064x}",
            f"Q1.y = {q1[1]:064x}",
            "",
        ]
    for length in (0x20, 0x80):
        for m in H2C_MSGS:
            out += [
                "[expand_message_xmd(SM3)]",
                f"DST = {SM2_XMD_DST.decode()}",
                f"msg_hex = {m.hex()}".rstrip(),
                f"len_in_bytes = {length}",
                f"uniform_bytes = {expand_message_xmd(sm3, m, SM2_XMD_DST, length).hex()}",
                "",
            ]
    return "\n".join(out)


def sm2_oprf_file() -> str:
    c = SM2
    out = [
        "# source: riskshare's own vectors for the OPRF suite SM2-SM3 (RFC 9497 with the group of",
        "# source: SM2_XMD:SM3_SSWU_RO_ and Hash = SM3), generated by tests/h2c_reference.py (pure Python);",
        "# source: seed, key info, inputs, blinds and proof scalars are those of RFC 9497 Appendix A.",
        "",
    ]
    x1, x2 = b"\x00", b"\x5a" * 17
    cases = [
        ("OPRF", [x1], [BLIND_1], 0),
        ("OPRF", [x2], [BLIND_1], 0),
        ("VOPRF", [x1], [BLIND_1], PROOF_R_1),
        ("VOPRF", [x2], [BLIND_1], PROOF_R_1),
        ("VOPRF", [x1, x2], [BLIND_1, BLIND_2], PROOF_R_2),
    ]
    for mode, inputs, blinds, r in cases:
        out.append(f"[{mode}]")
        out += [f"{k} = {v}" for k, v in vector(c, mode, OPRF_SEED, OPRF_KEY_INFO, inputs, blinds, r).items()]
        out.append("")
    return "\n".join(out)


def main() -> None:
    (VECTORS / "h2c" / "sm2_sm3_reference.txt").write_text(sm2_h2c_file())
    (VECTORS / "oprf" / "sm2_sm3_reference.txt").write_text(sm2_oprf_file())
    print(f"wrote SM2 vectors; find_z_sswu(SM2) = -{SM2.p - find_z_sswu(SM2)}")


if __name__ == "__main__":
    main()
