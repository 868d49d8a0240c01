"""Paillier encryption (g = n + 1) for secure aggregation, in the C core, interoperable with phe.

``generate_keypair()`` returns a public and a private key; ``public_key.encrypt(x)`` gives an
:class:`EncryptedNumber` that adds ciphertexts and integers, multiplies by integers and decrypts
with ``private_key.decrypt``. Plaintexts are signed integers in (-n/3, n/3), stored mod n as phe
stores them; a decryption that lands between n/3 and 2n/3 raises :class:`PaillierOverflow`
(results that wrap further around cannot be told apart, as in any Paillier encoding). Raw
plaintexts 0 <= m < n, as pairwise-masked statistics need, are in :mod:`mpc.hazmat.paillier`.

**Key generation.** Two random *safe* primes p = 2p' + 1 and q of |n|/2 bits each, with their
top two bits set (so |n| is exact), p != q, |p - q| > 2^(|n|/2 - 64), gcd(n, phi(n)) = 1, drawn
on two threads by OpenSSL's ``BN_generate_prime_ex2``. Safe primes make the squares of Z_n* a
cyclic group of order p'q', so h below has a huge order with overwhelming probability, and they
are what later zero-knowledge proofs about the key expect. They are affordable: measured here,
one 1024-bit safe prime takes 0.4 to 4 s and one 1536-bit prime 0.4 to 14 s, so a 2048-bit key
takes seconds and a 3072-bit key seconds to a minute, once per key holder. The test suite uses
``_generate_keypair(bits, safe_primes=False)`` (and 1024-bit keys) for speed; nothing secret is
stored in the repository (the known-answer primes in tests/vectors are public test data).

**Encryption** (Damgård, Jurik and Nielsen, "A generalization of Paillier's public-key system
with applications to electronic voting", IJIS 9(6), 2010, the variant with faster encryption):
each public-key object picks a random y in Z_n*, sets h = -y^2 mod n and h_s = h^n mod n^2, and
encrypts as c = (1 + m n) * h_s^a mod n^2 with a **uniform exponent a of ceil(|n| / 2) bits**
(1024 bits at n = 2048, 1536 at 3072). h_s^a = (h^a)^n is the textbook Paillier randomiser r^n
with r = h^a, so decryption is unchanged and phe reads our ciphertexts. Why that length: the
only difference from textbook Paillier is that r = h^a ranges over powers of h with a short
exponent instead of all of Z_n*. Håstad, Schrift and Shamir ("The discrete logarithm modulo a
composite hides O(n) bits", JCSS 47(3), 1993) show that the upper half of x is simultaneously
hard-core for x -> g^x mod N under the factoring assumption; the standard consequence is that
h^a with a uniform of |n|/2 bits cannot be told from h^a with a full-length exponent unless n
can be factored. Since r -> r^n mod n^2 is a public injective map, the same holds for h_s^a,
and with a full-length exponent h_s^a is a uniform n-th residue of <h>^n, which is what DJN's
proof needs. Semantic security then rests on DCR and factoring, with no extra assumption. The
shorter "2 lambda" choice (256 bits) would need a discrete-log-with-short-exponent assumption in
a group of unknown order, which we prefer not to add for the factor of four it saves (we are at
30x phe with |n|/2 bits anyway). Only h_s^a, (1 + m n) and the products are computed in C;
encoding a signed value mod n happens on Python integers, which are not constant time. h_s^a is
a fixed-base exponentiation: a table h_s^(j * 2^(6 i)) built on first use per key object (about
7 MiB and 45 ms at n = 2048 on the IFMA path, 5.5 MiB on the portable one) turns it into 171
multiplications mod n^2 and no squaring; every table row is read whole, so the secret digits of
a do not select memory.

**Decryption** is CRT over p^2 and q^2 with constant-time exponentiation by p - 1 and q - 1:
AVX-512 IFMA (radix 2^52, fixed 5-bit windows, masked table reads) when the CPU has it, with the
two halves interleaved on one core so that each hides the other's latency; otherwise OpenSSL's
``BN_mod_exp_mont_consttime`` (ERRATA: faster at 2048 bits than GMP's ``mpz_powm_sec``).
``workers=2`` runs the two halves on two cores instead. Batches (``encrypt_many``,
``decrypt_many``) cross into C once and split the work over ``workers`` threads with the GIL
released.

**Obfuscator pool.** ``fill_pool(k)`` precomputes k randomisers h_s^a; while the pool lasts, an
encryption costs one multiplication mod n^2. A pooled randomiser is used once and dropped.

**Wire formats** (versioned, big-endian, length-prefixed): public key = version (1) || u16 byte
length of n || n. Ciphertext = version (1) || key id (8: SM3 of the public key's wire form) ||
i16 exponent || u16 byte length of c || c in 2 * |n|/8 bytes. Ciphertexts are malleable by design
(that is the point of Paillier): integrity comes from the signature on the message that carries
them.

**phe interop.** :func:`to_phe` and :func:`from_phe` move keys (n, p, q) and ciphertexts both
ways; ``exponent`` on :class:`EncryptedNumber` is phe's base-16 fixed-point exponent, so phe's
encoded floats decrypt with :meth:`PaillierPrivateKey.decrypt_float`. phe is only a test and
benchmark dependency and is imported lazily; nothing of it is copied here.
"""

