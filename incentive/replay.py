"""Replaying a stored ledger through the incentive rules (what ``riskshare points`` and an auditor
do): every entry is decoded, handed to :class:`~incentive.adapter.IncentiveHook` with the ledger's
own verdict, and the rule outcome is compared with the stored one. The first height where they
differ is reported; ``roots_at`` collects the state root after chosen sizes (checkpoints)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from incentive.adapter import IncentiveHook
from incentive.engine import Engine
from incentive.params import DEFAULT_PARAMS, Params
from ledger.entry import Code, Entry
from ledger.storage import Storage

__all__ = ["ReplayResult", "replay_entries", "replay_storage"]


@dataclass
class ReplayResult:
    hook: IncentiveHook
    size: int = 0
    first_divergence: int | None = None  # height whose stored outcome the rules do not reproduce
    roots: dict[int, bytes] = field(default_factory=dict)  # size → state root after that many entries

    @property
    def engine(self) -> Engine:
        return self.hook.engine


def replay_entries(
    entries: Iterable[tuple[int, bytes]],
    *,
    roots_at: Iterable[int] = (),
    journal: bool = True,
    genesis_params: Params = DEFAULT_PARAMS,
) -> ReplayResult:
    """Replay ``(height, entry bytes)`` in order from genesis."""
    result = ReplayResult(IncentiveHook(Engine(journal=journal), genesis_params=genesis_params))
    wanted = set(roots_at)
    for height, body in entries:
        if height != result.size:
            raise ValueError(f"entries must be contiguous from 0: got {height} after {result.size}")
        stored = Entry.decode(body)
        # Entries the rules rejected were accepted by the ledger itself: replay them as such.
        given = stored.with_outcome(Code.ACCEPTED) if stored.code >= Code.RULE_REJECTED else stored
        got = result.hook.apply(given, height)
        if got != stored.code and result.first_divergence is None:
            result.first_divergence = height
        result.size = height + 1
        if result.size in wanted:
            result.roots[result.size] = result.hook.state_root()
    return result


def replay_storage(
    storage: Storage,
    *,
    roots_at: Iterable[int] = (),
    journal: bool = True,
    genesis_params: Params = DEFAULT_PARAMS,
) -> ReplayResult:
    entries = ((i, body) for i, body, _ in storage.entries())
    return replay_entries(entries, roots_at=roots_at, journal=journal, genesis_params=genesis_params)
