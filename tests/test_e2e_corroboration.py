"""Corroboration end to end: the platform attests, per closed period, each contributor's count of
distinct tags that another contributor also holds; the rules pay it and auditors replay it."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import grpc
import pytest

from api import client, convert
from api.consortium import Consortium, init_consortium
from api.platform import bootstrap_ledger
from api.roles import start_keyholder, start_platform
from incentive.adapter import IncentiveHook
from incentive.corroboration import corroboration_counts
from ledger.entry import Entry, Kind
from ledger.storage.memory import MemoryStorage
from mpc.records import SyntheticSource

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor+broker",
    "sec-b:contributor",
    "sec-c:contributor",
    "audit-1:auditor",
]
# One-second periods and no holding period, so that a test sees a period close and its payment;
# nothing else is paid at a close (no fees, record rewards or bonus), so balances move only by it.
RULES = {
    "period_seconds": 1,
    "holding_periods": 0,
    "corroboration_reward": 7,
    "activity_bonus": 0,
    "evaluation_fee": 0,
    "record_reward": 0,
}


def test_counts_need_another_contributor_and_the_holding_period() -> None:
    t1, t2, t3 = b"1" * 16, b"2" * 16, b"3" * 16
    holdings = [
        (t1, 1, 10),
        (t1, 1, 11),  # a second record of the same subject counts once
        (t1, 2, 10),
        (t2, 1, 10),  # only member 1 holds t2
        (t3, 2, 10),
        (t3, 3, 50),  # too recent: not held for the holding period by the cutoff
    ]
    assert corroboration_counts(holdings, 20) == {1: 1, 2: 1}
    assert corroboration_counts(holdings, 60) == {1: 1, 2: 2, 3: 1}
    assert corroboration_counts(holdings, 9) == {}
    assert corroboration_counts([], 100) == {}


def test_overlapping_contributors_are_paid_and_replay_agrees(tmp_path: Path) -> None:
    c = init_consortium(
        tmp_path / "c", SPECS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0", bucket_size=64
    )
    c = Consortium.load(c.root)
    bootstrap_ledger(c, c.state_dir("platform") / "ledger.db", RULES).close()
    p_run, platform = start_platform(c)
    k_run, _ = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    paddr, kaddr = f"localhost:{p_run.port}", f"localhost:{k_run.port}"
    names = ["sec-a", "sec-b", "sec-c", "audit-1"]
    a, b, cc, auditor = (client.Session.connect(c, n, paddr, kaddr) for n in names)
    try:
        src = SyntheticSource(seed=33)
        shared = src.records(5)
        client.contribute(a, shared + src.records(3))
        # sec-b reports three of the same subjects (its own records of them) and one of its own
        client.contribute(b, [dataclasses.replace(r, reference=f"B-{i}") for i, r in enumerate(shared[:3])])
        client.contribute(b, src.records(1))
        client.contribute(cc, src.records(4))  # nobody else reports these subjects
        platform.publish()
        time.sleep(1.1)
        platform.heartbeat(0)  # the next entry closes the period of the last upload (or a later one)
        assert isinstance(platform.hook, IncentiveHook)
        engine = platform.hook.engine
        before = engine.balances()
        receipt = platform.corroborate()
        assert receipt is not None
        e = Entry.decode(platform.ledger.storage.entry(receipt.index))
        assert e.kind is Kind.CORROBORATION and e.accepted and e.member == platform.member.id
        assert e.ints_field("contributors") == (a.member.id, b.member.id)
        assert e.ints_field("counts") == (3, 3)
        after = engine.balances()
        assert after[a.member.id] - before[a.member.id] == 3 * RULES["corroboration_reward"]
        assert after[b.member.id] - before[b.member.id] == 3 * RULES["corroboration_reward"]
        assert after[cc.member.id] == before[cc.member.id]
        assert platform.corroborate() is None  # once per period

        # only the platform sequences corroboration entries
        raw, sigs = a.request(
            Kind.CORROBORATION, {"period": 0, "contributors": (a.member.id,), "counts": (1000,)}
        )
        with pytest.raises(grpc.RpcError) as exc:
            a.ledger.Submit(convert.signed_request(raw, sigs))
        assert exc.value.code() is grpc.StatusCode.INVALID_ARGUMENT

        # auditors replay the ledger, rules included, to the same state before co-signing
        platform.checkpoint()
        client.audit_and_cosign(auditor, client.new_auditor(auditor, MemoryStorage()))
        hook = IncentiveHook()
        for height, body, _ in platform.ledger.storage.entries():
            hook.apply(Entry.decode(body), height)
        assert hook.engine.balances() == engine.balances()
        assert hook.state_root() == platform.hook.state_root()
    finally:
        for s in (a, b, cc, auditor):
            s.close()
        p_run.stop()
        k_run.stop()
        platform.close()