from __future__ import annotations

import math
import operator
import os
import struct
from collections import deque
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from mpc._binding import PAILLIER_MAX_WORKERS, PAILLIER_MIN_BITS, PAILLIER_WIRE_VERSION, lib
from mpc.exceptions import DecryptionError, PaillierKeyMismatch, PaillierOverflow
from mpc.sm3 import sm3

__all__ = [
    "DEFAULT_N_LENGTH",
    "DecryptionError",
    "EncryptedNumber",
    "PackedEncoder",
    "PaillierKeyMismatch",
    "PaillierOverflow",
    "PaillierPrivateKey",
    "PaillierPublicKey",
    "from_phe",
    "generate_keypair",
    "to_phe",
]

DEFAULT_N_LENGTH = 2048
BASE = 16  # phe's fixed-point base
_FLOAT_MANTISSA_BITS = 53
_CT_HEADER = struct.Struct(">B8shH")
_PK_HEADER = struct.Struct(">BH")


def _default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1, PAILLIER_MAX_WORKERS))


def _as_int(value: object, what: str = "plaintext") -> int:
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"Paillier {what} must be an int, not {type(value).__name__}")
    return operator.index(value)  # type: ignore[arg-type]


def _workers(workers: int | None) -> int:
    if workers is None:
        return _default_workers()
    w = _as_int(workers, "worker count")
    if not 1 <= w <= PAILLIER_MAX_WORKERS:
        raise ValueError(f"workers must be between 1 and {PAILLIER_MAX_WORKERS}")
    return w


