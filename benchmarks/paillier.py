"""Area ``paillier``: our Paillier engine against phe (with gmpy2) at n = 2048, same run.

Both sides use 2048-bit keys from their own generators' sizes; phe's key is built from the same
n, p, q so that the two decrypt the same ciphertexts. Rates are operations (or values) per second.
"""

from __future__ import annotations

import functools
import secrets
import time

import numpy as np

from benchmarks._harness import Bench, Row
from mpc import _binding
from mpc import paillier as pl
from mpc._binding import lib


def _timed(fn, work: float, repeats: int) -> float:
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = max(best, work / (time.perf_counter() - start))
    return best


def run(bench: Bench) -> None:
    try:
        import gmpy2  # noqa: F401
        import phe  # noqa: F401
    except ImportError:  # pragma: no cover - dev extra missing
        return
    pk, sk = pl._generate_keypair(2048, safe_primes=False)
    ppk = pl.to_phe(pk)
    psk = pl.to_phe(sk, ppk)
    backend = lib.paillier_backend()
    x = secrets.randbelow(2**64)
    pk.encrypt(1)  # build the fixed-base table outside the timings

    bench.compare(
        "encrypt",
        lambda: pk.encrypt(x),
        lambda: ppk.encrypt(x),
        reference_name="phe+gmpy2",
        target=10,
        note=f"DJN a of {pk.exponent_bits} bits, window {pk._ctx.window}, {backend}; stretch 13×",
    )

    obf = pk._ctx.obfuscators(1)

    def online() -> pl.EncryptedNumber:
        pk._pool.append(obf)  # a fixed randomiser, for timing only: the pool is used once per value
        return pk.encrypt(x)

    bench.compare(
        "online encrypt (obfuscator pool)",
        online,
        lambda: ppk.encrypt(x),
        reference_name="phe+gmpy2",
        target=500,
        note="one multiplication mod n^2 per value",
    )
    pk._pool.clear()

    c, pc = pk.encrypt(x), ppk.encrypt(x)
    assert psk.decrypt(pl.to_phe(c, ppk)) == x and sk.decrypt(pl.from_phe(pc, pk)) == x  # type: ignore[arg-type]
    bench.compare(
        "decrypt (1 core)",
        lambda: sk.decrypt(c),
        lambda: psk.decrypt(pc),
        reference_name="phe+gmpy2",
        target=1.3,
        note=f"CRT, constant-time exponentiation ({backend})",
    )
    bench.compare(
        "decrypt (CRT halves on 2 cores)",
        lambda: sk.decrypt(c, workers=2),
        lambda: psk.decrypt(pc),
        reference_name="phe+gmpy2",
        target=2.4,
    )
    if backend != "portable":
        # the fallback path (GMP mpn fixed base, OpenSSL BN_mod_exp_mont_consttime), same run
        _binding.set_portable(True)
        try:
            pk.encrypt(1)
            bench.compare(
                "encrypt, portable path",
                lambda: pk.encrypt(x),
                lambda: ppk.encrypt(x),
                reference_name="phe+gmpy2",
                target=10,
                note="no IFMA: GMP mpn Montgomery",
            )
            bench.compare(
                "decrypt (1 core), portable path",
                lambda: sk.decrypt(c),
                lambda: psk.decrypt(pc),
                reference_name="phe+gmpy2",
                target=1.3,
                note="OpenSSL BN_mod_exp_mont_consttime",
            )
        finally:
            _binding.set_portable(False)
    c2, pc2 = pk.encrypt(x + 1), ppk.encrypt(x + 1)
    bench.compare("ct + ct", lambda: c + c2, lambda: pc + pc2, reference_name="phe+gmpy2", target=1.5)
    k = secrets.randbits(64) | (1 << 63)
    bench.compare("ct × 64-bit scalar", lambda: c * k, lambda: pc * k, reference_name="phe+gmpy2", target=1.0)

    count = 400 if bench.quick else 10_000
    values = [secrets.randbelow(2**64) for _ in range(count)]
    repeats = 1
    one = _timed(lambda: pk.encrypt_many(values, workers=1), count, repeats)
    two = _timed(lambda: pk.encrypt_many(values, workers=2), count, repeats)
    bench.record(
        Row(
            area=bench.area,
            operation=f"encrypt_many {count:,}: 2 workers vs 1",
            unit="op/s",
            ours=two,
            reference_name="ours, 1 worker",
            reference=one,
            target=1.7,
        )
    )

    enc = pl.PackedEncoder(25, 80)
    enc.check_key(pk)
    rows = 8 if bench.quick else 80
    vec = np.array([secrets.randbelow(2**64) for _ in range(25 * rows)], dtype=np.uint64).reshape(rows, 25)

    def packed_encrypt(workers: int) -> list[pl.EncryptedNumber]:
        return pk.encrypt_many([enc.encode(r) for r in vec], workers=workers)

    cts = packed_encrypt(2)

    def packed_decrypt(workers: int) -> list[np.ndarray]:
        return [enc.decode(m) for m in sk.decrypt_many(cts, workers=workers)]

    assert [[int(v) for v in r] for r in packed_decrypt(2)] == vec.tolist()
    per_value = 25 * rows
    phe_enc = bench.rate(lambda: ppk.encrypt(x))
    phe_dec = bench.rate(lambda: psk.decrypt(pc))
    for workers in (1, 2):
        enc_rate = bench.rate(functools.partial(packed_encrypt, workers), per_value)
        bench.record(
            Row(
                area=bench.area,
                operation=f"packed 64-bit values: encrypt, {workers} worker{'s' if workers > 1 else ''}",
                unit="values/s",
                ours=enc_rate,
                reference_name="phe+gmpy2, 1 value each",
                reference=phe_enc,
                note=f"25 slots × 80 bits, encode included; {1e6 / enc_rate:.1f} µs/value (target ≤ 30 µs)",
            )
        )
    for workers in (1, 2):
        dec_rate = bench.rate(functools.partial(packed_decrypt, workers), per_value)
        bench.record(
            Row(
                area=bench.area,
                operation=f"packed 64-bit values: decrypt, {workers} worker{'s' if workers > 1 else ''}",
                unit="values/s",
                ours=dec_rate,
                reference_name="phe+gmpy2, 1 value each",
                reference=phe_dec,
                note=f"decode included; {1e6 / dec_rate:.1f} µs/value (target ≤ 100 µs)",
            )
        )
