"""End to end over real gRPC on loopback: mirror screening (with an interrupted, resumed run)
and bilateral screening against a contributor's own server; results equal the plain
intersection; ledger entries carry the receipts and counts."""

from __future__ import annotations

import csv
import random
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from api import cli, client, convert, screen_client
from api.consortium import Consortium, init_consortium
from api.contributor_server import contributor_address, start_contributor
from api.platform import Platform
from api.roles import start_keyholder, start_platform
from ledger.checkpoint import Checkpoint
from ledger.entry import Code, Entry, Kind, Role
from ledger.storage.memory import MemoryStorage
from mpc import screen as sc
from mpc.records import Category, RiskRecord, Status, SubjectType, SyntheticSource

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
        tmp_path / "c", SPECS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0"
    )
    yield Consortium.load(c.root)


def _publish(platform: Platform, s: client.Session, recs: list[RiskRecord]) -> None:
    """Publish the index and cut a checkpoint that covers it. The ledger's own checkpointer may
    already have cut one at the contribution's height before the publication, and a checkpoint
    needs new entries: a re-upload (a no-op contribution) gives it one."""
    platform.publish()
    client.contribute(s, recs[:1])
    cp = platform.checkpoint()
    latest = platform.ledger.storage.latest_checkpoint()
    assert latest is not None
    assert cp is None or cp.checkpoint.index_size == platform.index.size
    assert Checkpoint.decode(latest.body).index_size == platform.index.size


def _expected(records: list[RiskRecord], ids: sc.IdFile) -> dict[tuple[SubjectType, str], set[Category]]:
    cats: dict[tuple[SubjectType, str], set[Category]] = {}
    for r in records:
        if r.status is Status.ACTIVE:
            cats.setdefault((r.subject_type, r.subject_id), set()).add(r.category)
    return {s: cats[s] for s in ids.subjects if s in cats}


def _id_file(records: list[RiskRecord], src: SyntheticSource, extra: int, seed: int) -> str:
    hits = [f"{r.subject_type.value},{r.subject_id}" for r in records[::2]]
    misses = [sid for _, sid in src.ids(extra)]
    lines = hits + misses + hits[:3]  # duplicates are screened once
    random.Random(seed).shuffle(lines)
    return "subject_type,subject_id\n" + "\n".join(
        x if "," in x else f"{'person' if x[:17].isdigit() else 'org'},{x}" for x in lines
    )


