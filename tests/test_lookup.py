from __future__ import annotations

import hashlib
import random

import pytest

from mpc import index as ix
from mpc import lookup
from mpc.exceptions import InvalidProof, InvalidSignature
from mpc.index import ContributorSecret, IndexLog, IndexOp, MirrorIndex
from mpc.records import RiskRecord, SyntheticSource

EPOCH = b"epoch-3"
N, CAP = 16, 2


class FakeSigner:
    def __init__(self, key: bytes) -> None:
        self.key = key

    def sign(self, data: bytes) -> bytes:
        return hashlib.sha256(self.key + data).digest() * 2

    def verify(self, signature: bytes, data: bytes) -> None:
        if signature != self.sign(data):
            raise InvalidSignature("bad signature")


def h_of(seed: int) -> bytes:
    return hashlib.shake_256(b"h" + seed.to_bytes(8, "big")).digest(32)


def rec(seed: int) -> RiskRecord:
    return SyntheticSource(seed).record()


@pytest.fixture(scope="module")
def world() -> tuple[IndexLog, MirrorIndex, ix.Snapshot]:
    rng = random.Random(1)
    a, b = ContributorSecret(rng.randbytes(32)), ContributorSecret(rng.randbytes(32))
    log = IndexLog()
    for seed in range(60):
        log.submit(IndexOp.add(ix.seal_entry(h_of(seed), EPOCH, rec(seed), a).entry))
    # subject 0 has a second record from a named contributor, subject 1 three more (overflow)
    log.submit(
        IndexOp.add(ix.seal_entry(h_of(0), EPOCH, rec(100), b, name="券商乙", signer=FakeSigner(b"B")).entry)
    )
    log.publish()
    for s in (101, 102, 103):  # "newest" is log order; within one batch entries sort by random id
        log.submit(IndexOp.add(ix.seal_entry(h_of(1), EPOCH, rec(s), b).entry))
        log.publish()
    mirror = MirrorIndex()
    mirror.apply_delta(log.delta_since(0), log.checkpoint())
    return log, mirror, ix.build_snapshot(log.state, log.root(), bucket_size=N, cap=CAP)


def test_mirror_hit_miss_and_names(world: tuple[IndexLog, MirrorIndex, ix.Snapshot]) -> None:
    _, mirror, _ = world
    res = lookup.mirror_lookup(mirror, h_of(0), EPOCH, {"券商乙": FakeSigner(b"B")})
    assert res.hit and {f.record for f in res.findings} == {rec(0), rec(100)}
    assert {(f.contributor, f.verified) for f in res.findings} == {(None, None), ("券商乙", True)}
    # a forged or unknown signer is not shown
    res = lookup.mirror_lookup(mirror, h_of(0), EPOCH, {"券商乙": FakeSigner(b"forger")})
    assert [f.record for f in res.findings] == [rec(0)] and res.unreadable == 1
    assert lookup.mirror_lookup(mirror, h_of(0), EPOCH, {}).unreadable == 1
    miss = lookup.mirror_lookup(mirror, h_of(999), EPOCH)
    assert not miss.hit and miss.unreadable == 0
    # the right tag with the wrong epoch opens nothing
    assert lookup.mirror_lookup(mirror, h_of(0), b"other").unreadable == 2


def _query(snap: ix.Snapshot, seed: int) -> lookup.ObliviousLookup:
    return lookup.ObliviousLookup(
        h_of(seed), EPOCH, snapshot_root=snap.root, bits=snap.bits, bucket_size=N, cap=CAP
    )


def test_oblivious_hit_overflow_and_miss(world: tuple[IndexLog, MirrorIndex, ix.Snapshot]) -> None:
    _, _, snap = world
    q = _query(snap, 1)
    i = q.receive_bucket(snap.bucket_proof(q.bucket))
    assert q.member is True
    msgs = snap.ot_messages(q.bucket)
    assert len(msgs) == N and len({len(m) for m in msgs}) == 1
    res = q.receive_slot(msgs[i])
    assert res.hit and res.overflow and not res.bad_slot
    assert [f.record for f in res.findings] == [rec(103), rec(102)]  # newest first, cap 2
    choices = set()
    for _ in range(20):
        q = _query(snap, 777)
        choices.add(q.receive_bucket(snap.bucket_proof(q.bucket)))
        assert q.member is False
        res = q.receive_slot(snap.ot_messages(q.bucket)[q.choice or 0])
        assert not res.hit and not res.bad_slot
    assert len(choices) > 1  # a miss asks for a random slot


def test_oblivious_bad_slot_completes_identically(world: tuple[IndexLog, MirrorIndex, ix.Snapshot]) -> None:
    _, _, snap = world
    q = _query(snap, 2)
    i = q.receive_bucket(snap.bucket_proof(q.bucket))
    msgs = snap.ot_messages(q.bucket)
    res = q.receive_slot(msgs[(i + 1) % N])  # the platform sent another slot
    assert res.bad_slot and not res.hit and q.evidence is not None and q.evidence.index == i
    q2 = _query(snap, 2)
    q2.receive_bucket(snap.bucket_proof(q2.bucket))
    bad = bytearray(msgs[i])
    bad[-1] ^= 1
    assert q2.receive_slot(bytes(bad)).bad_slot
    assert q2.receive_slot(msgs[i][:-1]).bad_slot  # a short payload too
    with pytest.raises(ValueError):
        q2.receive_bucket(snap.bucket_proof(q2.bucket))


def test_oblivious_bad_tag_list_aborts(world: tuple[IndexLog, MirrorIndex, ix.Snapshot]) -> None:
    _, _, snap = world
    q = _query(snap, 3)
    bp = snap.bucket_proof(q.bucket)
    with pytest.raises(InvalidProof):
        q.receive_bucket(ix.BucketProof(bp.bucket, bp.tags[1:] + bp.tags[:1], bp.slot_root, bp.path))
    with pytest.raises(ValueError):
        q.receive_slot(b"")
    assert "bucket" not in repr(q) or str(q.bucket) not in repr(q)
