"""Properties of the engine over random histories: conservation, atomic refusals, replay equals the
live state at every checkpoint, rule changes from their exact height, int64 edges, tampering."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentive.engine import Engine
from incentive.events import (
    ContributeEvent,
    CorroborationEvent,
    DisputeDecidedEvent,
    DisputeFiledEvent,
    EvaluationEvent,
    Event,
    GenesisEvent,
    MemberAddedEvent,
    MemberRemovedEvent,
    PeriodCloseEvent,
    Receipts,
    RevokeEvent,
    RuleChangeEvent,
)
from incentive.exceptions import StateDivergence
from incentive.params import Params
from incentive.points import INT64_MAX, INT64_MIN, NS, key
from incentive.stateroot import root_of

T0 = 1_000_000
BASE = Params(
    period_seconds=50,
    evaluation_fee=3,
    evaluation_quota=40,
    record_reward=2,
    record_reward_cap=30,
    holding_periods=1,
    pool_share_cap=200,
    corroboration_reward=3,
    corroboration_cap=10,
    activity_bonus=4,
    starting_grant=100,
    dispute_penalty=25,
)
MEMBERS = (1, 2, 3)

small = st.integers(0, 12)
member = st.sampled_from([1, 1, 2, 2, 3, 3, 4, 5])
params_st = st.builds(
    Params,
    period_seconds=st.integers(1, 80),
    evaluation_fee=st.integers(0, 7),
    evaluation_quota=st.integers(0, 60),
    record_reward=st.integers(0, 5),
    record_reward_cap=st.integers(0, 50),
    holding_periods=st.integers(0, 3),
    pool_share_cap=st.integers(0, 300),
    corroboration_reward=st.integers(0, 5),
    corroboration_cap=st.integers(0, 20),
    activity_bonus=st.integers(0, 6),
    starting_grant=st.integers(0, 150),
    dispute_penalty=st.integers(0, 200),
)

op = st.one_of(
    st.tuples(st.just("eval"), member, small, st.integers(0, 4).map(lambda x: x == 0)),
    st.tuples(st.just("contrib"), member, st.integers(1, 12), small, st.integers(0, 6)),
    st.tuples(st.just("revoke"), member, st.integers(0, 5), st.integers(1, 6), st.integers(0, 1)),
    st.tuples(st.just("close"), st.integers(0, 130)),
    st.tuples(st.just("corrob"), st.integers(0, 3), st.lists(st.tuples(member, small), max_size=3)),
    st.tuples(st.just("add"), st.integers(1, 7)),
    st.tuples(st.just("remove"), st.integers(3, 5)),  # members 1 and 2 stay enrolled
    st.tuples(st.just("dispute"), st.integers(0, 2), st.sampled_from([1, 2, 3]), member, st.integers(0, 5)),
    st.tuples(st.just("decide"), st.integers(0, 2), st.booleans(), st.integers(1, 3), st.integers(0, 1)),
    st.tuples(st.just("dispute"), st.integers(0, 2), st.sampled_from([1, 2, 3]), member, st.integers(0, 2)),
    st.tuples(st.just("decide"), st.integers(0, 2), st.booleans(), st.integers(2, 3), st.integers(0, 1)),
    st.tuples(st.just("rule"), st.integers(1, 6), params_st, st.integers(0, 3)),
)


def build(ops: list[tuple[Any, ...]], genesis_params: Params = BASE) -> list[Event]:
    """Turn random operations into a well-formed event stream (constructors never raise)."""
    events: list[Event] = [GenesisEvent(0, T0, 2, 1, genesis_params, MEMBERS)]
    t, version = T0, 1
    uploads: list[tuple[int, int]] = [(1, 0)]  # (member, upload height)
    for h, o in enumerate(ops, start=1):
        kind = o[0]
        if kind == "eval":
            _, m, n, bad = o
            events.append(EvaluationEvent(h, m, Receipts(n, n + 1 if bad else n)))
        elif kind == "contrib":
            _, m, recs, tags, der = o
            events.append(ContributeEvent(h, m, recs, min(tags, recs), Receipts(der, der)))
            if recs:
                uploads.append((m, h))
        elif kind == "revoke":
            _, m, back, cnt, tags = o
            own = [u for u in uploads if u[0] == m] or uploads
            up = own[-1 - min(back, len(own) - 1)][1]
            events.append(RevokeEvent(h, m, ((up, cnt),), min(tags, cnt)))
        elif kind == "close":
            t += o[1]
            events.append(PeriodCloseEvent(h, t))
        elif kind == "corrob":
            _, back, counts = o
            period = max(0, (t - T0) // genesis_params.period_seconds - 1 - back)
            dedup = tuple(sorted(dict(counts).items()))
            events.append(CorroborationEvent(h, period, dedup))
        elif kind == "add":
            events.append(MemberAddedEvent(h, o[1]))
        elif kind == "remove":
            events.append(MemberRemovedEvent(h, o[1]))
        elif kind == "dispute":
            _, did, filer, contrib, back = o
            if back % 3:  # mostly a real upload and its contributor, sometimes a wrong pairing
                contrib, up = uploads[-1 - min(back, len(uploads) - 1)]
            else:
                up = uploads[-1 - min(back, len(uploads) - 1)][1]
            events.append(DisputeFiledEvent(h, did, filer, contrib, up))
        elif kind == "decide":
            _, did, upheld, approvals, tags = o
            events.append(DisputeDecidedEvent(h, did, upheld, approvals, tags if upheld else 0))
        elif kind == "rule":
            _, delay, params, approvals = o
            version += 1  # a revision number: every rule change raises it
            events.append(RuleChangeEvent(h, h + delay, version, params, approvals))
    return events


def assert_invariants(e: Engine) -> None:
    book = e.book
    book.check_conservation()
    assert book.minted >= 0 and book.burned >= 0
    assert book.pool >= 0 and book.treasury >= 0
    assert all(INT64_MIN <= v <= INT64_MAX and v != 0 for v in book.cells.values())
    for k, v in book.cells.items():
        if k >> 172 in (NS.QUOTA_USED, NS.FEES_PAID, NS.ACTIVE_TAGS, NS.PENDING_COUNT, NS.PENDING_FROZEN):
            assert v > 0


@settings(max_examples=60, deadline=None)
@given(st.lists(op, min_size=5, max_size=40))
def test_random_history_conserves_and_refusals_change_nothing(ops) -> None:
    e = Engine()
    for ev in build(ops):
        before, root = e.snapshot(), e.state_root()
        out = e.apply(ev)
        if not out.accepted:
            assert e.snapshot() == before
            assert e.state_root() == root
        assert_invariants(e)


@settings(max_examples=40, deadline=None)
@given(st.lists(op, min_size=1, max_size=40), st.integers(1, 7))
def test_replay_from_genesis_equals_live_state_at_every_checkpoint(ops, every) -> None:
    events = build(ops)
    live = Engine()
    for i, ev in enumerate(events, start=1):
        live.apply(ev)
        if i % every == 0 or i == len(events):
            root = live.state_root()
            replayed = Engine.replay(events[:i])
            assert replayed.snapshot() == live.snapshot()
            assert replayed.state_root() == root
            assert root_of(live.book.cells.items()) == root  # incremental == from scratch
            replayed.verify_root(root, i)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(0, 9),
    st.integers(0, 9),
    st.integers(1, 40),
)
def test_rule_change_applies_exactly_from_its_height(delay, fee1, fee2, events_after) -> None:
    p1 = Params(**{**BASE.as_dict(), "evaluation_fee": fee1, "starting_grant": 10**6})
    p2 = Params(**{**p1.as_dict(), "evaluation_fee": fee2})
    e = Engine()
    e.apply(GenesisEvent(0, T0, 1, 1, p1, MEMBERS))
    assert e.apply(RuleChangeEvent(1, 1 + delay, 2, p2, 1)).accepted
    for h in range(2, 2 + delay + events_after):
        bal = e.balance(3)
        assert e.apply(EvaluationEvent(h, 3, Receipts(1, 1))).accepted
        want = fee1 if h < 1 + delay else fee2
        assert bal - e.balance(3) == want
        assert e.params_at(h).params.evaluation_fee == want
        assert e.rule_version == (1 if h < 1 + delay else 2)
        if e.cell(NS.QUOTA_USED, 3) >= p1.evaluation_quota - 1:
            e.apply(PeriodCloseEvent(h, T0 + (h + 1) * p1.period_seconds))


@settings(max_examples=60, deadline=None)
@given(
    st.integers(INT64_MAX - 1_000, INT64_MAX),
    st.integers(0, 1_000),
    st.integers(INT64_MAX - 10, INT64_MAX),
)
def test_int64_edges_refuse_instead_of_wrapping(grant, fee, penalty) -> None:
    p = Params(
        **{**BASE.as_dict(), "starting_grant": grant, "evaluation_fee": fee, "dispute_penalty": penalty}
    )
    e = Engine()
    assert e.apply(GenesisEvent(0, T0, 1, 1, p, (1,))).accepted
    assert e.balance(1) == grant and e.book.minted == grant
    before = e.snapshot()
    out = e.apply(MemberAddedEvent(1, 2))  # minted would pass INT64_MAX
    assert (out.accepted, out.code) == (False, "overflow")
    assert e.snapshot() == before
    # a penalty pushes the burned counter and the balance towards the other edge
    e.apply(ContributeEvent(2, 1, 3, 1))
    e.apply(DisputeFiledEvent(3, 1, 1, 1, 2))
    e.apply(DisputeDecidedEvent(4, 1, True, 1))
    assert e.balance(1) == grant - penalty
    e.apply(ContributeEvent(5, 1, 3, 1))
    e.apply(DisputeFiledEvent(6, 2, 1, 1, 5))
    e.apply(DisputeFiledEvent(7, 3, 1, 1, 5))
    e.apply(DisputeDecidedEvent(8, 2, True, 1))
    before = e.snapshot()
    out = e.apply(DisputeDecidedEvent(9, 3, True, 1))
    if not out.accepted:
        assert out.code == "overflow" and e.snapshot() == before
    assert_invariants(e)


def _history() -> list[Event]:
    return build(
        [
            ("contrib", 1, 10, 5, 2),
            ("contrib", 2, 8, 8, 0),
            ("eval", 3, 5, False),
            ("close", 60),
            ("eval", 1, 2, False),
            ("close", 60),
        ]
    )


def test_tampered_balance_is_caught_by_the_state_root() -> None:
    events = _history()
    live = Engine.replay(events)
    root = live.state_root()
    live.book._set_unchecked(key(NS.BALANCE, 2), live.balance(2) + 1)
    assert live.state_root() != root
    with pytest.raises(StateDivergence):
        Engine.replay(events).verify_root(live.state_root(), len(events))


def test_tampered_rule_parameter_is_caught_by_the_state_root() -> None:
    events = _history()
    stored = Engine.replay(events).snapshot()
    root = Engine.replay(events).state_root()
    fee_cell = key(NS.PARAMS, 0, 2)  # activation height 0, field 2 = evaluation_fee
    assert stored[fee_cell] == BASE.evaluation_fee
    stored[fee_cell] = 0
    restored = Engine.from_snapshot(stored, len(events))
    assert restored.params is not None and restored.params.evaluation_fee == 0
    with pytest.raises(StateDivergence):
        restored.verify_root(root)


def test_snapshot_round_trip_verifies() -> None:
    events = _history()
    live = Engine.replay(events)
    restored = Engine.from_snapshot(live.snapshot(), live.height)
    restored.verify_root(live.state_root())
    assert restored.params == live.params
    # the restored engine continues exactly like the live one
    nxt = EvaluationEvent(live.height + 1, 3, Receipts(1, 1))
    assert restored.apply(nxt) == live.apply(nxt)
    assert restored.state_root() == live.state_root()


def test_history_journal() -> None:
    e = Engine.replay(_history(), journal=True)
    rows = e.history(3)
    assert rows[0].kind == "genesis" and rows[0].delta == BASE.starting_grant
    assert sum(r.delta for r in rows) == e.balance(3)
    assert any(r.kind == "evaluation" for r in rows)
    with pytest.raises(ValueError):
        Engine.replay(_history()).history(3)


@settings(max_examples=25, deadline=None)
@given(st.lists(op, min_size=2, max_size=30), st.integers(2, 3))
def test_batches_are_atomic_and_equal_sequential_application(ops, size) -> None:
    events = build(ops)
    batched, sequential = Engine(), Engine()
    batched.apply(events[0])
    sequential.apply(events[0])
    rest = events[1:]
    for i in range(0, len(rest), size):
        chunk = rest[i : i + size]
        height = chunk[-1].height
        chunk = [type(ev)(**{**_fields(ev), "height": height}) for ev in chunk]  # one entry, one height
        before = batched.snapshot()
        out = batched.apply_batch(chunk)
        if out.accepted:
            trial = Engine.from_snapshot(sequential.snapshot(), max(sequential.height, 0))
            assert all(trial.apply(ev).accepted for ev in chunk)
            sequential = trial
            assert batched.snapshot() == sequential.snapshot()
        else:
            assert batched.snapshot() == before
        assert batched.state_root() == root_of(batched.book.cells.items())
        assert_invariants(batched)


def _fields(ev: Event) -> dict[str, Any]:
    return {f: getattr(ev, f) for f in ev.__dataclass_fields__}
