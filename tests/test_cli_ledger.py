from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from api.cli import main
from mpc import merkle


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "l.db"
    assert main(["ledger", "synth", str(path), "--entries", "400"]) == 0
    return path


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(argv) == 0
    out: dict[str, object] = json.loads(capsys.readouterr().out)
    return out


def test_synth_refuses_to_overwrite(db: Path) -> None:
    assert main(["ledger", "synth", str(db), "--entries", "5"]) == 1


def test_verify_ok(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", str(db)]) == 0
    assert "ok: 400 entries" in capsys.readouterr().out
    rep = _json(capsys, ["audit", "verify", str(db), "--mode", "roots", "--json"])
    assert rep["ok"] is True and rep["hook"] == "counting"


def test_proof_and_consistency_verify(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _json(capsys, ["audit", "proof", str(db), "--index", "123"])
    proof = [bytes.fromhex(h) for h in p["proof"]]  # type: ignore[attr-defined]
    merkle.verify_inclusion(
        bytes.fromhex(str(p["leaf_hash"])), 123, int(str(p["size"])), proof, bytes.fromhex(str(p["root"]))
    )
    assert p["checkpoint"] is not None
    c = _json(capsys, ["audit", "consistency", str(db), "--old", "100", "--new", "300"])
    merkle.verify_consistency(
        100,
        300,
        bytes.fromhex(str(c["old_root"])),
        bytes.fromhex(str(c["new_root"])),
        [bytes.fromhex(h) for h in c["proof"]],  # type: ignore[attr-defined]
    )
    k = _json(capsys, ["audit", "checkpoint", str(db)])
    assert k["size"] == 400 and k["witnessed"] is True and len(str(k["root"])) == 64
    assert main(["audit", "proof", str(db), "--index", "400"]) == 2
    assert main(["audit", "consistency", str(db), "--old", "10", "--new", "5"]) == 2


def test_tampered_db_names_the_height(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(db.read_bytes())
    conn = sqlite3.connect(bad)
    body = bytearray(conn.execute("SELECT body FROM entries WHERE idx = 222").fetchone()[0])
    body[60] ^= 0x40
    conn.execute("UPDATE entries SET body = ? WHERE idx = 222", (bytes(body),))
    conn.commit()
    conn.close()
    capsys.readouterr()
    assert main(["audit", "verify", str(bad)]) == 1
    assert "height 222" in capsys.readouterr().err


def test_missing_db(tmp_path: Path) -> None:
    assert main(["audit", "verify", str(tmp_path / "nope.db")]) == 1
    assert main(["audit", "checkpoint", str(tmp_path / "nope.db")]) == 1


def test_sync_copies_and_catches_rewrites(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replica = tmp_path / "replica.db"
    out = _json(capsys, ["audit", "sync", str(db), str(replica)])
    assert out == {"copied": 400, "replica_size": 400}
    assert main(["audit", "verify", str(replica)]) == 0
    forged = tmp_path / "forged.db"
    forged.write_bytes(db.read_bytes())
    conn = sqlite3.connect(forged)
    conn.execute("DELETE FROM entries WHERE idx >= 350")
    conn.commit()
    conn.close()
    assert main(["audit", "sync", str(forged), str(replica)]) == 1
