"""Bad input over the real loopback service: each a clear error, nothing changed, a rejected
entry where the design says so (issue: negative balance, oversized message, forged VOPRF
response, tampered index delta, bad signature, replayed request, unknown member)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from api import client, convert
from api._generated import index_pb2, ledger_pb2_grpc, oprf_pb2
from api.consortium import Consortium
from api.platform import Platform, _sign_admins
from api.server import MAX_MESSAGE_BYTES
from incentive.params import PARAM_IDS
from ledger.entry import Code, Kind, Request, Signature
from ledger.storage.memory import MemoryStorage
from mpc.exceptions import InvalidProof, ProtocolAbort
from mpc.records import RiskRecord, SubjectType, SyntheticSource
from tests._service import consortium, ledger_entries, live

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor",
    "broker:broker+mirror",
    "audit-1:auditor",
]


@dataclass
class Net:
    c: Consortium
    platform: Platform
    a: client.Session
    broker: client.Session
    auditor: client.Session
    records: list[RiskRecord]
    mirror: client.Mirror


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    with live(consortium(tmp_path / "c", SPECS)) as svc:
        records = SyntheticSource(seed=5).records(30)
        svc.contribute("sec-a", records, "audit-1")
        mirror = client.Mirror()
        client.sync(svc["broker"], mirror)
        yield Net(svc.c, svc.platform, svc["sec-a"], svc["broker"], svc["audit-1"], records, mirror)


def test_negative_balance_logs_a_rejected_entry_and_moves_no_points(net: Net) -> None:
    n = net
    c = n.c
    raw = Request(
        Kind.RULE_CHANGE,
        c.log_id,
        min(m.id for m in c.members if m.name == "platform"),
        os.urandom(16),
        int(time.time() * 1000),
        n.broker.rule_version,
        {"new_version": 3, "param_ids": (PARAM_IDS["evaluation_fee"],), "param_values": (10**12,)},
    ).encode()
    n.platform.record(raw, _sign_admins(c, raw))
    n.broker._rule_version = 0  # requests name the rules in force
    engine = n.platform.hook.engine  # type: ignore[attr-defined]
    before = engine.balance(n.broker.member.id)
    size = n.platform.ledger.size
    r = n.records[0]
    with pytest.raises(grpc.RpcError) as e:
        client.lookup_mirror(n.broker, n.mirror, r.subject_type, r.subject_id)
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "rejected by the ledger" in (e.value.details() or "")
    assert engine.balance(n.broker.member.id) == before  # nothing paid, nothing half-applied
    logged = ledger_entries(n.platform)[size - 1 :]
    assert [(x.kind, x.code != Code.ACCEPTED) for x in logged] == [(Kind.LOOKUP, True)]


def test_oversized_message_is_refused_and_changes_nothing(net: Net) -> None:
    n = net
    size = n.platform.ledger.size
    stub = ledger_pb2_grpc.LedgerStub(n.broker.platform_channel)
    raw, sigs = n.broker.request(
        Kind.LOOKUP, {"epoch": n.c.epoch, "evaluations": 1, "mode": 1, "receipts": ()}
    )
    big = convert.signed_request(raw + bytes(MAX_MESSAGE_BYTES), sigs)
    with pytest.raises(grpc.RpcError) as e:
        stub.Submit(big, timeout=30)
    assert e.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert n.platform.ledger.size == size


def test_bad_signature_unknown_member_and_replay_over_grpc(net: Net) -> None:
    n = net
    stub = ledger_pb2_grpc.LedgerStub(n.broker.platform_channel)
    r = n.records[1]
    from mpc.records import oprf_input

    ev = n.broker.oprf.evaluate([oprf_input(r.subject_type, r.subject_id)], Kind.LOOKUP)
    raw, sigs = n.broker.request(
        Kind.LOOKUP, {"epoch": n.c.epoch, "evaluations": 1, "mode": 1, "receipts": tuple(ev.receipts)}
    )
    size = n.platform.ledger.size
    forged = (Signature(sigs[0].signer, bytes(sigs[0].der[:-1]) + bytes([sigs[0].der[-1] ^ 1])),)
    with pytest.raises(grpc.RpcError) as e:
        stub.Submit(convert.signed_request(raw, forged), timeout=30)
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    stranger = Request.decode(raw)
    stranger = replace(stranger, member=999)
    sraw = stranger.encode()
    with pytest.raises(grpc.RpcError) as e:
        stub.Submit(
            convert.signed_request(sraw, (Signature(999, n.broker.identity.signing_key.sign(sraw)),)),
            timeout=30,
        )
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert n.platform.ledger.size == size  # unauthenticated: refused, not logged
    out = stub.Submit(convert.signed_request(raw, sigs), timeout=30)
    assert out.accepted
    with pytest.raises(grpc.RpcError) as e:  # the same signed request again
        stub.Submit(convert.signed_request(raw, sigs), timeout=30)
    assert e.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION)
    assert n.platform.ledger.size == size + 1


class _Tamper:
    """A stub whose answers are altered on the way: a compromised or faulty server."""

    def __init__(self, stub: object, flip: int) -> None:
        self._stub, self._flip = stub, flip

    def Evaluate(
        self, msg: oprf_pb2.EvaluateRequest, timeout: float | None = None
    ) -> oprf_pb2.EvaluateResponse:
        resp = self._stub.Evaluate(msg, timeout=timeout)  # type: ignore[attr-defined]
        out = bytearray(resp.oprf_response)
        out[self._flip] ^= 0x01
        return oprf_pb2.EvaluateResponse(oprf_response=bytes(out), receipt=resp.receipt)


def test_forged_voprf_response_is_caught_before_anything_is_logged(net: Net) -> None:
    n = net
    size = n.platform.ledger.size
    honest = n.broker.oprf.keyholder
    for flip in (8, -1):  # inside an evaluated element, inside the DLEQ proof
        n.broker.oprf.keyholder = replace(honest, stub=_Tamper(honest.stub, flip))  # type: ignore[arg-type]
        r = n.records[2]
        with pytest.raises((InvalidProof, ProtocolAbort, ValueError)):
            client.lookup_mirror(n.broker, n.mirror, r.subject_type, r.subject_id)
    n.broker.oprf.keyholder = honest
    assert n.platform.ledger.size == size  # no lookup entry for an evaluation that did not verify
    r = n.records[2]
    assert client.lookup_mirror(n.broker, n.mirror, r.subject_type, r.subject_id).result.hit


class _TamperSync:
    def __init__(self, stub: object) -> None:
        self._stub = stub

    def SyncIndex(self, req: index_pb2.SyncRequest, timeout: float | None = None) -> Iterator[object]:
        for i, m in enumerate(self._stub.SyncIndex(req, timeout=timeout)):  # type: ignore[attr-defined]
            if i == 0 and m.operations:
                ops = list(m.operations)
                ops[0] = bytes([ops[0][0]]) + bytes([ops[0][1] ^ 1]) + ops[0][2:]
                del m.operations[:]
                m.operations.extend(ops)
            yield m

    def __getattr__(self, name: str) -> object:
        return getattr(self._stub, name)


def test_tampered_index_delta_is_refused_and_the_mirror_is_unchanged(net: Net) -> None:
    n = net
    more = SyntheticSource(seed=6).records(10)
    client.contribute(n.a, more)
    n.platform.publish()
    n.platform.checkpoint()
    client.audit_and_cosign(n.auditor, client.new_auditor(n.auditor, MemoryStorage()))
    before = (n.mirror.index.size, n.mirror.index.root())
    honest = n.broker.index
    n.broker.index = _TamperSync(honest)  # type: ignore[assignment]
    with pytest.raises(InvalidProof):
        client.sync(n.broker, n.mirror)
    assert (n.mirror.index.size, n.mirror.index.root()) == before
    n.broker.index = honest
    client.sync(n.broker, n.mirror)
    assert client.lookup_mirror(n.broker, n.mirror, more[0].subject_type, more[0].subject_id).result.hit
    assert SubjectType.PERSON in {r.subject_type for r in more}
