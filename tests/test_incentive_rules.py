"""Rule set 1, one rule at a time, with hand-computed figures."""

from __future__ import annotations

import pytest

from incentive.engine import Engine
from incentive.events import (
    ContributeEvent,
    CorroborationEvent,
    DisputeDecidedEvent,
    DisputeFiledEvent,
    EvaluationEvent,
    GenesisEvent,
    MemberAddedEvent,
    MemberRemovedEvent,
    PeriodCloseEvent,
    Receipts,
    RevokeEvent,
    RuleChangeEvent,
)
from incentive.params import Params
from incentive.points import NS
from incentive.rules import RULESETS, evaluate

T0 = 1_700_000_000
P = Params(
    period_seconds=100,
    evaluation_fee=10,
    evaluation_quota=1_000,
    record_reward=2,
    record_reward_cap=1_000,
    holding_periods=1,
    pool_share_cap=10**9,
    corroboration_reward=3,
    corroboration_cap=30,
    activity_bonus=5,
    starting_grant=1_000,
    dispute_penalty=50,
)
A, B, C = 1, 2, 3  # A and B contribute, C only queries


class World:
    """An engine with genesis applied and an auto-incrementing height."""

    def __init__(self, params: Params = P, members: tuple[int, ...] = (A, B, C), threshold: int = 2) -> None:
        self.e = Engine()
        self.h = 0
        self.t = T0
        assert self.e.apply(GenesisEvent(0, T0, threshold, 1, params, members)).accepted

    def next(self) -> int:
        self.h += 1
        return self.h

    def eval(self, m: int, n: int, k: int | None = None):
        return self.e.apply(EvaluationEvent(self.next(), m, Receipts(n, n if k is None else k)))

    def contribute(self, m: int, records: int, tags: int, derivations: int = 0):
        return self.e.apply(
            ContributeEvent(self.next(), m, records, tags, Receipts(derivations, derivations))
        )

    def close(self, periods: int = 1):
        self.t += periods * P.period_seconds
        return self.e.apply(PeriodCloseEvent(self.next(), self.t))

    def bal(self, m: int) -> int:
        return self.e.balance(m)


def test_genesis_grants_and_conserves() -> None:
    w = World()
    assert [w.bal(m) for m in (A, B, C)] == [1_000] * 3
    assert w.e.book.minted == 3_000
    assert w.e.rule_version == 1 and w.e.params == P
    w.e.book.check_conservation()


def test_events_before_genesis_are_refused() -> None:
    e = Engine()
    out = e.apply(EvaluationEvent(1, A, Receipts(1, 1)))
    assert (out.accepted, out.code) == (False, "no_genesis")
    assert e.snapshot() == {}


def test_second_genesis_refused() -> None:
    w = World()
    out = w.e.apply(GenesisEvent(w.next(), T0, 1, 1, P))
    assert out.code == "genesis_repeated"


def test_evaluation_fee_goes_to_the_pool() -> None:
    w = World()
    assert w.eval(C, 7).accepted
    assert w.bal(C) == 1_000 - 70
    assert w.e.book.pool == 70
    assert w.e.cell(NS.QUOTA_USED, C) == 7
    w.e.book.check_conservation()


@pytest.mark.parametrize(
    ("n", "k", "code"),
    [(3, 4, "receipt_mismatch"), (0, 0, "empty_request"), (1_001, 1_001, "quota_exceeded")],
)
def test_evaluation_refusals(n: int, k: int, code: str) -> None:
    w = World(Params(**{**P.as_dict(), "starting_grant": 10**6}))
    before = w.e.snapshot()
    out = w.eval(C, n, k)
    assert (out.accepted, out.code) == (False, code)
    assert w.e.snapshot() == before


def test_quota_is_per_period_and_counts_contributor_derivations() -> None:
    w = World(Params(**{**P.as_dict(), "starting_grant": 10**6}))
    assert w.contribute(A, 10, 10, derivations=600).accepted
    assert w.eval(A, 401).code == "quota_exceeded"
    assert w.eval(A, 400).accepted
    assert w.eval(A, 1).code == "quota_exceeded"
    w.close()
    assert w.eval(A, 1_000).accepted


