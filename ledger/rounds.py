"""The ledger's bookkeeping of statistics rounds (DESIGN, Protocols 6), checked in its verdict:

* ``stat_round`` opens a round with a new id, ≥ k ≥ 1 distinct participants (members that may
  contribute) — at most one per (statistic, period), unless a threshold of administrators signs a
  re-run with the same participant set;
* ``stat_submit`` is accepted once per participant of an open round;
* ``stat_close`` (by the platform) must list exactly the participants that did not submit; nothing
  is accepted from anyone for the round afterwards;
* ``stat_release`` only after the close and with at least k accepted submissions (a round may be
  released to several queriers; that each cell goes out once is the key holder's to enforce).

All of it follows from the log alone, so auditors replay the same verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.entry import Code, Entry, Kind, Request, Role
from ledger.members import Registry

__all__ = ["Round", "RoundBook"]


@dataclass
class Round:
    statistic: int
    period: int
    k: int
    participants: tuple[int, ...]
    submitted: set[int] = field(default_factory=set)
    closed: bool = False
    releases: int = 0


class RoundBook:
    def __init__(self) -> None:
        self.rounds: dict[int, Round] = {}
        self.by_period: dict[tuple[int, int], tuple[int, ...]] = {}

    def verdict(self, request: Request, signers: Sequence[int], registry: Registry) -> Code:
        kind = request.kind
        if kind is Kind.STAT_ROUND:
            rid = request.int_field("round_id")
            parts = request.fields["participants"]
            assert isinstance(parts, tuple)
            k = request.int_field("k")
            if rid in self.rounds or len(set(parts)) != len(parts) or not 1 <= k <= len(parts):
                return Code.INVALID_FIELDS
            for p in parts:
                m = registry.get(p) if isinstance(p, int) else None
                if m is None or not m.has(Role.CONTRIBUTOR):
                    return Code.INVALID_FIELDS
            earlier = self.by_period.get((request.int_field("statistic"), request.int_field("period")))
            if earlier is not None:
                admins = registry.admins()
                rerun = sorted(earlier) == sorted(parts) and all(s in admins for s in signers)
                if not rerun or len(set(signers)) < registry.threshold:
                    return Code.INVALID_FIELDS
            return Code.ACCEPTED
        if kind not in (Kind.STAT_SUBMIT, Kind.STAT_CLOSE, Kind.STAT_RELEASE):
            return Code.ACCEPTED
        r = self.rounds.get(request.int_field("round_id"))
        if r is None:
            return Code.INVALID_FIELDS
        if kind is Kind.STAT_SUBMIT:
            ok = not r.closed and request.member in r.participants and request.member not in r.submitted
            return Code.ACCEPTED if ok else Code.INVALID_FIELDS
        if kind is Kind.STAT_CLOSE:
            listed = request.fields["non_submitters"]
            missing = tuple(sorted(set(r.participants) - r.submitted))
            return Code.ACCEPTED if not r.closed and listed == missing else Code.INVALID_FIELDS
        ok = r.closed and len(r.submitted) >= r.k
        return Code.ACCEPTED if ok else Code.INVALID_FIELDS

    def apply(self, entry: Entry) -> None:
        """Advance past an accepted entry."""
        kind = entry.kind
        if kind is Kind.STAT_ROUND:
            parts = entry.ints_field("participants")
            key = (entry.int_field("statistic"), entry.int_field("period"))
            self.rounds[entry.int_field("round_id")] = Round(key[0], key[1], entry.int_field("k"), parts)
            self.by_period.setdefault(key, parts)
        elif kind in (Kind.STAT_SUBMIT, Kind.STAT_CLOSE, Kind.STAT_RELEASE):
            r = self.rounds[entry.int_field("round_id")]
            if kind is Kind.STAT_SUBMIT:
                r.submitted.add(entry.member)
            elif kind is Kind.STAT_CLOSE:
                r.closed = True
            else:
                r.releases += 1
