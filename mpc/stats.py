"""Paillier statistics (联合统计): pairwise-masked secure aggregation under the key holder's key.

The protocol of ``DESIGN.md``, Protocols 6, as pure logic (no network, no ledger): the service
moves the bytes, writes the ledger entries and backs :class:`RoundRegistry` with the ledger.

**Round.** A :class:`RoundSpec` (the ``stat_round`` entry) names the statistic, the period, the
key holder's Paillier public key and the frozen set of at least k participants, each with its SM2
signing key and its SM2 key-agreement key (both from the member entries). At most one round per
statistic and period; a re-run only with the same set (:func:`check_new_round`).

**Submission.** A :class:`Participant` checks the round (it is listed with its own keys, k is at
least its own minimum, the set has at least k members), packs its per-cell values into 80-bit slots
(25 per plaintext at n = 2048: 64-bit values, 16 headroom bits) and, in a second vector, a 0/1
"fed" counter per cell into 16-bit slots (127 per plaintext at n = 2048). A cell is fed when any
of the participant's measures in it is non-zero. To plaintext number t of vector v it adds the
pairwise mask, mod n::

    M_i(v, t) = Σ_{j>i} F(s_ij, v, t) − Σ_{j<i} F(s_ij, v, t)
    s_ij      = SM3-KDF(x(d_i·P_j) ‖ Z_A(lower id) ‖ Z_A(higher id) ‖ round id, 32)
    F(s,v,t)  = SM3-KDF(s ‖ statistic ‖ v ‖ t, (|n| + 128) / 8) mod n

from the static SM2 agreement of the two members' key-agreement keys (no interaction; Z_A with
the default ID), so the masks of every pair cancel in the product of all submissions while any
proper subset stays uniformly masked. It encrypts each masked residue raw (0 <= m < n), signs the
:class:`Submission` with its signing key and hands it to the platform; the ledger's
``stat_submit`` entry carries :meth:`Submission.submission_hash` (SM3 of the wire bytes).

**Close and recovery.** A :class:`ClosedRound` is the ``stat_close`` entry (non-submitters) with
the hashes of the ``stat_submit`` entries; it must partition the participant set. Only when at
least k submissions were accepted does each survivor send :meth:`Participant.seed_share`: its
seeds with the listed non-submitters, sealed with the digital envelope to the key holder and
signed. A participant sends seeds for one close of a round only.

**Release.** The :class:`KeyHolder` checks that the submissions it is given are exactly the listed
ones (hash by hash), verifies each, **multiplies them itself**, removes the residual masks of the
non-submitters with the survivors' seeds, decrypts only the products (raw), releases the cells
whose fed count is at least k, and seals them to the querier (:class:`Release`); each cell of a
round is answered once. The :class:`Querier` opens the result.

**Value and count.** The named statistic ``default_amount_count_by_category_month`` carries the
amount (fen) and the record count as two *measures of one statistic*: one values vector,
measure-major (96 values, 4 plaintexts at n = 2048), sharing one fed vector (48 counters, one
plaintext). So one round, one mask set and one k-check cover both, and a cell's amount and count
are released or suppressed together; two statistics would cost a second round, a second fed vector
and could release a cell's count while suppressing its amount.

Wire formats (version 1, big-endian, fixed-width integers): see :meth:`Submission.to_bytes`,
:meth:`Participant.seed_share` and :meth:`KeyHolder.release`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from mpc import envelope
from mpc.exceptions import (
    DecryptionError,
    InvalidEnvelope,
    InvalidSignature,
    InvalidSubmission,
    PaillierKeyMismatch,
    PaillierOverflow,
    ProtocolAbort,
    ProtocolStateError,
    StatisticsRefused,
)
from mpc.hazmat.paillier import add_raw, decrypt_raw_many, encrypt_raw_many
from mpc.paillier import EncryptedNumber, PackedEncoder, PaillierPrivateKey, PaillierPublicKey
from mpc.records import Category, RiskRecord, Status
from mpc.sm2 import SM2PrivateKey, SM2PublicKey
from mpc.sm3 import sm3, sm3_kdf

__all__ = [
    "DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH",
    "DEFAULT_K",
    "FORMAT_VERSION",
    "MAX_PARTICIPANTS",
    "STATISTICS",
    "ClosedRound",
    "KeyHolder",
    "Layout",
    "Participant",
    "Querier",
    "Release",
    "RoundEntry",
    "RoundMember",
    "RoundRegistry",
    "RoundSpec",
    "StatisticResult",
    "StatisticSpec",
    "Submission",
    "check_new_round",
    "get_statistic",
    "tabulate_defaults",
]

FORMAT_VERSION = 1
DEFAULT_K = 3
VALUE_BITS = 64
VALUE_SLOT_BITS = 80
FED_SLOT_BITS = 16
MAX_PARTICIPANTS = (1 << 16) - 1  # fed sums fit 16-bit slots; value sums of 64-bit values fit 80
VECTOR_VALUES = 1
VECTOR_FED = 2
SEED_SIZE = 32
_U64 = (1 << 64) - 1
_SUB_MAGIC = b"RSSU"
_SEED_MAGIC = b"RSSD"
_REL_MAGIC = b"RSRL"
_SUB_HEADER = struct.Struct(
    ">4sBQQQ8sHHH"
)  # magic, version, round, statistic, member, key id, ct size, nv, nf
_SEED_HEADER = struct.Struct(">4sBQQ")  # magic, version, round, member
_REL_HEADER = struct.Struct(">4sBQQQQH")  # magic, version, round, statistic, period, querier, measures
_RESULT_VALUE_SIZE = 16  # a released sum is below 2^80; 16 bytes leaves room


def _u64(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= _U64:
        raise ValueError(f"{what} must be in [0, 2^64), got {value}")
    return value


# -- statistics ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Layout:
    """How a statistic's vectors pack into plaintexts under one Paillier key."""

    values: PackedEncoder
    fed: PackedEncoder
    value_plaintexts: int
    fed_plaintexts: int

    @property
    def plaintexts(self) -> int:
        return self.value_plaintexts + self.fed_plaintexts


