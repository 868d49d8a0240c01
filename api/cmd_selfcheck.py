"""``riskshare selfcheck`` (and, until the service lands, ``riskshare demo``): known-answer tests
of the crypto core with timings, so a fresh install proves itself in a few seconds."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from mpc import _binding, envelope, sm2, sm3, sm4
from mpc.exceptions import InvalidSignature
from mpc.hazmat import sm4 as raw_sm4


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _timed(fn: Callable[[], object], seconds: float = 0.2) -> float:
    """Calls per second of ``fn`` over about ``seconds``."""
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def run_checks() -> list[Check]:
    checks: list[Check] = []
    # GB/T 32905-2016, appendix A, example 1.
    want = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    checks.append(Check("SM3 GB/T 32905 A.1", sm3.sm3(b"abc").hex() == want, "abc"))
    # GB/T 32907-2016, appendix A, example 1.
    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    ct = raw_sm4.ecb_encrypt(key, key).hex()
    checks.append(Check("SM4 GB/T 32907 A.1", ct == "681edf34d206965e86b3e94f536e4246", "one block"))
    gcm = sm4.SM4GCM(os.urandom(16))
    nonce = os.urandom(12)
    sealed = gcm.encrypt(nonce, b"record", b"aad")
    checks.append(
        Check("SM4-GCM round trip", gcm.decrypt(nonce, sealed, b"aad") == b"record", "12-byte nonce")
    )
    checks += _sm2_checks()
    return checks


def _sm2_checks() -> list[Check]:
    # GB/T 32918.5-2017, annex A: signature and encryption examples on the recommended curve.
    d = bytes.fromhex("3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8")
    k = bytes.fromhex("59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21")
    r = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
    s = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"
    c3 = "59983C18F809E262923C53AEC295D30383B54E39D609D160AFCB1908D0BD8766"
    key = sm2.SM2PrivateKey.from_private_bytes(d)
    sig = key._sign_with_k(b"message digest", k).hex().upper()
    ct = key.public_key()._encrypt_with_k(b"encryption standard", k)
    fresh = sm2.SM2PrivateKey.generate()
    msg = os.urandom(64)
    try:
        fresh.public_key().verify(fresh.sign(msg), msg)
        round_trip = True
    except InvalidSignature:
        round_trip = False
    sealed = envelope.seal(fresh.public_key(), msg, b"aad")
    return [
        Check("SM2 GB/T 32918.5 A.2 sign", sig == "3046022100" + r + "022100" + s, "fixed k"),
        Check(
            "SM2 GB/T 32918.5 A.3 encrypt",
            c3 in ct.hex().upper() and key.decrypt(ct) == b"encryption standard",
            "C1C3C2 DER",
        ),
        Check("SM2 sign/verify round trip", round_trip, "Z_A, default ID"),
        Check("SM2 envelope round trip", envelope.open(fresh, sealed, b"aad") == msg, "SM2 + SM4-GCM"),
    ]


def run_timings() -> list[tuple[str, str]]:
    mb = os.urandom(1 << 20)
    gcm = sm4.SM4GCM(os.urandom(16))
    nonce = os.urandom(12)
    rows = [
        ("SM3, 1 MiB", f"{_timed(lambda: sm3.sm3(mb)):.0f} MiB/s"),
        ("SM4-GCM encrypt, 1 MiB", f"{_timed(lambda: gcm.encrypt(nonce, mb, None)):.0f} MiB/s"),
        ("SM3, 64 B", f"{_timed(lambda: sm3.sm3(mb[:64])) / 1e6:.2f} M/s"),
    ]
    key = sm2.SM2PrivateKey.generate()
    pub = key.public_key()
    sig = key.sign(mb[:128])
    rows += [
        ("SM2 sign (Z_A+SM3), 128 B", f"{_timed(lambda: key.sign(mb[:128])):,.0f} op/s"),
        ("SM2 verify (Z_A+SM3), 128 B", f"{_timed(lambda: pub.verify(sig, mb[:128])):,.0f} op/s"),
    ]
    return rows


def _selfcheck(args: argparse.Namespace) -> int:
    console = Console()
    feats = ", ".join(k for k, v in _binding.cpu_features().items() if v) or "portable only"
    console.print(f"[bold]riskshare crypto core[/bold] on {_binding.OPENSSL_VERSION}; CPU: {feats}")
    table = Table("check", "result", "detail")
    checks = run_checks()
    for c in checks:
        table.add_row(c.name, "[green]ok[/green]" if c.ok else "[red]FAILED[/red]", c.detail)
    console.print(table)
    timings = Table("operation", "speed")
    for name, speed in run_timings():
        timings.add_row(name, speed)
    console.print(timings)
    return 0 if all(c.ok for c in checks) else 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("selfcheck", help="known-answer tests of the crypto core, with timings")
    p.set_defaults(func=_selfcheck)
