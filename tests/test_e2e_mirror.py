"""End to end over real gRPC on loopback with SQLite stores: contribute, audit, sync, lookup."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from api import client, convert
from api._generated import index_pb2
from api.consortium import Consortium, init_consortium
from api.platform import Platform, token_message
from api.roles import start_keyholder, start_platform
from ledger.entry import Kind
from ledger.storage.memory import MemoryStorage
from mpc import index as mindex
from mpc.records import Category, SubjectType, SyntheticSource
from mpc.sm3 import sm3

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor+broker+mirror",
    "sec-b:contributor",
    "sec-c:broker+mirror",
    "audit-1:auditor",
]


@pytest.fixture
def consortium(tmp_path: Path) -> Iterator[Consortium]:
    c = init_consortium(
        tmp_path / "c", SPECS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0", bucket_size=64
    )
    yield Consortium.load(c.root)


def test_contribute_audit_sync_lookup(consortium: Consortium) -> None:
    c = consortium
    p_run, platform = start_platform(c)
    k_run, _ = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    paddr, kaddr = f"localhost:{p_run.port}", f"localhost:{k_run.port}"
    sessions = []
    try:
        a = client.Session.connect(c, "sec-a", paddr, kaddr)
        b = client.Session.connect(c, "sec-b", paddr, kaddr)
        broker = client.Session.connect(c, "sec-c", paddr, kaddr)
        auditor = client.Session.connect(c, "audit-1", paddr, kaddr)
        sessions = [a, b, broker, auditor]
        src = SyntheticSource(seed=7)
        recs_a = src.records(40)
        recs_b = src.records(30)
        out_a = client.contribute(a, recs_a)
        assert (out_a.accepted, out_a.duplicates) == (40, 0)
        again = client.contribute(a, recs_a[:10])  # re-upload is a no-op
        assert (again.accepted, again.duplicates) == (0, 10)
        # the journal keeps only kept entries, so revoking a re-uploaded record still works
        assert client.Journal(a).db.execute("SELECT COUNT(*) FROM uploads").fetchone()[0] == 40

        out_b = client.contribute(b, recs_b, named=True)
        assert out_b.accepted == 30
        platform.publish()
        platform.checkpoint()
        st = client.new_auditor(auditor, MemoryStorage())
        cp = client.audit_and_cosign(auditor, st)
        assert cp.index_size == 70
        mirror = client.Mirror()
        assert client.sync(broker, mirror) == 70
        hit = client.lookup_mirror(broker, mirror, recs_b[3].subject_type, recs_b[3].subject_id)
        assert hit.result.hit
        assert any(
            f.record == recs_b[3] and f.contributor == "sec-b" and f.verified for f in hit.result.findings
        )
        hit_a = client.lookup_mirror(broker, mirror, recs_a[5].subject_type, recs_a[5].subject_id)
        assert any(f.record == recs_a[5] and f.contributor is None for f in hit_a.result.findings)
        miss_id = src.resident_id()
        miss = client.lookup_mirror(broker, mirror, SubjectType.PERSON, miss_id)
        assert not miss.result.hit
        # oblivious mode: no mirror; one bucket fetch and one OT per paid evaluation
        ob = client.lookup_oblivious(broker, recs_b[3].subject_type, recs_b[3].subject_id)
        assert any(
            f.record == recs_b[3] and f.contributor == "sec-b" and f.verified for f in ob.result.findings
        )
        assert not ob.result.bad_slot
        ob_miss = client.lookup_oblivious(broker, SubjectType.PERSON, miss_id)
        assert not ob_miss.result.hit and not ob_miss.result.bad_slot
        # tokens: a lookup's platform receipt buys one bucket and one OT, only once recorded on the
        # ledger in oblivious mode, and only for the broker it was issued to
        size = platform.witnessed()[0].checkpoint.index_size  # type: ignore[index]

        def fetch(who: client.Session, token: bytes) -> None:
            sig = who.identity.signing_key.sign(token_message(token, size, 0))
            who.index.GetBucket(
                index_pb2.BucketRequest(token=token, bucket=0, index_size=size, signature=sig)
            )

        ev = broker.oprf.evaluate([b"\x01" + miss_id.encode()], Kind.LOOKUP)
        token = ev.receipts[0]  # the platform's receipt comes first
        with pytest.raises(grpc.RpcError) as e:  # not recorded on the ledger yet
            fetch(broker, token)
        assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        client._record_lookup(broker, ev.receipts, mode=2)
        with pytest.raises(grpc.RpcError) as e:  # someone else presenting the broker's token
            fetch(a, token)
        assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
        fetch(broker, token)
        with pytest.raises(grpc.RpcError) as e:  # a token pays for one bucket fetch
            fetch(broker, token)
        assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as e:  # a receipt of the key holder is no token
            fetch(broker, ev.receipts[1])
        assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
        ev = broker.oprf.evaluate([b"\x01" + miss_id.encode()], Kind.LOOKUP)
        client._record_lookup(broker, ev.receipts, mode=1)
        with pytest.raises(grpc.RpcError) as e:  # a mirror lookup's receipt buys no bucket
            fetch(broker, ev.receipts[0])
        assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        # a bad ID is a clear error before anything is evaluated or logged
        with pytest.raises(ValueError):
            client.lookup_mirror(broker, mirror, SubjectType.PERSON, "110101199003074515")
        # a member without the broker role cannot look up, nor read the index log
        with pytest.raises(grpc.RpcError) as e:
            client.sync(b, client.Mirror())
        assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as e:
            client.lookup_oblivious(b, SubjectType.PERSON, miss_id)
        assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        # a forged or stale sync request is refused
        forged = broker.sync_request(0, 0)
        forged.member = b.member.id
        with pytest.raises(grpc.RpcError) as e:
            list(broker.index.SyncIndex(forged))
        assert e.value.code() is grpc.StatusCode.UNAUTHENTICATED

        assert recs_a[0].category in set(Category)
        # revoke: tombstones reveal t; the broker's mirror stops showing the records
        gone = [r for r in recs_a[20:25] if sum(x.subject_id == r.subject_id for x in recs_a + recs_b) == 1]
        rv = client.revoke(a, gone)
        assert (rv.revoked, rv.not_found) == (len(gone), 0)
        assert client.revoke(a, gone).revoked == 0  # already withdrawn: nothing left to revoke
        # b cannot withdraw a's entries, even knowing their ids and upload heights
        ids = [eid for eid, _ in client.Journal(a).db.execute("SELECT entry_id, height FROM uploads LIMIT 2")]
        hs = [h for _, h in client.Journal(a).db.execute("SELECT entry_id, height FROM uploads LIMIT 2")]
        fake = [bytes(32), bytes(32)]
        ops_bytes = b"".join(
            mindex.IndexOp.tombstone(bytes(i), t).to_bytes() for i, t in zip(ids, fake, strict=True)
        )
        raw, sigs = b.request(
            Kind.REVOKE, {"count": 2, "heights": tuple(hs), "batch_hash": sm3(bytes(32) + ops_bytes)}
        )
        msg = index_pb2.RevokeRequest(
            request=convert.signed_request(raw, sigs), entry_ids=ids, secrets=fake, salt=bytes(32)
        )
        with pytest.raises(grpc.RpcError) as e:
            b.index.Revoke(msg)
        assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
        platform.publish()
        platform.checkpoint()
        client.audit_and_cosign(auditor, st)
        client.sync(broker, mirror)
        for r in gone:
            assert not client.lookup_mirror(broker, mirror, r.subject_type, r.subject_id).result.hit
        again = client.contribute(a, gone)  # a revoked record can be contributed anew
        assert again.accepted == len(gone)

    finally:
        for s in sessions:
            s.close()
        p_run.stop()
        k_run.stop()
        platform.close()


def test_witnessed_needs_a_majority_of_auditors(tmp_path: Path) -> None:
    specs = ["platform:platform+admin", "supervisor:keyholder+admin", "sec-a:contributor+broker+mirror"]
    specs += [f"audit-{i}:auditor" for i in range(4)]
    c = Consortium.load(
        init_consortium(
            tmp_path / "c", specs, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0"
        ).root
    )
    p_run, platform = start_platform(c)
    k_run, _ = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    paddr, kaddr = f"localhost:{p_run.port}", f"localhost:{k_run.port}"
    sessions = [
        client.Session.connect(c, n, paddr, kaddr) for n in ["sec-a"] + [f"audit-{i}" for i in range(4)]
    ]
    try:
        a, auditors = sessions[0], sessions[1:]
        client.contribute(a, SyntheticSource(seed=5).records(5))
        platform.publish()
        platform.checkpoint()
        assert platform.witnessed() is None
        with pytest.raises(grpc.RpcError) as e:  # nobody co-signed: nothing to sync against
            client.sync(a, client.Mirror())
        assert e.value.code() is grpc.StatusCode.NOT_FOUND
        states = [client.new_auditor(s, MemoryStorage()) for s in auditors]
        for s, st in list(zip(auditors, states, strict=True))[:2]:
            client.audit_and_cosign(s, st)
        assert platform.witnessed() is None  # 2 of 4 is not more than half
        client.audit_and_cosign(auditors[2], states[2])
        w = platform.witnessed()
        assert w is not None and len(w[1]) == 3
        assert client.sync(a, client.Mirror()) == 5
    finally:
        for s in sessions:
            s.close()
        p_run.stop()
        k_run.stop()
        platform.close()


def test_revoke_twice_before_publication_and_replays_are_refused(consortium: Consortium) -> None:
    c = consortium
    p_run, platform = start_platform(c)
    k_run, _ = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    paddr, kaddr = f"localhost:{p_run.port}", f"localhost:{k_run.port}"
    a = client.Session.connect(c, "sec-a", paddr, kaddr)
    try:
        recs = SyntheticSource(seed=9).records(4)
        out = client.contribute(a, recs)
        platform.publish()
        rows = list(client.Journal(a).db.execute("SELECT entry_id, height FROM uploads"))
        secret = mindex.ContributorSecret(c.load_secret("sec-a", "contributor-secret"))
        eid, h = bytes(rows[0][0]), int(rows[0][1])

        def revoke_msg() -> index_pb2.RevokeRequest:
            op = secret.tombstone(eid)
            salt = os.urandom(32)
            raw, sigs = a.request(
                Kind.REVOKE, {"count": 1, "heights": (h,), "batch_hash": sm3(salt + op.to_bytes())}
            )
            return index_pb2.RevokeRequest(
                request=convert.signed_request(raw, sigs),
                entry_ids=[eid],
                secrets=[secret.tombstone_secret(eid)],
                salt=salt,
            )

        first = revoke_msg()
        a.index.Revoke(first)
        with pytest.raises(grpc.RpcError) as e:  # a second tombstone while the first is queued
            a.index.Revoke(revoke_msg())
        assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as e:  # the same signed request again
            a.index.Revoke(first)
        assert e.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)

        assert out.accepted == 4
    finally:
        a.close()
        p_run.stop()
        k_run.stop()
        platform.close()
    # the platform restarts cleanly and holds 4 adds and 1 tombstone
    platform = Platform(Consortium.load(c.root))
    try:
        platform.publish()
        assert platform.index.size == 5
    finally:
        platform.close()


def test_heartbeat_keeps_checkpoints_fresh_on_a_quiet_ledger(consortium: Consortium) -> None:
    platform = Platform(consortium)
    try:
        assert not platform.heartbeat(max_age_s=3600)  # the genesis checkpoint is fresh
        before = platform.ledger.size
        cp0 = platform.ledger.latest_checkpoint()
        assert platform.heartbeat(max_age_s=0)
        cp = platform.ledger.checkpoint()
        assert cp is not None and cp0 is not None
        assert cp.checkpoint.size == before + 1 and cp.checkpoint.time_ms >= cp0.checkpoint.time_ms
        assert cp.checkpoint.index_size == 0  # nothing published: the heartbeat changes no index

    finally:
        platform.close()
