"""The engine: applies events to the state atomically, tracks the rule schedule, keeps the state
root incrementally and a per-member journal.

>>> from incentive.events import GenesisEvent, EvaluationEvent, Receipts
>>> from incentive.params import Params
>>> e = Engine()
>>> e.apply(GenesisEvent(0, 1_700_000_000, 1, 1, Params(starting_grant=50), members=(1,))).accepted
True
>>> e.apply(EvaluationEvent(1, 1, Receipts(3, 3))), e.balance(1)
(Outcome(accepted=True, code='ok', detail=''), 20)
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from incentive.events import Event, GenesisEvent
from incentive.exceptions import PointsOverflow, RuleRejected, StateDivergence
from incentive.params import Params
from incentive.points import NS, NS_SHIFT, Book, key, split_key
from incentive.rules import ACCEPTED, RULESETS, Outcome, Overlay, RuleSet, View
from incentive.stateroot import StateTree

__all__ = ["Engine", "JournalRow", "ScheduleItem"]

_BAL_LO = NS.BALANCE << NS_SHIFT  # balance keys are exactly [_BAL_LO, _BAL_HI)
_BAL_HI = (NS.BALANCE + 1) << NS_SHIFT
_NO_MEMBER = -1


@dataclass(frozen=True, slots=True)
class ScheduleItem:
    activate_height: int
    version: int
    params: Params


class JournalRow(NamedTuple):
    """One event's effect on one member's balance (``delta`` 0 for refusals)."""

    height: int
    kind: str
    member: int
    delta: int
    code: str


class Engine:
    """Incentive state machine. ``apply`` is the only way state changes: every event either
    applies all of its deltas or none (a refusal or an int64 overflow changes nothing)."""

    __slots__ = (
        "_book",
        "_height",
        "_journal",
        "_next_activation",
        "_params",
        "_ruleset",
        "_sched",
        "_tree",
        "_version",
    )

    def __init__(self, *, journal: bool = True) -> None:
        self._book = Book()
        self._tree = StateTree()
        self._book.subscribe(self._tree.dirty)
        self._height = -1
        self._sched: list[ScheduleItem] = []
        self._params: Params | None = None
        self._ruleset: RuleSet | None = None
        self._next_activation = 0
        self._version = 0
        self._journal: list[JournalRow] | None = [] if journal else None

    # -- applying ------------------------------------------------------------------------------
    def apply(self, event: Event) -> Outcome:
        """Apply one event at ``event.height`` (heights never decrease); returns the outcome."""
        h = event.height
        if h < self._height:
            raise ValueError(f"event height {h} is below the engine's height {self._height}")
        if h >= self._next_activation:
            self._advance(h)
        ruleset, params = self._ruleset, self._params
        if ruleset is None or params is None:
            if not isinstance(event, GenesisEvent):
                return self._refused(event, Outcome(False, "no_genesis", "the first event must be genesis"))
            ruleset = RULESETS.get(event.params.ruleset, RULESETS[1])
            params = event.params
        try:
            deltas, outcome = ruleset.apply(self._book, event, params)
        except RuleRejected as e:
            return self._refused(event, Outcome(False, e.code, e.detail))
        try:
            self._book.apply(deltas)
        except PointsOverflow as e:
            return self._refused(event, Outcome(False, "overflow", str(e)))
        self._height = h
        journal = self._journal
        if journal is not None:
            kind = event.kind
            for k, d in deltas.items():
                if _BAL_LO <= k < _BAL_HI and d:
                    journal.append(JournalRow(h, kind, k & 0xFFFFFFFFFFFFFFFF, d, "ok"))
        if event.kind in ("genesis", "rule_change"):
            self._load_schedule()
            self._advance(h)
        return outcome

    def apply_batch(self, events: Sequence[Event]) -> Outcome:
        """Apply several events of one ledger entry as one atomic step: each rule sees the state
        the previous ones left, and either all of them apply or none (the first refusal is
        returned). The outcome is the last event's."""
        if len(events) == 1:
            return self.apply(events[0])
        if not events:
            return ACCEPTED
        view: View = self._book
        total: dict[int, int] = {}
        parts: list[tuple[Event, dict[int, int]]] = []
        outcome = ACCEPTED
        for ev in events:
            h = ev.height
            if h < self._height:
                raise ValueError(f"event height {h} is below the engine's height {self._height}")
            item = self._in_force(h)
            if item is None:
                if not isinstance(ev, GenesisEvent):
                    return self._refused(ev, Outcome(False, "no_genesis", "the first event must be genesis"))
                ruleset, params = RULESETS.get(ev.params.ruleset, RULESETS[1]), ev.params
            else:
                ruleset, params = RULESETS[item.params.ruleset], item.params
            try:
                deltas, outcome = ruleset.apply(view, ev, params)
            except RuleRejected as e:
                return self._refused(ev, Outcome(False, e.code, e.detail))
            parts.append((ev, deltas))
            for k, d in deltas.items():
                total[k] = total.get(k, 0) + d
            view = Overlay(self._book, total)
        try:
            self._book.apply(total)
        except PointsOverflow as e:
            return self._refused(events[-1], Outcome(False, "overflow", str(e)))
        self._height = events[-1].height
        if self._journal is not None:
            for ev, deltas in parts:
                for k, d in deltas.items():
                    if _BAL_LO <= k < _BAL_HI and d:
                        self._journal.append(JournalRow(ev.height, ev.kind, k & 0xFFFFFFFFFFFFFFFF, d, "ok"))
        if any(ev.kind in ("genesis", "rule_change") for ev in events):
            self._load_schedule()
        self._advance(self._height)
        return outcome

    def _in_force(self, height: int) -> ScheduleItem | None:
        i = bisect_right([s.activate_height for s in self._sched], height) - 1
        return self._sched[i] if i >= 0 else None

    def _refused(self, event: Event, outcome: Outcome) -> Outcome:
        if self._journal is not None:
            member = getattr(event, "member", _NO_MEMBER)
            self._journal.append(JournalRow(event.height, event.kind, member, 0, outcome.code))
        return outcome

    def apply_all(self, events: Iterable[Event]) -> list[Outcome]:
        return [self.apply(e) for e in events]

    @classmethod
    def replay(cls, events: Iterable[Event], *, journal: bool = False) -> Engine:
        """A fresh engine that applied ``events`` from genesis."""
        e = cls(journal=journal)
        for ev in events:
            e.apply(ev)
        return e

    # -- the rule schedule ---------------------------------------------------------------------
    def _load_schedule(self) -> None:
        """Rebuild the schedule from the PARAMS cells (the state is the only source of truth)."""
        by_height: dict[int, dict[int, int]] = {}
        for k in self._book.keys_in(NS.PARAMS):
            _, h, idx = split_key(k)
            by_height.setdefault(h, {})[idx] = self._book.get(k)
        sched = []
        nfields = len(Params().values())
        for h in sorted(by_height):
            f = by_height[h]
            values = [f.get(i, 0) for i in range(1, nfields + 1)]
            sched.append(ScheduleItem(h, f.get(0, 0), Params.from_values(values)))
        self._sched = sched

    def _advance(self, height: int) -> None:
        sched = self._sched
        i = bisect_right([s.activate_height for s in sched], height) - 1
        if i >= 0:
            item = sched[i]
            self._params = item.params
            self._ruleset = RULESETS[item.params.ruleset]
            self._version = item.version
        self._next_activation = sched[i + 1].activate_height if i + 1 < len(sched) else 1 << 63

    def params_at(self, height: int) -> ScheduleItem:
        """The rule version and parameters in force at ``height``."""
        item = self._in_force(height)
        if item is None:
            raise LookupError(f"no rules in force at height {height}")
        return item

    @property
    def schedule(self) -> tuple[ScheduleItem, ...]:
        return tuple(self._sched)

    @property
    def rule_version(self) -> int:
        """The rule revision in force (the ledger's rule version); 0 before genesis."""
        return self._version

    @property
    def params(self) -> Params | None:
        return self._params

    # -- reading -------------------------------------------------------------------------------
    @property
    def height(self) -> int:
        """Height of the last accepted event (-1 before genesis)."""
        return self._height

    @property
    def book(self) -> Book:
        return self._book

    def balance(self, member: int) -> int:
        return self._book.balance(member)

    def cell(self, ns: int, a: int = 0, b: int = 0) -> int:
        return self._book.get(key(ns, a, b))

    def members(self) -> list[int]:
        return [k & 0xFFFFFFFFFFFFFFFF for k in self._book.keys_in(NS.MEMBER)]

    def balances(self) -> dict[int, int]:
        return {m: self.balance(m) for m in self.members()}

    def state_root(self) -> bytes:
        return self._tree.root()

    def snapshot(self) -> dict[int, int]:
        return dict(self._book.cells)

    def history(self, member: int) -> list[JournalRow]:
        if self._journal is None:
            raise ValueError("this engine keeps no journal")
        return [r for r in self._journal if r.member == member]

    @property
    def journal(self) -> list[JournalRow]:
        return list(self._journal or [])

    # -- snapshots and verification ------------------------------------------------------------
    @classmethod
    def from_snapshot(cls, cells: dict[int, int], height: int) -> Engine:
        """An engine restored from stored cells (check it with :meth:`verify_root`)."""
        e = cls(journal=False)
        e._book.load(cells)
        e._height = height
        e._load_schedule()
        e._advance(max(height, 0))
        return e

    def verify_root(self, expected: bytes, height: int | None = None) -> None:
        """Raise :class:`StateDivergence` unless the state root equals ``expected``."""
        got = self.state_root()
        if got != expected:
            raise StateDivergence(
                f"state root {got.hex()} != expected {expected.hex()}"
                + (f" at height {height}" if height is not None else ""),
                height,
            )
