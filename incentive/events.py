"""The events the rules consume: small frozen integer dataclasses, one per ledger entry (the
adapter in :mod:`incentive.adapter` maps entries to them). Every field is an int (or a tuple of
ints, or a :class:`~incentive.rules.Params`), so every value the rules read is something the ledger
holds. Constructors validate ranges; a malformed event is a ``ValueError`` before any rule runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from incentive.points import INT64_MAX

if TYPE_CHECKING:
    from incentive.params import Params

__all__ = [
    "ContributeEvent",
    "CorroborationEvent",
    "DisputeDecidedEvent",
    "DisputeFiledEvent",
    "EvaluationEvent",
    "Event",
    "GenesisEvent",
    "MemberAddedEvent",
    "MemberRemovedEvent",
    "PeriodCloseEvent",
    "Receipts",
    "RevokeEvent",
    "RuleChangeEvent",
]


def _nat(value: object, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int")
    if not 0 <= value <= INT64_MAX:
        raise ValueError(f"{what} must be between 0 and 2^63 - 1")


def _pairs(pairs: object, what: str) -> None:
    if not isinstance(pairs, tuple):
        raise TypeError(f"{what} must be a tuple of (int, int) pairs")
    prev = -1
    for item in pairs:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"{what} must be a tuple of (int, int) pairs")
        _nat(item[0], what)
        _nat(item[1], what)
        if item[0] <= prev:
            raise ValueError(f"{what} must be sorted by their first element without repeats")
        prev = item[0]


@dataclass(frozen=True, slots=True)
class Receipts:
    """Evaluation counts from the two servers' signed receipts on one entry: the platform's (k₁)
    and the key holder's (k₂). Each server metered the request itself; the rules accept the entry
    only when both counts agree."""

    platform: int
    keyholder: int

    def __post_init__(self) -> None:
        _nat(self.platform, "platform receipt count")
        _nat(self.keyholder, "key-holder receipt count")


NO_RECEIPTS = Receipts(0, 0)


@dataclass(frozen=True, slots=True)
class GenesisEvent:
    """The genesis entry: starts the period clock at ``time`` (seconds), fixes the administrators'
    threshold, the first rule version and parameters, and enrols the first ``members``."""

    height: int
    time: int
    admin_threshold: int
    version: int
    params: Params
    members: tuple[int, ...] = ()

    kind = "genesis"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.time, "time")
        _nat(self.admin_threshold, "admin threshold")
        _nat(self.version, "rule version")
        if self.admin_threshold < 1:
            raise ValueError("admin threshold must be at least 1")
        if list(self.members) != sorted(set(self.members)):
            raise ValueError("genesis members must be sorted and distinct")
        for m in self.members:
            _nat(m, "member id")


@dataclass(frozen=True, slots=True)
class MemberAddedEvent:
    height: int
    member: int

    kind = "member_added"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.member, "member id")


@dataclass(frozen=True, slots=True)
class MemberRemovedEvent:
    height: int
    member: int

    kind = "member_removed"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.member, "member id")


@dataclass(frozen=True, slots=True)
class ContributeEvent:
    """A contribute entry: ``accepted_records`` new records (re-uploads already dropped by the
    dedup key), ``new_distinct_tags`` the platform attests are new for this member, and the two
    receipts of the tag derivations the contributor paid for in the same request."""

    height: int
    member: int
    accepted_records: int
    new_distinct_tags: int
    receipts: Receipts = NO_RECEIPTS

    kind = "contribute"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.member, "member id")
        _nat(self.accepted_records, "accepted records")
        _nat(self.new_distinct_tags, "new distinct tags")
        if self.new_distinct_tags > self.accepted_records:
            raise ValueError("new distinct tags cannot exceed accepted records")


@dataclass(frozen=True, slots=True)
class EvaluationEvent:
    """A lookup or screening entry: ``receipts`` carry both servers' evaluation counts; ``kind_code``
    says which (0 lookup, 1 screening, 2 bilateral screening, 3 statistic release: one fee per
    released cell) for statistics only."""

    height: int
    member: int
    receipts: Receipts
    kind_code: int = 0

    kind = "evaluation"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.member, "member id")
        _nat(self.kind_code, "evaluation kind")


@dataclass(frozen=True, slots=True)
class RevokeEvent:
    """A revoke entry (the contributor's, or the platform's retention expiry): ``removals`` are
    ``(upload height, records)`` pairs, sorted by height; ``removed_distinct_tags`` is the
    platform-attested count of the member's tags left with no active record."""

    height: int
    member: int
    removals: tuple[tuple[int, int], ...]
    removed_distinct_tags: int = 0

    kind = "revoke"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.member, "member id")
        _pairs(self.removals, "revoke removals")
        _nat(self.removed_distinct_tags, "removed distinct tags")
        if any(n == 0 or h > self.height for h, n in self.removals):
            raise ValueError("each removal needs a positive count and an upload height not after the entry")
        if self.removed_distinct_tags > self.count:
            raise ValueError("removed distinct tags cannot exceed removed records")

    @property
    def count(self) -> int:
        return sum(n for _, n in self.removals)


