"""``riskshare points`` and the SQLite store of the incentive state."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from api.cli import main
from incentive import store
from incentive.adapter import IncentiveHook
from incentive.engine import Engine
from incentive.events import (
    ContributeEvent,
    EvaluationEvent,
    Event,
    GenesisEvent,
    PeriodCloseEvent,
    Receipts,
)
from incentive.exceptions import StateDivergence
from incentive.params import Params
from incentive.points import NS, key
from incentive.rules import RULE_CODES
from ledger.entry import Entry
from ledger.storage import Batch
from ledger.storage.sqlite import SQLiteStorage
from mpc import merkle
from tests.test_incentive_adapter import history as adapter_history

P = Params(period_seconds=10, holding_periods=0, starting_grant=500, evaluation_fee=2)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    e = Engine()
    events: list[Event] = [
        GenesisEvent(0, 100, 1, 1, P, (1, 2)),
        ContributeEvent(1, 1, 5, 5, Receipts(5, 5)),
        EvaluationEvent(2, 2, Receipts(3, 3)),
        EvaluationEvent(3, 2, Receipts(3, 4)),
        PeriodCloseEvent(4, 110),
    ]
    for ev in events:
        e.apply(ev)
    path = tmp_path / "riskshare.db"
    store.save(e, path)
    return path


def test_points_json_summary(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["points", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    # member 1: 500 - 10 (derivations) + 6 (member 2's fees) + 100 (reward) + 100 (activity bonus)
    assert out["balances"] == {"1": 500 - 10 + 6 + 100 + 100, "2": 500 - 6 + 100}
    assert out["treasury"] == 10 and out["pool"] == 0
    assert out["minted"] - out["burned"] == sum(out["balances"].values()) + out["treasury"]


def test_points_member_history(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["points", str(db), "--member", "2", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["balance"] == 594 and view["lifetime"]["evaluations"] == 3
    outcomes = [(r["event"], r["outcome"]) for r in view["history"]]
    assert ("evaluation", "receipt_mismatch") in outcomes
    assert sum(r["delta"] for r in view["history"]) == view["balance"]
    assert main(["points", str(db), "--member", "2"]) == 0
    assert "receipt_mismatch" in capsys.readouterr().out
    assert main(["points", str(db)]) == 0


def test_points_refusals(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["points", str(db), "--member", "9"]) == 1
    assert main(["points", str(tmp_path / "missing.db")]) == 2
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert main(["points", str(empty)]) == 1
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    assert main(["points", str(junk)]) == 2
    with pytest.raises(SystemExit) as e:
        main(["points", str(db), "--member", "x"])
    assert e.value.code == 2


@pytest.mark.parametrize(
    "cell", [key(NS.BALANCE, 2), key(NS.PARAMS, 0, 2)], ids=["balance", "rule parameter"]
)
def test_tampered_store_is_refused(db: Path, cell: int, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(db) as conn:
        n = conn.execute(
            "UPDATE incentive_cell SET v = v + 1 WHERE k = ?", (cell.to_bytes(32, "big"),)
        ).rowcount
    assert n == 1
    with pytest.raises(StateDivergence):
        store.load(db)
    assert main(["points", str(db)]) == 1
    assert "tampered" in capsys.readouterr().err


def _ledger_db(path: Path, entries: list[Entry]) -> None:
    hook = IncentiveHook()
    bodies = []
    for h, e in enumerate(entries):
        code = hook.apply(e, h)
        stored = e if code == e.code else e.with_outcome(code)
        body = stored.encode()
        bodies.append((body, merkle.leaf_hash(body)))
    storage = SQLiteStorage(str(path))
    storage.commit(Batch(0, bodies, meta={"hook": b"incentive"}))
    storage.close()


def test_points_replays_a_ledger_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    entries = adapter_history()
    path = tmp_path / "ledger.db"
    _ledger_db(path, entries)
    assert main(["points", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    hook = IncentiveHook()
    for h, e in enumerate(entries):
        hook.apply(e, h)
    assert out["state_root"] == hook.state_root().hex()
    assert out["balances"]["20"] == hook.engine.balance(20)
    assert main(["points", str(path), "--member", "10", "--json"]) == 0
    view = json.loads(capsys.readouterr().out)
    assert view["lifetime"]["records"] == 40


def test_points_names_a_ledger_outcome_the_rules_do_not_reproduce(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = adapter_history()
    # the platform recorded a quota refusal that the rules would not have made
    entries[3] = entries[3].with_outcome(RULE_CODES["quota_exceeded"])
    path = tmp_path / "ledger.db"
    storage = SQLiteStorage(str(path))
    bodies = [(e.encode(), merkle.leaf_hash(e.encode())) for e in entries]
    storage.commit(Batch(0, bodies, meta={"hook": b"incentive"}))
    storage.close()
    assert main(["points", str(path)]) == 1
    assert "height 3" in capsys.readouterr().err


def test_points_refuses_a_ledger_of_other_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ledger.db"
    _ledger_db(path, adapter_history()[:3])
    storage = SQLiteStorage(str(path))
    storage.commit(Batch(storage.size(), meta={"hook": b"counting"}))
    storage.close()
    assert main(["points", str(path)]) == 1
    assert "'counting'" in capsys.readouterr().err
