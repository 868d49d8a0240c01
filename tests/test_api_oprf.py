"""Two-server OPRF over real gRPC on loopback: metering, receipts and every refusal."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from api._generated import oprf_pb2, oprf_pb2_grpc
from api.directory import Directory, MemberRecord
from api.evaluator import Evaluator
from api.meter import Meter
from api.oprf_client import Identity, Server, TwoServerOprf, fetch_key_epoch
from api.server import Registration, channel, create_server
from api.servicers.oprf import OprfServicer
from ledger.entry import Kind, Role
from ledger.metering import EvaluationReceipt, EvaluationRequest
from mpc import ec, oprf
from mpc.sm2 import SM2PrivateKey
from mpc.sm3 import sm3

LOG_ID = bytes(range(16))
PLATFORM, KEYHOLDER, BROKER, CONTRIBUTOR, STRANGER = 1, 2, 10, 11, 99
EPOCH = 1
QUOTA = 50


@dataclass
class Net:
    keys: dict[int, SM2PrivateKey]
    shares: tuple[oprf.PrivateKey, oprf.PrivateKey]
    meters: tuple[Meter, Meter]
    platform: Server
    keyholder: Server
    epoch: oprf.KeyEpoch

    def client(self, member: int, key: SM2PrivateKey | None = None) -> TwoServerOprf:
        ident = Identity(LOG_ID, member, f"m{member}", key or self.keys[member])
        return TwoServerOprf(ident, self.epoch, EPOCH, self.platform, self.keyholder)


@pytest.fixture
def net(tmp_path: Path) -> Iterator[Net]:
    suite = oprf.SM2_SM3
    keys = {m: SM2PrivateKey.generate() for m in (PLATFORM, KEYHOLDER, BROKER, CONTRIBUTOR, STRANGER)}
    directory = Directory(
        [
            MemberRecord(PLATFORM, "platform", Role.PLATFORM, keys[PLATFORM].public_key()),
            MemberRecord(KEYHOLDER, "keyholder", Role.KEYHOLDER, keys[KEYHOLDER].public_key()),
            MemberRecord(BROKER, "broker", Role.BROKER, keys[BROKER].public_key()),
            MemberRecord(CONTRIBUTOR, "contrib", Role.CONTRIBUTOR, keys[CONTRIBUTOR].public_key()),
        ]
    )
    shares = (oprf.PrivateKey.generate(suite, str(EPOCH)), oprf.PrivateKey.generate(suite, str(EPOCH)))
    epoch = oprf.KeyEpoch(
        suite,
        str(EPOCH),
        (oprf.KeyShare.prove(shares[0], str(PLATFORM)), oprf.KeyShare.prove(shares[1], str(KEYHOLDER))),
    )
    servers, stubs, meters = [], [], []
    for sid, share, name in ((PLATFORM, shares[0], "p"), (KEYHOLDER, shares[1], "k")):
        meter = Meter(tmp_path / f"{name}.db", QUOTA)
        ev = Evaluator(
            log_id=LOG_ID,
            server_id=sid,
            signing_key=keys[sid],
            share=share,
            epoch=EPOCH,
            directory=directory,
            meter=meter,
        )
        reg = Registration(
            "riskshare.v1.Oprf", OprfServicer(ev, epoch, EPOCH), oprf_pb2_grpc.add_OprfServicer_to_server
        )
        server, port = create_server("127.0.0.1:0", [reg])
        server.start()
        servers.append(server)
        meters.append(meter)
        stubs.append(oprf_pb2_grpc.OprfStub(channel(f"127.0.0.1:{port}")))
    yield Net(
        keys,
        shares,
        (meters[0], meters[1]),
        Server(PLATFORM, keys[PLATFORM].public_key(), stubs[0]),
        Server(KEYHOLDER, keys[KEYHOLDER].public_key(), stubs[1]),
        epoch,
    )
    for s in servers:
        s.stop(None)
    for m in meters:
        m.close()


def _used(net: Net, member: int) -> tuple[int, int]:
    period = int(time.time() * 1000) // (24 * 3600 * 1000)
    return net.meters[0].used(member, period), net.meters[1].used(member, period)


def test_two_server_output_equals_single_key_oprf(net: Net) -> None:
    inputs = [b"\x01110101199003074514", b"\x0291350100MA2XYZ1234"]
    result = net.client(BROKER).evaluate(inputs, Kind.LOOKUP)
    # The same inputs under k = k1 + k2 with the RFC's single-key VOPRF give the same outputs.
    curve = oprf.SM2_SM3.curve
    one = b"\x00" * 31 + b"\x01"
    k = ec.scalar_muladd(curve, one, net.shares[0].private_bytes(), net.shares[1].private_bytes())
    key = oprf.PrivateKey(oprf.SM2_SM3, k)
    client = oprf.Client(oprf.SM2_SM3, oprf.Mode.VOPRF, key.public_key)
    state, req = client.blind(inputs)
    assert client.finalize(state, oprf.Server(key, oprf.Mode.VOPRF).blind_evaluate(req)) == result.outputs
    assert len(result.receipts) == 2
    receipts = [EvaluationReceipt.open(r)[0] for r in result.receipts]
    assert {r.server for r in receipts} == {PLATFORM, KEYHOLDER}
    assert all(r.count == 2 and r.member == BROKER and r.purpose == Kind.LOOKUP for r in receipts)
    assert _used(net, BROKER) == (2, 2)


def test_fetch_key_epoch_verifies_shares(net: Net) -> None:
    epoch, number = fetch_key_epoch(net.platform.stub, PLATFORM, KEYHOLDER)
    assert number == EPOCH and epoch.public_key == net.epoch.public_key


def _call(net: Net, signed: bytes, oprf_request: bytes) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as e:
        net.platform.stub.Evaluate(oprf_pb2.EvaluateRequest(signed_request=signed, oprf_request=oprf_request))
    code: grpc.StatusCode = e.value.code()
    return code


def _request(
    net: Net, member: int, purpose: Kind = Kind.LOOKUP, **over: object
) -> tuple[EvaluationRequest, bytes]:
    _, oreq = oprf.TwoServerClient(net.epoch).blind([b"\x01x"])
    fields: dict[str, object] = dict(
        log_id=LOG_ID,
        member=member,
        epoch=EPOCH,
        purpose=purpose,
        count=1,
        batch_hash=sm3(oreq),
        nonce=os.urandom(16),
        timestamp_ms=int(time.time() * 1000),
    )
    fields.update(over)
    return EvaluationRequest(**fields), oreq  # type: ignore[arg-type]


def test_refusals_change_nothing(net: Net) -> None:
    # unknown member
    req, oreq = _request(net, STRANGER)
    assert _call(net, req.sign(net.keys[STRANGER]), oreq) is grpc.StatusCode.UNAUTHENTICATED
    # bad signature: the broker's request signed by someone else
    req, oreq = _request(net, BROKER)
    assert _call(net, req.sign(net.keys[CONTRIBUTOR]), oreq) is grpc.StatusCode.UNAUTHENTICATED
    # wrong role: a contributor asking for a lookup evaluation
    req, oreq = _request(net, CONTRIBUTOR, Kind.LOOKUP)
    assert _call(net, req.sign(net.keys[CONTRIBUTOR]), oreq) is grpc.StatusCode.FAILED_PRECONDITION
    # stale epoch, stale timestamp
    req, oreq = _request(net, BROKER, epoch=EPOCH + 1)
    assert _call(net, req.sign(net.keys[BROKER]), oreq) is grpc.StatusCode.FAILED_PRECONDITION
    req, oreq = _request(net, BROKER, timestamp_ms=int(time.time() * 1000) - 6 * 60 * 1000)
    assert _call(net, req.sign(net.keys[BROKER]), oreq) is grpc.StatusCode.FAILED_PRECONDITION
    # batch that does not match the signed hash
    req, oreq = _request(net, BROKER)
    _, other = oprf.TwoServerClient(net.epoch).blind([b"\x01y"])
    assert _call(net, req.sign(net.keys[BROKER]), other) is grpc.StatusCode.INVALID_ARGUMENT
    # malformed request bytes
    assert _call(net, b"garbage", oreq) is grpc.StatusCode.INVALID_ARGUMENT
    assert _used(net, BROKER) == (0, 0)
    assert _used(net, CONTRIBUTOR) == (0, 0)


def test_replay_is_refused(net: Net) -> None:
    req, oreq = _request(net, BROKER)
    signed = req.sign(net.keys[BROKER])
    net.platform.stub.Evaluate(oprf_pb2.EvaluateRequest(signed_request=signed, oprf_request=oreq))
    assert _call(net, signed, oreq) is grpc.StatusCode.FAILED_PRECONDITION
    assert _used(net, BROKER)[0] == 1


def test_quota_is_hard(net: Net) -> None:
    client = net.client(BROKER)
    client.evaluate([b"\x01%d" % i for i in range(QUOTA)], Kind.LOOKUP)
    with pytest.raises(grpc.RpcError) as e:
        client.evaluate([b"\x01one-more"], Kind.LOOKUP)
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "quota" in e.value.details()
    assert _used(net, BROKER) == (QUOTA, QUOTA)


def test_contributor_evaluations_are_metered_too(net: Net) -> None:
    net.client(CONTRIBUTOR).evaluate([b"\x01a", b"\x01b", b"\x01c"], Kind.CONTRIBUTE)
    assert _used(net, CONTRIBUTOR) == (3, 3)


def test_a_rekeyed_member_is_served_after_one_recheck(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    new_key = SM2PrivateKey.generate()
    c = net.client(BROKER, new_key)  # signs with a key the servers' directory does not hold yet
    with pytest.raises(grpc.RpcError) as e:
        c.evaluate([b"x"], Kind.LOOKUP)
    assert e.value.code() is grpc.StatusCode.UNAUTHENTICATED
    fresh = MemberRecord(BROKER, "broker", Role.BROKER, new_key.public_key())
    asked: list[int] = []

    def recheck(self: Directory, member_id: int) -> MemberRecord | None:
        asked.append(member_id)
        return fresh  # the ledger now names the new key

    monkeypatch.setattr(Directory, "recheck", recheck)
    assert len(c.evaluate([b"x"], Kind.LOOKUP).outputs) == 1
    assert asked == [BROKER, BROKER]  # once by each server (the failed call finished first)
    # a fresher record that still does not verify is a refusal, not a second retry
    stranger = net.client(BROKER, SM2PrivateKey.generate())
    with pytest.raises(grpc.RpcError) as e:
        stranger.evaluate([b"x"], Kind.LOOKUP)
    assert e.value.code() is grpc.StatusCode.UNAUTHENTICATED