@dataclass(frozen=True)
class StatisticSpec:
    """A named statistic: ``measures`` (e.g. amount and count) over the cells of ``axes`` (e.g.
    category × month), for one period (a year for the named statistics). ``code`` is its u64 on
    the ledger. Cells are numbered row-major over the axes."""

    code: int
    name: str
    measures: tuple[str, ...]
    axes: tuple[tuple[str, tuple[str, ...]], ...]
    description: str = ""

    def __post_init__(self) -> None:
        _u64(self.code, "statistic code")
        if not self.name or not self.measures or not self.axes:
            raise ValueError("a statistic needs a name, at least one measure and at least one axis")
        if any(not labels for _, labels in self.axes):
            raise ValueError("every axis of a statistic needs at least one label")
        if self.cells > 0xFFFF or len(self.measures) > 0xFFFF:
            raise ValueError("a statistic has at most 65,535 cells and measures")

    @property
    def cells(self) -> int:
        return math.prod(len(labels) for _, labels in self.axes)

    def cell_index(self, *labels: str) -> int:
        """The cell of one label per axis, e.g. ``cell_index("margin_default", "03")``."""
        if len(labels) != len(self.axes):
            raise ValueError(f"statistic {self.name!r} has {len(self.axes)} axes, got {len(labels)} labels")
        index = 0
        for (axis, names), label in zip(self.axes, labels, strict=True):
            if label not in names:
                raise ValueError(f"statistic {self.name!r}: unknown {axis} {label!r}")
            index = index * len(names) + names.index(label)
        return index

    def cell_labels(self, cell: int) -> tuple[str, ...]:
        if not 0 <= cell < self.cells:
            raise ValueError(f"statistic {self.name!r} has cells 0..{self.cells - 1}, not {cell}")
        out: list[str] = []
        for _, names in reversed(self.axes):
            cell, i = divmod(cell, len(names))
            out.append(names[i])
        return tuple(reversed(out))

    def layout(self, public_key: PaillierPublicKey) -> Layout:
        bits = public_key.n_length - 1  # every packed sum stays below 2^(|n|-1) < n
        values = PackedEncoder(bits // VALUE_SLOT_BITS, VALUE_SLOT_BITS, VALUE_BITS)
        fed = PackedEncoder(bits // FED_SLOT_BITS, FED_SLOT_BITS, 1)
        nv = -(-len(self.measures) * self.cells // values.slots)
        return Layout(values, fed, nv, -(-self.cells // fed.slots))

    def check_values(self, values: object) -> list[list[int]]:
        """``values`` as measures × cells of ints in [0, 2^64), or ``ValueError`` saying why."""
        arr = np.asarray(values, dtype=object)
        want = (len(self.measures), self.cells)
        if arr.shape != want:
            raise ValueError(
                f"statistic {self.name!r} takes {want[0]} measure(s) × {want[1]} cells "
                f"(shape {want}), got shape {arr.shape}"
            )
        rows: list[list[int]] = []
        for m, row in zip(self.measures, arr.tolist(), strict=True):
            for v in row:
                if isinstance(v, bool) or not isinstance(v, int | np.integer):
                    raise TypeError(
                        f"statistic {self.name!r}: {m} values must be ints, not {type(v).__name__}"
                    )
                if not 0 <= int(v) <= _U64:
                    raise ValueError(
                        f"statistic {self.name!r}: {m} values must be in [0, 2^64), got {int(v)}"
                    )
            rows.append([int(v) for v in row])
        return rows


CATEGORIES = tuple(c.value for c in Category)
MONTHS = tuple(f"{m:02d}" for m in range(1, 13))

DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH = StatisticSpec(
    code=1,
    name="default_amount_count_by_category_month",
    measures=("amount_fen", "count"),
    axes=(("category", CATEGORIES), ("month", MONTHS)),
    description="active risk records of one year: total amount (fen) and count per category and month",
)

STATISTICS: Mapping[int, StatisticSpec] = MappingProxyType({1: DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH})


def get_statistic(key: int | str) -> StatisticSpec:
    """The named statistic by ledger code or name; ``ValueError`` if there is none."""
    for spec in STATISTICS.values():
        if key == spec.code or key == spec.name:
            return spec
    known = ", ".join(f"{s.code} ({s.name})" for s in STATISTICS.values())
    raise ValueError(f"unknown statistic {key!r}; known: {known}")


def tabulate_defaults(records: Iterable[RiskRecord], year: int) -> list[list[int]]:
    """A contributor's input to ``default_amount_count_by_category_month`` for ``year``: the
    active records of that year, amount and count per category × month."""
    spec = DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH
    amount, count = [0] * spec.cells, [0] * spec.cells
    for r in records:
        if r.status is Status.ACTIVE and r.event_date.year == year:
            cell = CATEGORIES.index(r.category.value) * 12 + r.event_date.month - 1
            amount[cell] += r.amount_fen
            count[cell] += 1
    if max(amount) > _U64:
        raise ValueError("a cell's total amount does not fit 64 bits")
    return [amount, count]


# -- rounds -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoundMember:
    """A participant of a round: member id and the public keys of its member entry."""

    member_id: int
    sign_key: SM2PublicKey
    agree_key: SM2PublicKey

    def __post_init__(self) -> None:
        _u64(self.member_id, "member id")
        if not isinstance(self.sign_key, SM2PublicKey) or not isinstance(self.agree_key, SM2PublicKey):
            raise TypeError("round member keys must be SM2PublicKey")


@dataclass(frozen=True)
class RoundEntry:
    """What the ledger's ``stat_round`` entry holds, enough for :func:`check_new_round`."""

    round_id: int
    statistic: int
    period: int
    participants: tuple[int, ...]


@dataclass(frozen=True)
class RoundSpec:
    """One statistics round; ``participants`` are kept sorted by member id."""

    round_id: int
    statistic: StatisticSpec
    period: int
    paillier_key: PaillierPublicKey
    participants: tuple[RoundMember, ...]
    k: int = DEFAULT_K

    def __post_init__(self) -> None:
        _u64(self.round_id, "round id")
        _u64(self.period, "period")
        if not isinstance(self.statistic, StatisticSpec):
            raise TypeError("statistic must be a StatisticSpec (see get_statistic)")
        if not isinstance(self.paillier_key, PaillierPublicKey):
            raise TypeError("paillier_key must be a PaillierPublicKey")
        members = tuple(sorted(self.participants, key=lambda m: m.member_id))
        object.__setattr__(self, "participants", members)
        ids = [m.member_id for m in members]
        if len(set(ids)) != len(ids):
            raise ValueError("round participants must have distinct member ids")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 2:
            raise ValueError(f"round k must be an int of at least 2, got {self.k!r}")
        if len(ids) < self.k:
            raise ValueError(f"a round needs at least k = {self.k} participants, got {len(ids)}")
        if len(ids) > MAX_PARTICIPANTS:
            raise ValueError(f"a round has at most {MAX_PARTICIPANTS} participants, got {len(ids)}")
        self.statistic.layout(self.paillier_key)  # the key must hold at least one slot

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(m.member_id for m in self.participants)

    @property
    def key_id(self) -> int:
        """The Paillier key's 8-byte id (SM3 of its wire form) as the ledger's u64."""
        return int.from_bytes(self.paillier_key.key_id, "big")

    def member(self, member_id: int) -> RoundMember:
        for m in self.participants:
            if m.member_id == member_id:
                return m
        raise ValueError(f"member {member_id} is not a participant of round {self.round_id}")

    def entry(self) -> RoundEntry:
        return RoundEntry(self.round_id, self.statistic.code, self.period, self.ids)

    @classmethod
    def from_ledger(
        cls,
        fields: Mapping[str, object],
        paillier_key: PaillierPublicKey,
        members: Mapping[int, tuple[SM2PublicKey, SM2PublicKey]],
    ) -> RoundSpec:
        """The round of a ``stat_round`` entry's fields, with the key holder's public key (from
        ``stat_key``) and each member's (signing, key-agreement) keys (from member entries).
        ``ValueError`` for an unknown statistic, a key that is not the named one or a member
        without keys."""
        ids = fields["participants"]
        if not isinstance(ids, list | tuple):
            raise TypeError("stat_round participants must be a list of member ids")
        missing = [i for i in ids if i not in members]
        if missing:
            raise ValueError(f"no member keys for participants {missing}")
        code = fields["statistic"]
        if not isinstance(code, int):
            raise TypeError("stat_round statistic must be an int")
        spec = cls(
            _u64(fields["round_id"], "round id"),
            get_statistic(code),
            _u64(fields["period"], "period"),
            paillier_key,
            tuple(RoundMember(i, *members[i]) for i in ids),
            _u64(fields["k"], "k"),
        )
        if spec.key_id != fields["key_id"]:
            raise ValueError("stat_round names another Paillier key than the one given")
        return spec

    def ledger_fields(self) -> dict[str, int | list[int]]:
        """The request fields of the ``stat_round`` entry."""
        return {
            "round_id": self.round_id,
            "statistic": self.statistic.code,
            "period": self.period,
            "key_id": self.key_id,
            "k": self.k,
            "participants": list(self.ids),
        }


def check_new_round(
    new: RoundSpec | RoundEntry, existing: Iterable[RoundEntry], *, rerun: bool = False
) -> None:
    """Refuse (``StatisticsRefused``) a round whose id is taken, or a second round for the same
    statistic and period unless ``rerun`` (an administrators' decision the caller has checked)
    and the participant set is the same."""
    e = new.entry() if isinstance(new, RoundSpec) else new
    for old in existing:
        if old.round_id == e.round_id:
            raise StatisticsRefused(f"round id {e.round_id} is already taken")
        if (old.statistic, old.period) == (e.statistic, e.period):
            if not rerun:
                raise StatisticsRefused(
                    f"statistic {e.statistic} already has round {old.round_id} for period {e.period}"
                )
            if sorted(old.participants) != sorted(e.participants):
                raise StatisticsRefused("a re-run must keep the participant set of the first round")


class RoundRegistry:
    """Rounds opened so far, in memory; the service backs the same check with ``stat_round``
    entries of the ledger."""

    def __init__(self, rounds: Iterable[RoundEntry] = ()) -> None:
        self._rounds: list[RoundEntry] = list(rounds)

    def check(self, new: RoundSpec | RoundEntry, *, rerun: bool = False) -> None:
        check_new_round(new, self._rounds, rerun=rerun)

    def open(self, new: RoundSpec | RoundEntry, *, rerun: bool = False) -> None:
        self.check(new, rerun=rerun)
        self._rounds.append(new.entry() if isinstance(new, RoundSpec) else new)

    def __len__(self) -> int:
        return len(self._rounds)


# -- masks --------------------------------------------------------------------------------------
def _pair_seed(
    own: SM2PrivateKey, own_id: int, peer: RoundMember, own_pub: SM2PublicKey, round_id: int
) -> bytes:
    x = own.exchange(peer.agree_key)
    z_own, z_peer = own_pub.z_a(), peer.agree_key.z_a()
    lo, hi = (z_own, z_peer) if own_id < peer.member_id else (z_peer, z_own)
    return sm3_kdf(x + lo + hi + round_id.to_bytes(8, "big"), SEED_SIZE)


def _mask_term(seed: bytes, statistic: int, vector: int, t: int, n: int) -> int:
    length = (n.bit_length() + 128 + 7) // 8
    data = seed + statistic.to_bytes(8, "big") + bytes([vector]) + t.to_bytes(4, "big")
    return int.from_bytes(sm3_kdf(data, length), "big") % n


def _pack(encoder: PackedEncoder, flat: Sequence[int], count: int) -> list[int]:
    s = encoder.slots
    out = [encoder.encode(np.array(flat[i * s : (i + 1) * s], dtype=np.uint64)) for i in range(count)]
    return out


def _unpack(encoder: PackedEncoder, packed: Sequence[int], length: int) -> list[int]:
    out: list[int] = []
    for p in packed:
        arr: npt.NDArray[np.object_] = encoder.decode(p)
        out.extend(int(v) for v in arr)
    return out[:length]


# -- submissions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Submission:
    """A participant's signed, encrypted vectors for one round.

    Wire (version 1): ``"RSSU"`` ‖ version (1) ‖ round id (8) ‖ statistic (8) ‖ member (8) ‖
    Paillier key id (8) ‖ ciphertext size (2) ‖ #values (2) ‖ #fed (2) ‖ the ciphertexts ‖
    signature length (2) ‖ SM2 signature (DER) over everything before the signature length.
    """

    round_id: int
    statistic: int
    member_id: int
    key_id: bytes
    values: tuple[EncryptedNumber, ...]
    fed: tuple[EncryptedNumber, ...]
    signature: bytes = b""

    def signed_bytes(self) -> bytes:
        cts = self.values + self.fed
        size = cts[0].public_key.ciphertext_size if cts else 0
        header = _SUB_HEADER.pack(
            _SUB_MAGIC,
            FORMAT_VERSION,
            self.round_id,
            self.statistic,
            self.member_id,
            self.key_id,
            size,
            len(self.values),
            len(self.fed),
        )
        return header + b"".join(c.ciphertext().to_bytes(size, "big") for c in cts)

    def to_bytes(self) -> bytes:
        return self.signed_bytes() + len(self.signature).to_bytes(2, "big") + self.signature

    def submission_hash(self) -> bytes:
        """SM3 of the wire bytes: the ``submission_hash`` of the ``stat_submit`` entry."""
        return sm3(self.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes, round: RoundSpec) -> Submission:
        """Decode and check a submission for ``round``: structure, the member's signature, then
        round, statistic, key and vector lengths. ``InvalidSubmission`` (a ``ValueError``) for
        anything wrong, ``PaillierKeyMismatch`` for a correctly signed submission under another
        Paillier key."""
        data = bytes(data)
        hs = _SUB_HEADER.size
        if len(data) < hs:
            raise InvalidSubmission("statistics submission: truncated header")
        magic, version, round_id, statistic, member_id, key_id, size, nv, nf = _SUB_HEADER.unpack_from(data)
        if magic != _SUB_MAGIC or version != FORMAT_VERSION:
            raise InvalidSubmission("statistics submission: unknown magic or version")
        body_end = hs + size * (nv + nf)
        if len(data) < body_end + 2:
            raise InvalidSubmission("statistics submission: truncated ciphertexts")
        sig_len = int.from_bytes(data[body_end : body_end + 2], "big")
        if len(data) != body_end + 2 + sig_len:
            raise InvalidSubmission("statistics submission: length does not match its fields")
        if member_id not in round.ids:
            raise InvalidSubmission(f"statistics submission from member {member_id}, not a participant")
        try:
            round.member(member_id).sign_key.verify(data[body_end + 2 :], data[:body_end])
        except InvalidSignature:
            raise InvalidSubmission(f"statistics submission: bad signature of member {member_id}") from None
        if round_id != round.round_id or statistic != round.statistic.code:
            raise InvalidSubmission(
                f"statistics submission is for round {round_id} / statistic {statistic}, "
                f"expected round {round.round_id} / statistic {round.statistic.code}"
            )
        pk = round.paillier_key
        if key_id != pk.key_id or size != pk.ciphertext_size:
            raise PaillierKeyMismatch("statistics submission is encrypted under another Paillier key")
        layout = round.statistic.layout(pk)
        if (nv, nf) != (layout.value_plaintexts, layout.fed_plaintexts):
            raise InvalidSubmission(
                f"statistics submission carries {nv} value and {nf} fed ciphertexts; statistic "
                f"{round.statistic.name!r} at {pk.n_length} bits needs "
                f"{layout.value_plaintexts} and {layout.fed_plaintexts}"
            )
        cts: list[EncryptedNumber] = []
        for off in range(hs, body_end, size):
            try:
                cts.append(EncryptedNumber(pk, int.from_bytes(data[off : off + size], "big")))
            except DecryptionError as e:
                raise InvalidSubmission(f"statistics submission: invalid ciphertext ({e})") from None
        return cls(
            round_id, statistic, member_id, key_id, tuple(cts[:nv]), tuple(cts[nv:]), data[body_end + 2 :]
        )


# -- close --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClosedRound:
    """The ``stat_close`` entry (``non_submitters``) with the hashes of the round's accepted
    ``stat_submit`` entries by member; together they must partition the participant set."""

    round: RoundSpec
    non_submitters: tuple[int, ...]
    submission_hashes: Mapping[int, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        dropped = tuple(sorted(set(self.non_submitters)))
        if len(dropped) != len(self.non_submitters):
            raise ProtocolAbort("stat_close lists a non-submitter twice")
        hashes = MappingProxyType(dict(self.submission_hashes))
        object.__setattr__(self, "non_submitters", dropped)
        object.__setattr__(self, "submission_hashes", hashes)
        ids = set(self.round.ids)
        if any(len(h) != 32 for h in hashes.values()):
            raise ProtocolAbort("submission hashes must be 32-byte SM3 digests")
        if set(dropped) & set(hashes):
            raise ProtocolAbort("stat_close lists a member whose submission the ledger holds")
        if set(dropped) | set(hashes) != ids or not set(dropped) <= ids or not set(hashes) <= ids:
            raise ProtocolAbort(
                "stat_close and the stat_submit entries do not partition the round's participants"
            )

    @property
    def submitters(self) -> tuple[int, ...]:
        return tuple(sorted(self.submission_hashes))

    @property
    def quorum_met(self) -> bool:
        return len(self.submission_hashes) >= self.round.k

    def ledger_fields(self) -> dict[str, int | list[int]]:
        return {"round_id": self.round.round_id, "non_submitters": list(self.non_submitters)}

    def digest(self) -> bytes:
        """SM3 over round id, non-submitters and (member, hash) pairs: names this close."""
        parts = [self.round.round_id.to_bytes(8, "big"), len(self.non_submitters).to_bytes(4, "big")]
        parts += [j.to_bytes(8, "big") for j in self.non_submitters]
        parts += [m.to_bytes(8, "big") + self.submission_hashes[m] for m in self.submitters]
        return sm3(b"".join(parts))


def _seed_aad(round_id: int, member_id: int) -> bytes:
    return _SEED_HEADER.pack(_SEED_MAGIC, FORMAT_VERSION, round_id, member_id)


# -- participant --------------------------------------------------------------------------------
class Participant:
    """A contributor in one round: submits once, then (if the quorum was met) hands its seeds
    with the listed non-submitters to the key holder, for one close only.

    A client that stops between the two steps persists :attr:`submitted_hash` and
    :attr:`seeded_close` and passes them back as ``submitted`` and ``seeded`` to restore."""

    def __init__(
        self,
        round: RoundSpec,
        member_id: int,
        sign_key: SM2PrivateKey,
        agree_key: SM2PrivateKey,
        *,
        min_k: int = DEFAULT_K,
        submitted: bytes | None = None,
        seeded: bytes | None = None,
    ) -> None:
        if not isinstance(round, RoundSpec):
            raise TypeError("round must be a RoundSpec")
        if member_id not in round.ids:
            raise ProtocolAbort(f"member {member_id} is not a participant of round {round.round_id}")
        me = round.member(member_id)
        if me.agree_key != agree_key.public_key() or me.sign_key != sign_key.public_key():
            raise ProtocolAbort("the round lists other keys for this member")
        if round.k < min_k or len(round.participants) < max(round.k, min_k):
            raise ProtocolAbort(
                f"round {round.round_id} has k = {round.k} and {len(round.participants)} participants; "
                f"this participant requires k >= {min_k} and at least that many participants"
            )
        self.round = round
        self.member_id = member_id
        self._sign = sign_key
        self._agree = agree_key
        self._seeds: dict[int, bytes] = {}
        self._submitted = submitted
        self._closed = seeded

    @property
    def submitted_hash(self) -> bytes | None:
        """The hash of this participant's submission, once it submitted."""
        return self._submitted

    @property
    def seeded_close(self) -> bytes | None:
        """:meth:`ClosedRound.digest` of the close it sent seeds for, if any."""
        return self._closed

    def __repr__(self) -> str:
        return f"<Participant member={self.member_id} round={self.round.round_id}>"

    def _seed(self, peer: int) -> bytes:
        if peer not in self._seeds:
            own = self._agree.public_key()
            self._seeds[peer] = _pair_seed(
                self._agree, self.member_id, self.round.member(peer), own, self.round.round_id
            )
        return self._seeds[peer]

    def _mask(self, vector: int, t: int) -> int:
        n, code, i = self.round.paillier_key.n, self.round.statistic.code, self.member_id
        total = 0
        for j in self.round.ids:
            if j != i:
                term = _mask_term(self._seed(j), code, vector, t, n)
                total += term if j > i else -term
        return total % n

    def submit(self, values: object) -> Submission:
        """Pack, mask, encrypt and sign ``values`` (measures × cells of ints in [0, 2^64))."""
        if self._submitted is not None:
            raise ProtocolStateError("this participant already submitted in this round")
        spec, pk = self.round.statistic, self.round.paillier_key
        rows = spec.check_values(values)
        layout = spec.layout(pk)
        flat = [v for row in rows for v in row]
        fed = [int(any(row[c] for row in rows)) for c in range(spec.cells)]
        packed = _pack(layout.values, flat, layout.value_plaintexts)
        packed_fed = _pack(layout.fed, fed, layout.fed_plaintexts)
        n = pk.n
        masked = [(p + self._mask(VECTOR_VALUES, t)) % n for t, p in enumerate(packed)]
        masked += [(p + self._mask(VECTOR_FED, t)) % n for t, p in enumerate(packed_fed)]
        cts = encrypt_raw_many(pk, masked)
        unsigned = Submission(
            self.round.round_id,
            spec.code,
            self.member_id,
            pk.key_id,
            tuple(cts[: layout.value_plaintexts]),
            tuple(cts[layout.value_plaintexts :]),
        )
        sub = replace(unsigned, signature=self._sign.sign(unsigned.signed_bytes()))
        self._submitted = sub.submission_hash()
        return sub

    def seed_share(self, closed: ClosedRound, key_holder: SM2PublicKey) -> bytes:
        """This survivor's seeds with the listed non-submitters, sealed to ``key_holder`` and
        signed. Wire: ``"RSSD"`` ‖ version ‖ round id ‖ member ‖ envelope length (4) ‖ envelope ‖
        signature length (2) ‖ signature over everything before it. The sealed plaintext is
        count (2) ‖ (peer id (8) ‖ seed (32))*; the envelope's aad is the 21-byte header."""
        if closed.round != self.round:
            raise ProtocolAbort("the close is for another round")
        if self._closed is not None and self._closed != closed.digest():
            raise ProtocolStateError("this participant already sent seeds for a different close")
        if self._submitted is None or self.member_id not in closed.submission_hashes:
            raise ProtocolStateError("only a participant whose submission was accepted sends seeds")
        if closed.submission_hashes[self.member_id] != self._submitted:
            raise ProtocolAbort("the ledger lists another submission hash for this participant")
        if not closed.quorum_met:
            raise StatisticsRefused(
                f"only {len(closed.submission_hashes)} submissions were accepted; k = {self.round.k}"
            )
        self._closed = closed.digest()
        body = len(closed.non_submitters).to_bytes(2, "big") + b"".join(
            j.to_bytes(8, "big") + self._seed(j) for j in closed.non_submitters
        )
        aad = _seed_aad(self.round.round_id, self.member_id)
        sealed = envelope.seal(key_holder, body, aad)
        signed = aad + len(sealed).to_bytes(4, "big") + sealed
        sig = self._sign.sign(signed)
        return signed + len(sig).to_bytes(2, "big") + sig


# -- release ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Release:
    """A result sealed to the querier; ``cells`` is how many cells it releases (the rest of the
    requested cells are suppressed). Which cells, and their values, are inside ``sealed`` only."""

    round_id: int
    querier_id: int
    cells: int
    sealed: bytes

    def result_hash(self) -> bytes:
        return sm3(self.sealed)

    def to_bytes(self) -> bytes:
        """``"RSRL"`` ‖ version ‖ round id (8) ‖ querier (8) ‖ cells (2) ‖ the sealed result."""
        return _release_aad(self.round_id, self.querier_id) + self.cells.to_bytes(2, "big") + self.sealed

    @classmethod
    def from_bytes(cls, data: bytes) -> Release:
        data = bytes(data)
        head = len(_REL_MAGIC) + 1 + 16
        if len(data) < head + 2 + envelope.OVERHEAD or data[: len(_REL_MAGIC) + 1] != _REL_MAGIC + bytes(
            [FORMAT_VERSION]
        ):
            raise ValueError("statistics release: truncated or unknown magic or version")
        round_id = int.from_bytes(data[5:13], "big")
        querier = int.from_bytes(data[13:21], "big")
        return cls(round_id, querier, int.from_bytes(data[head : head + 2], "big"), data[head + 2 :])

    def ledger_fields(self) -> dict[str, int | bytes]:
        """The fields of the ``stat_release`` entry."""
        return {
            "round_id": self.round_id,
            "querier": self.querier_id,
            "cells": self.cells,
            "result_hash": self.result_hash(),
        }


class KeyHolder:
    """Holds the Paillier private key; multiplies the listed submissions itself, unmasks the
    dropouts, decrypts the two products and releases cells fed by at least k participants."""

    def __init__(
        self,
        private_key: PaillierPrivateKey,
        envelope_key: SM2PrivateKey,
        *,
        released: Iterable[tuple[int, int]] = (),
    ) -> None:
        if not isinstance(private_key, PaillierPrivateKey):
            raise TypeError("private_key must be a PaillierPrivateKey")
        self._sk = private_key
        self._env = envelope_key
        self._released: set[tuple[int, int]] = set(released)

    @property
    def public_key(self) -> PaillierPublicKey:
        return self._sk.public_key

    @property
    def envelope_public_key(self) -> SM2PublicKey:
        return self._env.public_key()

    def __repr__(self) -> str:
        return f"<KeyHolder {self.public_key!r}>"

    def released_cells(self, round_id: int) -> frozenset[int]:
        return frozenset(c for r, c in self._released if r == round_id)

    def _open_seeds(self, closed: ClosedRound, shares: Iterable[bytes]) -> dict[int, dict[int, bytes]]:
        rnd = closed.round
        out: dict[int, dict[int, bytes]] = {}
        for data in shares:
            data = bytes(data)
            hs = _SEED_HEADER.size
            if len(data) < hs + 6:
                raise InvalidSubmission("seed share: truncated")
            magic, version, round_id, member = _SEED_HEADER.unpack_from(data)
            if magic != _SEED_MAGIC or version != FORMAT_VERSION or round_id != rnd.round_id:
                raise InvalidSubmission("seed share: wrong magic, version or round")
            if member not in closed.submission_hashes:
                raise InvalidSubmission(f"seed share from member {member}, which is not a survivor")
            if member in out:
                raise InvalidSubmission(f"two seed shares from member {member}")
            env_len = int.from_bytes(data[hs : hs + 4], "big")
            end = hs + 4 + env_len
            if len(data) < end + 2 or len(data) != end + 2 + int.from_bytes(data[end : end + 2], "big"):
                raise InvalidSubmission("seed share: length does not match its fields")
            try:
                rnd.member(member).sign_key.verify(data[end + 2 :], data[:end])
                body = envelope.open(self._env, data[hs + 4 : end], data[:hs])
            except (InvalidSignature, InvalidEnvelope):
                raise InvalidSubmission(f"seed share of member {member}: bad signature or envelope") from None
            count = int.from_bytes(body[:2], "big")
            if len(body) != 2 + count * (8 + SEED_SIZE):
                raise InvalidSubmission(f"seed share of member {member}: malformed")
            seeds = {
                int.from_bytes(body[o : o + 8], "big"): body[o + 8 : o + 8 + SEED_SIZE]
                for o in range(2, len(body), 8 + SEED_SIZE)
            }
            if sorted(seeds) != list(closed.non_submitters):
                raise InvalidSubmission(
                    f"seed share of member {member} does not cover exactly the non-submitters"
                )
            out[member] = seeds
        return out

    def release(
        self,
        closed: ClosedRound,
        submissions: Iterable[bytes],
        seed_shares: Iterable[bytes],
        querier: SM2PublicKey,
        querier_id: int,
        cells: Iterable[int] | None = None,
    ) -> Release:
        """Aggregate ``closed``'s round and seal the cells fed by at least k participants (all
        requested cells by default) to ``querier``. Sealed plaintext: ``"RSRL"`` ‖ version ‖
        round ‖ statistic ‖ period ‖ querier ‖ #measures (2) ‖ #released (2) ‖ (cell (2) ‖
        measures × 16-byte sums)* ‖ #suppressed (2) ‖ cell (2)*; aad = ``"RSRL"`` ‖ version ‖
        round ‖ querier."""
        rnd, spec = closed.round, closed.round.statistic
        _u64(querier_id, "querier id")
        if rnd.paillier_key != self.public_key:
            raise PaillierKeyMismatch("the round names another Paillier key")
        if not closed.quorum_met:
            raise StatisticsRefused(
                f"only {len(closed.submission_hashes)} submissions were accepted; k = {rnd.k}"
            )
        wanted = sorted(set(range(spec.cells) if cells is None else cells))
        if any(not 0 <= c < spec.cells for c in wanted):
            raise ValueError(f"statistic {spec.name!r} has cells 0..{spec.cells - 1}")
        again = [c for c in wanted if (rnd.round_id, c) in self._released]
        if again:
            raise StatisticsRefused(f"round {rnd.round_id}: cells {again} were already released")

        given = {sm3(bytes(s)): bytes(s) for s in submissions}
        listed = {h: m for m, h in closed.submission_hashes.items()}
        if set(given) != set(listed):
            raise StatisticsRefused("the submissions given differ from the ledger-listed submissions")
        subs = [Submission.from_bytes(given[h], rnd) for h in sorted(given)]
        for h, s in zip(sorted(given), subs, strict=True):
            if listed[h] != s.member_id:
                raise StatisticsRefused(
                    f"the ledger lists that submission for member {listed[h]}, not {s.member_id}"
                )

        shares = self._open_seeds(closed, seed_shares)
        if closed.non_submitters and set(shares) != set(closed.submission_hashes):
            missing = sorted(set(closed.submission_hashes) - set(shares))
            raise StatisticsRefused(f"seed shares missing from survivors {missing}")

        n = self.public_key.n
        layout = spec.layout(self.public_key)
        products = list(subs[0].values + subs[0].fed)
        for s in subs[1:]:
            products = [a + b for a, b in zip(products, s.values + s.fed, strict=True)]
        vectors = [VECTOR_VALUES] * layout.value_plaintexts + [VECTOR_FED] * layout.fed_plaintexts
        ts = list(range(layout.value_plaintexts)) + list(range(layout.fed_plaintexts))
        for idx, (v, t) in enumerate(zip(vectors, ts, strict=True)):
            residual = 0
            for i, seeds in shares.items():
                for j, seed in seeds.items():
                    term = _mask_term(seed, spec.code, v, t, n)
                    residual += term if j > i else -term
            if residual % n:
                products[idx] = add_raw(products[idx], (-residual) % n)
        plain = decrypt_raw_many(self._sk, products)
        try:
            sums = _unpack(layout.values, plain[: layout.value_plaintexts], len(spec.measures) * spec.cells)
            fed = _unpack(layout.fed, plain[layout.value_plaintexts :], spec.cells)
        except PaillierOverflow:
            raise ProtocolAbort(
                "the unmasked aggregate does not decode: a seed or submission is wrong"
            ) from None
        if any(f > len(subs) for f in fed):
            raise ProtocolAbort("a fed count exceeds the number of submissions")

        released = [c for c in wanted if fed[c] >= rnd.k]
        suppressed = [c for c in wanted if fed[c] < rnd.k]
        body = bytearray(
            _REL_HEADER.pack(
                _REL_MAGIC,
                FORMAT_VERSION,
                rnd.round_id,
                spec.code,
                rnd.period,
                querier_id,
                len(spec.measures),
            )
        )
        body += len(released).to_bytes(2, "big")
        for c in released:
            body += c.to_bytes(2, "big")
            for m in range(len(spec.measures)):
                body += sums[m * spec.cells + c].to_bytes(_RESULT_VALUE_SIZE, "big")
        body += len(suppressed).to_bytes(2, "big") + b"".join(c.to_bytes(2, "big") for c in suppressed)
        sealed = envelope.seal(querier, bytes(body), _release_aad(rnd.round_id, querier_id))
        self._released.update((rnd.round_id, c) for c in wanted)
        return Release(rnd.round_id, querier_id, len(released), sealed)


def _release_aad(round_id: int, querier_id: int) -> bytes:
    return _REL_MAGIC + bytes([FORMAT_VERSION]) + round_id.to_bytes(8, "big") + querier_id.to_bytes(8, "big")


# -- querier ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatisticResult:
    """Released sums by cell (one int per measure) and the suppressed cells."""

    statistic: StatisticSpec
    round_id: int
    period: int
    values: Mapping[int, tuple[int, ...]]
    suppressed: tuple[int, ...]

    def value(self, measure: str, *labels: str) -> int | None:
        """The released sum of ``measure`` in the cell named by ``labels``; None if suppressed
        or not requested."""
        if measure not in self.statistic.measures:
            raise ValueError(f"statistic {self.statistic.name!r} has no measure {measure!r}")
        cell = self.statistic.cell_index(*labels)
        got = self.values.get(cell)
        return None if got is None else got[self.statistic.measures.index(measure)]


class Querier:
    """Opens a release sealed to its envelope (key-agreement) key."""

    def __init__(self, member_id: int, envelope_key: SM2PrivateKey) -> None:
        self.member_id = _u64(member_id, "querier id")
        self._key = envelope_key

    def __repr__(self) -> str:
        return f"<Querier member={self.member_id}>"

    def open(self, release: Release, round: RoundSpec) -> StatisticResult:
        """The result of ``release`` (for ``round``); ``InvalidEnvelope`` if it was not sealed
        to this querier or was altered, ``ProtocolAbort`` if its content is inconsistent."""
        if release.round_id != round.round_id or release.querier_id != self.member_id:
            raise ProtocolAbort("the release is for another round or querier")
        body = envelope.open(self._key, release.sealed, _release_aad(round.round_id, self.member_id))
        spec = round.statistic
        try:
            magic, version, round_id, code, period, querier, nm = _REL_HEADER.unpack_from(body)
            if (magic, version, round_id, code, period, querier, nm) != (
                _REL_MAGIC,
                FORMAT_VERSION,
                round.round_id,
                spec.code,
                round.period,
                self.member_id,
                len(spec.measures),
            ):
                raise ProtocolAbort("the release header does not match the round")
            off = _REL_HEADER.size
            count = int.from_bytes(body[off : off + 2], "big")
            off += 2
            values: dict[int, tuple[int, ...]] = {}
            width = 2 + nm * _RESULT_VALUE_SIZE
            for _ in range(count):
                rec = body[off : off + width]
                values[int.from_bytes(rec[:2], "big")] = tuple(
                    int.from_bytes(rec[2 + m * _RESULT_VALUE_SIZE : 2 + (m + 1) * _RESULT_VALUE_SIZE], "big")
                    for m in range(nm)
                )
                off += width
            ns = int.from_bytes(body[off : off + 2], "big")
            off += 2
            suppressed = tuple(int.from_bytes(body[off + 2 * i : off + 2 * i + 2], "big") for i in range(ns))
            if off + 2 * ns != len(body) or len(values) != count or len(values) != release.cells:
                raise ProtocolAbort("the release body is malformed")
        except struct.error:
            raise ProtocolAbort("the release body is truncated") from None
        return StatisticResult(spec, round.round_id, round.period, MappingProxyType(values), suppressed)
