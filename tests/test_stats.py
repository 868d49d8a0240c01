"""Paillier statistics (mpc.stats): exact sums, masks, dropouts, k-suppression, refusals."""

from __future__ import annotations

import datetime
import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc import paillier as pl
from mpc import stats
from mpc.exceptions import (
    InvalidEnvelope,
    InvalidSubmission,
    PaillierKeyMismatch,
    ProtocolAbort,
    ProtocolStateError,
    StatisticsRefused,
)
from mpc.hazmat.paillier import decrypt_raw
from mpc.records import RiskRecord
from mpc.sm2 import SM2PrivateKey

SPEC = stats.DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH
SMALL = stats.StatisticSpec(
    code=900, name="test_small", measures=("v",), axes=(("cell", ("a", "b", "c", "d", "e")),)
)


Inputs = dict[int, list[list[int]]]


@dataclass(frozen=True)
class Member:
    member_id: int
    sign: SM2PrivateKey
    agree: SM2PrivateKey

    def round_member(self) -> stats.RoundMember:
        return stats.RoundMember(self.member_id, self.sign.public_key(), self.agree.public_key())


@pytest.fixture(scope="module")
def keys() -> tuple[pl.PaillierPublicKey, pl.PaillierPrivateKey]:
    return pl._generate_keypair(1024, safe_primes=False)


@pytest.fixture(scope="module")
def other_keys() -> tuple[pl.PaillierPublicKey, pl.PaillierPrivateKey]:
    return pl._generate_keypair(1024, safe_primes=False)


@pytest.fixture(scope="module")
def members() -> list[Member]:
    # Ids deliberately not in enrolment order, so "lower id" is not "first in the list".
    ids = [17, 3, 42, 8, 29, 11, 5, 60]
    return [Member(i, SM2PrivateKey.generate(), SM2PrivateKey.generate()) for i in ids]


@pytest.fixture(scope="module")
def holder_key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


@pytest.fixture(scope="module")
def querier_key() -> SM2PrivateKey:
    return SM2PrivateKey.generate()


def make_round(
    pk: pl.PaillierPublicKey,
    ms: Sequence[Member],
    spec: stats.StatisticSpec = SMALL,
    *,
    k: int = 3,
    round_id: int = 7,
    period: int = 2025,
) -> stats.RoundSpec:
    return stats.RoundSpec(round_id, spec, period, pk, tuple(m.round_member() for m in ms), k)


@dataclass
class Run:
    round: stats.RoundSpec
    participants: dict[int, stats.Participant]
    submissions: dict[int, bytes]
    closed: stats.ClosedRound
    shares: list[bytes]


def submit_all(
    rnd: stats.RoundSpec, ms: Sequence[Member], inputs: Inputs, dropped: Iterable[int] = ()
) -> Run:
    dropped = set(dropped)
    parts = {m.member_id: stats.Participant(rnd, m.member_id, m.sign, m.agree) for m in ms}
    subs = {i: parts[i].submit(inputs[i]) for i in parts if i not in dropped}
    closed = stats.ClosedRound(rnd, tuple(sorted(dropped)), {i: s.submission_hash() for i, s in subs.items()})
    return Run(rnd, parts, {i: s.to_bytes() for i, s in subs.items()}, closed, [])


def share_seeds(run: Run, holder: SM2PrivateKey) -> None:
    run.shares = [run.participants[i].seed_share(run.closed, holder.public_key()) for i in run.submissions]


def release(
    run: Run,
    sk: pl.PaillierPrivateKey,
    holder: SM2PrivateKey,
    querier: SM2PrivateKey,
    kh: stats.KeyHolder | None = None,
    cells: Iterable[int] | None = None,
) -> stats.StatisticResult:
    kh = kh or stats.KeyHolder(sk, holder)
    rel = kh.release(run.closed, run.submissions.values(), run.shares, querier.public_key(), 99, cells)
    return stats.Querier(99, querier).open(rel, run.round)


