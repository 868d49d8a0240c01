"""The group backends the SM2 curve has in this build: OpenSSL always, and the constant-time core
of area ``sm2core`` once it is in the tree. Tests run SM2 work on each."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mpc import ec
from mpc._binding import lib


def sm2_backends() -> list[str]:
    names = ["openssl"]
    current = lib.ec_backend(ec.SM2.id)
    try:
        lib.ec_set_backend(ec.SM2.id, "sm2core")
        names.append("sm2core")
    except ValueError:
        pass
    finally:
        lib.ec_set_backend(ec.SM2.id, current)
    return names


@contextmanager
def use_sm2_backend(name: str) -> Iterator[None]:
    current = lib.ec_backend(ec.SM2.id)
    lib.ec_set_backend(ec.SM2.id, name)
    try:
        yield
    finally:
        lib.ec_set_backend(ec.SM2.id, current)