def test_balance_cannot_go_below_zero() -> None:
    w = World()
    assert w.eval(C, 100).accepted  # exactly the grant
    assert w.bal(C) == 0
    assert w.eval(C, 1).code == "insufficient_balance"
    assert w.contribute(C, 1, 1, derivations=1).code == "insufficient_balance"


def test_unknown_and_removed_members_refused() -> None:
    w = World()
    assert w.eval(9, 1).code == "unknown_member"
    assert w.e.apply(MemberRemovedEvent(w.next(), C)).accepted
    assert w.eval(C, 1).code == "unknown_member"
    assert w.e.apply(MemberRemovedEvent(w.next(), C)).code == "unknown_member"
    assert w.e.apply(MemberAddedEvent(w.next(), C)).code == "member_exists"  # ids are not reused


def test_new_member_gets_the_starting_grant() -> None:
    w = World()
    assert w.e.apply(MemberAddedEvent(w.next(), 7)).accepted
    assert w.bal(7) == P.starting_grant
    w.e.book.check_conservation()


def test_record_reward_vests_after_the_holding_period() -> None:
    w = World()
    assert w.contribute(A, 10, 4).accepted  # period 0
    assert w.bal(A) == 1_000
    w.close()  # end of period 0: not yet (holding 1 period)
    assert w.bal(A) == 1_000 + 5  # activity bonus only
    w.close()  # end of period 1: vests
    assert w.bal(A) == 1_000 + 5 + 20
    assert w.e.cell(NS.ACTIVE_TAGS, A) == 4
    w.e.book.check_conservation()


def test_record_reward_cap_per_period() -> None:
    w = World(Params(**{**P.as_dict(), "record_reward_cap": 15}))
    w.contribute(A, 5, 0)  # 10 points
    w.contribute(A, 5, 0)  # only 2 more records fit (5 points of room → 2 records)
    w.close(2)
    assert w.bal(A) == 1_000 + 5 + 14
    w.contribute(A, 5, 0)  # new period: room again
    w.close(2)
    assert w.bal(A) == 1_000 + 5 + 14 + 5 + 10


def test_revoke_before_vesting_claws_back() -> None:
    w = World()
    w.contribute(A, 10, 4)
    up = w.h
    assert w.e.apply(RevokeEvent(w.next(), A, ((up, 3),), removed_distinct_tags=1)).accepted
    w.close(2)
    assert w.bal(A) == 1_000 + 5 + 7 * 2
    assert w.e.cell(NS.ACTIVE_TAGS, A) == 3
    minted_before = w.e.book.minted
    # after vesting a revoke claws nothing back
    assert w.e.apply(RevokeEvent(w.next(), A, ((up, 7),), removed_distinct_tags=3)).accepted
    assert w.bal(A) == 1_000 + 5 + 14 and w.e.book.minted == minted_before
    assert w.e.cell(NS.ACTIVE_TAGS, A) == 0


def test_revoke_refuses_more_tags_than_active() -> None:
    w = World()
    w.contribute(A, 2, 1)
    out = w.e.apply(RevokeEvent(w.next(), A, ((w.h, 2),), removed_distinct_tags=2))
    assert out.code == "tag_count"


def test_pool_shared_by_active_tags_excluding_own_fees() -> None:
    w = World()
    w.contribute(A, 10, 10)
    w.contribute(B, 30, 30)
    w.eval(C, 40)  # 400 points: A gets 100, B 300
    w.eval(A, 10)  # 100 points: all to B (A's own fees excluded)
    w.eval(B, 20)  # 200 points: all to A
    w.close()
    # balances: grant - fees + pool share + activity bonus (rewards still vesting)
    assert w.bal(A) == 1_000 - 100 + 100 + 200 + 5
    assert w.bal(B) == 1_000 - 200 + 300 + 100 + 5
    assert w.bal(C) == 1_000 - 400 + 5
    assert w.e.book.pool == 0 and w.e.book.treasury == 0
    w.e.book.check_conservation()


def test_pool_remainders_and_cap_go_to_the_treasury() -> None:
    w = World(Params(**{**P.as_dict(), "pool_share_cap": 60}))
    w.contribute(A, 3, 1)
    w.contribute(B, 3, 2)
    w.eval(C, 10)  # 100 points over 3 tags: A ⌊33.3⌋ = 33, B ⌊66.6⌋ = 66 capped to 60
    w.close()
    assert w.bal(A) == 1_000 + 33 + 5
    assert w.bal(B) == 1_000 + 60 + 5
    assert w.e.book.treasury == 100 - 33 - 60
    w.e.book.check_conservation()


