"""Aggregate corroboration (``DESIGN.md``, Incentives): what the platform attests per closed
period, so that the rules pay it (``corroboration`` entries, :class:`~incentive.events.CorroborationEvent`).

Per contributor: the number of distinct tags for which it holds an active record that was active
for the whole holding period by the period's end, **and** at least one other contributor holds
such a record too. The platform knows tags and, privately, which contributor uploaded which
entry; it never sees an ID. Only the per-contributor counts reach the ledger, never a tag.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from incentive.engine import Engine
from incentive.points import NS, key
from incentive.rules import KEY_PERIOD, KEY_PERIOD_START

__all__ = ["DuePeriod", "corroboration_counts", "due_period"]


@dataclass(frozen=True, slots=True)
class DuePeriod:
    """The newest closed period without its corroboration entry; records uploaded at or before
    ``cutoff_s`` (witnessed checkpoint time, seconds) were held for the holding period by its end."""

    period: int
    end_s: int
    cutoff_s: int


def due_period(engine: Engine) -> DuePeriod | None:
    """The period to corroborate now, from the rule state (None while period 0 is open or the
    last closed period was corroborated). Periods skipped on a quiet ledger are not attested."""
    params = engine.params
    if params is None:
        return None
    current = engine.book.get(KEY_PERIOD)
    if current == 0:
        return None
    period = current - 1
    if engine.book.get(key(NS.CORROBORATED, period)):
        return None
    end = engine.book.get(KEY_PERIOD_START)  # the current period starts where the closed one ended
    return DuePeriod(period, end, end - params.holding_periods * params.period_seconds)


def corroboration_counts(holdings: Iterable[tuple[bytes, int, int]], cutoff_s: int) -> dict[int, int]:
    """Per contributor, its distinct tags also held by another contributor.

    ``holdings``: one ``(tag, contributor, upload time in seconds)`` per active record; records
    uploaded after ``cutoff_s`` count for nobody yet. Returns only non-zero counts, by member id."""
    by_tag: dict[bytes, set[int]] = {}
    for tag, member, t in holdings:
        if t <= cutoff_s:
            by_tag.setdefault(tag, set()).add(member)
    counts: dict[int, int] = {}
    for members in by_tag.values():
        if len(members) >= 2:
            for m in members:
                counts[m] = counts.get(m, 0) + 1
    return dict(sorted(counts.items()))
