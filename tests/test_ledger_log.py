"""The sequencer: verdicts, refusals, receipts, checkpoints, group commit, restart, restore guard."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from ledger.checkpoint import (
    Checkpoint,
    NotWitnessed,
    Receipt,
    RestoreGuardError,
    SignedCheckpoint,
    accept_checkpoint,
    cosign,
    is_witnessed,
)
from ledger.entry import MAX_REQUEST_SIZE, Code, Entry, FieldValue, Kind, Request, Role, Signature
from ledger.hooks import CountingHook
from ledger.log import WINDOW_MS, Log, Refused
from ledger.members import Action
from ledger.storage import Batch, Storage
from ledger.storage.memory import MemoryStorage
from ledger.storage.sqlite import SQLiteStorage
from ledger.synth import Consortium
from mpc import merkle
from mpc.sm2 import SM2PrivateKey

T0 = 1_760_000_000_000


class Clock:
    def __init__(self, ms: int = T0) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000.0


@pytest.fixture(scope="module")
def consortium() -> Consortium:
    return Consortium(seed=b"test-ledger", firms=2, brokers=2)


def _open(c: Consortium, storage: Storage | None = None, **kw: Any) -> tuple[Log, Clock]:
    clock = kw.pop("clock", None) or Clock()
    raw, sigs = c.genesis(clock.ms)
    log = Log.create(storage or MemoryStorage(), raw, sigs, c.platform.sign, clock=clock, **kw)
    return log, clock


def _lookup(c: Consortium, clock: Clock, member: int = 200, **kw: Any) -> tuple[bytes, tuple[Signature, ...]]:
    return c.request(Kind.LOOKUP, member, {"epoch": 1, "evaluations": 1, "mode": 2}, now_ms=clock.ms, **kw)


def test_accept_receipt_and_checkpoint(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c, hook=CountingHook())
    assert log.size == 1 and log.durable_size == 1
    r = log.submit(*_lookup(c, clock))
    assert isinstance(r, Receipt) and r.index == 1
    r.verify(c.platform.sign.public_key())
    assert r.leaf_hash == merkle.leaf_hash(log.storage.entry(1))
    clock.ms += 1
    signed = log.checkpoint()
    assert signed is not None and signed.checkpoint.size == 2
    signed.verify(c.platform.sign.public_key())
    r.check_against(signed.checkpoint, log.inclusion_proof(1, 2))
    assert log.checkpoint() is None  # no new entries, no checkpoint
    bad = Receipt(
        r.log_id, r.index, bytes(32), r.deadline_ms, r.batch_start, r.batch_size, r.batch_path, r.signature
    )
    with pytest.raises(Exception, match=r"signature|proof"):
        bad.verify(c.platform.sign.public_key())


def _state(log: Log) -> tuple[int, bytes, bytes, int]:
    return log.size, log.hook.state_root(), log.state.registry.digest(), log.state.rule_version


@pytest.mark.parametrize(
    "case", ["bad_signature", "unknown_member", "oversized", "malformed", "removed_signer"]
)
def test_unauthenticated_requests_are_refused_and_counted(consortium: Consortium, case: str) -> None:
    c = consortium
    log, clock = _open(c, hook=CountingHook())
    raw, sigs = _lookup(c, clock)
    if case == "bad_signature":
        sigs = (Signature(200, c.parties[201].sign.sign(raw)),)
    elif case == "unknown_member":
        stranger = SM2PrivateKey.generate()
        req = Request(Kind.LOOKUP, c.log_id, 999, os.urandom(16), clock.ms, 1, {"mode": 2})
        raw = req.encode()
        sigs = (Signature(999, stranger.sign(raw)),)
    elif case == "oversized":
        raw = raw + bytes(MAX_REQUEST_SIZE)
    elif case == "malformed":
        raw = raw[:-3]
    elif case == "removed_signer":
        sigs = (*sigs, Signature(998, b"\x30\x00"))
    before = _state(log)
    with pytest.raises(Refused) as ei:
        log.submit(raw, sigs)
    assert _state(log) == before
    reason = {
        "bad_signature": "unauthenticated",
        "unknown_member": "unauthenticated",
        "removed_signer": "unauthenticated",
        "oversized": "oversized",
        "malformed": "malformed",
    }[case]
    assert ei.value.reason == reason and log.metrics.refused[reason] == 1


@pytest.mark.parametrize("case", ["wrong_role", "replay", "stale", "future", "wrong_log", "rule_version"])
def test_authenticated_refusals_are_logged_as_rejected(consortium: Consortium, case: str) -> None:
    c = consortium
    log, clock = _open(c, hook=CountingHook())
    first = _lookup(c, clock)
    log.submit(*first)
    kw: dict[str, Any] = {}
    member = 200
    want = {
        "wrong_role": Code.WRONG_ROLE,
        "replay": Code.REPLAYED_NONCE,
        "stale": Code.STALE_TIMESTAMP,
        "future": Code.STALE_TIMESTAMP,
        "wrong_log": Code.WRONG_LOG,
        "rule_version": Code.BAD_RULE_VERSION,
    }[case]
    if case == "wrong_role":
        member = 2  # the key holder may not look up
    elif case == "stale":
        kw["now_ms"] = clock.ms - WINDOW_MS - 1
    elif case == "future":
        kw["now_ms"] = clock.ms + WINDOW_MS + 1
    elif case == "wrong_log":
        kw["log_id"] = b"X" * 16
    elif case == "rule_version":
        kw["rule_version"] = 7
    if case == "replay":
        raw, sigs = first
    elif "now_ms" in kw:
        raw, sigs = c.request(Kind.LOOKUP, member, {"epoch": 1, "evaluations": 1, "mode": 2}, **kw)
    else:
        raw, sigs = _lookup(c, clock, member=member, **kw)
    root, reg, rv = log.hook.state_root(), log.state.registry.digest(), log.state.rule_version
    log.submit(raw, sigs)
    e = Entry.decode(log.storage.entry(2))
    assert e.code == want and not e.accepted and e.request.encode() == raw
    assert (log.hook.state_root(), log.state.registry.digest(), log.state.rule_version) == (root, reg, rv)
    assert log.metrics.rejected[want] == 1 and log.metrics.accepted == 1


def test_rejections_are_rate_limited_per_member(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c, reject_burst=3, reject_per_s=1.0)
    for _ in range(3):
        log.submit(*_lookup(c, clock, member=2))
    with pytest.raises(Refused, match="rate_limited"):
        log.submit(*_lookup(c, clock, member=2))
    log.submit(*_lookup(c, clock, member=200))  # other members are not affected
    clock.ms += 1000
    log.submit(*_lookup(c, clock, member=2))  # refilled
    assert log.metrics.refused["rate_limited"] == 1 and log.size == 6


def test_member_changes_need_the_admin_threshold(consortium: Consortium) -> None:
    c = Consortium(seed=b"members", firms=1, brokers=1)
    log, clock = _open(c)
    newbie = SM2PrivateKey.generate()
    agree = SM2PrivateKey.generate()
    fields: dict[str, FieldValue] = {
        "action": Action.ADD,
        "target": 500,
        "roles": int(Role.BROKER),
        "sign_key": newbie.public_key().to_bytes(),
        "agree_key": agree.public_key().to_bytes(),
    }
    one = c.request(Kind.MEMBER, 10, fields, now_ms=clock.ms)
    log.submit(*one)
    assert Entry.decode(log.storage.entry(1)).code == Code.BAD_THRESHOLD
    not_admin = c.request(Kind.MEMBER, 10, fields, now_ms=clock.ms, cosigners=[100])
    log.submit(*not_admin)
    assert Entry.decode(log.storage.entry(2)).code == Code.BAD_THRESHOLD
    log.submit(*c.admin_request(Kind.MEMBER, fields, now_ms=clock.ms))
    assert Entry.decode(log.storage.entry(3)).accepted
    c.parties[500] = type(c.parties[1])(500, Role.BROKER, newbie, agree)
    log.submit(*_lookup(c, clock, member=500))
    assert Entry.decode(log.storage.entry(4)).accepted
    # key rotation: the old key stops working
    fresh = SM2PrivateKey.generate()
    log.submit(
        *c.admin_request(
            Kind.MEMBER,
            {"action": Action.REKEY, "target": 500, "sign_key": fresh.public_key().to_bytes()},
            now_ms=clock.ms,
        )
    )
    with pytest.raises(Refused, match="unauthenticated"):
        log.submit(*_lookup(c, clock, member=500))
    c.parties[500].sign = fresh
    log.submit(*_lookup(c, clock, member=500))
    # removal; and removing admins below the threshold is refused by the ledger
    log.submit(*c.admin_request(Kind.MEMBER, {"action": Action.REMOVE, "target": 500}, now_ms=clock.ms))
    with pytest.raises(Refused, match="unauthenticated"):
        log.submit(*_lookup(c, clock, member=500))
    log.submit(*c.admin_request(Kind.MEMBER, {"action": Action.REMOVE, "target": 12}, now_ms=clock.ms))
    assert Entry.decode(log.storage.entry(log.size - 1)).accepted
    log.submit(*c.admin_request(Kind.MEMBER, {"action": Action.REMOVE, "target": 11}, now_ms=clock.ms))
    assert Entry.decode(log.storage.entry(log.size - 1)).code == Code.INVALID_FIELDS


def test_mirror_lookup_needs_the_grant(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c)
    log.submit(*c.request(Kind.LOOKUP, 100, {"mode": 1}, now_ms=clock.ms))  # firm without mirror grant
    log.submit(*c.request(Kind.LOOKUP, 200, {"mode": 1}, now_ms=clock.ms))  # broker with the grant
    assert [Entry.decode(log.storage.entry(i)).code for i in (1, 2)] == [Code.WRONG_ROLE, Code.ACCEPTED]


def test_rule_change_moves_the_rule_version(consortium: Consortium) -> None:
    c = Consortium(seed=b"rules", firms=1, brokers=1)
    log, clock = _open(c)
    log.submit(
        *c.admin_request(
            Kind.RULE_CHANGE, {"new_version": 2, "param_ids": (1,), "param_values": (-5,)}, now_ms=clock.ms
        )
    )
    assert log.state.rule_version == 2
    log.submit(*_lookup(c, clock))  # still signed for version 1
    assert Entry.decode(log.storage.entry(2)).code == Code.BAD_RULE_VERSION
    c.rule_version = 2
    log.submit(*_lookup(c, clock))
    assert Entry.decode(log.storage.entry(3)).accepted
    clock.ms += 1
    assert log.checkpoint().checkpoint.rule_version == 2  # type: ignore[union-attr]


def test_hook_rejections_are_logged_and_replayed(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c, hook=CountingHook(quota=2))
    for _ in range(3):
        log.submit(*_lookup(c, clock))
    assert [Entry.decode(log.storage.entry(i)).code for i in (1, 2, 3)] == [0, 0, Code.RULE_REJECTED]
    log2 = Log(log.storage, c.platform.sign, hook=CountingHook(quota=2), clock=clock)
    assert log2.hook.state_root() == log.hook.state_root()


def test_checkpoint_cadence(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c, checkpoint_max_entries=4, checkpoint_interval_ms=1000)
    for _ in range(9):
        log.submit(*_lookup(c, clock))
    assert [r.size for r in log.storage.checkpoints()] == [1, 5, 9]
    log.tick()
    assert [r.size for r in log.storage.checkpoints()] == [1, 5, 9]  # not due yet
    clock.ms += 1000
    log.tick()
    assert [r.size for r in log.storage.checkpoints()][-1] == 10
    clock.ms += 5000
    log.tick()  # nothing new: no checkpoint
    rows = log.storage.checkpoints()
    assert len(rows) == 4
    prev = bytes(32)
    for row in rows:
        cp = Checkpoint.decode(row.body)
        assert cp.previous == prev and cp.root == log.root(cp.size)
        SignedCheckpoint(cp, row.signature).verify(c.platform.sign.public_key())
        prev = cp.digest()


def test_witnessed_needs_a_majority(consortium: Consortium) -> None:
    c = consortium
    log, _ = _open(c)
    cp = Checkpoint.decode(log.storage.checkpoints()[0].body)
    auditors = c.auditor_keys()
    c.cosign_latest(log.storage, count=1)
    assert not is_witnessed(cp, log.storage.cosignatures(cp.size), auditors)
    c.cosign_latest(log.storage, count=2)
    assert is_witnessed(cp, log.storage.cosignatures(cp.size), auditors)


def test_group_commit_shares_fsyncs(tmp_path: Path, consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c, SQLiteStorage(str(tmp_path / "g.db")), group_window_ms=2)
    reqs = [_lookup(c, clock, member=200 + i % 2) for i in range(120)]
    receipts: list[Receipt] = []
    lock = threading.Lock()

    def worker(part: list[tuple[bytes, tuple[Signature, ...]]]) -> None:
        for raw, sigs in part:
            r = log.submit(raw, sigs)
            assert isinstance(r, Receipt)
            with lock:
                receipts.append(r)

    threads = [threading.Thread(target=worker, args=(reqs[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.index for r in receipts) == list(range(1, 121))
    assert log.metrics.fsyncs < 120  # at least some requests shared an fsync
    pub = c.platform.sign.public_key()
    for r in receipts:
        r.verify(pub)
        assert log.leaf_hash(r.index) == r.leaf_hash
    log.storage.close()


def test_restart_keeps_state_and_nonces(tmp_path: Path, consortium: Consortium) -> None:
    c = consortium
    path = str(tmp_path / "r.db")
    log, clock = _open(c, SQLiteStorage(path), hook=CountingHook())
    first = _lookup(c, clock)
    log.submit(*first)
    log.submit(*_lookup(c, clock))
    root, size = log.root(), log.size
    log.close()
    log.storage.close()
    log2 = Log(SQLiteStorage(path), c.platform.sign, hook=CountingHook(), clock=clock)
    assert (log2.size, log2.root()) == (size, root)
    log2.submit(*first)
    assert Entry.decode(log2.storage.entry(size)).code == Code.REPLAYED_NONCE
    with pytest.raises(ValueError, match="platform key"):
        Log(log2.storage, SM2PrivateKey.generate(), clock=clock)
    log2.storage.close()


def test_restore_guard(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c)
    for _ in range(3):
        log.submit(*_lookup(c, clock))
    clock.ms += 1
    witnessed = log.checkpoint().checkpoint  # type: ignore[union-attr]
    for _ in range(2):
        log.submit(*_lookup(c, clock))
    # A platform restored from an old backup of the store: only the first 2 entries.
    restored = MemoryStorage()
    b = Batch(0)
    cr = merkle.CompactRange()
    for _, body, leaf in log.storage.entries(0, 2):
        b.entries.append((body, leaf))
        b.nodes.extend(cr.append(leaf))
    b.meta["log_id"] = c.log_id
    b.meta["platform"] = (1).to_bytes(8, "big")
    restored.commit(b)
    old = Log(restored, c.platform.sign, clock=clock, witness_source=lambda: witnessed)
    old.submit(*_lookup(c, clock))
    clock.ms += 1
    with pytest.raises(RestoreGuardError, match="old backup"):
        old.checkpoint()
    clock.ms += 2000
    old.tick()  # automatic cuts are refused quietly, counted, and entries keep flowing
    assert isinstance(old.guard_error, RestoreGuardError)
    assert old.metrics.refused["checkpoint_restore_guard"] == 1
    assert restored.latest_checkpoint() is None
    # the live log itself passes the guard
    live = Log(log.storage, c.platform.sign, clock=clock, witness_source=lambda: witnessed)
    clock.ms += 1
    assert live.checkpoint() is not None


def test_cosignatures_through_the_log_and_client_acceptance(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c)
    log.submit(*_lookup(c, clock))
    clock.ms += 10
    signed = log.checkpoint()
    assert signed is not None
    cp = signed.checkpoint
    with pytest.raises(Refused):
        log.add_cosignature(cp.size, 300, c.parties[301].sign.sign(b"x"))
    with pytest.raises(Refused):
        log.add_cosignature(cp.size, 200, cosign(cp, c.parties[200].sign))  # a broker is no auditor
    assert log.add_cosignature(cp.size, 300, cosign(cp, c.parties[300].sign)) is False
    assert log.add_cosignature(cp.size, 301, cosign(cp, c.parties[301].sign)) is True
    assert log.latest_witnessed() == signed and log.metrics.cosign_lag_ms
    cos = log.storage.cosignatures(cp.size)
    pk = c.platform.sign.public_key()
    assert accept_checkpoint(signed, cos, pk, log.auditor_keys(), cp.time_ms + 1000) == cp
    with pytest.raises(NotWitnessed, match="old"):
        accept_checkpoint(signed, cos, pk, log.auditor_keys(), cp.time_ms + 61_000)
    with pytest.raises(NotWitnessed, match="majority"):
        accept_checkpoint(signed, {300: cos[300]}, pk, log.auditor_keys(), cp.time_ms)
    with pytest.raises(NotWitnessed, match="platform"):
        accept_checkpoint(SignedCheckpoint(cp, cos[300]), cos, pk, log.auditor_keys(), cp.time_ms)


class _RogueHook(CountingHook):
    def apply(self, entry: Entry, height: int) -> int:
        return Code.WRONG_ROLE if entry.code == Code.ACCEPTED and height == 2 else entry.code


def test_hook_codes_in_the_ledger_range_become_rule_rejections(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c, hook=_RogueHook())
    log.submit(*_lookup(c, clock))
    log.submit(*_lookup(c, clock))
    assert Entry.decode(log.storage.entry(2)).code == Code.RULE_REJECTED


def test_bilateral_screening_names_a_contributor(consortium: Consortium) -> None:
    c = consortium
    log, clock = _open(c)
    fields: dict[str, FieldValue] = {"epoch": 1, "evaluations": 4096, "mode": 2, "counterpart": 100}
    log.submit(*c.request(Kind.SCREEN, 200, fields, now_ms=clock.ms))
    log.submit(*c.request(Kind.SCREEN, 200, fields, now_ms=clock.ms, cosigners=[100]))
    log.submit(*c.request(Kind.SCREEN, 200, {**fields, "counterpart": 2}, now_ms=clock.ms))
    log.submit(*c.request(Kind.SCREEN, 100, {**fields, "counterpart": 100}, now_ms=clock.ms))
    codes = [Entry.decode(log.storage.entry(i)).code for i in (1, 2, 3, 4)]
    assert codes == [Code.ACCEPTED, Code.ACCEPTED, Code.INVALID_FIELDS, Code.INVALID_FIELDS]


def test_statistics_rounds_are_kept_consistent() -> None:
    c = Consortium(seed=b"rounds", firms=4, brokers=1)
    log, clock = _open(c)
    now = clock.ms

    def code() -> int:
        return Entry.decode(log.storage.entry(log.size - 1)).code

    rnd: dict[str, FieldValue] = {
        "round_id": 7,
        "statistic": 1,
        "period": 202601,
        "key_id": 1,
        "k": 3,
        "participants": (100, 101, 102, 103),
    }
    log.submit(*c.request(Kind.STAT_ROUND, 1, {**rnd, "participants": (100, 101, 200)}, now_ms=now))
    assert code() == Code.INVALID_FIELDS  # a broker cannot contribute statistics
    log.submit(*c.request(Kind.STAT_ROUND, 1, rnd, now_ms=now))
    assert code() == Code.ACCEPTED
    log.submit(*c.request(Kind.STAT_ROUND, 1, {**rnd, "round_id": 8}, now_ms=now))
    assert code() == Code.INVALID_FIELDS  # one round per statistic and period
    log.submit(*c.admin_request(Kind.STAT_ROUND, {**rnd, "round_id": 9}, now_ms=now))
    assert code() == Code.ACCEPTED  # administrators may re-run it with the same set
    sub: dict[str, FieldValue] = {"round_id": 7, "submission_hash": bytes(32), "size": 4096}
    for m in (100, 101, 102):
        log.submit(*c.request(Kind.STAT_SUBMIT, m, sub, now_ms=now))
        assert code() == Code.ACCEPTED
    log.submit(*c.request(Kind.STAT_SUBMIT, 100, sub, now_ms=now))
    assert code() == Code.INVALID_FIELDS  # once
    log.submit(*c.request(Kind.STAT_RELEASE, 2, {"round_id": 7, "cells": 25}, now_ms=now))
    assert code() == Code.INVALID_FIELDS  # not closed yet
    log.submit(*c.request(Kind.STAT_CLOSE, 1, {"round_id": 7, "non_submitters": ()}, now_ms=now))
    assert code() == Code.INVALID_FIELDS  # 103 did not submit
    log.submit(*c.request(Kind.STAT_CLOSE, 1, {"round_id": 7, "non_submitters": (103,)}, now_ms=now))
    assert code() == Code.ACCEPTED
    log.submit(*c.request(Kind.STAT_SUBMIT, 103, sub, now_ms=now))
    assert code() == Code.INVALID_FIELDS  # nothing after the close
    log.submit(*c.request(Kind.STAT_RELEASE, 2, {"round_id": 7, "cells": 25}, now_ms=now))
    assert code() == Code.ACCEPTED
    log.submit(*c.request(Kind.STAT_RELEASE, 2, {"round_id": 7, "querier": 200, "cells": 3}, now_ms=now))
    assert code() == Code.ACCEPTED  # released to another querier
    log.submit(*c.request(Kind.STAT_RELEASE, 2, {"round_id": 9, "cells": 25}, now_ms=now))
    assert code() == Code.INVALID_FIELDS  # round 9 is not closed
    from ledger.audit import audit

    assert audit(log.storage).ok
