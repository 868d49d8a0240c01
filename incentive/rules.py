"""Rule set 1 as pure functions ``(state view, event, params) → (deltas, outcome)``.

A rule reads the current cells through a :class:`View` and returns **additive deltas** over state
cells (``{packed key: change}``) and an :class:`Outcome`; it never writes. The engine applies the
deltas atomically (all or nothing, int64-checked). A rule refuses an event by raising
:class:`~incentive.exceptions.RuleRejected`; :func:`evaluate` turns that into a rejected outcome with
no deltas. Everything a rule reads is an integer the ledger holds (see ``incentive/RULES.md``).

Rule versions live in :data:`RULESETS`; a rule_change event activates a version and parameters
from a height, and the engine passes the parameters in force at each event's height.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

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
    RevokeEvent,
    RuleChangeEvent,
)
from incentive.exceptions import RuleRejected
from incentive.params import Params
from incentive.points import (
    B_SHIFT,
    KEY_BURNED,
    KEY_MINTED,
    KEY_POOL,
    KEY_TREASURY,
    LIFETIME_BONUS,
    LIFETIME_CLAWED_BACK,
    LIFETIME_EVALUATIONS,
    LIFETIME_FEES,
    LIFETIME_POOL_SHARE,
    LIFETIME_RECORDS,
    LIFETIME_REVOKED,
    LIFETIME_VESTED,
    NS,
    NS_SHIFT,
    key,
)

__all__ = [
    "ACCEPTED",
    "RULESETS",
    "RULE_CODES",
    "Deltas",
    "Outcome",
    "Overlay",
    "RuleSet",
    "View",
    "evaluate",
    "rule_code",
]

Deltas = dict[int, int]

ENROLLED = 1
REMOVED = 2
DISPUTE_OPEN, DISPUTE_UPHELD, DISPUTE_DISMISSED = 1, 2, 3

KEY_PERIOD = key(NS.CLOCK, 0)
KEY_PERIOD_START = key(NS.CLOCK, 1)
KEY_LAST_TIME = key(NS.CLOCK, 2)
KEY_ADMIN_THRESHOLD = key(NS.CLOCK, 3)

# Per-member key bases: key = BASE | member, or BASE | b << 81 | member (see incentive.points.key).
_BAL = NS.BALANCE << NS_SHIFT
_MEM = NS.MEMBER << NS_SHIFT
_TAGS = NS.ACTIVE_TAGS << NS_SHIFT
_QUOTA = NS.QUOTA_USED << NS_SHIFT
_FEES = NS.FEES_PAID << NS_SHIFT
_ACT = NS.ACTIVE << NS_SHIFT
_ACCR = NS.RECORD_ACCRUED << NS_SHIFT
_LIFE = NS.LIFETIME << NS_SHIFT
_PCOUNT = NS.PENDING_COUNT << NS_SHIFT
_PRATE = NS.PENDING_RATE << NS_SHIFT
_PVEST = NS.PENDING_VEST << NS_SHIFT
_PFROZEN = NS.PENDING_FROZEN << NS_SHIFT
_UPLOADER = NS.UPLOADER << NS_SHIFT
_MASK64 = (1 << 64) - 1
_LOW = (1 << NS_SHIFT) - 1


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a rule decided: ``accepted`` with ``code`` "ok", or refused with a stable snake_case
    ``code`` (``quota_exceeded``, ``insufficient_balance``, …) and a human ``detail``."""

    accepted: bool
    code: str = "ok"
    detail: str = ""


ACCEPTED = Outcome(True)

#: refusal codes as ledger outcome codes (the rule layer owns codes ≥ 100); append, never renumber
RULE_CODES: Mapping[str, int] = {
    "rule_rejected": 100,
    "no_genesis": 101,
    "genesis_repeated": 102,
    "unknown_version": 103,
    "unknown_member": 104,
    "member_exists": 105,
    "receipt_mismatch": 106,
    "empty_request": 107,
    "quota_exceeded": 108,
    "insufficient_balance": 109,
    "tag_count": 110,
    "not_own_upload": 111,
    "dispute_exists": 112,
    "no_open_dispute": 113,
    "below_threshold": 114,
    "period_open": 115,
    "duplicate_corroboration": 116,
    "time_regressed": 117,
    "activation_not_future": 118,
    "activation_taken": 119,
    "overflow": 120,
    "malformed_entry": 121,
    "pending_conflict": 122,
    "version_not_newer": 123,
}


