"""From ledger entries to incentive events, and the :class:`IncentiveHook` that plugs the engine
into the ledger's sequencing and replay (:class:`ledger.hooks.RuleHook`).

Genesis uses the default parameters of rule set 1 (``genesis_params``; a rule_change entry
changes them later). The hook registers itself with the ledger as ``"incentive"``.

The mapping reads only fields of the entry (request fields the member signed, fields the platform
attested, the signers, ``sequenced_ms``) and state the engine derived from earlier entries:

| entry | event |
|---|---|
| genesis | ``GenesisEvent``: time, admin threshold, rule version (its default parameters), members |
| member add / remove | ``MemberAddedEvent`` / ``MemberRemovedEvent`` (roles and rekey: no rule effect) |
| contribute | ``ContributeEvent``: attested ``accepted`` and ``new_tags``, receipts' counts |
| lookup, screen | ``EvaluationEvent``: receipts' counts (bilateral screens: bins + stash) |
| revoke | ``RevokeEvent``: ``heights`` (one per removed record), attested ``removed`` distinct tags |
| dispute file | ``DisputeFiledEvent``: the contributor is the uploader of ``heights[0]`` or ``height`` |
| dispute decide | ``DisputeDecidedEvent``: approvals = signers of the entry |
| rule_change | ``RuleChangeEvent``: ``param_ids``/``param_values`` over the parameters in force |
| corroboration | ``CorroborationEvent`` |
| stat_release | ``EvaluationEvent`` for the querier: one fee per released cell |
| key_epoch, other stat_*, index_publish | nothing (accepted, no rule effect) |

**Period clock.** The entry's ``sequenced_ms`` is the platform's attested clock, committed by
every checkpoint (cut at least every second) and witnessed when auditors co-sign. When an entry's
time reaches the end of the current period, the hook closes the period(s) as the first step of that
entry, atomically with it. Height plays no part, and since a refused entry changes nothing (the
ledger's hook contract) refused traffic cannot move the clock either.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

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
from incentive.params import DEFAULT_PARAMS, Params
from incentive.points import NS, key
from incentive.rules import KEY_PERIOD_START, rule_code
from ledger.entry import Code, Entry, Kind
from ledger.hooks import register_hook

__all__ = [
    "IncentiveHook",
    "MalformedEntry",
    "ReceiptCounter",
    "ReceiptParser",
    "entry_events",
    "evaluations_field",
    "receipt_counter",
]

# ledger.members.Action and DisputeAction values (the entry schema documents them)
MEMBER_ADD, MEMBER_REMOVE = 1, 4
DISPUTE_FILE, DISPUTE_DECIDE = 1, 2
DECISION_UPHELD, DECISION_DISMISSED = 1, 2
SCREEN_BILATERAL = 2
STAT_RELEASE_CODE = 3  # EvaluationEvent.kind_code of a statistic release

ReceiptCounter = Callable[[Entry], tuple[int, int]]
"""(platform count, key-holder count) of an entry's evaluation receipts."""


class MalformedEntry(ValueError):
    """An accepted entry whose fields cannot be a rule event (a platform or client bug)."""


def evaluations_field(entry: Entry) -> tuple[int, int]:
    """Default receipt counter: the entry's ``evaluations`` field for both servers.

    The receipts' own byte format belongs to the OPRF service; until it exists the service layer
    verifies both receipts before sequencing and the rule layer trusts the count. Pass a parser of
    the two signed receipts to :class:`IncentiveHook` to reconcile the servers' counts in replay.
    """
    n = entry.int_field("evaluations")
    return n, n


ReceiptParser = Callable[[bytes], tuple[int, int, int]]
"""One signed receipt's (server member id, member id, count); raises ValueError if malformed."""


