"""Area ``sm``: SM3, SM4 and SM2 against OpenSSL (hashlib, pyca/cryptography) and gmssl."""

from __future__ import annotations

import hashlib
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from benchmarks._harness import Bench
from mpc import sm3, sm4
from mpc.hazmat import sm4 as raw_sm4

MB = 1 << 20


def run(bench: Bench) -> None:
    run_sm3(bench)
    run_sm4(bench)
    run_sm2(bench)


def run_sm3(bench: Bench) -> None:
    data = os.urandom(MB)
    bench.compare(
        "SM3 1 MiB",
        lambda: sm3.sm3(data),
        lambda: hashlib.new("sm3", data).digest(),
        reference_name="hashlib (OpenSSL)",
        unit="MiB/s",
        target=0.9,
    )
    try:
        from gmssl import func as gm_func
        from gmssl import sm3 as gm_sm3
    except ImportError:  # pragma: no cover - dev extra missing
        return
    small = data[:4096]
    small_list = gm_func.bytes_to_list(small)
    bench.compare(
        "SM3 4 KiB vs gmssl",
        lambda: sm3.sm3(small),
        lambda: gm_sm3.sm3_hash(small_list),
        reference_name="gmssl (pure Python)",
        unit="MiB/s",
        work=4096 / MB,
        target=1000,
    )


def run_sm4(bench: Bench) -> None:
    key, nonce = os.urandom(16), os.urandom(12)
    data = os.urandom(MB)
    record = data[:4096]
    ours = sm4.SM4GCM(key)

    def ref_gcm(buf: bytes) -> bytes:
        enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        return enc.update(buf) + enc.finalize() + enc.tag

    bench.compare(
        "SM4-GCM encrypt 1 MiB",
        lambda: ours.encrypt(nonce, data, None),
        lambda: ref_gcm(data),
        reference_name="cryptography",
        unit="MiB/s",
        target=0.9,
    )
    bench.compare(
        "SM4-GCM encrypt 4 KiB record",
        lambda: ours.encrypt(nonce, record, b"aad"),
        lambda: ref_gcm(record),
        reference_name="cryptography",
        unit="op/s",
        target=0.9,
    )
    ctr0 = os.urandom(16)

    def ref_ctr() -> bytes:
        enc = Cipher(algorithms.SM4(key), modes.CTR(ctr0)).encryptor()
        return enc.update(data) + enc.finalize()

    bench.compare(
        "SM4-CTR 1 MiB",
        lambda: raw_sm4.ctr_xcrypt(key, ctr0, data),
        ref_ctr,
        reference_name="cryptography",
        unit="MiB/s",
        target=0.9,
    )


def run_sm2(bench: Bench) -> None:
    """SM2 rows arrive with mpc.sm2 (foundation issue, SM2 part)."""