def test_pool_with_no_other_contributor_goes_to_the_treasury() -> None:
    w = World()
    w.contribute(A, 3, 3)
    w.eval(A, 5)
    w.close()
    assert w.e.book.treasury == 50
    assert w.bal(A) == 1_000 - 50 + 5


def test_activity_bonus_only_for_active_members() -> None:
    w = World()
    w.eval(C, 1)
    w.close()
    assert w.bal(C) == 1_000 - 10 + 5
    assert w.bal(B) == 1_000
    w.close()
    assert w.bal(C) == 1_000 - 10 + 5  # nothing in the second period


def test_corroboration_bonus_capped_once_per_closed_period() -> None:
    w = World()
    assert w.e.apply(CorroborationEvent(w.next(), 0, ((A, 4),))).code == "period_open"
    w.close()
    assert w.e.apply(CorroborationEvent(w.next(), 0, ((A, 4), (B, 100)))).accepted
    assert w.bal(A) == 1_000 + 12
    assert w.bal(B) == 1_000 + 30  # capped
    assert w.e.apply(CorroborationEvent(w.next(), 0, ((A, 1),))).code == "duplicate_corroboration"
    assert w.e.apply(CorroborationEvent(w.next(), 0, ((9, 1),))).code in {
        "duplicate_corroboration",
        "unknown_member",
    }
    w.close()
    assert w.e.apply(CorroborationEvent(w.next(), 1, ((9, 1),))).code == "unknown_member"
    w.e.book.check_conservation()


def test_dispute_freezes_then_upheld_claws_back_and_penalises() -> None:
    w = World()
    w.contribute(A, 10, 5)
    up = w.h
    assert w.e.apply(DisputeFiledEvent(w.next(), 77, C, A, up)).accepted
    assert w.e.apply(DisputeFiledEvent(w.next(), 77, C, A, up)).code == "dispute_exists"
    assert w.e.apply(DisputeFiledEvent(w.next(), 78, C, B, up)).code == "not_own_upload"
    w.close(2)
    assert w.bal(A) == 1_000 + 5  # frozen: the reward waits
    assert w.e.apply(DisputeDecidedEvent(w.next(), 77, True, approvals=1)).code == "below_threshold"
    assert w.e.apply(DisputeDecidedEvent(w.next(), 77, True, 2, removed_distinct_tags=1)).accepted
    assert w.bal(A) == 1_000 + 5 - 50
    assert w.e.book.burned == 50
    assert w.e.cell(NS.ACTIVE_TAGS, A) == 4
    w.close()
    assert w.bal(A) == 1_000 + 5 - 50 + 9 * 2
    assert w.e.apply(DisputeDecidedEvent(w.next(), 77, False, 2)).code == "no_open_dispute"
    w.e.book.check_conservation()


def test_dismissed_dispute_releases_the_reward() -> None:
    w = World()
    w.contribute(A, 10, 5)
    up = w.h
    assert w.e.apply(DisputeFiledEvent(w.next(), 1, B, A, up)).accepted
    w.close(2)
    assert w.e.apply(DisputeDecidedEvent(w.next(), 1, False, 3)).accepted
    w.close()
    assert w.bal(A) == 1_000 + 5 + 20


def test_penalty_may_take_a_balance_negative_and_blocks_queries() -> None:
    w = World(Params(**{**P.as_dict(), "dispute_penalty": 5_000}))
    w.contribute(A, 1, 1)
    up = w.h
    assert w.e.apply(DisputeFiledEvent(w.next(), 1, B, A, up)).accepted
    w.e.apply(DisputeDecidedEvent(w.next(), 1, True, 2))
    assert w.bal(A) == 1_000 - 5_000
    assert w.eval(A, 1).code == "insufficient_balance"


def test_periods_follow_checkpoint_time_not_height() -> None:
    w = World()
    for _ in range(50):
        w.eval(C, 1)
    assert w.e.cell(NS.CLOCK, 0) == 0  # many heights, same period
    assert w.e.apply(PeriodCloseEvent(w.next(), T0 + 99)).accepted
    assert w.e.cell(NS.CLOCK, 0) == 0
    assert w.e.apply(PeriodCloseEvent(w.next(), T0 + 50)).code == "time_regressed"
    assert w.e.apply(PeriodCloseEvent(w.next(), T0 + 100)).accepted
    assert w.e.cell(NS.CLOCK, 0) == 1