def receipt_counter(parse: ReceiptParser) -> ReceiptCounter:
    """A :data:`ReceiptCounter` that reads the counts out of the entry's two receipts.

    The entry must carry exactly two receipts from two different servers, both for the entry's
    member, and its ``evaluations`` field must equal the first server's count (otherwise the
    entry is malformed); the rules then refuse it unless both servers counted the same. Signature
    checks stay with whoever holds the servers' keys (platform on sequencing, auditors in full
    mode): the hook only reconciles counts. With the service's receipts (``ledger.metering``)::

        def parse(b: bytes) -> tuple[int, int, int]:
            r = EvaluationReceipt.open(b)[0]
            return r.server, r.member, r.count

        IncentiveHook(receipts=receipt_counter(parse))
    """

    def count(entry: Entry) -> tuple[int, int]:
        parsed = sorted(parse(b) for b in entry.bytes_list_field("receipts"))
        if len(parsed) != 2 or parsed[0][0] == parsed[1][0]:
            raise ValueError("an evaluation entry carries one receipt from each of the two servers")
        if any(member != entry.member for _, member, _ in parsed):
            raise ValueError("a receipt names another member")
        first, second = parsed[0][2], parsed[1][2]
        if entry.int_field("evaluations") != first:
            raise ValueError("the entry's evaluation count differs from the receipts")
        return first, second

    return count


def entry_events(
    entry: Entry,
    height: int,
    engine: Engine,
    receipts: ReceiptCounter,
    genesis_params: Params = DEFAULT_PARAMS,
) -> list[Event]:
    """The events of one accepted entry, the period close first when its time ends a period."""
    kind, member = entry.kind, entry.member
    t = entry.sequenced_ms // 1000
    events: list[Event] = []
    started = engine.params is not None
    if started and kind != Kind.GENESIS:
        params = engine.params
        assert params is not None
        if t >= engine.book.get(KEY_PERIOD_START) + params.period_seconds:
            events.append(PeriodCloseEvent(height, t))
    try:
        ev = _event(entry, height, engine, receipts, kind, member, t, genesis_params)
    except (ValueError, TypeError) as e:
        raise MalformedEntry(str(e)) from None
    if ev is not None:
        events.append(ev)
    return events