def random_inputs(spec: stats.StatisticSpec, ids: Iterable[int], rng: random.Random) -> Inputs:
    return {
        i: [[rng.choice([0, rng.randrange(1 << 64)]) for _ in range(spec.cells)] for _ in spec.measures]
        for i in ids
    }


def expected(
    spec: stats.StatisticSpec, inputs: Inputs, ids: Iterable[int], k: int
) -> dict[int, tuple[int, ...]]:
    ids = list(ids)
    out: dict[int, tuple[int, ...]] = {}
    for c in range(spec.cells):
        fed = sum(1 for i in ids if any(row[c] for row in inputs[i]))
        if fed >= k:
            out[c] = tuple(sum(inputs[i][m][c] for i in ids) for m in range(len(spec.measures)))
    return out


# -- exact sums ---------------------------------------------------------------------------------
def test_default_statistic_exact_sums(keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    rnd = make_round(pk, members[:5], SPEC)
    rng = random.Random(1)
    inputs = random_inputs(SPEC, rnd.ids, rng)
    inputs[rnd.ids[0]] = [[(1 << 64) - 1] * SPEC.cells, [(1 << 64) - 1] * SPEC.cells]  # extreme values
    run = submit_all(rnd, members[:5], inputs)
    share_seeds(run, holder_key)
    res = release(run, sk, holder_key, querier_key)
    assert dict(res.values) == expected(SPEC, inputs, rnd.ids, 3)
    assert set(res.values) | set(res.suppressed) == set(range(SPEC.cells))


def test_layout_at_2048_and_exact_sums_from_records(members, holder_key, querier_key) -> None:
    pk, sk = pl._generate_keypair(2048, safe_primes=False)
    layout = SPEC.layout(pk)
    assert (layout.values.slots, layout.values.slot_bits) == (25, 80)
    assert (layout.fed.slots, layout.fed.slot_bits) == (127, 16)
    assert (layout.value_plaintexts, layout.fed_plaintexts) == (4, 1)  # 96 values, 48 counters

    from mpc.records import SyntheticSource

    src = SyntheticSource(7)
    ms = members[:4]
    records = {m.member_id: src.records(300) for m in ms}
    year = max(r.event_date.year for rs in records.values() for r in rs)
    inputs = {i: stats.tabulate_defaults(rs, year) for i, rs in records.items()}
    rnd = make_round(pk, ms, SPEC, period=year)
    run = submit_all(rnd, ms, inputs)
    share_seeds(run, holder_key)
    res = release(run, sk, holder_key, querier_key)
    assert dict(res.values) == expected(SPEC, inputs, rnd.ids, 3)
    assert res.values  # synthetic data feeds some cells from every contributor
    # Cross-check one cell by labels against the raw records.
    c = next(iter(res.values))
    cat, month = SPEC.cell_labels(c)
    want = [
        r.amount_fen
        for rs in records.values()
        for r in rs
        if r.category.value == cat
        and r.event_date.year == year
        and r.event_date.month == int(month)
        and r.status.value == "active"
    ]
    assert res.value("amount_fen", cat, month) == sum(want)
    assert res.value("count", cat, month) == len(want)


def test_tabulate_defaults_and_cells() -> None:
    recs = [
        RiskRecord.create("person", "11010519491231002X", "margin_default", 500, "2024-03-02", "a"),
        RiskRecord.create("person", "11010519491231002X", "margin_default", 700, "2024-03-30", "b"),
        RiskRecord.create("person", "11010519491231002X", "other", 9, "2024-12-01", "c"),
        RiskRecord.create("person", "11010519491231002X", "other", 9, "2023-12-01", "d"),
        RiskRecord.create("person", "11010519491231002X", "other", 9, "2024-12-01", "e", "revoked"),
    ]
    amount, count = stats.tabulate_defaults(recs, 2024)
    c = SPEC.cell_index("margin_default", "03")
    assert (amount[c], count[c]) == (1200, 2)
    o = SPEC.cell_index("other", "12")
    assert (amount[o], count[o]) == (9, 1)
    assert sum(count) == 3
    assert all(SPEC.cell_index(*SPEC.cell_labels(i)) == i for i in range(SPEC.cells))
    assert SPEC.cells == 48 and stats.get_statistic(SPEC.name) is SPEC and stats.get_statistic(1) is SPEC
    with pytest.raises(ValueError, match="unknown category"):
        SPEC.cell_index("fraud", "01")


# -- masks --------------------------------------------------------------------------------------
def test_individual_submissions_and_proper_subsets_are_noise(keys, members) -> None:
    pk, sk = keys
    ms = members[:4]
    rnd = make_round(pk, ms, SMALL)
    inputs = {i: [[1, 2, 3, 4, 5]] for i in rnd.ids}
    run = submit_all(rnd, ms, inputs)
    subs = {i: stats.Submission.from_bytes(b, rnd) for i, b in run.submissions.items()}
    layout = SMALL.layout(pk)
    packed_one = layout.values.encode(np.array([1, 2, 3, 4, 5], dtype=np.uint64))
    ids = list(subs)
    subsets = [list(c) for r in range(1, len(ids)) for c in itertools.combinations(ids, r)]
    assert len(subsets) == 14  # every proper, non-empty subset of the four
    for subset in subsets:
        for vec in ("values", "fed"):
            prod = reduce(lambda a, b: a + b, (getattr(subs[i], vec)[0] for i in subset))
            m = decrypt_raw(sk, prod)
            # A masked residue is uniform mod n: it lies far outside the packed range.
            assert m >> layout.values.total_bits != 0
            assert m != packed_one * len(subset)
    full = reduce(lambda a, b: a + b, (subs[i].values[0] for i in ids))
    assert decrypt_raw(sk, full) == packed_one * 4


# -- refusals -----------------------------------------------------------------------------------
def test_release_over_a_different_list_is_refused(keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    ms = members[:4]
    rnd = make_round(pk, ms, SMALL)
    inputs = {i: [[1, 0, 2, 0, 3]] for i in rnd.ids}
    run = submit_all(rnd, ms, inputs)
    share_seeds(run, holder_key)
    kh = stats.KeyHolder(sk, holder_key)
    q = querier_key.public_key()
    subs = list(run.submissions.values())
    with pytest.raises(StatisticsRefused, match="differ"):
        kh.release(run.closed, subs[:-1], run.shares, q, 99)  # one missing
    # Another submission of the same member (a fresh participant object) is not the listed one.
    m0 = ms[0]
    alt = stats.Participant(rnd, m0.member_id, m0.sign, m0.agree).submit(inputs[m0.member_id]).to_bytes()
    swapped = [alt if b == run.submissions[m0.member_id] else b for b in subs]
    with pytest.raises(StatisticsRefused, match="differ"):
        kh.release(run.closed, swapped, run.shares, q, 99)
    with pytest.raises(StatisticsRefused, match="differ"):
        kh.release(run.closed, [*subs, alt], run.shares, q, 99)  # one extra
    # A close whose hashes differ from the submissions is refused the same way.
    bad_close = stats.ClosedRound(rnd, (), {**run.closed.submission_hashes, m0.member_id: bytes(32)})
    with pytest.raises(StatisticsRefused, match="differ"):
        kh.release(bad_close, subs, run.shares, q, 99)
    # A listed hash attributed to the wrong member.
    h = dict(run.closed.submission_hashes)
    a, b = rnd.ids[:2]
    h[a], h[b] = h[b], h[a]
    with pytest.raises(StatisticsRefused, match="lists that submission for member"):
        kh.release(stats.ClosedRound(rnd, (), h), subs, run.shares, q, 99)
    assert kh.released_cells(rnd.round_id) == frozenset()  # nothing consumed by refusals
    res = stats.Querier(99, querier_key).open(kh.release(run.closed, subs, run.shares, q, 99), rnd)
    assert res.values == {0: (4,), 2: (8,), 4: (12,)}


def test_second_round_for_same_statistic_and_period_is_refused(keys, members) -> None:
    pk, _ = keys
    reg = stats.RoundRegistry()
    r1 = make_round(pk, members[:4], SPEC, round_id=1, period=2025)
    reg.open(r1)
    with pytest.raises(StatisticsRefused, match="already has round 1 for period 2025"):
        reg.open(make_round(pk, members[:4], SPEC, round_id=2, period=2025))
    with pytest.raises(StatisticsRefused, match="participant set"):
        reg.open(make_round(pk, members[:5], SPEC, round_id=2, period=2025), rerun=True)
    with pytest.raises(StatisticsRefused, match="already taken"):
        reg.open(make_round(pk, members[:4], SPEC, round_id=1, period=2026))
    reg.open(make_round(pk, members[:4], SPEC, round_id=2, period=2025), rerun=True)  # admins' re-run
    reg.open(make_round(pk, members[:4], SPEC, round_id=3, period=2026))
    reg.open(make_round(pk, members[:4], SMALL, round_id=4, period=2025))
    assert len(reg) == 4
    # The service checks against ledger entries the same way.
    e = stats.RoundEntry(10, SPEC.code, 2030, (1, 2, 3))
    with pytest.raises(StatisticsRefused):
        stats.check_new_round(stats.RoundEntry(11, SPEC.code, 2030, (1, 2, 3)), [e])
    assert r1.ledger_fields() == {
        "round_id": 1,
        "statistic": 1,
        "period": 2025,
        "key_id": int.from_bytes(pk.key_id, "big"),
        "k": 3,
        "participants": sorted(m.member_id for m in members[:4]),
    }


def test_dropped_participants_are_recovered(keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    ms = members[:6]
    rnd = make_round(pk, ms, SPEC)
    inputs = random_inputs(SPEC, rnd.ids, random.Random(2))
    dropped = {rnd.ids[0], rnd.ids[3]}  # the lowest id and one in the middle
    run = submit_all(rnd, ms, inputs, dropped)
    assert run.closed.non_submitters == tuple(sorted(dropped))
    kh = stats.KeyHolder(sk, holder_key)
    q = querier_key.public_key()
    with pytest.raises(StatisticsRefused, match="seed shares missing"):
        kh.release(run.closed, run.submissions.values(), [], q, 99)
    share_seeds(run, holder_key)
    with pytest.raises(StatisticsRefused, match="seed shares missing"):
        kh.release(run.closed, run.submissions.values(), run.shares[1:], q, 99)
    with pytest.raises(InvalidSubmission, match="two seed shares"):
        kh.release(run.closed, run.submissions.values(), [*run.shares, run.shares[0]], q, 99)
    res = release(run, sk, holder_key, querier_key, kh)
    assert dict(res.values) == expected(SPEC, inputs, set(rnd.ids) - dropped, 3)


def test_seed_share_rules(keys, members, holder_key) -> None:
    pk, _ = keys
    ms = members[:5]
    rnd = make_round(pk, ms, SMALL)
    inputs = {i: [[1, 1, 1, 1, 1]] for i in rnd.ids}
    run = submit_all(rnd, ms, inputs, {rnd.ids[4]})
    p1 = run.participants[rnd.ids[1]]
    p1.seed_share(run.closed, holder_key.public_key())
    # A different close (here: listing one more non-submitter) gets no second set of seeds.
    other = stats.ClosedRound(
        rnd,
        (rnd.ids[3], rnd.ids[4]),
        {i: h for i, h in run.closed.submission_hashes.items() if i != rnd.ids[3]},
    )
    with pytest.raises(ProtocolStateError, match="different close"):
        p1.seed_share(other, holder_key.public_key())
    # The same refusal after a restart, from the persisted state.
    m1 = next(m for m in ms if m.member_id == rnd.ids[1])
    restored = stats.Participant(
        rnd, m1.member_id, m1.sign, m1.agree, submitted=p1.submitted_hash, seeded=p1.seeded_close
    )
    with pytest.raises(ProtocolStateError, match="different close"):
        restored.seed_share(other, holder_key.public_key())
    with pytest.raises(ProtocolStateError, match="already submitted"):
        restored.submit([[1, 1, 1, 1, 1]])
    restored.seed_share(run.closed, holder_key.public_key())  # the same close again is fine
    # The dropped participant sends nothing.
    with pytest.raises(ProtocolStateError, match="accepted"):
        run.participants[rnd.ids[4]].seed_share(run.closed, holder_key.public_key())
    # A close that lists another hash for this participant.
    p2 = run.participants[rnd.ids[2]]
    forged = stats.ClosedRound(
        rnd, run.closed.non_submitters, {**run.closed.submission_hashes, rnd.ids[2]: bytes(32)}
    )
    with pytest.raises(ProtocolAbort, match="another submission hash"):
        p2.seed_share(forged, holder_key.public_key())


def test_quorum_not_met_reveals_nothing(keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    ms = members[:4]
    rnd = make_round(pk, ms, SMALL)
    run = submit_all(rnd, ms, {i: [[1, 1, 1, 1, 1]] for i in rnd.ids}, rnd.ids[:2])
    assert not run.closed.quorum_met
    with pytest.raises(StatisticsRefused, match="only 2 submissions"):
        run.participants[rnd.ids[2]].seed_share(run.closed, holder_key.public_key())
    with pytest.raises(StatisticsRefused, match="only 2 submissions"):
        stats.KeyHolder(sk, holder_key).release(
            run.closed, run.submissions.values(), [], querier_key.public_key(), 99
        )


def test_cells_with_fewer_than_k_contributors_are_suppressed(keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    ms = members[:4]
    rnd = make_round(pk, ms, SMALL)
    a, b, c, d = rnd.ids
    inputs = {
        a: [[5, 1, 1, 0, 0]],
        b: [[5, 1, 0, 0, 0]],
        c: [[5, 1, 0, 0, 0]],
        d: [[5, 0, 0, 0, 0]],
    }  # fed counts: 4, 3, 1, 0, 0
    run = submit_all(rnd, ms, inputs)
    share_seeds(run, holder_key)
    res = release(run, sk, holder_key, querier_key)
    assert dict(res.values) == {0: (20,), 1: (3,)}
    assert res.suppressed == (2, 3, 4)
    assert res.value("v", "c") is None and res.value("v", "a") == 20


def test_each_cell_is_released_once(keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    ms = members[:3]
    rnd = make_round(pk, ms, SMALL)
    run = submit_all(rnd, ms, {i: [[1, 2, 3, 4, 5]] for i in rnd.ids})
    share_seeds(run, holder_key)
    kh = stats.KeyHolder(sk, holder_key)
    res = release(run, sk, holder_key, querier_key, kh, cells=[0, 1])
    assert dict(res.values) == {0: (3,), 1: (6,)}
    with pytest.raises(StatisticsRefused, match=r"cells \[1\] were already released"):
        release(run, sk, holder_key, querier_key, kh, cells=[1, 2])
    res = release(run, sk, holder_key, querier_key, kh, cells=[2, 3, 4])
    assert dict(res.values) == {2: (9,), 3: (12,), 4: (15,)}
    with pytest.raises(StatisticsRefused):
        release(run, sk, holder_key, querier_key, kh)
    assert kh.released_cells(rnd.round_id) == frozenset(range(5))
    # The service restores the released set from the ledger.
    kh2 = stats.KeyHolder(sk, holder_key, released=[(rnd.round_id, 4)])
    with pytest.raises(StatisticsRefused):
        release(run, sk, holder_key, querier_key, kh2, cells=[4])
    with pytest.raises(ValueError, match=r"cells 0\.\.4"):
        release(run, sk, holder_key, querier_key, kh2, cells=[5])


# -- typed errors -------------------------------------------------------------------------------
def test_tampered_submission_is_refused(keys, members) -> None:
    pk, _ = keys
    ms = members[:3]
    rnd = make_round(pk, ms, SMALL)
    p = stats.Participant(rnd, ms[0].member_id, ms[0].sign, ms[0].agree)
    data = p.submit([[1, 2, 3, 4, 5]]).to_bytes()
    assert stats.Submission.from_bytes(data, rnd).to_bytes() == data
    for i in range(len(data)):
        bad = bytearray(data)
        bad[i] ^= 0x01
        with pytest.raises(InvalidSubmission):
            stats.Submission.from_bytes(bytes(bad), rnd)
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        with pytest.raises(InvalidSubmission):
            stats.Submission.from_bytes(data[:cut], rnd)
    with pytest.raises(InvalidSubmission):
        stats.Submission.from_bytes(data + b"\x00", rnd)
    # Correctly signed, but for another round.
    other = make_round(pk, ms, SMALL, round_id=8)
    with pytest.raises(InvalidSubmission, match="expected round 8"):
        stats.Submission.from_bytes(data, other)


def test_ciphertext_under_another_key(keys, other_keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    opk, _ = other_keys
    ms = members[:3]
    rnd = make_round(pk, ms, SMALL)
    rnd_other = make_round(opk, ms, SMALL)
    p = stats.Participant(rnd_other, ms[0].member_id, ms[0].sign, ms[0].agree)
    data = p.submit([[1, 2, 3, 4, 5]]).to_bytes()
    with pytest.raises(PaillierKeyMismatch):
        stats.Submission.from_bytes(data, rnd)
    run = submit_all(rnd_other, ms, {i: [[1, 1, 1, 1, 1]] for i in rnd.ids})
    with pytest.raises(PaillierKeyMismatch):  # the key holder's key is not the round's
        stats.KeyHolder(sk, holder_key).release(
            run.closed, run.submissions.values(), [], querier_key.public_key(), 1
        )


def test_bad_inputs_are_precise_value_errors(keys, members) -> None:
    pk, _ = keys
    ms = members[:3]
    rnd = make_round(pk, ms, SPEC)
    p = stats.Participant(rnd, ms[0].member_id, ms[0].sign, ms[0].agree)
    with pytest.raises(
        ValueError, match=r"takes 2 measure\(s\) × 48 cells \(shape \(2, 48\)\), got shape \(2, 47\)"
    ):
        p.submit([[0] * 47, [0] * 47])
    with pytest.raises(ValueError, match=r"got shape \(48,\)"):
        p.submit([0] * 48)
    with pytest.raises(ValueError, match=r"amount_fen values must be in \[0, 2\^64\), got -1"):
        p.submit([[-1] + [0] * 47, [0] * 48])
    with pytest.raises(ValueError, match=r"count values must be in \[0, 2\^64\), got 18446744073709551616"):
        p.submit([[0] * 48, [1 << 64] + [0] * 47])
    with pytest.raises(TypeError, match="must be ints"):
        p.submit([[0.5] * 48, [0] * 48])
    with pytest.raises(
        ValueError, match=r"unknown statistic 99; known: 1 \(default_amount_count_by_category_month\)"
    ):
        stats.get_statistic(99)
    with pytest.raises(ValueError, match="unknown statistic 'nope'"):
        stats.get_statistic("nope")
    # A submission with one ciphertext too few, correctly signed: the count is named.
    sub = p.submit([[1] * 48, [1] * 48])
    short = replace(sub, values=sub.values[:-1], signature=b"")
    short = replace(short, signature=ms[0].sign.sign(short.signed_bytes()))
    with pytest.raises(InvalidSubmission, match=r"carries 7 value and 1 fed ciphertexts; .* needs 8 and 1"):
        stats.Submission.from_bytes(short.to_bytes(), rnd)
    assert isinstance(InvalidSubmission("x"), ValueError)


def test_round_and_participant_checks(keys, members) -> None:
    pk, _ = keys
    ms = members[:3]
    with pytest.raises(ValueError, match="at least k = 3 participants, got 2"):
        make_round(pk, ms[:2])
    with pytest.raises(ValueError, match="distinct member ids"):
        stats.RoundSpec(1, SMALL, 1, pk, (ms[0].round_member(),) * 3)
    with pytest.raises(ValueError, match="k must be an int of at least 2"):
        make_round(pk, ms, k=1)
    small = make_round(pk, ms[:2], k=2)
    with pytest.raises(ProtocolAbort, match="requires k >= 3"):
        stats.Participant(small, ms[0].member_id, ms[0].sign, ms[0].agree)
    stats.Participant(small, ms[0].member_id, ms[0].sign, ms[0].agree, min_k=2)
    rnd = make_round(pk, ms)
    with pytest.raises(ProtocolAbort, match="not a participant"):
        stats.Participant(rnd, members[5].member_id, members[5].sign, members[5].agree)
    with pytest.raises(ProtocolAbort, match="other keys"):
        stats.Participant(rnd, ms[0].member_id, ms[0].sign, ms[1].agree)
    p = stats.Participant(rnd, ms[0].member_id, ms[0].sign, ms[0].agree)
    p.submit([[0, 0, 0, 0, 1]])
    with pytest.raises(ProtocolStateError, match="already submitted"):
        p.submit([[0, 0, 0, 0, 1]])
    with pytest.raises(ProtocolAbort, match="partition"):
        stats.ClosedRound(rnd, (), {ms[0].member_id: bytes(32)})
    with pytest.raises(ProtocolAbort, match="whose submission"):
        stats.ClosedRound(rnd, (ms[0].member_id,), {m.member_id: bytes(32) for m in ms})
    assert repr(p) == f"<Participant member={ms[0].member_id} round=7>"


def test_seed_share_and_release_tampering(keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    ms = members[:4]
    rnd = make_round(pk, ms, SMALL)
    run = submit_all(rnd, ms, {i: [[1, 2, 3, 4, 5]] for i in rnd.ids}, {rnd.ids[0]})
    share_seeds(run, holder_key)
    kh = stats.KeyHolder(sk, holder_key)
    q = querier_key.public_key()
    share = run.shares[0]
    for i in [*range(0, len(share), 7), len(share) - 1]:
        bad = bytearray(share)
        bad[i] ^= 0x40
        with pytest.raises(InvalidSubmission):
            kh.release(run.closed, run.submissions.values(), [bytes(bad), *run.shares[1:]], q, 99)
    # Seeds sealed to someone else cannot be opened by the key holder.
    stranger = SM2PrivateKey.generate()
    run2 = submit_all(rnd, ms, {i: [[1, 2, 3, 4, 5]] for i in rnd.ids}, {rnd.ids[0]})
    share_seeds(run2, stranger)
    with pytest.raises(InvalidSubmission, match="bad signature or envelope"):
        kh.release(run2.closed, run2.submissions.values(), run2.shares, q, 99)
    rel = kh.release(run.closed, run.submissions.values(), run.shares, q, 99)
    assert len(rel.result_hash()) == 32 and rel.ledger_fields()["cells"] == 5
    with pytest.raises(InvalidEnvelope):  # another querier's key
        stats.Querier(99, stranger).open(rel, rnd)
    with pytest.raises(ProtocolAbort):
        stats.Querier(98, querier_key).open(rel, rnd)
    bad = bytearray(rel.sealed)
    bad[-3] ^= 1
    with pytest.raises(InvalidEnvelope):
        stats.Querier(99, querier_key).open(replace(rel, sealed=bytes(bad)), rnd)
    res = stats.Querier(99, querier_key).open(rel, rnd)
    assert dict(res.values) == {c: (3 * (c + 1),) for c in range(5)}


# -- property -----------------------------------------------------------------------------------
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_random_small_rounds(data, keys, members, holder_key, querier_key) -> None:
    pk, sk = keys
    n = data.draw(st.integers(3, 6), label="participants")
    k = data.draw(st.integers(2, n), label="k")
    ms = data.draw(st.permutations(members), label="order")[:n]
    cells = data.draw(st.integers(1, 30), label="cells")
    measures = data.draw(st.integers(1, 3), label="measures")
    spec = stats.StatisticSpec(
        901, "prop", tuple(f"m{i}" for i in range(measures)), (("c", tuple(str(i) for i in range(cells))),)
    )
    rnd = stats.RoundSpec(
        data.draw(st.integers(0, 2**64 - 1)), spec, 1, pk, tuple(m.round_member() for m in ms), k
    )
    value = st.one_of(st.just(0), st.integers(0, 2**64 - 1), st.integers(0, 1000))
    inputs = {
        i: data.draw(
            st.lists(st.lists(value, min_size=cells, max_size=cells), min_size=measures, max_size=measures)
        )
        for i in rnd.ids
    }
    dropped = data.draw(st.sets(st.sampled_from(rnd.ids), max_size=n - k), label="dropped")
    parts = {m.member_id: stats.Participant(rnd, m.member_id, m.sign, m.agree, min_k=2) for m in ms}
    subs = {i: parts[i].submit(inputs[i]) for i in rnd.ids if i not in dropped}
    closed = stats.ClosedRound(rnd, tuple(dropped), {i: s.submission_hash() for i, s in subs.items()})
    shares = [parts[i].seed_share(closed, holder_key.public_key()) for i in subs]
    rel = stats.KeyHolder(sk, holder_key).release(
        closed, [s.to_bytes() for s in subs.values()], shares, querier_key.public_key(), 5
    )
    res = stats.Querier(5, querier_key).open(rel, rnd)
    assert dict(res.values) == expected(spec, inputs, subs, k)
    assert sorted([*res.values, *res.suppressed]) == list(range(cells))


def test_round_from_ledger_fields_and_release_wire(
    keys, other_keys, members, holder_key, querier_key
) -> None:
    pk, sk = keys
    ms = members[:3]
    rnd = make_round(pk, ms, SPEC)
    keyring = {m.member_id: (m.sign.public_key(), m.agree.public_key()) for m in ms}
    fields = rnd.ledger_fields()
    assert stats.RoundSpec.from_ledger(fields, pk, keyring) == rnd
    with pytest.raises(ValueError, match="unknown statistic 77"):
        stats.RoundSpec.from_ledger({**fields, "statistic": 77}, pk, keyring)
    with pytest.raises(ValueError, match="another Paillier key"):
        stats.RoundSpec.from_ledger(fields, other_keys[0], keyring)
    with pytest.raises(ValueError, match="no member keys for participants"):
        stats.RoundSpec.from_ledger(fields, pk, dict(list(keyring.items())[:2]))
    run = submit_all(rnd, ms, random_inputs(SPEC, rnd.ids, random.Random(3)))
    rel = stats.KeyHolder(sk, holder_key).release(
        run.closed, run.submissions.values(), [], querier_key.public_key(), 4
    )
    assert stats.Release.from_bytes(rel.to_bytes()) == rel
    with pytest.raises(ValueError, match="statistics release"):
        stats.Release.from_bytes(rel.to_bytes()[:30])


def test_benchmark_area_smoke() -> None:
    from benchmarks.__main__ import main

    assert main(["stats", "--quick"]) == 0


def test_record_date_is_used(members) -> None:  # guards the month arithmetic of the cell index
    r = RiskRecord.create("person", "11010519491231002X", "admin_penalty", 1, datetime.date(2020, 1, 31), "x")
    amount, count = stats.tabulate_defaults([r], 2020)
    assert amount[0] == 1 and count[0] == 1