def test_screen_mirror_resume_and_bilateral(consortium: Consortium, tmp_path: Path) -> None:
    c = consortium
    p_run, platform = start_platform(c)
    k_run, keyholder = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    paddr, kaddr = f"localhost:{p_run.port}", f"localhost:{k_run.port}"
    sessions: list[client.Session] = []
    contributor = None
    try:
        a = client.Session.connect(c, "sec-a", paddr, kaddr)
        b = client.Session.connect(c, "sec-b", paddr, kaddr)
        broker = client.Session.connect(c, "sec-c", paddr, kaddr)
        auditor = client.Session.connect(c, "audit-1", paddr, kaddr)
        sessions = [a, b, broker, auditor]
        src = SyntheticSource(seed=11)
        recs_a = src.records(30)
        recs_b = src.records(20)
        client.contribute(a, recs_a)
        client.contribute(b, recs_b, named=True)
        _publish(platform, a, recs_a)
        client.audit_and_cosign(auditor, client.new_auditor(auditor, MemoryStorage()))
        mirror = client.Mirror()
        client.sync(broker, mirror)

        ids = sc.parse_ids(_id_file(recs_a + recs_b, src, 40, 1))
        assert ids.ok and ids.duplicates >= 3
        nchunks = -(-len(ids.subjects) // 16)
        assert nchunks >= 3
        want = _expected(recs_a + recs_b, ids)
        assert len(want) >= 20

        # An interrupted run: the progress callback stops it after the first chunk.
        journal = tmp_path / "run.journal"
        seen: list[int] = []

        def stop_after_one(n: int) -> None:
            seen.append(n)
            if len(seen) == 1:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            screen_client.screen_mirror(broker, mirror, ids, journal, chunk=16, progress=stop_after_one)
        with sc.Journal(journal, sc.run_id(ids.inputs(), sc.MODE_MIRROR, chunk=16), chunks=nchunks) as j:
            done_first = j.done()
        assert 1 <= done_first < nchunks
        period = int(time.time() * 1000) // (24 * 3600 * 1000)
        used_before = platform.evaluator.meter.used(broker.member.id, period)
        out = screen_client.screen_mirror(broker, mirror, ids, journal, chunk=16)
        # Resumed: the journaled chunks are replayed, only the rest is evaluated (and charged).
        assert out.replayed == 16 * done_first
        assert out.replayed + out.evaluated == len(ids.subjects)
        assert platform.evaluator.meter.used(broker.member.id, period) - used_before == out.evaluated
        assert keyholder.meter.used(broker.member.id, period) == len(ids.subjects)
        got = {(f.subject_type, f.subject_id): set(f.categories) for f in out.flagged}
        assert got == want
        named_b = {(r.subject_type, r.subject_id) for r in recs_b}
        for f in out.flagged:
            assert ids.lines[ids.subjects.index((f.subject_type, f.subject_id))] == f.line
            if (f.subject_type, f.subject_id) in named_b:
                assert "sec-b" in f.contributors
        assert len(out.entries) == 1
        entry = Entry.decode(platform.ledger.storage.entry(out.entries[0].index))
        assert entry.kind is Kind.SCREEN and entry.code == Code.ACCEPTED
        assert entry.int_field("evaluations") == len(ids.subjects) and entry.int_field("mode") == 1
        receipts = entry.request.fields["receipts"]
        assert isinstance(receipts, tuple) and len(receipts) == 2 * nchunks
        # The platform binds the entry to its chunks: another chunk hash with the same receipts fails.
        raw, sigs = broker.request(
            Kind.SCREEN,
            {**entry.request.fields, "chunk_hash": bytes(32)},
        )
        with pytest.raises(grpc.RpcError) as bad:
            broker.ledger.Submit(convert.signed_request(raw, sigs), timeout=30)
        assert bad.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "chunk hash" in (bad.value.details() or "")
        # Running it again replays everything and records nothing new.
        again = screen_client.screen_mirror(broker, mirror, ids, journal, chunk=16)
        assert again.evaluated == 0 and again.entries == [] and again.flagged == out.flagged
        # Another ID list cannot reuse the journal.
        other = sc.parse_ids("\n".join(sid for _, sid in src.ids(5)))
        with pytest.raises(sc.JournalMismatch):
            screen_client.screen_mirror(broker, mirror, other, journal, chunk=16)

        # Bilateral: sec-b keeps its own list; the broker learns flagged IDs and categories.
        extra = [
            RiskRecord(r.subject_type, r.subject_id, Category.OTHER, 100, r.event_date, "x", Status.REVOKED)
            for r in src.records(5)
        ]
        contributor, _ = start_contributor(c, "sec-b", recs_b + extra)
        size_before = platform.ledger.storage.size()
        bi = screen_client.screen_bilateral(broker, "sec-b", contributor_address(c, "sec-b"), ids)
        want_b = _expected(recs_b, ids)
        assert {(f.subject_type, f.subject_id): set(f.categories) for f in bi.flagged} == want_b
        assert bi.charged >= len(ids.subjects) * 1.27
        entry = Entry.decode(platform.ledger.storage.entry(bi.entries[0].index))
        assert entry.code == Code.ACCEPTED and entry.int_field("mode") == 2
        assert entry.int_field("counterpart") == c.member("sec-b").id
        assert entry.int_field("evaluations") == bi.charged
        assert platform.ledger.storage.size() == size_before + 1
        # A member without the broker role is refused before any work.
        with pytest.raises(grpc.RpcError) as e:
            screen_client.screen_bilateral(b, "sec-b", contributor_address(c, "sec-b"), ids)
        assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
        assert not c.member("sec-b").roles & Role.BROKER
        assert platform.ledger.storage.size() == size_before + 1
    finally:
        for s in sessions:
            s.close()
        if contributor is not None:
            contributor.stop()
        p_run.stop()
        k_run.stop()
        platform.close()


def test_malformed_id_file_changes_nothing(consortium: Consortium, tmp_path: Path) -> None:
    c = consortium
    p_run, platform = start_platform(c)
    k_run, _ = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    try:
        broker = client.Session.connect(c, "sec-c", f"localhost:{p_run.port}", f"localhost:{k_run.port}")
        ids = sc.parse_ids("110101199003074514\nnot-an-id\nperson,110101199003074515\n")
        assert [e.line for e in ids.errors] == [2, 3]
        size = platform.ledger.storage.size()
        with pytest.raises(ValueError, match="line 2"):
            screen_client.screen_mirror(broker, client.Mirror(), ids, tmp_path / "j")
        assert not (tmp_path / "j").exists()
        assert platform.ledger.storage.size() == size
        broker.close()
    finally:
        p_run.stop()
        k_run.stop()
        platform.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_cli_screen_mirror_and_bilateral(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    c = init_consortium(
        tmp_path / "c",
        SPECS,
        platform_address=f"127.0.0.1:{_free_port()}",
        keyholder_address=f"127.0.0.1:{_free_port()}",
    )
    c = Consortium.load(c.root)
    p_run, platform = start_platform(c)
    k_run, _ = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    contributor = None
    try:
        a = client.Session.connect(c, "sec-a")
        auditor = client.Session.connect(c, "audit-1")
        src = SyntheticSource(seed=5)
        recs = src.records(25)
        client.contribute(a, recs)
        _publish(platform, a, recs)
        client.audit_and_cosign(auditor, client.new_auditor(auditor, MemoryStorage()))
        a.close()
        auditor.close()
        base = ["--dir", str(c.root), "--as", "sec-c", "screen"]
        bad = tmp_path / "bad.txt"
        bad.write_text(f"{recs[0].subject_id}\n110101199003074515\n")
        out = tmp_path / "flagged.csv"
        size = platform.ledger.storage.size()
        assert cli.main([*base, str(bad), "--out", str(out)]) == 2
        assert "line 2" in capsys.readouterr().err
        assert not out.exists() and platform.ledger.storage.size() == size
        good = tmp_path / "ids.txt"
        good.write_text(_id_file(recs, src, 15, 2))
        ids = sc.parse_ids(good.read_text())
        assert cli.main([*base, str(good), "--out", str(out)]) == 0
        err = capsys.readouterr().err
        assert "IDs screened" in err and "flagged" in err
        assert stat.S_IMODE(out.stat().st_mode) == 0o600
        rows = list(csv.DictReader(out.read_text().splitlines()))
        want = _expected(recs, ids)
        assert {(SubjectType(r["subject_type"]), r["subject_id"]) for r in rows} == set(want)
        assert not (tmp_path / "flagged.csv.journal").exists()  # removed after a complete run
        contributor, _ = start_contributor(c, "sec-a", recs)
        assert cli.main([*base, str(good), "--out", str(out), "--with", "sec-a"]) == 0
        rows_b = list(csv.DictReader(out.read_text().splitlines()))
        assert {(r["subject_id"], r["categories"]) for r in rows_b} == {
            (r["subject_id"], r["categories"]) for r in rows
        }
    finally:
        if contributor is not None:
            contributor.stop()
        p_run.stop()
        k_run.stop()
        platform.close()
