"""Raw Paillier: plaintexts are residues 0 <= m < n, with no signed encoding and no overflow check.

.. warning::
   Sums wrap around mod n silently and nothing tells a wrapped result from a correct one. Use
   :mod:`mpc.paillier` (signed integers in (-n/3, n/3) with overflow detection) unless a
   protocol needs the whole range, as the pairwise-masked statistics do (their masks are
   uniform mod n and cancel only in the sum).
"""

from __future__ import annotations

from collections.abc import Iterable

from mpc.paillier import EncryptedNumber, PaillierPrivateKey, PaillierPublicKey, _as_int

__all__ = ["add_raw", "decrypt_raw", "decrypt_raw_many", "encrypt_raw", "encrypt_raw_many"]


def _residue(public_key: PaillierPublicKey, m: object) -> int:
    v = _as_int(m)
    if not 0 <= v < public_key.n:
        raise ValueError("raw Paillier plaintext must be in [0, n)")
    return v


def encrypt_raw(public_key: PaillierPublicKey, m: int) -> EncryptedNumber:
    """Encrypt 0 <= m < n."""
    return public_key._encrypt_raw(_residue(public_key, m))


def encrypt_raw_many(
    public_key: PaillierPublicKey, ms: Iterable[int], *, workers: int | None = None
) -> list[EncryptedNumber]:
    """Encrypt many residues in one native call over ``workers`` threads (default 2)."""
    return public_key._encrypt_raw_many([_residue(public_key, m) for m in ms], workers)


def decrypt_raw(private_key: PaillierPrivateKey, x: EncryptedNumber, *, workers: int = 1) -> int:
    """The residue 0 <= m < n (the exponent of a fixed-point ciphertext is ignored)."""
    return private_key._decrypt_raw(x, workers)


def decrypt_raw_many(
    private_key: PaillierPrivateKey, xs: Iterable[EncryptedNumber], *, workers: int | None = None
) -> list[int]:
    return private_key._decrypt_raw_many(list(xs), workers)


def add_raw(x: EncryptedNumber, m: int) -> EncryptedNumber:
    """x + m for a residue 0 <= m < n (mod n, no overflow check)."""
    pk = x.public_key
    v = _residue(pk, m)
    return EncryptedNumber._trusted(
        pk, pk._ctx.add_plain(x._c, v.to_bytes((pk.n_length + 7) // 8, "big")), x.exponent
    )