def test_skipped_periods_close_in_one_step() -> None:
    w = World()
    w.contribute(A, 10, 1)
    w.eval(C, 1)
    assert w.e.apply(PeriodCloseEvent(w.next(), T0 + 10**6 * 100 + 5)).accepted
    assert w.e.cell(NS.CLOCK, 0) == 10**6
    assert w.e.cell(NS.CLOCK, 1) == T0 + 10**6 * 100
    assert w.bal(A) == 1_000 + 10 + 5 + 20  # pool share of C's fee, bonus, vested reward


def test_rule_change_applies_from_its_height() -> None:
    w = World()
    newp = Params(**{**P.as_dict(), "evaluation_fee": 25})
    assert w.e.apply(RuleChangeEvent(w.next(), w.h, 2, newp, 2)).code == "activation_not_future"
    assert w.e.apply(RuleChangeEvent(w.next(), w.h + 5, 2, newp, 1)).code == "below_threshold"
    unknown = Params(**{**P.as_dict(), "ruleset": 9})
    assert w.e.apply(RuleChangeEvent(w.next(), w.h + 5, 2, unknown, 2)).code == "unknown_version"
    assert w.e.apply(RuleChangeEvent(w.next(), w.h + 5, 1, newp, 2)).code == "version_not_newer"
    assert w.e.apply(RuleChangeEvent(w.next(), 100, 2, newp, 2)).accepted
    assert w.e.apply(RuleChangeEvent(w.next(), 100, 3, P, 2)).code == "activation_taken"
    assert w.e.apply(RuleChangeEvent(w.next(), 120, 2, P, 2)).code == "version_not_newer"
    w.h = 98
    w.eval(C, 1)  # height 99: old fee
    assert w.bal(C) == 990
    w.eval(C, 1)  # height 100: new fee
    assert w.bal(C) == 965
    assert w.e.params_at(99).params.evaluation_fee == 10
    assert w.e.params_at(100).params.evaluation_fee == 25
    assert w.e.rule_version == 2 and w.e.params_at(99).version == 1


def test_pure_rule_function_reports_without_writing() -> None:
    w = World()
    before = w.e.snapshot()
    deltas, out = evaluate(w.e.book, EvaluationEvent(5, C, Receipts(2, 2)), 1, P)
    assert out.accepted and sum(v for k, v in deltas.items() if k >> 172 in (NS.BALANCE, NS.POOL)) == 0
    assert w.e.snapshot() == before
    _, out = evaluate(w.e.book, EvaluationEvent(5, C, Receipts(2, 3)), 1, P)
    assert (out.accepted, out.code) == (False, "receipt_mismatch")
    assert 1 in RULESETS


def test_event_validation() -> None:
    with pytest.raises(ValueError, match="distinct tags"):
        ContributeEvent(1, A, 1, 2)
    with pytest.raises(TypeError):
        EvaluationEvent(1, A, Receipts(True, 1))
    with pytest.raises(ValueError):
        Receipts(-1, 0)
    with pytest.raises(ValueError, match="sorted"):
        RevokeEvent(5, A, ((3, 1), (2, 1)))
    with pytest.raises(ValueError):
        RevokeEvent(5, A, ((6, 1),))
    with pytest.raises(ValueError):
        Params(period_seconds=0)
    with pytest.raises(ValueError):
        Params(evaluation_fee=1 << 63)
    with pytest.raises(ValueError):
        DisputeDecidedEvent(1, 1, False, 1, removed_distinct_tags=1)


def test_out_of_order_height_is_a_programming_error() -> None:
    w = World()
    w.eval(C, 1)
    with pytest.raises(ValueError, match="below"):
        w.e.apply(EvaluationEvent(0, C, Receipts(1, 1)))


def test_param_ids_follow_the_documented_order() -> None:
    from incentive.params import PARAM_IDS

    assert PARAM_IDS["period_seconds"] == 1 and PARAM_IDS["evaluation_fee"] == 2
    assert PARAM_IDS["dispute_penalty"] == 12 and PARAM_IDS["ruleset"] == 13
    assert Params.from_values(P.values()) == P
