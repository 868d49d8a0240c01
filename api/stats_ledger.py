"""What the ledger says about statistics rounds, and a client's verified copy of the ledger.

:class:`StatLedger` folds accepted ``stat_*`` entries, in log order, into the state every party
derives the same way: the key holder's Paillier keys, the rounds, each round's accepted
submissions (the first ``stat_submit`` of a listed participant before the round's ``stat_close``;
anything else the ledger holds for the round is ignored by everyone alike), the closes and the
releases. The platform folds its own storage; the key holder and members fold a
:class:`LedgerFollower`, which accepts entries only under a platform-signed checkpoint whose
Merkle root it recomputes, so the platform cannot show them a list that differs from its log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from api import convert
from api._generated import ledger_pb2, ledger_pb2_grpc
from api.reads import Reader, ReadMethod
from ledger.checkpoint import Checkpoint
from ledger.entry import Entry, FieldValue, Kind
from ledger.log import HASH_ALGS
from mpc import merkle
from mpc.exceptions import InvalidProof
from mpc.paillier import PaillierPublicKey
from mpc.sm2 import SM2PublicKey
from mpc.stats import ClosedRound, RoundEntry, RoundSpec

MemberKeys = Mapping[int, tuple[SM2PublicKey, SM2PublicKey]]  # id -> (signing, key agreement)


@dataclass
class RoundState:
    height: int
    fields: Mapping[str, FieldValue]
    submissions: dict[int, bytes] = field(default_factory=dict)  # member -> submission hash
    non_submitters: tuple[int, ...] | None = None  # set by stat_close
    releases: list[tuple[int, int]] = field(default_factory=list)  # (querier, released cells)

    @property
    def closed(self) -> bool:
        return self.non_submitters is not None

    @property
    def participants(self) -> tuple[int, ...]:
        p = self.fields["participants"]
        assert isinstance(p, tuple)
        return tuple(int(x) for x in p)

    def int_field(self, name: str) -> int:
        v = self.fields[name]
        assert isinstance(v, int)
        return v

    def entry(self) -> RoundEntry:
        return RoundEntry(
            self.int_field("round_id"),
            self.int_field("statistic"),
            self.int_field("period"),
            self.participants,
        )


@dataclass
class StatLedger:
    """Statistics state folded from accepted ledger entries; ``size`` entries were read."""

    size: int = 0
    keys: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # key id -> (holder, n bytes)
    current_key: dict[int, int] = field(default_factory=dict)  # holder -> its newest key id
    rounds: dict[int, RoundState] = field(default_factory=dict)

    def apply(self, height: int, entry: Entry) -> None:
        if height != self.size:
            raise ValueError(f"statistics state expects entry {self.size}, got {height}")
        self.size += 1
        if not entry.accepted or entry.kind not in _STAT_KINDS:
            return
        kind, member = entry.kind, entry.member
        if kind is Kind.STAT_KEY:
            kid = entry.int_field("key_id")
            self.keys[kid] = (member, entry.bytes_field("public_key"))
            self.current_key[member] = kid
            return
        rid = entry.int_field("round_id")
        if kind is Kind.STAT_ROUND:
            if rid not in self.rounds:  # a taken id is refused by the platform; first one wins
                self.rounds[rid] = RoundState(height, entry.request.fields)
            return
        r = self.rounds.get(rid)
        if r is None:
            return
        if kind is Kind.STAT_SUBMIT:
            if not r.closed and member in r.participants and member not in r.submissions:
                r.submissions[member] = entry.bytes_field("submission_hash")
        elif kind is Kind.STAT_CLOSE:
            if not r.closed:
                r.non_submitters = tuple(sorted(entry.ints_field("non_submitters")))
        elif kind is Kind.STAT_RELEASE:
            r.releases.append((entry.int_field("querier"), entry.int_field("cells")))

    def extend(self, entries: Iterable[tuple[int, Entry]]) -> None:
        for height, e in entries:
            self.apply(height, e)

    def round_entries(self) -> list[RoundEntry]:
        return [r.entry() for r in self.rounds.values()]

    def round(self, round_id: int) -> RoundState:
        r = self.rounds.get(round_id)
        if r is None:
            raise KeyError(f"no statistics round {round_id} on the ledger")
        return r

    def paillier_key(self, key_id: int) -> PaillierPublicKey:
        if key_id not in self.keys:
            raise KeyError(f"no stat_key entry for Paillier key {key_id:#x}")
        pk = PaillierPublicKey.from_bytes(self.keys[key_id][1])
        if int.from_bytes(pk.key_id, "big") != key_id:
            raise InvalidProof("the stat_key entry's key id does not match its key")
        return pk

    def round_spec(self, round_id: int, members: MemberKeys) -> RoundSpec:
        r = self.round(round_id)
        return RoundSpec.from_ledger(r.fields, self.paillier_key(r.int_field("key_id")), members)

    def closed_round(self, round_id: int, members: MemberKeys) -> ClosedRound:
        r = self.round(round_id)
        if r.non_submitters is None:
            raise KeyError(f"statistics round {round_id} is not closed yet")
        return ClosedRound(self.round_spec(round_id, members), r.non_submitters, dict(r.submissions))


_STAT_KINDS = frozenset(
    {Kind.STAT_KEY, Kind.STAT_ROUND, Kind.STAT_SUBMIT, Kind.STAT_CLOSE, Kind.STAT_RELEASE}
)


class LedgerFollower:
    """A member's (or the key holder's) view of the ledger, extended only under platform-signed
    checkpoints whose root it recomputes: the new entries are appended to the compact range of the
    prefix verified before, so a refresh costs only the new entries."""

    def __init__(
        self, stub: ledger_pb2_grpc.LedgerStub, platform_key: SM2PublicKey, log_id: bytes, reader: Reader
    ) -> None:
        self.stub, self.platform_key, self.log_id, self.reader = stub, platform_key, log_id, reader
        self.range: merkle.CompactRange | None = None  # O(log n) frontier of the verified prefix
        self.stats = StatLedger()
        self.checkpoint: Checkpoint | None = None

    def refresh(self, timeout: float = 60) -> StatLedger:
        signed, _ = convert.from_checkpoint(
            self.stub.GetCheckpoint(
                ledger_pb2.CheckpointRequest(size=0, auth=self.reader.ledger(ReadMethod.CHECKPOINT)),
                timeout=timeout,
            )
        )
        signed.verify(self.platform_key)
        cp = signed.checkpoint
        if cp.log_id != self.log_id:
            raise InvalidProof("the checkpoint belongs to another log")
        have = self.range.size if self.range is not None else 0
        if cp.size < have:
            raise InvalidProof(
                f"the platform's checkpoint ({cp.size}) is older than one already seen ({have})"
            )
        if cp.size == have:
            return self.stats
        new: list[tuple[int, Entry]] = []
        rng = self.range.copy() if self.range is not None else None
        auth = self.reader.ledger(ReadMethod.ENTRIES, have, cp.size)
        req = ledger_pb2.EntriesRequest(start=have, end=cp.size, auth=auth)
        for batch in self.stub.GetEntries(req, timeout=timeout):
            if batch.start != have + len(new):
                raise InvalidProof("the platform sent ledger entries out of order")
            for body in batch.entries:
                e = Entry.decode(bytes(body))
                if rng is None:  # the genesis entry names the log's Merkle hash
                    rng = merkle.CompactRange(HASH_ALGS[e.request.int_field("hash_alg")])
                rng.append(merkle.leaf_hash(bytes(body), rng.alg))
                new.append((have + len(new), e))
        if rng is None or rng.size != cp.size or rng.root() != cp.root:
            raise InvalidProof("the ledger entries do not reproduce the platform-signed checkpoint root")
        self.range = rng
        self.stats.extend(new)
        self.checkpoint = cp
        return self.stats
