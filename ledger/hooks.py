"""The callback through which the rule layer (incentive/) plugs into sequencing and replay.

The ledger never imports the rule layer: the service hands a :class:`RuleHook` to the sequencer
(``ledger.log.Log``) and the auditor hands the same kind of object to ``ledger.audit``. Both call
it identically, once per entry in log order, so replay reproduces the live decisions and state.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ledger.entry import Code, Entry, Kind
from mpc.sm3 import sm3

__all__ = ["HOOKS", "CountingHook", "NullHook", "RuleHook", "hook_by_name", "register_hook"]


@runtime_checkable
class RuleHook(Protocol):
    """Deterministic rule state machine driven by the ledger.

    ``apply(entry, height)`` is called for every entry, accepted or not, in log order (height =
    the entry's 0-based index in the log). ``entry.code`` is the ledger's own verdict:
    ``Code.ACCEPTED`` when the signature, role, nonce, timestamp and threshold checks passed,
    otherwise the ledger's refusal code (1–99). The hook returns the final code:

    * the ledger's refusal code unchanged when ``entry.code`` is not ``ACCEPTED``;
    * ``Code.ACCEPTED`` to accept — the only case in which it may change its state;
    * a code ≥ ``Code.RULE_REJECTED`` (100) to reject for a rule reason (quota, balance, …),
      leaving its state unchanged.

    It must depend only on the entries (request fields, attested fields, ``sequenced_ms``) and
    heights it has seen, never on wall-clock time or I/O. ``state_root()`` is a 32-byte
    commitment to the whole rule state after the last applied entry; checkpoints carry it and
    auditors compare it.
    """

    def apply(self, entry: Entry, height: int) -> int: ...

    def state_root(self) -> bytes: ...


class NullHook:
    """Accepts everything the ledger accepted; its state root is 32 zero bytes."""

    def apply(self, entry: Entry, height: int) -> int:
        return entry.code

    def state_root(self) -> bytes:
        return bytes(32)


class CountingHook:
    """A small reference rule set for tests, drills and benchmarks (not the incentive rules):
    counts accepted entries per (member, kind) and OPRF evaluations per member, and rejects with
    ``Code.RULE_REJECTED`` an entry that would take a member past ``quota`` evaluations."""

    def __init__(self, quota: int | None = None) -> None:
        self.quota = quota
        self.counts: dict[tuple[int, int], int] = {}
        self.evaluations: dict[int, int] = {}
        self.applied = 0

    def apply(self, entry: Entry, height: int) -> int:
        self.applied += 1
        if entry.code != Code.ACCEPTED:
            return entry.code
        evals = 0
        if entry.kind in (Kind.CONTRIBUTE, Kind.LOOKUP, Kind.SCREEN):
            evals = entry.int_field("evaluations")
        used = self.evaluations.get(entry.member, 0)
        if self.quota is not None and used + evals > self.quota:
            return Code.RULE_REJECTED
        if evals:
            self.evaluations[entry.member] = used + evals
        key = (entry.member, int(entry.kind))
        self.counts[key] = self.counts.get(key, 0) + 1
        return Code.ACCEPTED

    def state_root(self) -> bytes:
        buf = bytearray(b"riskshare counting hook v1")
        for (member, kind), n in sorted(self.counts.items()):
            buf += struct.pack(">QBQ", member, kind, n)
        buf += b"|"
        for member, n in sorted(self.evaluations.items()):
            buf += struct.pack(">QQ", member, n)
        return sm3(bytes(buf))


HOOKS: dict[str, Callable[[], RuleHook]] = {"null": NullHook, "counting": CountingHook}
"""Rule hooks by name: a log records the name of the hook it was sequenced with (meta ``hook``)
so that ``riskshare audit verify`` replays with the same one. The rule layer registers its own."""


def register_hook(name: str, factory: Callable[[], RuleHook]) -> None:
    HOOKS[name] = factory


def hook_by_name(name: str) -> RuleHook:
    try:
        return HOOKS[name]()
    except KeyError:
        raise ValueError(f"unknown rule hook {name!r}; known: {', '.join(sorted(HOOKS))}") from None