class PaillierPublicKey:
    """A Paillier public key (n, with g = n + 1). Encrypts; compares by n."""

    __slots__ = ("_ctx", "_key_id", "_nbytes", "_pool", "max_int", "n", "nsquare")

    def __init__(self, n: int) -> None:
        n = _as_int(n, "modulus")
        if n.bit_length() < PAILLIER_MIN_BITS:
            raise ValueError(f"Paillier modulus must have at least {PAILLIER_MIN_BITS} bits")
        self.n = n
        self.nsquare = n * n
        self._nbytes = (n.bit_length() + 7) // 8
        self.max_int = n // 3 - 1
        self._ctx = lib.PaillierPublic(n.to_bytes(self._nbytes, "big"))
        self._key_id = sm3(self.to_bytes())[:8]
        self._pool: deque[bytes] = deque()

    # -- properties -------------------------------------------------------------------------
    @property
    def g(self) -> int:
        return self.n + 1

    @property
    def n_length(self) -> int:
        return self.n.bit_length()

    @property
    def exponent_bits(self) -> int:
        """Bits of the DJN exponent a of each encryption (ceil(|n| / 2))."""
        return self._ctx.exponent_bits

    @property
    def key_id(self) -> bytes:
        """8 bytes naming this key in serialized ciphertexts: SM3 of the key's wire form."""
        return self._key_id

    @property
    def ciphertext_size(self) -> int:
        return 2 * self._nbytes

    @property
    def pool_size(self) -> int:
        return len(self._pool)

    # -- encryption ---------------------------------------------------------------------------
    def encode(self, value: int) -> int:
        """The plaintext mod n of a signed integer in (-n/3, n/3)."""
        v = _as_int(value)
        if abs(v) > self.max_int:
            raise PaillierOverflow("Paillier plaintext outside (-n/3, n/3)")
        return v % self.n

    def encrypt(self, value: int) -> EncryptedNumber:
        """Encrypt a signed integer in (-n/3, n/3)."""
        return self._encrypt_raw(self.encode(value))

    def encrypt_many(self, values: Iterable[int], *, workers: int | None = None) -> list[EncryptedNumber]:
        """Encrypt many signed integers in one native call over ``workers`` threads (default 2)."""
        return self._encrypt_raw_many([self.encode(v) for v in values], workers)

    def encrypt_float(self, value: float, precision: float | None = None) -> EncryptedNumber:
        """Encrypt a float as phe's base-16 fixed point (mantissa, exponent)."""
        mantissa, exponent = encode_float(self, value, precision)
        return self._encrypt_raw(mantissa % self.n, exponent)

    def fill_pool(self, count: int, *, workers: int | None = None) -> None:
        """Precompute ``count`` randomisers so that later encryptions cost one multiplication."""
        count = _as_int(count, "pool size")
        if count < 0:
            raise ValueError("pool size must be non-negative")
        blob = self._ctx.obfuscators(count, _workers(workers))
        size = self.ciphertext_size
        self._pool.extend(blob[i : i + size] for i in range(0, len(blob), size))

    def _encrypt_raw(self, m: int, exponent: int = 0) -> EncryptedNumber:
        mb = m.to_bytes(self._nbytes, "big")
        try:
            obf = self._pool.popleft()
        except IndexError:
            c = self._ctx.encrypt(mb, 1)
        else:
            c = self._ctx.encrypt_obf(mb, obf)
        return EncryptedNumber._trusted(self, c, exponent)

    def _encrypt_raw_many(self, ms: Sequence[int], workers: int | None) -> list[EncryptedNumber]:
        nb = self._nbytes
        blob = b"".join(m.to_bytes(nb, "big") for m in ms)
        if ms and len(self._pool) >= len(ms):
            obf = b"".join(self._pool.popleft() for _ in ms)
            out = self._ctx.encrypt_obf(blob, obf)
        else:
            out = self._ctx.encrypt(blob, _workers(workers))
        return _split(self, out)

    def _encrypt_with_r(self, value: int, r: int) -> EncryptedNumber:
        """Textbook (1 + n)^m r^n mod n^2 with a given r: known-answer tests only."""
        m = self.encode(value)
        return EncryptedNumber._trusted(
            self, self._ctx._encrypt_with_r(m.to_bytes(self._nbytes, "big"), r.to_bytes(self._nbytes, "big"))
        )

    def _encrypt_with_a(self, value: int, a: int, y: int) -> EncryptedNumber:
        """DJN encryption with given exponent a and base y (resets the table): tests only."""
        m = self.encode(value)
        ab = (self.exponent_bits + 7) // 8
        c = self._ctx._encrypt_with_a(
            m.to_bytes(self._nbytes, "big"), a.to_bytes(ab, "big"), y.to_bytes(self._nbytes, "big")
        )
        return EncryptedNumber._trusted(self, c)

    def _h_s(self) -> int:
        return int.from_bytes(self._ctx.h_s(), "big")

    # -- serialization ----------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        return _PK_HEADER.pack(PAILLIER_WIRE_VERSION, self._nbytes) + self.n.to_bytes(self._nbytes, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> PaillierPublicKey:
        data = bytes(data)
        if len(data) < _PK_HEADER.size:
            raise ValueError("Paillier public key: truncated")
        version, length = _PK_HEADER.unpack_from(data)
        if version != PAILLIER_WIRE_VERSION:
            raise ValueError(f"Paillier public key: unknown version {version}")
        if len(data) != _PK_HEADER.size + length:
            raise ValueError("Paillier public key: length prefix does not match")
        n = int.from_bytes(data[_PK_HEADER.size :], "big")
        if n.bit_length() != 8 * length or n % 2 == 0:
            raise ValueError("Paillier public key: modulus is not a full-length odd integer")
        return cls(n)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PaillierPublicKey) and other.n == self.n

    def __hash__(self) -> int:
        return hash(("PaillierPublicKey", self.n))

    def __repr__(self) -> str:
        return f"<PaillierPublicKey {self.n_length} bits id={self._key_id.hex()}>"


