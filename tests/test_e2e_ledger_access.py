"""End to end over real loopback gRPC: permissioned ledger reads and the auditors' restore guard.

Every Ledger read needs a member's fresh signed read request bound to the method and its
parameters (api/reads.py); the health service stays open. An auditor keeps the newest checkpoint
it co-signed in its own copy of the log and refuses a platform restored from an old backup or
showing a history that does not extend it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api import cli, client
from api._generated import index_pb2, ledger_pb2, stats_pb2, stats_pb2_grpc
from api.consortium import Consortium, init_consortium
from api.platform import Platform
from api.reads import Reader, ReadMethod
from api.roles import Running, start_keyholder, start_platform
from ledger.storage.memory import MemoryStorage
from ledger.storage.sqlite import SQLiteStorage
from mpc.records import SyntheticSource

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor+broker+mirror",
    "audit-1:auditor",
]


def _consortium(root: Path) -> Consortium:
    init_consortium(
        root, SPECS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0", bucket_size=64
    )
    return Consortium.load(root)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Consortium, Platform, client.Session]]:
    c = _consortium(tmp_path_factory.mktemp("access") / "c")
    p_run, platform = start_platform(c)
    c.platform_address = f"localhost:{p_run.port}"
    k_run, _ = start_keyholder(c)
    s = client.Session.connect(c, "sec-a", c.platform_address, f"localhost:{k_run.port}")
    try:
        yield c, platform, s
    finally:
        s.close()
        p_run.stop()
        k_run.stop()
        platform.close()


def _reads(s: client.Session, auth: Callable[[ReadMethod, int, int], Any]) -> dict[str, Callable[[], object]]:
    """One call of every Ledger read, each with the auth ``auth`` makes for its method and params."""
    led = s.ledger
    return {
        "GetCheckpoint": lambda: led.GetCheckpoint(
            ledger_pb2.CheckpointRequest(size=0, auth=auth(ReadMethod.CHECKPOINT, 0, 0)), timeout=10
        ),
        "GetCheckpoints": lambda: list(
            led.GetCheckpoints(ledger_pb2.CheckpointRequest(size=0, auth=auth(ReadMethod.CHECKPOINTS, 0, 0)))
        ),
        "GetEntries": lambda: list(
            led.GetEntries(ledger_pb2.EntriesRequest(start=0, end=2, auth=auth(ReadMethod.ENTRIES, 0, 2)))
        ),
        "GetInclusionProof": lambda: led.GetInclusionProof(
            ledger_pb2.InclusionRequest(index=0, size=2, auth=auth(ReadMethod.INCLUSION, 0, 2)), timeout=10
        ),
        "GetConsistencyProof": lambda: led.GetConsistencyProof(
            ledger_pb2.ConsistencyRequest(old_size=1, new_size=2, auth=auth(ReadMethod.CONSISTENCY, 1, 2)),
            timeout=10,
        ),
        "GetSnapshotInfo": lambda: s.index.GetSnapshotInfo(
            index_pb2.SnapshotInfoRequest(auth=auth(ReadMethod.SNAPSHOT_INFO, 0, 0)), timeout=10
        ),
    }


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as e:
        call()
    return e.value.code()


def test_a_member_reads_with_a_signed_request(node: tuple[Consortium, Platform, client.Session]) -> None:
    _, platform, s = node
    for name, call in _reads(s, lambda m, a, b: s.reader.ledger(m, a, b)).items():
        if name == "GetSnapshotInfo":  # admitted; nothing is witnessed yet
            assert _code(call) is grpc.StatusCode.NOT_FOUND
            continue
        assert call() is not None, name
    signed, _ = s.get_checkpoint()
    assert signed.checkpoint.size == platform.ledger.storage.latest_checkpoint().size  # type: ignore[union-attr]
    with pytest.raises(grpc.RpcError) as e:  # nobody co-signed yet
        s.get_checkpoint(witnessed=True)
    assert e.value.code() is grpc.StatusCode.NOT_FOUND


def test_reads_without_a_valid_request_are_refused(node: tuple[Consortium, Platform, client.Session]) -> None:
    c, platform, s = node
    before = sum(platform.ledger.metrics.refused.values())
    # no request at all
    for name, call in _reads(s, lambda m, a, b: None).items():
        assert _code(call) is grpc.StatusCode.UNAUTHENTICATED, name

    # another member's id on this member's signature (a forged request)
    def forged(m: ReadMethod, a: int, b: int) -> Any:
        auth = s.reader.ledger(m, a, b)
        auth.member = c.member("audit-1").id
        return auth

    for name, call in _reads(s, forged).items():
        assert _code(call) is grpc.StatusCode.UNAUTHENTICATED, name
    # an unknown member
    stranger = Reader(c.log_id, 999, c.signing_key("sec-a"))
    for name, call in _reads(s, lambda m, a, b: stranger.ledger(m, a, b)).items():
        assert _code(call) is grpc.StatusCode.UNAUTHENTICATED, name
    # a signature bound to other parameters or another method serves no other read
    wrong = s.reader.ledger(ReadMethod.ENTRIES, 0, 1)
    assert (
        _code(lambda: list(s.ledger.GetEntries(ledger_pb2.EntriesRequest(start=0, end=2, auth=wrong))))
        is grpc.StatusCode.UNAUTHENTICATED
    )
    other = s.reader.ledger(ReadMethod.CHECKPOINTS, 0, 0)
    assert (
        _code(lambda: s.ledger.GetCheckpoint(ledger_pb2.CheckpointRequest(size=0, auth=other)))
        is grpc.StatusCode.UNAUTHENTICATED
    )
    # a stale request (outside the ±5 minute window)
    old = Reader(c.log_id, s.member.id, s.identity.signing_key, clock=lambda: time.time() - 600)
    for name, call in _reads(s, lambda m, a, b: old.ledger(m, a, b)).items():
        assert _code(call) is grpc.StatusCode.FAILED_PRECONDITION, name
    # counted in the metrics, not logged as entries
    assert sum(platform.ledger.metrics.refused.values()) >= before + 22
    # the health service stays open
    resp = health_pb2_grpc.HealthStub(s.platform_channel).Check(health_pb2.HealthCheckRequest(service=""))
    assert resp.status == health_pb2.HealthCheckResponse.SERVING


# ---- the auditors' restore guard ------------------------------------------------------------------


def _start(c: Consortium) -> tuple[Running, Platform, client.Session]:
    run, platform = start_platform(c, "127.0.0.1:0")
    c.platform_address = f"localhost:{run.port}"
    c.save()  # the CLI finds the platform through consortium.toml
    return run, platform, client.Session.connect(c, "audit-1", c.platform_address, c.keyholder_address)


def _stop(run: Running, platform: Platform, s: client.Session) -> None:
    s.close()
    run.stop()
    platform.close()


def _grow(platform: Platform, entries: int) -> int:
    """Sequence ``entries`` platform entries (empty index publications) and checkpoint them."""
    for _ in range(entries):
        platform.heartbeat(max_age_s=0)
    platform.checkpoint()  # or the background tick did already
    latest = platform.ledger.latest_checkpoint()
    assert latest is not None and latest.checkpoint.size == platform.ledger.storage.size()
    return latest.checkpoint.size


def _cosign(c: Consortium, s: client.Session) -> int:
    """What `riskshare cosign` does, with the auditor's durable copy reopened for each run."""
    storage = SQLiteStorage(str(c.state_dir("audit-1") / "ledger-copy.db"))
    try:
        return client.audit_and_cosign(s, client.new_auditor(s, storage)).size
    finally:
        storage.close()


