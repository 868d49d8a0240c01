"""Raw SM2 curve arithmetic and signature math on the constant-time native core.

.. warning::
   These are building blocks, not a signature scheme you can hand to an application: they take
   and return raw 32-byte scalars and 65-byte points, do no key management, and ``sign_digest``
   / ``verify_digest`` trust the caller to have computed ``e = SM3(Z_A || M)``. Use
   ``mpc.sm2`` for keys and signatures; use this module to build reviewed protocols (OPRF,
   pairwise seeds) that need the group itself.

Curve: the SM2 recommended curve of GB/T 32918.5-2017. Encodings are big-endian: scalars 32
bytes, points 65 bytes ``04 || x || y`` (``decode_point`` also takes the 33-byte compressed
form), signatures 64 bytes ``r || s`` (``verify`` also takes DER). Secret scalars (private
keys, nonces, the ``k`` of the scalar multiplications, the operands of ``scalar_*``) are handled
in constant time (checked under valgrind, tests/test_sm2core_ct.py); inversions of
secret-derived values are blinded by a fresh random factor and then done by GMP. Functions that
say "public" or "variable time" must only see public values. Every call releases the GIL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from mpc import exceptions
from mpc._binding import (
    SM2C_COMPRESSED_SIZE,
    SM2C_DIGEST_SIZE,
    SM2C_MAX_UID_SIZE,
    SM2C_POINT_SIZE,
    SM2C_SCALAR_SIZE,
    SM2C_SIG_SIZE,
    lib,
)

__all__ = [
    "COMPRESSED_SIZE",
    "DEFAULT_UID",
    "DIGEST_SIZE",
    "MAX_UID_SIZE",
    "POINT_SIZE",
    "SCALAR_SIZE",
    "SIG_SIZE",
    "N",
    "P",
    "clear_cache",
    "compress_point",
    "decode_der",
    "decode_point",
    "double_scalar_mult",
    "encode_der",
    "generator",
    "multi_scalar_mult",
    "point_add",
    "point_negate",
    "public_key",
    "scalar_add",
    "scalar_base_mult",
    "scalar_inv",
    "scalar_mul",
    "scalar_mult",
    "scalar_mult_batch",
    "scalar_reduce",
    "scalar_sub",
    "sign",
    "sign_digest",
    "static_agree",
    "uses_bmi2_adx",
    "verify",
    "verify_batch",
    "verify_digest",
    "verify_digest_batch",
    "za",
]

SCALAR_SIZE = SM2C_SCALAR_SIZE
POINT_SIZE = SM2C_POINT_SIZE
COMPRESSED_SIZE = SM2C_COMPRESSED_SIZE
SIG_SIZE = SM2C_SIG_SIZE
DIGEST_SIZE = SM2C_DIGEST_SIZE
MAX_UID_SIZE = SM2C_MAX_UID_SIZE
DEFAULT_UID = b"1234567812345678"
"""The default user id of GB/T 35276 and of the ledger's requests."""

P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_G = bytes.fromhex(
    "0432c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7"
    "bc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0"
)


def generator() -> bytes:
    """The base point G, uncompressed."""
    return _G


def uses_bmi2_adx() -> bool:
    """True when field multiplications run on the mulx/adcx/adox path now."""
    return lib.sm2c_have_adx()


# ---- points -----------------------------------------------------------------------------------
def decode_point(data: bytes) -> bytes:
    """Check an uncompressed (65-byte) or compressed (33-byte) encoding; return it uncompressed.
    Raises ``InvalidPoint`` for infinity, a bad prefix or length, or a point off the curve."""
    return lib.sm2c_point_decode(data)


def compress_point(point: bytes) -> bytes:
    return lib.sm2c_point_compress(point)


def point_add(a: bytes, b: bytes) -> bytes:
    """a + b for public points (``InvalidPoint`` if the sum is infinity)."""
    return lib.sm2c_point_add(a, b)


def point_negate(a: bytes) -> bytes:
    return lib.sm2c_point_negate(a)


# ---- scalar multiplication -------------------------------------------------------------------
def scalar_mult(k: bytes, point: bytes) -> bytes:
    """k·P for a secret k in [1, n-1], constant time in k."""
    return lib.sm2c_scalar_mult(k, point)