def _split(pk: PaillierPublicKey, blob: bytes, exponent: int = 0) -> list[EncryptedNumber]:
    size = pk.ciphertext_size
    return [EncryptedNumber._trusted(pk, blob[i : i + size], exponent) for i in range(0, len(blob), size)]


class PaillierPrivateKey:
    """The factors p, q of a Paillier modulus; decrypts. Its repr shows only the public key."""

    __slots__ = ("_ctx", "_p", "_q", "public_key")

    def __init__(self, public_key: PaillierPublicKey, p: int, q: int) -> None:
        p, q = _as_int(p, "prime"), _as_int(q, "prime")
        if not isinstance(public_key, PaillierPublicKey):
            raise TypeError("public_key must be a PaillierPublicKey")
        if p * q != public_key.n:
            raise ValueError("p * q does not match the public key")
        if p == q or p.bit_length() != q.bit_length():
            raise ValueError("Paillier primes must be distinct and of equal size")
        if math.gcd(public_key.n, (p - 1) * (q - 1)) != 1:
            raise ValueError("gcd(n, phi(n)) must be 1")
        self.public_key = public_key
        self._p, self._q = p, q
        nb = (p.bit_length() + 7) // 8
        self._ctx = lib.PaillierPrivate(p.to_bytes(nb, "big"), q.to_bytes(nb, "big"))

    def private_numbers(self) -> tuple[int, int]:
        """(p, q): the secret factors, for export only."""
        return self._p, self._q

    def _check(self, x: EncryptedNumber) -> None:
        if not isinstance(x, EncryptedNumber):
            raise TypeError(f"can only decrypt an EncryptedNumber, not {type(x).__name__}")
        if x.public_key.n != self.public_key.n:
            raise PaillierKeyMismatch("ciphertext was encrypted under a different public key")

    def _decode(self, m: int) -> int:
        n, max_int = self.public_key.n, self.public_key.max_int
        if m <= max_int:
            return m
        if m >= n - max_int:
            return m - n
        raise PaillierOverflow("decrypted value lies outside (-n/3, n/3): the computation overflowed")

    def _decrypt_raw(self, x: EncryptedNumber, workers: int = 1) -> int:
        self._check(x)
        return int.from_bytes(self._ctx.decrypt(x._c, workers), "big")

    def _decrypt_raw_many(self, xs: Sequence[EncryptedNumber], workers: int | None) -> list[int]:
        for x in xs:
            self._check(x)
        out = self._ctx.decrypt(b"".join(x._c for x in xs), _workers(workers))
        nb = (self.public_key.n_length + 7) // 8
        return [int.from_bytes(out[i : i + nb], "big") for i in range(0, len(out), nb)]

    def decrypt(self, x: EncryptedNumber, *, workers: int = 1) -> int:
        """The signed integer in (-n/3, n/3); ``workers=2`` runs the CRT halves on two cores."""
        if isinstance(x, EncryptedNumber) and x.exponent != 0:
            raise ValueError("fixed-point ciphertext (exponent != 0): use decrypt_float")
        return self._decode(self._decrypt_raw(x, _workers(workers)))

    def decrypt_many(self, xs: Iterable[EncryptedNumber], *, workers: int | None = None) -> list[int]:
        """Decrypt many integer ciphertexts in one native call over ``workers`` threads."""
        xs = list(xs)
        if any(x.exponent != 0 for x in xs if isinstance(x, EncryptedNumber)):
            raise ValueError("fixed-point ciphertext (exponent != 0): use decrypt_float")
        return [self._decode(m) for m in self._decrypt_raw_many(xs, workers)]

    def decrypt_float(self, x: EncryptedNumber) -> float:
        """mantissa * 16^exponent, phe's fixed-point decoding."""
        mantissa = self._decode(self._decrypt_raw(x))
        return float(Fraction(mantissa) * Fraction(BASE) ** x.exponent)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PaillierPrivateKey) and other.public_key == self.public_key

    def __hash__(self) -> int:
        return hash(("PaillierPrivateKey", self.public_key.n))

    def __repr__(self) -> str:
        return f"<PaillierPrivateKey for {self.public_key!r}>"


