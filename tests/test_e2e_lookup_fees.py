"""Every lookup evaluation is recorded on the ledger (and paid) exactly once, over real gRPC:
concurrent lookups of one broker share an evaluation and an entry, a broker cannot evaluate on
without recording, a receipt cannot be recorded twice, and a restart settles what the ledger holds."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest

from api import client
from api.consortium import Consortium
from api.meter import MAX_UNRECORDED
from api.platform import Platform
from api.roles import start_keyholder, start_platform
from ledger.entry import Entry, Kind
from ledger.storage.memory import MemoryStorage
from mpc.records import SyntheticSource, oprf_input
from tests._service import consortium as live_consortium
from tests._service import ledger_entries

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor",
    "broker:broker+mirror",
    "audit-1:auditor",
]


@pytest.fixture
def consortium(tmp_path: Path) -> Consortium:
    return live_consortium(tmp_path / "c", SPECS)


def _lookup_entries(platform: Platform) -> list[Entry]:
    return [e for e in ledger_entries(platform) if e.kind is Kind.LOOKUP]


def test_lookup_fees_are_recorded_once(consortium: Consortium) -> None:
    c = consortium
    p_run, platform = start_platform(c)
    k_run, keyholder = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    paddr, kaddr = f"localhost:{p_run.port}", f"localhost:{k_run.port}"
    a = client.Session.connect(c, "sec-a", paddr, kaddr)
    broker = client.Session.connect(c, "broker", paddr, kaddr)
    auditor = client.Session.connect(c, "audit-1", paddr, kaddr)
    try:
        # an auditor can witness the genesis checkpoints before anything is published
        audit_state = client.new_auditor(auditor, MemoryStorage())
        assert client.audit_and_cosign(auditor, audit_state).index_size == 0
        src = SyntheticSource(seed=11)
        recs = src.records(60)
        assert client.contribute(a, recs).accepted == 60
        platform.publish()
        platform.checkpoint()
        client.audit_and_cosign(auditor, audit_state)
        mirror = client.Mirror()
        client.sync(broker, mirror)

        # 24 desks of one broker at once: every answer right, fewer entries than lookups, and the
        # entries' evaluation counts add up to the lookups (each pays its fee)
        queries = [(r.subject_type, r.subject_id, True) for r in recs[:16]]
        queries += [(recs[0].subject_type, src.resident_id(), False) for _ in range(8)]
        outcomes: list[client.LookupOutcome] = []
        errors: list[BaseException] = []
        start = threading.Barrier(len(queries))

        def desk(q: tuple[object, str, bool]) -> None:
            st, sid, expect = q
            start.wait()
            try:
                out = client.lookup_mirror(broker, mirror, st, sid)  # type: ignore[arg-type]
                assert out.result.hit == expect
                outcomes.append(out)
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=desk, args=(q,)) for q in queries]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors[0]
        entries = _lookup_entries(platform)
        assert sum(e.request.int_field("evaluations") for e in entries) == len(queries)
        assert len(entries) == len({o.receipt.index for o in outcomes}) < len(queries)
        assert max(o.batched_with for o in outcomes) > 1

        # a receipt recorded once cannot be recorded again (nor moved to another entry)
        ev = broker.oprf.evaluate([oprf_input(recs[0].subject_type, recs[0].subject_id)], Kind.LOOKUP)
        client._record_lookup(broker, ev.receipts, mode=1)
        with pytest.raises(grpc.RpcError) as e:
            client._record_lookup(broker, ev.receipts, mode=1)
        assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "already recorded" in (e.value.details() or "")

        # a broker that stops recording is stopped: MAX_UNRECORDED evaluations, then a refusal
        held = [
            broker.oprf.evaluate([oprf_input(recs[0].subject_type, src.resident_id())], Kind.LOOKUP)
            for _ in range(MAX_UNRECORDED)
        ]
        with pytest.raises(grpc.RpcError) as e:
            broker.oprf.evaluate([oprf_input(recs[0].subject_type, src.resident_id())], Kind.LOOKUP)
        assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "not yet recorded" in (e.value.details() or "")
        for ev in held[:-1]:
            client._record_lookup(broker, ev.receipts, mode=1)
        assert client.lookup_mirror(broker, mirror, recs[1].subject_type, recs[1].subject_id).result.hit

        # crash after the ledger entry, before the meter learnt it: a restart settles it
        last = held[-1]
        raw, sigs = broker.request(
            Kind.LOOKUP, {"epoch": c.epoch, "evaluations": 1, "mode": 1, "receipts": tuple(last.receipts)}
        )
        platform.ledger.submit(raw, sigs)  # straight into the log, as if the platform died next
    finally:
        for s in (a, broker, auditor):
            s.close()
        p_run.stop()
        platform.close()
    p_run, platform = start_platform(c)
    try:
        broker = client.Session.connect(c, "broker", f"localhost:{p_run.port}", kaddr)
        with pytest.raises(grpc.RpcError) as e:
            client._record_lookup(broker, last.receipts, mode=1)
        assert "already recorded" in (e.value.details() or "")
        assert platform.evaluator.meter.unrecorded() == {}
        broker.close()
    finally:
        p_run.stop()
        k_run.stop()
        platform.close()
        keyholder.meter.close()