def test_an_auditor_refuses_a_platform_restored_from_an_old_backup(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = _consortium(tmp_path / "c")
    state = c.state_dir("platform")
    backup = tmp_path / "backup"
    run, platform, s = _start(c)
    try:
        first = _cosign(c, s)
        _stop(run, platform, s)
        shutil.copytree(state, backup)  # the operator's backup, taken while the platform was down
        run, platform, s = _start(c)
        newer = _grow(platform, 3)
        assert _cosign(c, s) == newer > first
    finally:
        _stop(run, platform, s)
    # the platform is restored from the old backup: smaller than what the auditor co-signed
    shutil.rmtree(state)
    shutil.copytree(backup, state)
    run, platform, s = _start(c)
    try:
        with pytest.raises(client.RestoreGuardRefusal) as e:
            _cosign(c, s)
        assert e.value.seen.size == first and e.value.held.size == newer
        assert f"size {first}" in str(e.value) and f"co-signed the checkpoint of size {newer}" in str(e.value)
        # the command says so and exits 1; nothing was co-signed
        assert cli.main(["--dir", str(c.root), "--as", "audit-1", "cosign"]) == 1
        assert "restored from an old backup" in capsys.readouterr().err
        assert platform.witnessed() is not None and platform.witnessed()[0].checkpoint.size == first  # type: ignore[index]
        # it grows to the co-signed size, and past it, on a history that differs (a split view)
        assert _grow(platform, newer - first) == newer
        with pytest.raises(client.RestoreGuardRefusal) as e:
            _cosign(c, s)
        assert e.value.seen.size == newer and "not consistent" in str(e.value)
        forked = _grow(platform, 2)
        assert forked > newer
        with pytest.raises(client.RestoreGuardRefusal) as e:
            _cosign(c, s)
        assert e.value.seen.size == forked and "not consistent" in str(e.value)
        assert not platform.ledger.storage.cosignatures(forked)
        # the live audit copy is guarded the same way
        assert cli.main(["--dir", str(c.root), "--as", "audit-1", "audit", "fetch"]) == 1
        assert "RESTORE GUARD" in capsys.readouterr().err
        # a fresh auditor without that memory would co-sign: the guard is the auditor's own state
        assert client.audit_and_cosign(s, client.new_auditor(s, MemoryStorage())).size == forked
    finally:
        _stop(run, platform, s)


def test_audit_fetch_copies_the_live_ledger_for_an_offline_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = _consortium(tmp_path / "c")
    run, platform, s = _start(c)
    k_run, _ = start_keyholder(c, "127.0.0.1:0")
    a = client.Session.connect(c, "sec-a", c.platform_address, f"localhost:{k_run.port}")
    try:
        client.contribute(a, SyntheticSource(seed=4).records(5))
        size = _grow(platform, 1)
        _cosign(c, s)
        replica = tmp_path / "copy.db"
        assert cli.main(["--dir", str(c.root), "--as", "audit-1", "audit", "fetch", str(replica)]) == 0
        assert f'"replica_size": {platform.ledger.storage.size()}' in capsys.readouterr().out
        assert cli.main(["audit", "verify", str(replica)]) == 0
        out = capsys.readouterr().out
        assert "ok:" in out and "(1 witnessed)" in out, out
        assert size <= platform.ledger.storage.size()
        # a member without a key of the consortium cannot fetch: the CLI needs --as
        assert cli.main(["--dir", str(c.root), "audit", "fetch", str(replica)]) == 2
    finally:
        a.close()
        k_run.stop()
        _stop(run, platform, s)


def test_reading_a_statistics_round_needs_a_signed_request(
    node: tuple[Consortium, Platform, client.Session],
) -> None:
    _, _, s = node
    stub = stats_pb2_grpc.StatsStub(s.platform_channel)
    assert _code(lambda: stub.GetRound(stats_pb2.RoundRequest(round_id=1))) is grpc.StatusCode.UNAUTHENTICATED
    forged = s.reader.ledger(ReadMethod.ROUND, 2)  # signed for another round
    assert (
        _code(lambda: stub.GetRound(stats_pb2.RoundRequest(round_id=1, auth=forged)))
        is grpc.StatusCode.UNAUTHENTICATED
    )
    good = s.reader.ledger(ReadMethod.ROUND, 1)  # a member's read: the round does not exist
    assert (
        _code(lambda: stub.GetRound(stats_pb2.RoundRequest(round_id=1, auth=good)))
        is grpc.StatusCode.NOT_FOUND
    )