def rule_code(code: str) -> int:
    """The ledger outcome code of a refusal code (100 for one not in the table)."""
    return RULE_CODES.get(code, 100)


class View(Protocol):
    """Read-only access to the state cells (a :class:`~incentive.points.Book` is one)."""

    @property
    def cells(self) -> Mapping[int, int]: ...

    def keys_in(self, ns: int) -> list[int]: ...


class _OverlayCells(Mapping[int, int]):
    """``base + deltas`` as a read-only mapping without the zero cells."""

    __slots__ = ("base", "deltas")

    def __init__(self, base: Mapping[int, int], deltas: Mapping[int, int]) -> None:
        self.base = base
        self.deltas = deltas

    def __getitem__(self, k: int) -> int:
        v = self.base.get(k, 0) + self.deltas.get(k, 0)
        if not v:
            raise KeyError(k)
        return v

    def __iter__(self) -> Iterator[int]:
        seen = set()
        for k in (*self.base, *self.deltas):
            if k not in seen:
                seen.add(k)
                if self.base.get(k, 0) + self.deltas.get(k, 0):
                    yield k

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Overlay:
    """A :class:`View` of ``view`` with ``deltas`` applied (for several events in one entry)."""

    __slots__ = ("_cells", "_view")

    def __init__(self, view: View, deltas: Mapping[int, int]) -> None:
        self._view = view
        self._cells = _OverlayCells(view.cells, deltas)

    @property
    def cells(self) -> Mapping[int, int]:
        return self._cells

    def keys_in(self, ns: int) -> list[int]:
        keys = set(self._view.keys_in(ns))
        for k, d in self._cells.deltas.items():
            if k >> NS_SHIFT == ns and d:
                keys.add(k)
        return sorted(k for k in keys if self._cells.get(k, 0))


class _Tx:
    """Deltas over a view, readable as the would-be state (for rules that read what they write)."""

    __slots__ = ("cells", "d")

    def __init__(self, cells: Mapping[int, int]) -> None:
        self.cells = cells
        self.d: Deltas = {}

    def get(self, k: int) -> int:
        return self.cells.get(k, 0) + self.d.get(k, 0)

    def add(self, k: int, x: int) -> None:
        if x:
            self.d[k] = self.d.get(k, 0) + x

    def set(self, k: int, v: int) -> None:
        self.add(k, v - self.get(k))

    def mint(self, member: int, amount: int, lifetime: int) -> None:
        if amount:
            self.add(_BAL | member, amount)
            self.add(KEY_MINTED, amount)
            self.add(_LIFE | lifetime << B_SHIFT | member, amount)


def _reject(code: str, detail: str = "") -> RuleRejected:
    return RuleRejected(code, detail)


def _check_receipts(platform: int, keyholder: int) -> int:
    if platform != keyholder:
        raise _reject("receipt_mismatch", f"platform metered {platform}, key holder {keyholder}")
    return platform


# -- membership -------------------------------------------------------------------------------
def _member_added(view: View, ev: MemberAddedEvent, p: Params) -> tuple[Deltas, Outcome]:
    m = ev.member
    if view.cells.get(_MEM | m, 0):
        raise _reject("member_exists", f"member {m} is or was enrolled; ids are not reused")
    tx = _Tx(view.cells)
    tx.add(_MEM | m, ENROLLED)
    tx.mint(m, p.starting_grant, LIFETIME_BONUS)
    return tx.d, ACCEPTED


def _member_removed(view: View, ev: MemberRemovedEvent, p: Params) -> tuple[Deltas, Outcome]:
    k = _MEM | ev.member
    if view.cells.get(k, 0) != ENROLLED:
        raise _reject("unknown_member", f"member {ev.member} is not enrolled")
    return {k: REMOVED - ENROLLED}, ACCEPTED


