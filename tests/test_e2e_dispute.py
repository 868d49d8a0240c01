"""Disputes end to end over real gRPC on loopback with SQLite stores: a member files a data
subject's complaint against an index entry, the administrators' threshold freezes, removes or
unfreezes it, the rules claw back and penalise, mirrors, oblivious snapshots and auditors follow."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from api import client, convert
from api._generated import dispute_pb2, dispute_pb2_grpc
from api.consortium import Consortium, init_consortium
from api.dispute_client import decide_dispute, list_disputes, open_dispute
from api.disputes import DecisionBook, dispute_binding
from api.platform import Platform
from api.roles import start_keyholder, start_platform
from incentive.adapter import IncentiveHook
from incentive.points import NS, key
from ledger.entry import Entry, Kind
from ledger.storage.memory import MemoryStorage
from mpc import index as mindex
from mpc.exceptions import InvalidIndexOperation
from mpc.records import RiskRecord, SyntheticSource
from mpc.sm3 import sm3

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor+broker+mirror",
    "sec-b:contributor",
    "sec-c:broker+mirror",
    "audit-1:auditor",
]
ADMINS = ["platform", "supervisor"]


@pytest.fixture
def consortium(tmp_path: Path) -> Iterator[Consortium]:
    c = init_consortium(
        tmp_path / "c", SPECS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0", bucket_size=64
    )
    c = Consortium.load(c.root)
    c.admin_threshold = 2  # two administrators must sign a decision (and a freezing filing)
    c.save()
    yield Consortium.load(c.root)


def _code(e: pytest.ExceptionInfo[grpc.RpcError]) -> grpc.StatusCode:
    return e.value.code()


def _entry_of(broker: client.Session, mirror: client.Mirror, rec: RiskRecord) -> bytes | None:
    out = client.lookup_mirror(broker, mirror, rec.subject_type, rec.subject_id)
    ids = [f.entry_id for f in out.result.findings if f.record == rec]
    return ids[0] if ids else None


def _audit(platform: Platform, auditor: client.Session, st: client.AuditorState) -> None:
    platform.publish()
    platform.checkpoint()
    client.audit_and_cosign(auditor, st)


def test_file_freeze_decide_and_audit(consortium: Consortium) -> None:
    c = consortium
    p_run, platform = start_platform(c)
    k_run, _ = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    paddr, kaddr = f"localhost:{p_run.port}", f"localhost:{k_run.port}"
    names = ["sec-a", "sec-b", "sec-c", "audit-1", "platform", "supervisor"]
    sessions = {n: client.Session.connect(c, n, paddr, kaddr) for n in names}
    a, b, broker, auditor, admin = (sessions[n] for n in names[:5])
    try:
        src = SyntheticSource(seed=21)
        recs_b = src.records(12)
        client.contribute(a, src.records(6))
        up_b = client.contribute(b, recs_b)
        st = client.new_auditor(auditor, MemoryStorage())
        _audit(platform, auditor, st)
        mirror = client.Mirror()
        client.sync(broker, mirror)
        eid = _entry_of(broker, mirror, recs_b[0])
        assert eid is not None

        # -- refusals: nothing reaches the ledger ------------------------------------------------
        size = platform.ledger.size
        with pytest.raises(grpc.RpcError) as e:  # an entry id the platform never saw
            open_dispute(broker, bytes(16))
        assert _code(e) is grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.RpcError) as e:  # an auditor files nothing
            open_dispute(auditor, eid)
        assert _code(e) is grpc.StatusCode.PERMISSION_DENIED
        raw, sigs = broker.request(  # a request that binds another entry than the one named
            Kind.DISPUTE, {"action": 1, "dispute_id": 5, "evidence_hash": dispute_binding(bytes(16))}
        )
        stub = dispute_pb2_grpc.DisputeStub(broker.platform_channel)
        with pytest.raises(grpc.RpcError) as e:
            stub.Open(dispute_pb2.OpenDisputeRequest(request=convert.signed_request(raw, sigs), entry_id=eid))
        assert _code(e) is grpc.StatusCode.INVALID_ARGUMENT
        forged = dispute_pb2.OpenDisputeRequest(
            request=convert.signed_request(raw, sigs), entry_id=eid, evidence_digest=b"short"
        )
        with pytest.raises(grpc.RpcError) as e:
            stub.Open(forged)
        assert _code(e) is grpc.StatusCode.INVALID_ARGUMENT
        assert platform.ledger.size == size

        # -- a broker files, co-signed by the administrators' threshold: the entry freezes -------
        filed = open_dispute(
            broker, eid, evidence=b"complaint of the subject, with documents", cosigners=ADMINS
        )
        d = filed.dispute
        assert d.status == "open" and d.frozen_by_filing and d.filer == broker.member.id
        assert d.contributor == b.member.id and d.height == up_b.receipt.index
        body = platform.ledger.storage.entry(filed.receipt.index)
        assert eid not in body  # the ledger binds the entry only through its evidence hash
        entry = Entry.decode(body)
        assert entry.kind is Kind.DISPUTE and entry.accepted
        assert entry.request.fields["heights"] == () and entry.attested["height"] == up_b.receipt.index
        assert len(entry.signers) == 3
        assert isinstance(platform.hook, IncentiveHook)
        engine = platform.hook.engine  # the rules hold the contributor's pending reward
        assert engine.book.get(key(NS.PENDING_FROZEN, up_b.receipt.index, b.member.id)) == 1
        with pytest.raises(grpc.RpcError) as e:  # the same dispute id again
            open_dispute(a, eid, dispute_id=d.dispute_id)
        assert _code(e) is grpc.StatusCode.FAILED_PRECONDITION

        # who sees what: the filer and the contributor concerned, and the administrators
        assert [x.dispute_id for x in list_disputes(broker)] == [d.dispute_id]
        assert [x.dispute_id for x in list_disputes(b)] == [d.dispute_id]
        assert list_disputes(a) == []
        assert len(list_disputes(admin)) == 1

        # after publication: auditors accept the freeze, mirrors and oblivious lookups hide it
        _audit(platform, auditor, st)
        client.sync(broker, mirror)
        assert mirror.index.state.status(eid) is mindex.EntryStatus.FROZEN
        assert _entry_of(broker, mirror, recs_b[0]) is None
        ob = client.lookup_oblivious(broker, recs_b[0].subject_type, recs_b[0].subject_id)
        assert all(f.record != recs_b[0] for f in ob.result.findings)

        # -- deciding: one administrator is below the threshold; two uphold ----------------------
        balance = engine.balance(b.member.id)
        with pytest.raises(grpc.RpcError) as e:
            decide_dispute(admin, d, upheld=True)
        assert _code(e) is grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as e:  # a broker is no administrator
            decide_dispute(broker, d, upheld=True, cosigners=["platform"])
        assert _code(e) is grpc.StatusCode.PERMISSION_DENIED
        done = decide_dispute(admin, d, upheld=True, cosigners=ADMINS).dispute
        assert done.status == "upheld" and done.decide_index > d.file_index
        assert engine.params is not None
        penalty = engine.params.dispute_penalty
        assert engine.balance(b.member.id) == balance - penalty
        with pytest.raises(grpc.RpcError) as e:  # decided once
            decide_dispute(admin, d, upheld=False, cosigners=ADMINS)
        assert _code(e) is grpc.StatusCode.FAILED_PRECONDITION
        _audit(platform, auditor, st)
        client.sync(broker, mirror)
        assert mirror.index.state.status(eid) is mindex.EntryStatus.REMOVED

        # -- a filing without the threshold freezes nothing; dismissed, nothing changes ----------
        eid2 = _entry_of(broker, mirror, recs_b[1])
        assert eid2 is not None
        d2 = open_dispute(a, eid2).dispute  # a contributor that is also a broker files
        assert not d2.frozen_by_filing
        done2 = decide_dispute(admin, d2, upheld=False, cosigners=ADMINS).dispute
        assert done2.status == "dismissed"
        # -- frozen, then dismissed: unfrozen -----------------------------------------------------
        eid3 = _entry_of(broker, mirror, recs_b[2])
        assert eid3 is not None
        d3 = open_dispute(broker, eid3, cosigners=ADMINS).dispute
        assert d3.frozen_by_filing
        _audit(platform, auditor, st)
        client.sync(broker, mirror)
        assert _entry_of(broker, mirror, recs_b[2]) is None
        decide_dispute(admin, d3, upheld=False, cosigners=ADMINS)
        _audit(platform, auditor, st)
        client.sync(broker, mirror)
        assert _entry_of(broker, mirror, recs_b[2]) == eid3
        with pytest.raises(grpc.RpcError) as e:  # a removed entry cannot be disputed again
            open_dispute(broker, eid)
        assert _code(e) is grpc.StatusCode.FAILED_PRECONDITION

        # -- auditors refuse dispute operations the ledger does not back -------------------------
        entries = list(platform.ledger.storage.entries())
        published = list(platform.index.delta_since(0).ops)
        book = DecisionBook.from_entries(entries)
        assert book.check_ops(published) == 4  # freeze, remove, freeze, unfreeze
        for forged_op in (
            mindex.IndexOp.dispute(mindex.OpKind.REMOVE, eid2, sm3(b"no such entry")),
            # a dismissal authorises no removal, and a decision only its own entry
            mindex.IndexOp.dispute(
                mindex.OpKind.REMOVE,
                eid2,
                sm3(Entry.decode(platform.ledger.storage.entry(done2.decide_index)).request.encode()),
            ),
            mindex.IndexOp.dispute(
                mindex.OpKind.FREEZE,
                eid2,
                sm3(Entry.decode(platform.ledger.storage.entry(d2.file_index)).request.encode()),
            ),
            mindex.IndexOp.dispute(
                mindex.OpKind.UNFREEZE,
                eid3,
                sm3(Entry.decode(platform.ledger.storage.entry(done2.decide_index)).request.encode()),
            ),
        ):
            with pytest.raises(InvalidIndexOperation):
                DecisionBook.from_entries(entries).check_ops([*published, forged_op.to_bytes()])
        with pytest.raises(InvalidIndexOperation):  # one operation per decision
            DecisionBook.from_entries(entries).check_ops([*published, published[-1]])
        # a freezing filing whose operation is still queued when the platform stops
        eid4 = _entry_of(broker, mirror, recs_b[3])
        assert eid4 is not None
        d4 = open_dispute(broker, eid4, cosigners=ADMINS).dispute
        assert d4.frozen_by_filing and platform.index.pending == 1
    finally:
        for s in sessions.values():
            s.close()
        p_run.stop()
        k_run.stop()
        platform.close()

    # restart: the disputes persist, a fresh auditor replays the whole ledger and co-signs, and
    # replaying the rules reproduces every balance (penalty and clawback included)
    p_run, platform = start_platform(Consortium.load(c.root))
    auditor = client.Session.connect(c, "audit-1", f"localhost:{p_run.port}", kaddr)
    try:
        assert sorted(r.status for r in platform._dispute_store().all()) == [
            "dismissed",
            "dismissed",
            "open",
            "upheld",
        ]
        assert platform.publish() == 1  # the queued freeze survived the restart
        assert platform.index.state.status(eid4) is mindex.EntryStatus.FROZEN
        platform.checkpoint()
        client.audit_and_cosign(auditor, client.new_auditor(auditor, MemoryStorage()))
        hook = IncentiveHook()
        for height, body, _ in platform.ledger.storage.entries():
            hook.apply(Entry.decode(body), height)
        assert isinstance(platform.hook, IncentiveHook)
        assert hook.engine.balances() == platform.hook.engine.balances()
        assert hook.state_root() == platform.hook.state_root()
    finally:
        auditor.close()
        p_run.stop()
        platform.close()


def test_a_crash_after_the_ledger_accepted_a_filing_is_recovered(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = consortium
    p_run, platform = start_platform(c)
    k_run, _ = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    paddr, kaddr = f"localhost:{p_run.port}", f"localhost:{k_run.port}"
    b = client.Session.connect(c, "sec-b", paddr, kaddr)
    broker = client.Session.connect(c, "sec-c", paddr, kaddr)
    try:
        client.contribute(b, SyntheticSource(seed=4).records(3))
        platform.publish()
        eid = next(iter(platform.index.state.live_by_tag().values()))[0].entry_id

        def crash(request_hash: bytes, height: int) -> None:
            raise OSError("disk gone")

        monkeypatch.setattr(platform.store, "confirm", crash)
        with pytest.raises(grpc.RpcError) as e:  # the ledger took the filing, the index store did not
            open_dispute(broker, eid, cosigners=ADMINS)
        assert _code(e) is grpc.StatusCode.INTERNAL
        assert [r.status for r in platform._dispute_store().all()] == ["filing"]
    finally:
        b.close()
        broker.close()
        p_run.stop()
        k_run.stop()
        platform.close()
    platform = Platform(Consortium.load(c.root))
    try:  # the staged freeze is confirmed against the ledger, the filing opens
        assert [r.status for r in platform._dispute_store().all()] == ["open"]
        assert platform.publish() == 1
        assert platform.index.state.status(eid) is mindex.EntryStatus.FROZEN
    finally:
        platform.close()
