"""The incentive rules inside the ledger: sequencing with the hook, ``audit`` replay comparing
state roots at every checkpoint, and tampering caught by the comparison."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from api.cli import main
from incentive import store
from incentive.adapter import IncentiveHook
from incentive.params import DEFAULT_PARAMS, Params
from incentive.points import NS, key
from ledger.audit import audit
from ledger.checkpoint import Checkpoint
from ledger.entry import Entry, Kind, Role
from ledger.storage import Batch
from ledger.storage.memory import MemoryStorage
from ledger.storage.sqlite import SQLiteStorage
from ledger.synth import Consortium, synth

ENTRIES = 1_500


@pytest.fixture(scope="module")
def ledger_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IncentiveHook]:
    path = tmp_path_factory.mktemp("ledger") / "ledger.db"
    storage = SQLiteStorage(str(path))
    hook = IncentiveHook()
    log, _ = synth(
        storage,
        ENTRIES,
        consortium=Consortium(seed=b"incentive"),
        hook=hook,
        seed=7,
        start_ms=1_700_000_000_000,
    )
    storage.commit(Batch(storage.size(), meta={"hook": b"incentive"}))
    log.close()
    storage.close()
    return path, hook


def _latest_state_root(path: Path) -> bytes:
    storage = SQLiteStorage(str(path))
    try:
        row = storage.latest_checkpoint()
        assert row is not None
        return Checkpoint.decode(row.body).state_root
    finally:
        storage.close()


def test_audit_replays_the_rules_and_matches_every_checkpoint(ledger_db: tuple[Path, IncentiveHook]) -> None:
    path, live = ledger_db
    storage = SQLiteStorage(str(path))
    try:
        report = audit(storage, mode="rules", hook=IncentiveHook())
    finally:
        storage.close()
    assert report.ok, report.as_json()
    assert report.checkpoints >= 2
    assert _latest_state_root(path) == live.state_root()
    live.engine.book.check_conservation()
    assert live.engine.book.pool > 0  # fees were paid


def test_audit_with_other_rule_parameters_diverges(ledger_db: tuple[Path, IncentiveHook]) -> None:
    path, _ = ledger_db
    tampered = Params(**{**DEFAULT_PARAMS.as_dict(), "evaluation_fee": DEFAULT_PARAMS.evaluation_fee + 1})
    storage = SQLiteStorage(str(path))
    try:
        report = audit(storage, mode="rules", hook=IncentiveHook(genesis_params=tampered))
    finally:
        storage.close()
    assert not report.ok
    assert report.divergence is not None and "state root" in str(report.divergence)


@pytest.mark.parametrize(
    "cell", [key(NS.BALANCE, 200), key(NS.PARAMS, 0, 2)], ids=["balance", "rule parameter"]
)
def test_tampered_saved_state_differs_from_the_checkpoint(
    ledger_db: tuple[Path, IncentiveHook], tmp_path: Path, cell: int
) -> None:
    path, live = ledger_db
    saved = tmp_path / "incentive.db"
    store.save(live.engine, saved)
    engine, _ = store.load(saved)
    assert engine.state_root() == _latest_state_root(path)
    with sqlite3.connect(saved) as conn:
        conn.execute("UPDATE incentive_cell SET v = v + 1 WHERE k = ?", (cell.to_bytes(32, "big"),))
    engine, _ = store.load(saved, verify=False)
    assert engine.state_root() != _latest_state_root(path)


def test_cli_audit_verify_uses_the_registered_incentive_hook(
    ledger_db: tuple[Path, IncentiveHook], capsys: pytest.CaptureFixture[str]
) -> None:
    path, live = ledger_db
    assert main(["audit", "verify", str(path), "--mode", "rules"]) == 0
    assert main(["points", str(path), "--json"]) == 0
    assert live.state_root().hex() in capsys.readouterr().out


def test_fast_periods_inside_the_ledger() -> None:
    """With one-second periods the synthetic log (1 ms per read of its clock) closes periods:
    vesting, pool sharing and bonuses run inside sequencing and replay identically."""
    fast = Params(**{**DEFAULT_PARAMS.as_dict(), "period_seconds": 1, "holding_periods": 0})
    storage = MemoryStorage()
    hook = IncentiveHook(genesis_params=fast)
    log, _ = synth(storage, 2_500, consortium=Consortium(seed=b"fast"), hook=hook, seed=3, cosign=False)
    log.close()
    assert hook.engine.cell(NS.CLOCK, 0) >= 1
    assert hook.engine.book.treasury + sum(hook.engine.cell(NS.LIFETIME, m, 4) for m in range(100, 104)) > 0
    hook.engine.book.check_conservation()
    report = audit(storage, mode="rules", hook=IncentiveHook(genesis_params=fast))
    assert report.ok, report.as_json()
    assert hook.state_root() == _root_after(storage, fast)


def _root_after(storage: MemoryStorage, params: Params) -> bytes:
    from incentive.replay import replay_storage

    result = replay_storage(storage, journal=False, genesis_params=params)
    assert result.first_divergence is None
    return result.hook.state_root()


def test_rule_change_through_the_ledger_applies_from_the_next_entry() -> None:
    storage = MemoryStorage()
    hook = IncentiveHook()
    c = Consortium(seed=b"rules")
    log, _ = synth(storage, 50, consortium=c, hook=hook, seed=5, cosign=False)
    now = int(log._clock() * 1000)
    broker = c.ids(Role.BROKER)[-1]
    raw, sigs = c.admin_request(
        Kind.RULE_CHANGE, {"new_version": 2, "param_ids": (2,), "param_values": (3,)}, now_ms=now
    )
    assert log.submit(raw, sigs, receipt=False) == 50
    assert hook.engine.rule_version == 1  # in force from the next entry
    c.rule_version = 2
    before = hook.engine.balance(broker)
    raw, sigs = c.request(Kind.LOOKUP, broker, {"epoch": 1, "evaluations": 4, "mode": 1}, now_ms=now)
    h = log.submit(raw, sigs, receipt=False)
    assert isinstance(h, int)
    log.flush()
    assert Entry.decode(storage.entry(h)).code == 0
    assert before - hook.engine.balance(broker) == 4 * 3
    assert hook.engine.rule_version == 2
    log.checkpoint()
    log.close()
    report = audit(storage, mode="rules", hook=IncentiveHook())
    assert report.ok, report.as_json()