@dataclass(frozen=True, slots=True)
class CorroborationEvent:
    """The platform-attested corroboration entry of one closed period: per contributor, the count
    of its records (active past the holding period) whose tag another contributor also reports."""

    height: int
    period: int
    counts: tuple[tuple[int, int], ...]

    kind = "corroboration"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.period, "period")
        _pairs(self.counts, "corroboration counts")


@dataclass(frozen=True, slots=True)
class PeriodCloseEvent:
    """A witnessed checkpoint's ``time`` became known at ``height``: every period that ended by
    then is closed (vesting, pool sharing, activity bonus, counter reset)."""

    height: int
    time: int

    kind = "period_close"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.time, "time")


@dataclass(frozen=True, slots=True)
class RuleChangeEvent:
    """An administrators' rule_change entry: ``version`` with ``params`` in force from
    ``activate_height`` (strictly after the entry). ``approvals`` = distinct administrator
    signatures the ledger verified on the entry."""

    height: int
    activate_height: int
    version: int
    params: Params
    approvals: int

    kind = "rule_change"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.activate_height, "activation height")
        _nat(self.version, "rule version")
        _nat(self.approvals, "approvals")


@dataclass(frozen=True, slots=True)
class DisputeFiledEvent:
    """A dispute filed through member ``filer`` against a record of ``contributor`` uploaded at
    ``upload_height`` (the platform maps the entry id to both; the ledger holds only these ints)."""

    height: int
    dispute_id: int
    filer: int
    contributor: int
    upload_height: int

    kind = "dispute_filed"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.dispute_id, "dispute id")
        _nat(self.filer, "member id")
        _nat(self.contributor, "member id")
        _nat(self.upload_height, "upload height")
        if self.upload_height > self.height:
            raise ValueError("a dispute cannot name a later upload")


@dataclass(frozen=True, slots=True)
class DisputeDecidedEvent:
    """The administrators' decision on a dispute, signed by ``approvals`` distinct administrators."""

    height: int
    dispute_id: int
    upheld: bool
    approvals: int
    removed_distinct_tags: int = 0

    kind = "dispute_decided"

    def __post_init__(self) -> None:
        _nat(self.height, "height")
        _nat(self.dispute_id, "dispute id")
        _nat(self.approvals, "approvals")
        _nat(self.removed_distinct_tags, "removed distinct tags")
        if not isinstance(self.upheld, bool):
            raise TypeError("upheld must be a bool")
        if self.removed_distinct_tags > 1:
            raise ValueError("a dispute removes one record, so at most one distinct tag")
        if self.removed_distinct_tags and not self.upheld:
            raise ValueError("a dismissed dispute removes nothing")


Event = (
    GenesisEvent
    | MemberAddedEvent
    | MemberRemovedEvent
    | ContributeEvent
    | EvaluationEvent
    | RevokeEvent
    | CorroborationEvent
    | PeriodCloseEvent
    | RuleChangeEvent
    | DisputeFiledEvent
    | DisputeDecidedEvent
)
