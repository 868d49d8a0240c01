"""Secrets at rest: files written atomically with mode 0600, encrypted under a passphrase.

SM2 private keys use encrypted PKCS#8 (mpc.sm2); other secrets (OPRF key shares, Paillier keys)
use this module's sealed format: version ‖ scrypt salt ‖ nonce ‖ SM4-GCM(key = scrypt(passphrase,
salt), secret, aad = version ‖ label). Each OPRF share is sealed under its own holder's passphrase,
so the two shares are never under the same wrapping key (DESIGN.md, Parties).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from mpc.exceptions import InvalidTag
from mpc.sm4 import SM4GCM

_VERSION = b"RSK1"
_SALT = 16
_NONCE = 12
# scrypt cost: ~50 ms on a server core; interactive unlock, not a bulk path.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 1 << 14, 8, 1


class WrongPassphrase(Exception):
    """The passphrase does not open this secret file (or the file was altered)."""


def _derive(passphrase: bytes, salt: bytes) -> bytes:
    return hashlib.scrypt(passphrase, salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=16)


def seal_secret(secret: bytes, passphrase: bytes, label: str) -> bytes:
    salt, nonce = os.urandom(_SALT), os.urandom(_NONCE)
    aad = _VERSION + label.encode()
    return _VERSION + salt + nonce + SM4GCM(_derive(passphrase, salt)).encrypt(nonce, secret, aad)


def open_secret(blob: bytes, passphrase: bytes, label: str) -> bytes:
    if len(blob) < len(_VERSION) + _SALT + _NONCE + 16 or not blob.startswith(_VERSION):
        raise WrongPassphrase(f"not a riskshare secret file for {label!r}")
    salt = blob[4 : 4 + _SALT]
    nonce = blob[4 + _SALT : 4 + _SALT + _NONCE]
    try:
        return SM4GCM(_derive(passphrase, salt)).decrypt(
            nonce, blob[4 + _SALT + _NONCE :], _VERSION + label.encode()
        )
    except InvalidTag:
        raise WrongPassphrase(f"wrong passphrase for {label!r} (or the file was altered)") from None


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def read_private(path: Path) -> bytes:
    """Read a secret file, refusing one that group or others can read."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise PermissionError(f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}")
    return path.read_bytes()


def new_passphrase() -> bytes:
    """A random passphrase for demo consortia (written beside the keys: demo and tests only)."""
    return secrets.token_urlsafe(24).encode()