def scalar_base_mult(k: bytes) -> bytes:
    """k·G for a secret k in [1, n-1], constant time in k (precomputed comb)."""
    return lib.sm2c_scalar_base_mult(k)


def scalar_mult_batch(k: bytes, points: bytes | Sequence[bytes]) -> bytes:
    """k·P_i for every point (one secret k): the points concatenated (65 bytes each) in, the
    products concatenated out. One crossing into C, one field inversion for the batch."""
    buf = points if isinstance(points, bytes) else b"".join(points)
    return lib.sm2c_scalar_mult_batch(k, buf)


def multi_scalar_mult(scalars: Sequence[bytes], points: Sequence[bytes]) -> bytes:
    """Σ s_i·P_i for public scalars in [0, n-1] and public points (variable time)."""
    if len(scalars) != len(points):
        raise ValueError("multi_scalar_mult needs as many scalars as points")
    return lib.sm2c_multi_mult(b"".join(scalars), b"".join(points))


def double_scalar_mult(u1: bytes, u2: bytes, point: bytes) -> bytes:
    """u1·G + u2·P for public u1, u2 in [0, n-1] (variable time)."""
    return lib.sm2c_double_mult(u1, u2, point)


# ---- scalars mod n (constant time) -------------------------------------------------------------
def scalar_add(a: bytes, b: bytes) -> bytes:
    """a + b mod n for 32-byte a, b < n."""
    return lib.sm2c_scalar_add(a, b)


def scalar_sub(a: bytes, b: bytes) -> bytes:
    """a - b mod n for 32-byte a, b < n."""
    return lib.sm2c_scalar_sub(a, b)


def scalar_mul(a: bytes, b: bytes) -> bytes:
    """a · b mod n for 32-byte a, b < n."""
    return lib.sm2c_scalar_mul(a, b)


def scalar_inv(a: bytes) -> bytes:
    """a⁻¹ mod n for a in [1, n-1]."""
    return lib.sm2c_scalar_inv(a)


def scalar_reduce(data: bytes) -> bytes:
    """A big-endian integer of at most 64 bytes (e.g. RFC 9380 hash_to_field output) mod n."""
    return lib.sm2c_scalar_reduce(data)


# ---- SM2 (GB/T 32918.2) -----------------------------------------------------------------------
def public_key(d: bytes) -> bytes:
    """d·G for a private key d in [1, n-2]."""
    return lib.sm2c_public_key(d)


def za(pub: bytes, uid: bytes = DEFAULT_UID) -> bytes:
    """Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)."""
    return lib.sm2c_za(pub, uid)


def sign(d: bytes, msg: bytes, uid: bytes = DEFAULT_UID, *, pub: bytes | None = None) -> bytes:
    """One-shot SM2 signature r || s: Z_A, e = SM3(Z_A || msg), a fresh nonce from OpenSSL's
    RAND_priv_bytes drawn inside C. Pass ``pub`` (= d·G) to save a base multiplication."""
    return lib.sm2c_sign(d, pub, msg, uid)


def sign_digest(d: bytes, e: bytes) -> bytes:
    """Sign the 32-byte digest e = SM3(Z_A || M) with a fresh nonce."""
    return lib.sm2c_sign_digest(d, e)


def _sign_digest_with_k(d: bytes, e: bytes, k: bytes) -> bytes:
    """Known-answer seam: sign with the caller's nonce (vector tests only)."""
    return lib.sm2c_sign_digest(d, e, k)


def _raw_signature(sig: bytes) -> list[bytes]:
    """Interpretations of ``sig``: raw r || s when 64 bytes, DER when it parses."""
    out = []
    if len(sig) == SIG_SIZE:
        out.append(sig)
        if sig[0] != 0x30:  # cannot be DER: spare the parse
            return out
    with contextlib.suppress(ValueError):
        out.append(decode_der(sig))
    return out