def _event(
    entry: Entry,
    height: int,
    engine: Engine,
    receipts: ReceiptCounter,
    kind: Kind,
    member: int,
    t: int,
    genesis_params: Params,
) -> Event | None:
    if kind == Kind.GENESIS:
        ids = tuple(sorted(entry.ints_field("member_ids")))
        version = entry.request.rule_version
        return GenesisEvent(height, t, entry.int_field("admin_threshold"), version, genesis_params, ids)
    if kind == Kind.MEMBER:
        action, target = entry.int_field("action"), entry.int_field("target")
        if action == MEMBER_ADD:
            return MemberAddedEvent(height, target)
        if action == MEMBER_REMOVE:
            return MemberRemovedEvent(height, target)
        return None
    if kind == Kind.CONTRIBUTE:
        p, k = receipts(entry)
        accepted, new_tags = entry.int_field("accepted"), entry.int_field("new_tags")
        return ContributeEvent(height, member, accepted, new_tags, Receipts(p, k))
    if kind in (Kind.LOOKUP, Kind.SCREEN):
        if kind == Kind.SCREEN and entry.int_field("mode") == SCREEN_BILATERAL:
            # KKRT against a contributor: no OPRF servers; the charge is bins + stash, in an entry
            # the counterpart signs (its signature is in the receipts field)
            n = entry.int_field("evaluations")
            return EvaluationEvent(height, member, Receipts(n, n), kind_code=2)
        p, k = receipts(entry)
        return EvaluationEvent(height, member, Receipts(p, k), kind_code=0 if kind == Kind.LOOKUP else 1)
    if kind == Kind.REVOKE:
        heights = entry.ints_field("heights")
        if len(heights) != entry.int_field("count"):
            raise ValueError("a revoke lists one upload height per removed record")
        removals = tuple(sorted(Counter(heights).items()))
        return RevokeEvent(height, member, removals, entry.int_field("removed"))
    if kind == Kind.DISPUTE:
        action, did = entry.int_field("action"), entry.int_field("dispute_id")
        if action == DISPUTE_FILE:
            # the filer names the height, or (the service's way) the platform attests it
            named = entry.request.fields["heights"]
            filed = named if named else (entry.attested.get("height", 0),)
            if not isinstance(filed, tuple) or len(filed) != 1 or not isinstance(filed[0], int):
                raise ValueError("a dispute names the upload height of exactly one record")
            uploader = engine.book.get(key(NS.UPLOADER, filed[0]))
            if not uploader:
                raise ValueError(f"height {filed[0]} is not an upload")
            return DisputeFiledEvent(height, did, member, uploader - 1, filed[0])
        if action == DISPUTE_DECIDE:
            decision = entry.int_field("decision")
            if decision not in (DECISION_UPHELD, DECISION_DISMISSED):
                raise ValueError(f"unknown dispute decision {decision}")
            upheld = decision == DECISION_UPHELD
            # the platform attests the distinct tags the removal leaves without an active record
            removed = entry.attested.get("removed", 0) if upheld else 0
            if not isinstance(removed, int):
                raise ValueError("attested removed count must be an integer")
            return DisputeDecidedEvent(height, did, upheld, len(entry.signers), removed)
        raise ValueError(f"unknown dispute action {action}")
    if kind == Kind.RULE_CHANGE:
        base = engine.params or DEFAULT_PARAMS
        values = list(base.values())
        ids, vals = entry.ints_field("param_ids"), entry.ints_field("param_values")
        if len(ids) != len(vals) or len(set(ids)) != len(ids):
            raise ValueError("rule_change needs one value per distinct parameter id")
        for i, v in zip(ids, vals, strict=True):
            if not 1 <= i <= len(values):
                raise ValueError(f"unknown rule parameter id {i}")
            values[i - 1] = v
        # The ledger puts the new version in force from the next entry (requests name it).
        version = entry.int_field("new_version")
        return RuleChangeEvent(height, height + 1, version, Params.from_values(values), len(entry.signers))
    if kind == Kind.CORROBORATION:
        contributors, counts = entry.ints_field("contributors"), entry.ints_field("counts")
        if len(contributors) != len(counts):
            raise ValueError("corroboration needs one count per contributor")
        pairs = tuple(zip(contributors, counts, strict=True))
        return CorroborationEvent(height, entry.int_field("period"), pairs)
    if kind == Kind.STAT_RELEASE:
        # A statistic release costs the querier one evaluation fee per released cell (DESIGN:
        # every priced operation pays the same fee into the period's pool); the key holder signs
        # the entry, the querier and the cell count are its fields.
        cells = entry.int_field("cells")
        if cells == 0:
            return None
        return EvaluationEvent(
            height, entry.int_field("querier"), Receipts(cells, cells), kind_code=STAT_RELEASE_CODE
        )
    return None  # key_epoch, stat_key/round/submit/close, index_publish: no rule effect


class IncentiveHook:
    """The incentive engine behind the ledger's :class:`~ledger.hooks.RuleHook` protocol.

    ``apply`` returns the ledger's own refusal unchanged, ``Code.ACCEPTED`` when the rules accept
    (the only case that changes state), or the rule refusal's code (≥ 100,
    :data:`incentive.rules.RULE_CODES`). ``state_root`` is the engine's incremental root.
    """

    def __init__(
        self,
        engine: Engine | None = None,
        *,
        receipts: ReceiptCounter = evaluations_field,
        genesis_params: Params = DEFAULT_PARAMS,
    ) -> None:
        self.engine = engine if engine is not None else Engine()
        self.receipts = receipts
        self.genesis_params = genesis_params

    def apply(self, entry: Entry, height: int) -> int:
        if entry.code != Code.ACCEPTED:
            return entry.code
        try:
            events = entry_events(entry, height, self.engine, self.receipts, self.genesis_params)
        except MalformedEntry:
            return rule_code("malformed_entry")
        if not events:
            if self.engine.params is None:
                return rule_code("no_genesis")
            return int(Code.ACCEPTED)
        out = self.engine.apply_batch(events)
        return int(Code.ACCEPTED) if out.accepted else rule_code(out.code)

    def state_root(self) -> bytes:
        return self.engine.state_root()


# ``riskshare audit verify`` replays a log with the hook named in its metadata (``hook``).
register_hook("incentive", IncentiveHook)
