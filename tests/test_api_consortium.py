from __future__ import annotations

from pathlib import Path

import pytest

from api.consortium import Consortium, init_consortium, oprf_share, parse_member_spec
from ledger.entry import Role

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor+broker+mirror",
    "audit-1:auditor",
]


def test_init_and_load(tmp_path: Path) -> None:
    c = init_consortium(tmp_path / "c", SPECS)
    again = Consortium.load(tmp_path / "c")
    assert again.log_id == c.log_id and [m.name for m in again.members] == [m.name for m in c.members]
    assert again.member("sec-a").roles == Role.CONTRIBUTOR | Role.BROKER | Role.MIRROR
    key = again.signing_key("sec-a")
    assert key.public_key().to_bytes() == again.member("sec-a").sign_key
    # the shares open only under their holders' passphrases and differ
    k1, k2 = oprf_share(again, "platform"), oprf_share(again, "supervisor")
    assert k1.private_bytes() != k2.private_bytes()
    for p in (tmp_path / "c" / "keys").rglob("*"):
        if p.is_file():
            assert p.stat().st_mode & 0o077 == 0, p
    assert "DEMO" in (tmp_path / "c" / "consortium.toml").read_text()
    with pytest.raises(FileExistsError):
        init_consortium(tmp_path / "c", SPECS)


@pytest.mark.parametrize(
    ("spec", "msg"),
    [("nocolon", "NAME:ROLE"), ("Bad Name:broker", "NAME:ROLE"), ("x:pilot", "unknown role 'pilot'")],
)
def test_bad_member_specs(spec: str, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        parse_member_spec(spec)


def test_init_needs_platform_keyholder_admin(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="keyholder"):
        init_consortium(tmp_path / "a", ["p:platform+admin"])
    with pytest.raises(ValueError, match="admin"):
        init_consortium(tmp_path / "b", ["p:platform", "k:keyholder"])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