# -- fees and contributions ---------------------------------------------------------------------
def _evaluation(view: View, ev: EvaluationEvent, p: Params) -> tuple[Deltas, Outcome]:
    cells = view.cells
    m = ev.member
    if cells.get(_MEM | m) != ENROLLED:
        raise _reject("unknown_member", f"member {m} is not enrolled")
    r = ev.receipts
    n = _check_receipts(r.platform, r.keyholder)
    if n == 0:
        raise _reject("empty_request", "an evaluation entry needs a positive count")
    used = cells.get(_QUOTA | m, 0)
    if used + n > p.evaluation_quota:
        raise _reject("quota_exceeded", f"{used} + {n} evaluations > quota {p.evaluation_quota}")
    fee = n * p.evaluation_fee
    bal = cells.get(_BAL | m, 0)
    if bal < fee:
        raise _reject("insufficient_balance", f"fee {fee} > balance {bal}")
    d = {
        _BAL | m: -fee,
        KEY_POOL: fee,
        _QUOTA | m: n,
        _FEES | m: fee,
    }
    if not cells.get(_ACT | m):
        d[_ACT | m] = 1
    return d, ACCEPTED


def _contribute(view: View, ev: ContributeEvent, p: Params) -> tuple[Deltas, Outcome]:
    cells = view.cells
    m = ev.member
    if cells.get(_MEM | m) != ENROLLED:
        raise _reject("unknown_member", f"member {m} is not enrolled")
    r = ev.receipts
    n = _check_receipts(r.platform, r.keyholder)
    d: Deltas = {}
    if n:
        used = cells.get(_QUOTA | m, 0)
        if used + n > p.evaluation_quota:
            raise _reject("quota_exceeded", f"{used} + {n} evaluations > quota {p.evaluation_quota}")
        fee = n * p.evaluation_fee
        bal = cells.get(_BAL | m, 0)
        if bal < fee:
            raise _reject("insufficient_balance", f"fee {fee} > balance {bal}")
        d[_BAL | m] = -fee
        d[KEY_POOL] = fee
        d[_QUOTA | m] = n
        d[_FEES | m] = fee
    records = ev.accepted_records
    if records:
        rate = p.record_reward
        accrued = cells.get(_ACCR | m, 0)
        room = p.record_reward_cap - accrued
        rewarded = min(records, room // rate) if rate and room > 0 else 0
        if rewarded:
            hk = ev.height << B_SHIFT | m
            d[_ACCR | m] = rewarded * rate
            d[_PCOUNT | hk] = rewarded
            old_rate = cells.get(_PRATE | hk, 0)
            if old_rate and old_rate != rate:  # pragma: no cover - same height, same params
                raise _reject("pending_conflict", "two uploads at one height with different rates")
            if not old_rate:
                d[_PRATE | hk] = rate
                # stored as the first period in which the reward is spendable (never 0)
                d[_PVEST | hk] = cells.get(KEY_PERIOD, 0) + p.holding_periods + 1
        d[_LIFE | LIFETIME_RECORDS << B_SHIFT | m] = records
        if not cells.get(_UPLOADER | ev.height):
            d[_UPLOADER | ev.height] = m + 1
        if ev.new_distinct_tags:
            d[_TAGS | m] = ev.new_distinct_tags
    if (n or records) and not cells.get(_ACT | m):
        d[_ACT | m] = 1
    return d, ACCEPTED


def _claw_back(tx: _Tx, member: int, upload_height: int, records: int) -> int:
    """Cancel the pending reward of up to ``records`` records of one upload; returns points."""
    hk = upload_height << B_SHIFT | member
    pending = tx.get(_PCOUNT | hk)
    take = min(records, pending)
    if not take:
        return 0
    rate = tx.get(_PRATE | hk)
    tx.add(_PCOUNT | hk, -take)
    if take == pending:
        tx.set(_PRATE | hk, 0)
        tx.set(_PVEST | hk, 0)
        tx.set(_PFROZEN | hk, 0)
    amount = take * rate
    tx.add(_LIFE | LIFETIME_CLAWED_BACK << B_SHIFT | member, amount)
    return amount


def _revoke(view: View, ev: RevokeEvent, p: Params) -> tuple[Deltas, Outcome]:
    m = ev.member
    tx = _Tx(view.cells)
    if not tx.get(_MEM | m):
        raise _reject("unknown_member", f"member {m} was never enrolled")
    tags = tx.get(_TAGS | m)
    if ev.removed_distinct_tags > tags:
        raise _reject("tag_count", f"removing {ev.removed_distinct_tags} distinct tags of {tags} active")
    for h, _ in ev.removals:
        if tx.get(_UPLOADER | h) != m + 1:
            raise _reject("not_own_upload", f"height {h} is not an upload of member {m}")
    for h, n in ev.removals:
        _claw_back(tx, m, h, n)
    tx.add(_TAGS | m, -ev.removed_distinct_tags)
    tx.add(_LIFE | LIFETIME_REVOKED << B_SHIFT | m, ev.count)
    return tx.d, ACCEPTED


# -- disputes ---------------------------------------------------------------------------------
def _dispute_filed(view: View, ev: DisputeFiledEvent, p: Params) -> tuple[Deltas, Outcome]:
    tx = _Tx(view.cells)
    if tx.get(_MEM | ev.filer) != ENROLLED:
        raise _reject("unknown_member", f"filer {ev.filer} is not enrolled")
    c = ev.contributor
    if not tx.get(_MEM | c):
        raise _reject("unknown_member", f"contributor {c} was never enrolled")
    if tx.get(_UPLOADER | ev.upload_height) != c + 1:
        raise _reject("not_own_upload", f"height {ev.upload_height} is not an upload of member {c}")
    did = ev.dispute_id
    if tx.get(key(NS.DISPUTE, did)):
        raise _reject("dispute_exists", f"dispute {did} was already filed")
    tx.set(key(NS.DISPUTE, did), DISPUTE_OPEN)
    tx.set(key(NS.DISPUTE_MEMBER, did), c)
    tx.set(key(NS.DISPUTE_HEIGHT, did), ev.upload_height)
    hk = ev.upload_height << B_SHIFT | c
    if tx.get(_PCOUNT | hk):
        tx.add(_PFROZEN | hk, 1)
        tx.set(key(NS.DISPUTE_FROZE, did), 1)
    return tx.d, ACCEPTED


def _dispute_decided(view: View, ev: DisputeDecidedEvent, p: Params) -> tuple[Deltas, Outcome]:
    tx = _Tx(view.cells)
    did = ev.dispute_id
    if tx.get(key(NS.DISPUTE, did)) != DISPUTE_OPEN:
        raise _reject("no_open_dispute", f"dispute {did} is not open")
    threshold = tx.get(KEY_ADMIN_THRESHOLD)
    if ev.approvals < threshold:
        raise _reject("below_threshold", f"{ev.approvals} approvals < administrators' threshold {threshold}")
    c = tx.get(key(NS.DISPUTE_MEMBER, did))
    h = tx.get(key(NS.DISPUTE_HEIGHT, did))
    hk = h << B_SHIFT | c
    if tx.get(key(NS.DISPUTE_FROZE, did)) and tx.get(_PFROZEN | hk) > 0:
        tx.add(_PFROZEN | hk, -1)
    if ev.upheld:
        tags = tx.get(_TAGS | c)
        if ev.removed_distinct_tags > tags:
            raise _reject("tag_count", f"removing {ev.removed_distinct_tags} distinct tags of {tags} active")
        _claw_back(tx, c, h, 1)
        tx.add(_TAGS | c, -ev.removed_distinct_tags)
        penalty = p.dispute_penalty
        tx.add(_BAL | c, -penalty)
        tx.add(KEY_BURNED, penalty)
        tx.add(_LIFE | LIFETIME_REVOKED << B_SHIFT | c, 1)
    tx.set(key(NS.DISPUTE, did), DISPUTE_UPHELD if ev.upheld else DISPUTE_DISMISSED)
    tx.set(key(NS.DISPUTE_MEMBER, did), 0)
    tx.set(key(NS.DISPUTE_HEIGHT, did), 0)
    tx.set(key(NS.DISPUTE_FROZE, did), 0)
    return tx.d, ACCEPTED


# -- corroboration ----------------------------------------------------------------------------
def _corroboration(view: View, ev: CorroborationEvent, p: Params) -> tuple[Deltas, Outcome]:
    tx = _Tx(view.cells)
    current = tx.get(KEY_PERIOD)
    if ev.period >= current:
        raise _reject("period_open", f"period {ev.period} is not closed (current period {current})")
    done = key(NS.CORROBORATED, ev.period)
    if tx.get(done):
        raise _reject("duplicate_corroboration", f"period {ev.period} was already corroborated")
    for m, _ in ev.counts:
        if not tx.get(_MEM | m):
            raise _reject("unknown_member", f"member {m} was never enrolled")
    for m, count in ev.counts:
        if tx.get(_MEM | m) == ENROLLED:
            tx.mint(m, min(count * p.corroboration_reward, p.corroboration_cap), LIFETIME_BONUS)
    tx.set(done, 1)
    return tx.d, ACCEPTED


# -- the period clock -------------------------------------------------------------------------
def _vest(view: View, tx: _Tx, last_closed: int) -> None:
    """Mint every pending reward spendable from period ``last_closed + 1``; a reward with an open
    dispute waits for the next close."""
    for k in view.keys_in(NS.PENDING_VEST):
        spendable_from = tx.get(k)
        if not spendable_from or spendable_from > last_closed + 1:
            continue
        hk = k & _LOW
        if tx.get(_PFROZEN | hk):
            tx.set(k, last_closed + 2)
            continue
        m = hk & _MASK64
        tx.mint(m, tx.get(_PCOUNT | hk) * tx.get(_PRATE | hk), LIFETIME_VESTED)
        tx.set(_PCOUNT | hk, 0)
        tx.set(_PRATE | hk, 0)
        tx.set(k, 0)


def _share_pool(view: View, tx: _Tx, p: Params) -> None:
    """Share the period's fees over active distinct tags, excluding each member's own fees.

    Payer m's fee f_m is spread over the *other* enrolled contributors' active distinct tags, so
    contributor c is owed exactly t_c · Σ_{m ≠ c} f_m / (T − t_m) (T all active tags, t_m the
    payer's own). It receives the floor of that rational, computed exactly over the common
    denominator L = lcm(T − t_m), capped at ``pool_share_cap``. The rest (rounding remainders,
    capped excess, fees no other contributor could share) goes to the treasury. Linear in payers
    + contributors (L has at most a few bits per distinct denominator).
    """
    pool = tx.get(KEY_POOL)
    if not pool:
        return
    weights: dict[int, int] = {}
    for k in view.keys_in(NS.ACTIVE_TAGS):
        m = k & _MASK64
        tags = tx.get(k)
        if tags > 0 and tx.get(_MEM | m) == ENROLLED:
            weights[m] = tags
    total = sum(weights.values())
    shares: dict[int, tuple[int, int]] = {}  # payer → (fee, T - t_m)
    for k in view.keys_in(NS.FEES_PAID):
        payer = k & _MASK64
        fee = tx.get(k)
        others = total - weights.get(payer, 0)
        if fee > 0 and others > 0:
            shares[payer] = (fee, others)
    paid = 0
    if shares:
        lcm = math.lcm(*{w for _, w in shares.values()})
        rates = {m: fee * (lcm // w) for m, (fee, w) in shares.items()}
        all_rates = sum(rates.values())
        for c in sorted(weights):
            share = min(weights[c] * (all_rates - rates.get(c, 0)) // lcm, p.pool_share_cap)
            if share:
                tx.add(_BAL | c, share)
                tx.add(_LIFE | LIFETIME_POOL_SHARE << B_SHIFT | c, share)
                paid += share
    tx.add(KEY_TREASURY, pool - paid)
    tx.add(KEY_POOL, -pool)


def _close_one(view: View, tx: _Tx, period: int, p: Params) -> None:
    _vest(view, tx, period)
    _share_pool(view, tx, p)
    for k in view.keys_in(NS.ACTIVE):
        m = k & _MASK64
        if tx.get(_MEM | m) == ENROLLED:
            tx.mint(m, p.activity_bonus, LIFETIME_BONUS)
    # lifetime totals take the period's counters at close (not per event: fewer cells per entry)
    for ns, lifetime in ((NS.QUOTA_USED, LIFETIME_EVALUATIONS), (NS.FEES_PAID, LIFETIME_FEES)):
        for k in view.keys_in(ns):
            tx.add(_LIFE | lifetime << B_SHIFT | (k & _MASK64), tx.get(k))
    for ns in (NS.ACTIVE, NS.QUOTA_USED, NS.FEES_PAID, NS.RECORD_ACCRUED):
        for k in view.keys_in(ns):
            tx.set(k, 0)


def _period_close(view: View, ev: PeriodCloseEvent, p: Params) -> tuple[Deltas, Outcome]:
    tx = _Tx(view.cells)
    last = tx.get(KEY_LAST_TIME)
    if ev.time < last:
        raise _reject("time_regressed", f"checkpoint time {ev.time} < last seen {last}")
    tx.set(KEY_LAST_TIME, ev.time)
    period, start, length = tx.get(KEY_PERIOD), tx.get(KEY_PERIOD_START), p.period_seconds
    if ev.time >= start + length:
        _close_one(view, tx, period, p)
        period, start = period + 1, start + length
        skipped = (ev.time - start) // length
        if skipped:  # periods with no entries at all: only vesting can happen in them
            _vest(view, tx, period + skipped - 1)
            period, start = period + skipped, start + skipped * length
        tx.set(KEY_PERIOD, period)
        tx.set(KEY_PERIOD_START, start)
    return tx.d, ACCEPTED


# -- genesis and rule changes -----------------------------------------------------------------
def schedule_deltas(tx: _Tx, activate_height: int, version: int, params: Params) -> None:
    tx.set(key(NS.PARAMS, activate_height, 0), version)
    for i, v in enumerate(params.values(), start=1):
        tx.set(key(NS.PARAMS, activate_height, i), v)


def _genesis(view: View, ev: GenesisEvent, p: Params) -> tuple[Deltas, Outcome]:
    if view.keys_in(NS.PARAMS):
        raise _reject("genesis_repeated", "the ledger already has a genesis")
    if ev.params.ruleset not in RULESETS:
        raise _reject("unknown_version", f"rule set {ev.params.ruleset} is not implemented")
    if ev.version < 1:
        raise _reject("version_not_newer", "rule versions start at 1")
    tx = _Tx(view.cells)
    schedule_deltas(tx, ev.height, ev.version, ev.params)
    tx.set(KEY_PERIOD_START, ev.time)
    tx.set(KEY_LAST_TIME, ev.time)
    tx.set(KEY_ADMIN_THRESHOLD, ev.admin_threshold)
    for m in ev.members:
        tx.set(_MEM | m, ENROLLED)
        tx.mint(m, ev.params.starting_grant, LIFETIME_BONUS)
    return tx.d, ACCEPTED


def _rule_change(view: View, ev: RuleChangeEvent, p: Params) -> tuple[Deltas, Outcome]:
    tx = _Tx(view.cells)
    if ev.activate_height <= ev.height:
        raise _reject("activation_not_future", f"activation {ev.activate_height} <= entry height {ev.height}")
    if ev.params.ruleset not in RULESETS:
        raise _reject("unknown_version", f"rule set {ev.params.ruleset} is not implemented")
    keys = view.keys_in(NS.PARAMS)
    latest = tx.get(key(NS.PARAMS, max(k & _MASK64 for k in keys), 0)) if keys else 0
    if ev.version <= latest:
        raise _reject("version_not_newer", f"rule version {ev.version} is not above {latest}")
    threshold = tx.get(KEY_ADMIN_THRESHOLD)
    if ev.approvals < threshold:
        raise _reject("below_threshold", f"{ev.approvals} approvals < administrators' threshold {threshold}")
    if tx.get(key(NS.PARAMS, ev.activate_height, 0)):
        raise _reject("activation_taken", f"a rule change already activates at {ev.activate_height}")
    schedule_deltas(tx, ev.activate_height, ev.version, ev.params)
    return tx.d, ACCEPTED


# -- rule sets ---------------------------------------------------------------------------------
Handler = Callable[..., tuple[Deltas, Outcome]]


@dataclass(frozen=True)
class RuleSet:
    version: int
    handlers: Mapping[type, Handler]

    def apply(self, view: View, event: Event, params: Params) -> tuple[Deltas, Outcome]:
        try:
            handler = self.handlers[type(event)]
        except KeyError:
            raise TypeError(f"not an incentive event: {type(event).__name__}") from None
        return handler(view, event, params)


RULESET_1 = RuleSet(
    1,
    {
        GenesisEvent: _genesis,
        MemberAddedEvent: _member_added,
        MemberRemovedEvent: _member_removed,
        ContributeEvent: _contribute,
        EvaluationEvent: _evaluation,
        RevokeEvent: _revoke,
        CorroborationEvent: _corroboration,
        PeriodCloseEvent: _period_close,
        RuleChangeEvent: _rule_change,
        DisputeFiledEvent: _dispute_filed,
        DisputeDecidedEvent: _dispute_decided,
    },
)

#: every implemented rule version; a rule_change naming another version is refused
RULESETS: dict[int, RuleSet] = {1: RULESET_1}


def evaluate(view: View, event: Event, version: int, params: Params) -> tuple[Deltas, Outcome]:
    """The pure rule function: deltas and outcome of ``event`` under ``version``/``params``.
    A refusal returns ``({}, Outcome(False, code, detail))``."""
    try:
        return RULESETS[version].apply(view, event, params)
    except RuleRejected as e:
        return {}, Outcome(False, e.code, e.detail)