class EncryptedNumber:
    """A Paillier ciphertext under ``public_key``, with phe's base-16 ``exponent`` (0 for ints).

    ``+`` takes another ciphertext of the same key or an int, ``*`` an int; ``==`` compares the
    ciphertext value (two encryptions of one plaintext differ). Multiplying by 0 yields the
    deterministic encryption of 0: call :meth:`rerandomize` before handing a result out.
    """

    __slots__ = ("_c", "exponent", "public_key")

    def __init__(self, public_key: PaillierPublicKey, ciphertext: int, exponent: int = 0) -> None:
        if not isinstance(public_key, PaillierPublicKey):
            raise TypeError("public_key must be a PaillierPublicKey")
        c = _as_int(ciphertext, "ciphertext")
        if not 0 < c < public_key.nsquare:
            raise DecryptionError("Paillier ciphertext must satisfy 0 < c < n^2")
        cb = c.to_bytes(public_key.ciphertext_size, "big")
        public_key._ctx.check(cb)
        self.public_key = public_key
        self._c = cb
        self.exponent = _as_int(exponent, "exponent")

    @classmethod
    def _trusted(cls, public_key: PaillierPublicKey, c: bytes, exponent: int = 0) -> EncryptedNumber:
        obj = cls.__new__(cls)
        obj.public_key = public_key
        obj._c = c
        obj.exponent = exponent
        return obj

    def ciphertext(self) -> int:
        return int.from_bytes(self._c, "big")

    # -- arithmetic ---------------------------------------------------------------------------
    def _same_key(self, other: EncryptedNumber) -> None:
        if other.public_key.n != self.public_key.n:
            raise PaillierKeyMismatch("ciphertexts under different public keys cannot be combined")

    def _decrease_exponent_to(self, exponent: int) -> EncryptedNumber:
        if exponent > self.exponent:
            raise ValueError("can only decrease the exponent")
        if exponent == self.exponent:
            return self
        factor = BASE ** (self.exponent - exponent)
        return EncryptedNumber._trusted(self.public_key, self._mul_raw(factor), exponent)

    def _mul_raw(self, k: int) -> bytes:
        kb = abs(k).to_bytes(max(1, (abs(k).bit_length() + 7) // 8), "big")
        return self.public_key._ctx.mul(self._c, kb, k < 0)

    def __add__(self, other: EncryptedNumber | int) -> EncryptedNumber:
        pk = self.public_key
        if isinstance(other, EncryptedNumber):
            self._same_key(other)
            a, b = self, other
            if a.exponent != b.exponent:
                e = min(a.exponent, b.exponent)
                a, b = a._decrease_exponent_to(e), b._decrease_exponent_to(e)
            return EncryptedNumber._trusted(pk, pk._ctx.add(a._c, b._c), a.exponent)
        v = _as_int(other, "operand")
        a = self
        if a.exponent > 0:
            a = a._decrease_exponent_to(0)
        v = v * BASE ** (-a.exponent)
        m = pk.encode(v)
        return EncryptedNumber._trusted(
            pk, pk._ctx.add_plain(a._c, m.to_bytes(pk._nbytes, "big")), a.exponent
        )

    def __radd__(self, other: int) -> EncryptedNumber:
        return self.__add__(other)

    def __neg__(self) -> EncryptedNumber:
        return self * -1

    def __sub__(self, other: EncryptedNumber | int) -> EncryptedNumber:
        if isinstance(other, EncryptedNumber):
            return self + (-other)
        return self + (-_as_int(other, "operand"))

    def __rsub__(self, other: int) -> EncryptedNumber:
        return (-self) + other

    def __mul__(self, other: object) -> EncryptedNumber:
        if isinstance(other, EncryptedNumber):
            raise TypeError("Paillier cannot multiply two ciphertexts")
        k = _as_int(other, "scalar")
        if abs(k) > self.public_key.max_int:
            raise PaillierOverflow("Paillier scalar outside (-n/3, n/3)")
        return EncryptedNumber._trusted(self.public_key, self._mul_raw(k), self.exponent)

    def __rmul__(self, other: int) -> EncryptedNumber:
        return self.__mul__(other)

    def rerandomize(self) -> EncryptedNumber:
        """A fresh ciphertext of the same plaintext (multiplies by a new randomiser)."""
        pk = self.public_key
        return EncryptedNumber._trusted(pk, pk._ctx.rerandomize(self._c, 1), self.exponent)

    # -- comparison, serialization ------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, EncryptedNumber)
            and other.public_key.n == self.public_key.n
            and other._c == self._c
            and other.exponent == self.exponent
        )

    def __hash__(self) -> int:
        return hash(("EncryptedNumber", self._c, self.exponent))

    def to_bytes(self) -> bytes:
        pk = self.public_key
        return _CT_HEADER.pack(PAILLIER_WIRE_VERSION, pk.key_id, self.exponent, len(self._c)) + self._c

    @classmethod
    def from_bytes(cls, public_key: PaillierPublicKey, data: bytes) -> EncryptedNumber:
        data = bytes(data)
        if len(data) < _CT_HEADER.size:
            raise ValueError("Paillier ciphertext: truncated")
        version, key_id, exponent, length = _CT_HEADER.unpack_from(data)
        if version != PAILLIER_WIRE_VERSION:
            raise ValueError(f"Paillier ciphertext: unknown version {version}")
        if key_id != public_key.key_id:
            raise PaillierKeyMismatch("Paillier ciphertext was made under a different public key")
        if length != public_key.ciphertext_size or len(data) != _CT_HEADER.size + length:
            raise ValueError("Paillier ciphertext: wrong length for this key")
        return cls(public_key, int.from_bytes(data[_CT_HEADER.size :], "big"), exponent)

    def __repr__(self) -> str:
        return f"<EncryptedNumber {self.public_key!r} exponent={self.exponent}>"


# -- key generation ---------------------------------------------------------------------------
def generate_keypair(n_length: int = DEFAULT_N_LENGTH) -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    """A fresh key pair with a modulus of exactly ``n_length`` bits (2048 default, 3072 supported)
    from two random safe primes of equal size."""
    n_length = _as_int(n_length, "n_length")
    if n_length < 2048 or n_length % 256:
        raise ValueError("Paillier n_length must be a multiple of 256 and at least 2048")
    return _generate_keypair(n_length, safe_primes=True)


def _generate_keypair(n_length: int, *, safe_primes: bool) -> tuple[PaillierPublicKey, PaillierPrivateKey]:
    """Any even size from 512 bits, safe primes optional: tests use small or non-safe keys."""
    if n_length % 2 or n_length < PAILLIER_MIN_BITS:
        raise ValueError("Paillier n_length must be even and at least 512")
    while True:
        pb, qb = lib.paillier_primes(n_length // 2, safe_primes)
        p, q = int.from_bytes(pb, "big"), int.from_bytes(qb, "big")
        n = p * q
        if p != q and n.bit_length() == n_length and math.gcd(n, (p - 1) * (q - 1)) == 1:
            pk = PaillierPublicKey(n)
            return pk, PaillierPrivateKey(pk, p, q)


# -- fixed point as phe encodes it --------------------------------------------------------------
def encode_float(
    public_key: PaillierPublicKey, value: float, precision: float | None = None
) -> tuple[int, int]:
    """(mantissa, exponent) with value ~ mantissa * 16^exponent, as phe's EncodedNumber.encode:
    the exponent keeps every bit of the float (or ``precision``), rounded to a power of 16."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("value must be an int or a float")
    if isinstance(value, int):
        public_key.encode(value)  # range check
        return value, 0
    if not math.isfinite(value):
        raise ValueError("cannot encode a non-finite float")
    if precision is None:
        bin_lsb = math.frexp(value)[1] - _FLOAT_MANTISSA_BITS
        exponent = math.floor(bin_lsb / math.log2(BASE))
    else:
        exponent = math.floor(math.log(precision, BASE))
    mantissa = round(Fraction(value) * Fraction(BASE) ** -exponent)
    if abs(mantissa) > public_key.max_int:
        raise PaillierOverflow("encoded float outside (-n/3, n/3)")
    return mantissa, exponent


# -- packing --------------------------------------------------------------------------------
class PackedEncoder:
    """Packs ``slots`` non-negative counters into one plaintext, ``slot_bits`` bits each, slot 0
    lowest. Values are below 2^value_bits; the ``slot_bits - value_bits`` headroom bits let sums
    of up to 2^headroom packed plaintexts add slot-wise without carrying into the next slot.

    At n = 2048: ``PackedEncoder(25, 80)`` holds 25 values of 64 bits with 16 headroom bits
    (sums of up to 65,536 ciphertexts); 25 * 80 = 2000 bits stay below n / 3.
    """

    __slots__ = ("headroom_bits", "slot_bits", "slots", "value_bits")

    def __init__(self, slots: int, slot_bits: int, value_bits: int = 64) -> None:
        slots, slot_bits, value_bits = _as_int(slots), _as_int(slot_bits), _as_int(value_bits)
        if slots < 1 or slot_bits < 1 or not 1 <= value_bits <= min(64, slot_bits):
            raise ValueError("need slots >= 1 and 1 <= value_bits <= min(64, slot_bits)")
        self.slots, self.slot_bits, self.value_bits = slots, slot_bits, value_bits
        self.headroom_bits = slot_bits - value_bits

    @property
    def total_bits(self) -> int:
        return self.slots * self.slot_bits

    @property
    def max_summands(self) -> int:
        """How many packed plaintexts may be added before a slot could overflow."""
        return 1 << self.headroom_bits

    @classmethod
    def for_key(
        cls, public_key: PaillierPublicKey, slot_bits: int = 80, value_bits: int = 64
    ) -> PackedEncoder:
        """As many slots as fit below n / 3 (25 of 80 bits at n = 2048)."""
        slots = (public_key.max_int.bit_length() - 1) // slot_bits
        return cls(slots, slot_bits, value_bits)

    def check_key(self, public_key: PaillierPublicKey) -> None:
        if self.total_bits >= public_key.max_int.bit_length():
            raise PaillierOverflow(f"{self.slots} slots of {self.slot_bits} bits do not fit below n/3")

    def encode(self, values: npt.ArrayLike) -> int:
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.shape[0] > self.slots:
            raise ValueError(f"expected a vector of at most {self.slots} values")
        if arr.size and arr.dtype.kind not in "ui":
            raise TypeError("packed values must be integers")
        if arr.size and arr.dtype.kind == "i" and int(arr.min()) < 0:
            raise PaillierOverflow("packed values must be non-negative")
        arr = arr.astype(np.uint64)
        if self.value_bits < 64 and arr.size and int(arr.max()) >> self.value_bits:
            raise PaillierOverflow(f"packed values must be below 2^{self.value_bits}")
        if self.slot_bits % 8 == 0:
            sb = self.slot_bits // 8
            buf = np.zeros((self.slots, sb), dtype=np.uint8)
            k = min(8, sb)
            buf[: arr.shape[0], sb - k :] = arr.astype(">u8").view(np.uint8).reshape(-1, 8)[:, 8 - k :]
            return int.from_bytes(buf[::-1].tobytes(), "big")
        out = 0
        for i, v in enumerate(arr.tolist()):
            out |= int(v) << (i * self.slot_bits)
        return out

    def decode(self, packed: int) -> npt.NDArray[Any]:
        """The slot values: uint64 if slot_bits <= 64, else Python ints in an object array."""
        packed = _as_int(packed)
        if packed < 0 or packed >> self.total_bits:
            raise PaillierOverflow("packed plaintext does not fit this encoder (negative or too wide)")
        if self.slot_bits % 8 == 0:
            sb = self.slot_bits // 8
            raw = np.frombuffer(packed.to_bytes(self.slots * sb, "big"), dtype=np.uint8).reshape(
                self.slots, sb
            )
            raw = raw[::-1]
            low = np.ascontiguousarray(raw[:, max(0, sb - 8) :])
            if sb < 8:
                low = np.concatenate([np.zeros((self.slots, 8 - sb), dtype=np.uint8), low], axis=1)
            lo = low.view(">u8").reshape(self.slots).astype(np.uint64)
            if self.slot_bits <= 64:
                return lo
            hi = raw[:, : sb - 8]
            out = np.empty(self.slots, dtype=object)
            for i in range(self.slots):
                out[i] = (int.from_bytes(hi[i].tobytes(), "big") << 64) | int(lo[i])
            return out
        mask = (1 << self.slot_bits) - 1
        vals = [(packed >> (i * self.slot_bits)) & mask for i in range(self.slots)]
        if self.slot_bits <= 64:
            return np.array(vals, dtype=np.uint64)
        return np.array(vals, dtype=object)


# -- phe interoperability -----------------------------------------------------------------------
def _phe() -> Any:
    try:
        import phe
    except ImportError as e:  # pragma: no cover - phe is a dev dependency
        raise ImportError("phe is not installed (pip install phe): it is needed only for interop") from e
    return phe


def to_phe(obj: PaillierPublicKey | PaillierPrivateKey | EncryptedNumber, phe_public_key: Any = None) -> Any:
    """The phe object for one of ours: ``phe.PaillierPublicKey``, ``phe.PaillierPrivateKey`` or
    ``phe.EncryptedNumber`` (pass ``phe_public_key`` to attach ciphertexts to an existing one)."""
    phe = _phe()
    if isinstance(obj, PaillierPublicKey):
        return phe.PaillierPublicKey(obj.n)
    if isinstance(obj, PaillierPrivateKey):
        p, q = obj.private_numbers()
        return phe.PaillierPrivateKey(phe_public_key or phe.PaillierPublicKey(obj.public_key.n), p, q)
    if isinstance(obj, EncryptedNumber):
        ppk = phe_public_key or phe.PaillierPublicKey(obj.public_key.n)
        if ppk.n != obj.public_key.n:
            raise PaillierKeyMismatch("phe public key differs from the ciphertext's key")
        return phe.EncryptedNumber(ppk, obj.ciphertext(), obj.exponent)
    raise TypeError(f"cannot convert {type(obj).__name__} to phe")


def from_phe(
    obj: Any, public_key: PaillierPublicKey | None = None
) -> PaillierPublicKey | PaillierPrivateKey | EncryptedNumber:
    """Ours for a phe key or ciphertext (pass ``public_key`` to attach ciphertexts to it)."""
    phe = _phe()
    if isinstance(obj, phe.PaillierPublicKey):
        return PaillierPublicKey(obj.n)
    if isinstance(obj, phe.PaillierPrivateKey):
        pk = public_key or PaillierPublicKey(obj.public_key.n)
        return PaillierPrivateKey(pk, obj.p, obj.q)
    if isinstance(obj, phe.EncryptedNumber):
        pk = public_key or PaillierPublicKey(obj.public_key.n)
        if pk.n != obj.public_key.n:
            raise PaillierKeyMismatch("phe ciphertext is under a different public key")
        return EncryptedNumber(pk, obj.ciphertext(be_secure=True), obj.exponent)
    raise TypeError(f"cannot convert {type(obj).__name__} from phe")
