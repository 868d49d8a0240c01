from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.keystore import WrongPassphrase, open_secret, read_private, seal_secret, write_private


def test_seal_round_trip_and_tamper(tmp_path: Path) -> None:
    blob = seal_secret(b"k1-share", b"pass", "oprf-share-platform")
    assert open_secret(blob, b"pass", "oprf-share-platform") == b"k1-share"
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        open_secret(blob, b"other", "oprf-share-platform")
    with pytest.raises(WrongPassphrase):
        open_secret(blob, b"pass", "oprf-share-keyholder")  # label is bound
    flipped = bytearray(blob)
    flipped[-1] ^= 1
    with pytest.raises(WrongPassphrase):
        open_secret(bytes(flipped), b"pass", "oprf-share-platform")
    with pytest.raises(WrongPassphrase, match="not a riskshare secret"):
        open_secret(b"garbage", b"pass", "x")


def test_private_files_are_0600(tmp_path: Path) -> None:
    p = tmp_path / "keys" / "secret.bin"
    write_private(p, b"data")
    assert p.stat().st_mode & 0o777 == 0o600
    assert read_private(p) == b"data"
    os.chmod(p, 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        read_private(p)
    assert not list(p.parent.glob(".*.tmp"))
