"""Ledger entries through the incentive hook: mapping, codes, the period clock, replay and tampering."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from incentive.adapter import IncentiveHook, receipt_counter
from incentive.engine import Engine
from incentive.params import DEFAULT_PARAMS
from incentive.points import NS, key
from incentive.rules import RULE_CODES
from ledger.entry import Code, Entry, Kind, Request, Signature
from ledger.hooks import RuleHook

LOG = bytes(16)
DAY_MS = DEFAULT_PARAMS.period_seconds * 1000
T0_MS = 1_700_000_000_000
ADMIN, PLATFORM, C1, C2, BROKER = 1, 2, 10, 11, 20
_nonce = itertools.count(1)


def entry(
    kind: Kind,
    member: int,
    ms: int,
    cosigners: tuple[int, ...] = (),
    code: int = Code.ACCEPTED,
    attested: dict[str, Any] | None = None,
    **fields: Any,
) -> Entry:
    req = Request(kind, LOG, member, next(_nonce).to_bytes(16, "big"), ms, 1, fields)
    sigs = (Signature(member, b"sig"), *(Signature(s, b"sig") for s in cosigners))
    return Entry(req, sigs, ms, code, attested or {})


def fee_change(version: int, fee: int) -> dict[str, Any]:
    return {"new_version": version, "param_ids": [2], "param_values": [fee]}


def history() -> list[Entry]:
    t = T0_MS
    return [
        entry(Kind.GENESIS, ADMIN, t, admin_threshold=2, member_ids=[ADMIN, PLATFORM, C1, C2, BROKER]),
        entry(Kind.CONTRIBUTE, C1, t + 1, evaluations=50, attested={"accepted": 40, "new_tags": 30}),  # h1
        entry(Kind.CONTRIBUTE, C2, t + 2, evaluations=20, attested={"accepted": 20, "new_tags": 10}),  # h2
        entry(Kind.LOOKUP, BROKER, t + 3, evaluations=1, mode=1),
        entry(Kind.SCREEN, BROKER, t + 4, evaluations=1_000, mode=1),
        entry(Kind.KEY_EPOCH, ADMIN, t + 5, epoch=2),
        entry(Kind.REVOKE, C1, t + 6, count=3, heights=[1, 1, 1], attested={"removed": 2}),
        entry(Kind.DISPUTE, BROKER, t + 7, action=1, dispute_id=5, heights=[2]),
        entry(Kind.MEMBER, ADMIN, t + 8, (PLATFORM,), action=1, target=30),
        entry(Kind.LOOKUP, BROKER, t + DAY_MS, evaluations=2, mode=2),  # period 0 closes first
        entry(Kind.CORROBORATION, PLATFORM, t + DAY_MS + 1, period=0, contributors=[C1, C2], counts=[4, 4]),
        entry(Kind.DISPUTE, ADMIN, t + DAY_MS + 2, (PLATFORM,), action=2, dispute_id=5, decision=1),
        entry(
            Kind.RULE_CHANGE,
            ADMIN,
            t + DAY_MS + 3,
            (PLATFORM,),
            new_version=2,
            param_ids=[2],
            param_values=[7],
        ),
        entry(Kind.LOOKUP, BROKER, t + DAY_MS + 4, evaluations=1, mode=1),
        entry(Kind.LOOKUP, BROKER, t + 9 * DAY_MS, evaluations=1, mode=1),  # several periods later
    ]


def run(entries: list[Entry]) -> tuple[IncentiveHook, list[int]]:
    hook = IncentiveHook()
    return hook, [hook.apply(e, h) for h, e in enumerate(entries)]


def test_hook_satisfies_the_ledger_protocol() -> None:
    assert isinstance(IncentiveHook(), RuleHook)


def test_history_maps_to_rules() -> None:
    hook, codes = run(history())
    assert codes == [0] * len(codes)
    e = hook.engine
    fee = DEFAULT_PARAMS.evaluation_fee
    grant = DEFAULT_PARAMS.starting_grant
    assert e.balance(30) == grant  # member added with the grant
    assert e.cell(NS.ACTIVE_TAGS, C1) == 28  # 30 new tags, 2 removed by the revoke
    assert e.cell(NS.ACTIVE_TAGS, C2) == 10
    assert e.cell(NS.DISPUTE, 5) == 2  # upheld
    assert e.book.burned == DEFAULT_PARAMS.dispute_penalty
    assert e.params is not None and e.params.evaluation_fee == 7  # rule change from the next height
    assert e.rule_version == 2
    assert e.cell(NS.CLOCK, 0) == 9  # periods follow sequencing time
    assert e.cell(NS.CORROBORATED, 0) == 1
    # evaluations: closed periods in the lifetime total, the current one in its counter
    assert e.cell(NS.LIFETIME, BROKER, 1) + e.cell(NS.QUOTA_USED, BROKER) == 1 + 1_000 + 2 + 1 + 1
    assert e.cell(NS.QUOTA_USED, BROKER) == 1
    e.book.check_conservation()
    broker_fees = (1 + 1_000 + 2) * fee + 2 * 7  # the last two lookups under the new fee
    assert e.balance(BROKER) == grant - broker_fees + 2 * DEFAULT_PARAMS.activity_bonus  # periods 0, 1


def test_rule_refusals_become_codes_and_change_nothing() -> None:
    hook, _ = run(history()[:4])
    root = hook.state_root()
    t = T0_MS + 10
    cases = [
        (entry(Kind.LOOKUP, BROKER, t, evaluations=10**6, mode=1), "quota_exceeded"),
        (entry(Kind.LOOKUP, 99, t, evaluations=1, mode=1), "unknown_member"),
        (entry(Kind.REVOKE, C2, t, count=1, heights=[1], attested={"removed": 0}), "not_own_upload"),
        (entry(Kind.REVOKE, C1, t, count=2, heights=[1]), "malformed_entry"),
        (entry(Kind.DISPUTE, BROKER, t, action=1, dispute_id=1, heights=[3]), "malformed_entry"),
        (entry(Kind.DISPUTE, ADMIN, t, action=2, dispute_id=1, decision=1), "no_open_dispute"),
        (
            entry(Kind.RULE_CHANGE, ADMIN, t, new_version=2, param_ids=[2], param_values=[1]),
            "below_threshold",
        ),
        (
            entry(Kind.RULE_CHANGE, ADMIN, t, (PLATFORM,), new_version=2, param_ids=[99], param_values=[1]),
            "malformed_entry",
        ),
        (
            entry(Kind.RULE_CHANGE, ADMIN, t, (PLATFORM,), new_version=1, param_ids=[2], param_values=[1]),
            "version_not_newer",
        ),
        (entry(Kind.CORROBORATION, PLATFORM, t, period=0, contributors=[C1], counts=[1]), "period_open"),
    ]
    for h, (e, code) in enumerate(cases, start=4):
        assert hook.apply(e, h) == RULE_CODES[code], code
        assert hook.state_root() == root
    # the ledger's own refusals pass through untouched
    refused = entry(Kind.LOOKUP, BROKER, t, code=Code.REPLAYED_NONCE, evaluations=1, mode=1)
    assert hook.apply(refused, 20) == Code.REPLAYED_NONCE
    assert hook.state_root() == root


def test_entries_before_genesis_are_refused() -> None:
    hook = IncentiveHook()
    assert hook.apply(entry(Kind.KEY_EPOCH, ADMIN, T0_MS, epoch=1), 0) == RULE_CODES["no_genesis"]
    assert hook.apply(entry(Kind.LOOKUP, BROKER, T0_MS, evaluations=1), 0) == RULE_CODES["no_genesis"]


def test_replay_reproduces_codes_and_roots_at_every_height() -> None:
    entries = history()
    live = IncentiveHook()
    roots, codes = [], []
    for h, e in enumerate(entries):
        codes.append(live.apply(e, h))
        roots.append(live.state_root())
    # what the ledger stores: the outcome; replay hands the hook the entry with the ledger's verdict
    stored = [e.with_outcome(c) if c < Code.RULE_REJECTED else e for e, c in zip(entries, codes, strict=True)]
    auditor = IncentiveHook()
    for h, e in enumerate(stored):
        assert auditor.apply(e, h) == codes[h]
        assert auditor.state_root() == roots[h]


def test_entries_round_trip_through_their_encoding() -> None:
    entries = [Entry.decode(e.encode()) for e in history()]
    a, _ = run(entries)
    b, _ = run(history())
    assert a.state_root() == b.state_root()


def test_tampered_state_is_caught_by_replay() -> None:
    entries = history()
    live, _ = run(entries)
    auditor, _ = run(entries)
    assert live.state_root() == auditor.state_root()
    live.engine.book._set_unchecked(key(NS.BALANCE, BROKER), live.engine.balance(BROKER) + 1)
    assert live.state_root() != auditor.state_root()


def test_hook_wraps_a_restored_engine() -> None:
    entries = history()
    live, _ = run(entries[:9])
    restored = IncentiveHook(Engine.from_snapshot(live.engine.snapshot(), 8))
    for h, e in enumerate(entries[9:], start=9):
        assert restored.apply(e, h) == live.apply(e, h)
    assert restored.state_root() == live.state_root()


@pytest.mark.parametrize("mode", [1, 2])
def test_screen_modes_cost_the_same_fee(mode: int) -> None:
    hook, _ = run(history()[:1])
    before = hook.engine.balance(BROKER)
    assert hook.apply(entry(Kind.SCREEN, BROKER, T0_MS + 1, evaluations=9, mode=mode), 1) == 0
    assert before - hook.engine.balance(BROKER) == 9 * DEFAULT_PARAMS.evaluation_fee


def _receipt(server: int, member: int, count: int) -> bytes:
    return b"R" + server.to_bytes(8, "big") + member.to_bytes(8, "big") + count.to_bytes(8, "big")


def _parse(b: bytes) -> tuple[int, int, int]:
    if len(b) != 25 or b[:1] != b"R":
        raise ValueError("not a test receipt")
    return int.from_bytes(b[1:9], "big"), int.from_bytes(b[9:17], "big"), int.from_bytes(b[17:], "big")


@pytest.mark.parametrize(
    ("receipts", "evaluations", "code"),
    [
        ((_receipt(1, BROKER, 3), _receipt(2, BROKER, 3)), 3, 0),
        ((_receipt(2, BROKER, 3), _receipt(1, BROKER, 3)), 3, 0),  # any order
        ((_receipt(1, BROKER, 3), _receipt(2, BROKER, 4)), 3, RULE_CODES["receipt_mismatch"]),
        ((_receipt(1, BROKER, 3), _receipt(2, BROKER, 3)), 2, RULE_CODES["malformed_entry"]),
        ((_receipt(1, BROKER, 3), _receipt(1, BROKER, 3)), 3, RULE_CODES["malformed_entry"]),
        ((_receipt(1, BROKER, 3), _receipt(2, C1, 3)), 3, RULE_CODES["malformed_entry"]),
        ((_receipt(1, BROKER, 3),), 3, RULE_CODES["malformed_entry"]),
        ((b"junk", _receipt(2, BROKER, 3)), 3, RULE_CODES["malformed_entry"]),
    ],
)
def test_receipt_counter_reconciles_both_servers(
    receipts: tuple[bytes, ...], evaluations: int, code: int
) -> None:
    hook = IncentiveHook(receipts=receipt_counter(_parse))
    hook.apply(history()[0], 0)
    root = hook.state_root()
    e = entry(Kind.LOOKUP, BROKER, T0_MS + 1, evaluations=evaluations, mode=1, receipts=list(receipts))
    assert hook.apply(e, 1) == code
    if code:
        assert hook.state_root() == root
    else:
        assert hook.engine.cell(NS.QUOTA_USED, BROKER) == 3


def test_bilateral_screening_is_charged_from_its_count() -> None:
    hook = IncentiveHook(receipts=receipt_counter(_parse))
    hook.apply(history()[0], 0)
    e = entry(
        Kind.SCREEN, BROKER, T0_MS + 1, evaluations=7, mode=2, counterpart=C1, receipts=[b"counterpart sig"]
    )
    assert hook.apply(e, 1) == 0
    assert hook.engine.cell(NS.QUOTA_USED, BROKER) == 7


def test_a_filing_may_leave_the_height_to_the_platform() -> None:
    """The service's filers cannot know the upload height of the entry they dispute: the request's
    ``heights`` stays empty and the platform attests ``height``; the rules see the same event."""
    named, _ = run(history())
    attested_history = history()
    attested_history[7] = entry(
        Kind.DISPUTE, BROKER, T0_MS + 7, action=1, dispute_id=5, attested={"height": 2, "removed": 0}
    )
    attested, codes = run(attested_history)
    assert codes == [0] * len(codes)
    assert attested.engine.balances() == named.engine.balances()
    assert attested.engine.cell(NS.DISPUTE, 5) == 2
    hook, _ = run(history()[:4])
    missing = entry(Kind.DISPUTE, BROKER, T0_MS + 10, action=1, dispute_id=6)  # neither
    assert hook.apply(missing, 4) == RULE_CODES["malformed_entry"]