def verify(pub: bytes, msg: bytes, uid: bytes, sig: bytes, *, cache: bool = True) -> None:
    """Verify a signature (64-byte r || s or DER) over msg; returns None or raises
    ``InvalidSignature``. ``cache``: the key gets a precomputed table on its second use."""
    if len(sig) == SIG_SIZE and sig[0] != 0x30:
        lib.sm2c_verify(pub, msg, uid, sig, cache)
        return
    candidates = _raw_signature(sig)
    if not candidates:
        raise exceptions.InvalidSignature("SM2 signature is neither 64 bytes r || s nor DER")
    for i, raw in enumerate(candidates):
        try:
            lib.sm2c_verify(pub, msg, uid, raw, cache)
            return
        except exceptions.InvalidSignature:
            if i == len(candidates) - 1:
                raise


def verify_digest(pub: bytes, e: bytes, sig: bytes, *, cache: bool = True) -> None:
    """Verify a 64-byte r || s over the digest e."""
    lib.sm2c_verify_digest(pub, e, sig, cache)


def verify_digest_batch(
    pubs: Sequence[bytes], digests: Sequence[bytes], sigs: Sequence[bytes], *, cache: bool = True
) -> list[bool]:
    """One verdict per (key, digest, r || s) triple, in one call into C."""
    if not len(pubs) == len(digests) == len(sigs):
        raise ValueError("verify_batch needs as many keys, digests and signatures")
    return lib.sm2c_verify_digest_batch(b"".join(pubs), b"".join(digests), b"".join(sigs), cache)


def verify_batch(items: Sequence[tuple[bytes, bytes, bytes, bytes]], *, cache: bool = True) -> list[bool]:
    """One verdict per (pub, msg, uid, r || s); Z_A and e are computed first, then all
    signatures are checked in one call into C. A malformed key raises ``InvalidPoint``."""
    digests = [lib.sm3(lib.sm2c_za(pub, uid) + msg) for pub, msg, uid, _ in items]
    sigs = []
    for _, _, _, sig in items:
        cands = _raw_signature(sig)
        sigs.append(cands[0] if cands else bytes(SIG_SIZE))
    return verify_digest_batch([it[0] for it in items], digests, sigs, cache=cache)


def static_agree(d: bytes, pub: bytes) -> bytes:
    """x(d·P), 32 bytes: the static (non-interactive) SM2 agreement of the statistics rounds."""
    return lib.sm2c_static_agree(d, pub)


def clear_cache() -> None:
    """Drop every per-key verification table."""
    lib.sm2c_cache_clear()


# ---- DER ----------------------------------------------------------------------------------------
def _der_int(v: bytes) -> bytes:
    v = v.lstrip(b"\x00") or b"\x00"
    if v[0] & 0x80:
        v = b"\x00" + v
    return b"\x02" + bytes([len(v)]) + v


def encode_der(sig: bytes) -> bytes:
    """DER SEQUENCE { INTEGER r, INTEGER s } of a 64-byte r || s."""
    if len(sig) != SIG_SIZE:
        raise ValueError("SM2 signature must be 64 bytes (r || s)")
    body = _der_int(sig[:32]) + _der_int(sig[32:])
    return b"\x30" + bytes([len(body)]) + body


def decode_der(der: bytes) -> bytes:
    """Strict DER to 64-byte r || s (minimal encodings, positive integers below 2^256)."""
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2 or der[1] >= 0x80:
        raise ValueError("SM2 signature is not a DER SEQUENCE of two INTEGERs")
    out = b""
    pos = 2
    for _ in range(2):
        if pos + 2 > len(der) or der[pos] != 0x02:
            raise ValueError("SM2 signature is not a DER SEQUENCE of two INTEGERs")
        n = der[pos + 1]
        v = der[pos + 2 : pos + 2 + n]
        if n == 0 or len(v) != n or n > 33:
            raise ValueError("SM2 signature has a bad DER INTEGER length")
        if v[0] & 0x80 or (n > 1 and v[0] == 0 and not v[1] & 0x80):
            raise ValueError("SM2 signature has a non-minimal or negative DER INTEGER")
        if n == 33 and v[0] != 0:
            raise ValueError("SM2 signature INTEGER exceeds 256 bits")
        out += v[-32:].rjust(32, b"\x00")
        pos += 2 + n
    if pos != len(der):
        raise ValueError("SM2 signature has trailing bytes after the DER SEQUENCE")
    return out
