"""Screening protocol logic: ID files, the journal, mirror matching, labeled PSI, receipts."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.directory import Directory, MemberRecord
from api.screen_wire import ScreenHello, ScreenReceipt, check_bilateral, run_hash
from ledger.entry import FieldValue, Kind, Request, Role
from mpc import index as ix
from mpc import psi
from mpc import screen as sc
from mpc.exceptions import InvalidSignature
from mpc.records import Category, RiskRecord, Status, SubjectType, SyntheticSource, oprf_input
from mpc.sm2 import SM2PrivateKey

EPOCH = b"\x00" * 16 + b"\x00" * 7 + b"\x01"
PERSON = "11010519491231002X"  # GB 11643-1999 Appendix A


def test_parse_ids_formats_and_errors() -> None:
    src = SyntheticSource(3)
    org = src.uscc()
    text = "\ufeffsubject_id\n# a comment\n\n" + "\n".join(
        [PERSON.lower(), org, "person,110101199003074514", "org," + org, "bogus", "person," + org, "x,y,z"]
    )
    ids = sc.parse_ids(text)
    assert ids.subjects == [
        (SubjectType.PERSON, PERSON),
        (SubjectType.ORG, org),
        (SubjectType.PERSON, "110101199003074514"),
    ]
    assert ids.lines == [4, 5, 6]
    assert ids.duplicates == 1
    assert [e.line for e in ids.errors] == [8, 9, 10]
    assert "expected 1 or 2 fields" in ids.errors[2].reason
    assert str(ids.errors[0]).startswith("line 8: ")
    assert not ids.ok
    assert ids.inputs()[0] == oprf_input(SubjectType.PERSON, PERSON)


def test_parse_ids_edge_cases() -> None:
    assert sc.parse_ids(b"\xff\xfe").errors[0].reason == "file is not UTF-8"
    assert sc.parse_ids("\n# only comments\n").errors[0].reason == "the file holds no ID"
    assert "longer than" in sc.parse_ids("1" * 300).errors[0].reason
    bad_digit = sc.parse_ids("110101199003074515")
    assert "check digit" in bad_digit.errors[0].reason
    limited = sc.parse_ids(f"{PERSON}\n110101199003074514\n", limit=1)
    assert limited.errors[0].line == 2 and len(limited.subjects) == 1
    assert sc.parse_ids("subject_type,subject_id\nfirm,X").errors[0].reason.startswith("subject type")


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(range(6)), min_size=1, max_size=40))
def test_parse_ids_dedupes_in_order(picks: list[int]) -> None:
    pool = [sid for _, sid in SyntheticSource(5).ids(6)]
    ids = sc.parse_ids("\n".join(pool[i] for i in picks))
    assert ids.ok
    order = list(dict.fromkeys(pool[i] for i in picks))
    assert [sid for _, sid in ids.subjects] == order
    assert ids.duplicates == len(picks) - len(order)


def test_chunks_and_hashes() -> None:
    assert sc.chunk_ranges(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert sc.chunk_ranges(0) == []
    a = sc.run_id([b"\x01a"], sc.MODE_MIRROR)
    assert a != sc.run_id([b"\x01b"], sc.MODE_MIRROR)
    assert a != sc.run_id([b"\x01a"], sc.MODE_BILATERAL)
    assert a != sc.run_id([b"\x01a"], sc.MODE_MIRROR, chunk=16)
    assert sc.segment_hash([b"1" * 32]) != sc.segment_hash([b"2" * 32])


def test_journal_replays_and_refuses_other_runs(tmp_path: Path) -> None:
    path = tmp_path / "j"
    run = os.urandom(32)
    with sc.Journal(path, run, chunks=2) as j:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert j.get(0, b"h0") is None
        j.put(0, b"h0", [b"o1", b"o2"], [b"r1", b""])
        j.mark_recorded(0, 17)
    with sc.Journal(path, run, chunks=2) as j:
        assert j.get(0, b"h0") == ([b"o1", b"o2"], [b"r1", b""])
        assert j.done() == 1 and j.recorded(0) == 17 and j.recorded(1) is None
        with pytest.raises(sc.JournalMismatch):
            j.get(0, b"other ids")
    with pytest.raises(sc.JournalMismatch):
        sc.Journal(path, os.urandom(32), chunks=2)
    with pytest.raises(sc.JournalMismatch):
        sc.Journal(path, run, chunks=3)


def test_match_mirror_against_plain_intersection() -> None:
    src = SyntheticSource(9)
    recs = src.records(40)
    recs[1] = recs[1].with_status(Status.REVOKED)
    h_of: dict[bytes, bytes] = {}
    secret = ix.ContributorSecret.generate()
    log = ix.IndexLog()
    for r in recs:
        h = h_of.setdefault(r.oprf_input(), os.urandom(32))
        log.submit(ix.IndexOp.add(ix.seal_entry(h, EPOCH, r, secret).entry))
    delta = log.publish()
    mirror = ix.MirrorIndex()
    mirror.apply_delta(delta, log.checkpoint())
    subjects = [(r.subject_type, r.subject_id) for r in recs[::3]] + list(src.ids(10))
    ids = sc.parse_ids("\n".join(f"{t.value},{s}" for t, s in subjects))
    outputs = [h_of.get(x, os.urandom(32)) for x in ids.inputs()]
    rows = sc.match_mirror(mirror, ids, outputs, EPOCH)
    want: dict[tuple[SubjectType, str], set[Category]] = {}
    for r in recs:
        if r.status is Status.ACTIVE and (r.subject_type, r.subject_id) in set(ids.subjects):
            want.setdefault((r.subject_type, r.subject_id), set()).add(r.category)
    assert {(f.subject_type, f.subject_id): set(f.categories) for f in rows} == want
    text = sc.results_csv(rows)
    assert text.splitlines()[0] == "line,subject_type,subject_id,categories,records,contributors"
    assert len(text.splitlines()) == len(rows) + 1
    with pytest.raises(ValueError):
        sc.match_mirror(mirror, ids, outputs[:-1], EPOCH)


def test_category_mask_round_trip() -> None:
    for n in range(16):
        assert sc.category_mask(sc.categories_of(n)) == n
    assert sc.categories_of(5) == (Category.ADMIN_PENALTY, Category.PLEDGE_DEFAULT)


def test_contributor_items_merge_categories() -> None:
    r = RiskRecord.create("person", PERSON, "admin_penalty", 1, "2020-01-01", "a")
    items, labels = sc.contributor_items(
        [r, RiskRecord.create("person", PERSON, "other", 2, "2020-01-02", "b"), r.with_status(Status.REVOKED)]
    )
    assert items == [oprf_input(SubjectType.PERSON, PERSON)]
    assert labels == [bytes([1, 1 | 8])]
    assert sc.label_categories(labels[0]) == (Category.ADMIN_PENALTY, Category.OTHER)
    for bad in (b"\x01", b"\x02\x01", b"\x01\x10"):
        with pytest.raises(ValueError):
            sc.label_categories(bad)
    assert sc.contributor_items([r.with_status(Status.REVOKED)]) == ([], [])


def _labeled_run(x: list[bytes], y: list[bytes], labels: list[bytes]) -> list[tuple[int, bytes]]:
    r, s = psi.PSIReceiver(y, stash_size=2), psi.PSISender(x, labels=labels)
    m4 = s.answer(r.request(s.respond(r.start())))
    assert r.charge == s.charge == psi._bins(len(set(y))) + 2
    return list(zip(r.finish(m4), r.labels(), strict=True))


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.integers(0, 300), st.integers(2, 4))
def test_labeled_psi_equals_intersection(nx: int, ny: int, overlap: int, llen: int) -> None:
    x = [os.urandom(12) for _ in range(nx)]
    y = [os.urandom(12) for _ in range(ny)]
    k = min(overlap, nx, ny)
    y[:k] = x[:k]
    labels = [os.urandom(llen) for _ in x]
    hits = _labeled_run(x, y, labels)
    label_of = dict(zip(x, labels, strict=True))
    assert hits == [(i, label_of[v]) for i, v in enumerate(y) if v in label_of]


def test_labeled_psi_duplicates_and_tamper() -> None:
    x = [b"a", b"b", b"c"]
    # (2-byte labels: 1-byte ones hit a bug in psi's label decryption, see mpc/screen.py)
    hits = _labeled_run(x, [b"b", b"z", b"b"], [b"\x01\x00", b"\x02\x00", b"\x03\x00"])
    assert hits == [(0, b"\x02\x00"), (2, b"\x02\x00")]
    r, s = psi.PSIReceiver([b"a"]), psi.PSISender(x)
    m4 = s.answer(r.request(s.respond(r.start())))
    assert r.finish(m4) == [0]
    with pytest.raises(ValueError):  # the sender attached no labels
        r.labels()
    with pytest.raises(ValueError):
        psi.PSISender(x, labels=[b"\x01", b"\x02\x03", b"\x04"])
    with pytest.raises(ValueError):
        psi.PSISender(x, labels=[b""] * 3)


def _wire_setup() -> tuple[SM2PrivateKey, SM2PrivateKey, Directory, bytes]:
    broker, contributor = SM2PrivateKey.generate(), SM2PrivateKey.generate()
    directory = Directory(
        [
            MemberRecord(3, "b", Role.BROKER, broker.public_key()),
            MemberRecord(4, "c", Role.CONTRIBUTOR, contributor.public_key()),
        ]
    )
    return broker, contributor, directory, os.urandom(16)


def _screen_request(log_id: bytes, charged: int, rh: bytes, receipts: tuple[bytes, ...]) -> Request:
    fields: dict[str, FieldValue] = {
        "epoch": 1,
        "evaluations": charged,
        "mode": 2,
        "chunk_hash": rh,
        "counterpart": 4,
        "receipts": receipts,
    }
    return Request(Kind.SCREEN, log_id, 3, os.urandom(16), 0, 1, fields)


def test_hello_and_receipt_round_trip_and_tamper() -> None:
    broker, contributor, directory, log_id = _wire_setup()
    hello = ScreenHello(log_id, 3, 4, os.urandom(16), 123)
    got, blob = ScreenHello.open(hello.sign(broker))
    assert got == hello
    blob.verify(broker.public_key())
    rh = run_hash(hello.session_id, b"m1", b"m2", 1000)
    signed = ScreenReceipt(log_id, 4, 3, hello.session_id, rh, 1000, 5).sign(contributor)
    forged = ScreenReceipt(log_id, 4, 3, hello.session_id, rh, 1000, 5).sign(broker)
    assert check_bilateral(_screen_request(log_id, 1000, rh, (signed,)), directory, log_id).charged == 1000
    for bad in (
        _screen_request(log_id, 999, rh, (signed,)),  # another charge
        _screen_request(log_id, 1000, os.urandom(32), (signed,)),  # another run
        _screen_request(log_id, 1000, rh, ()),  # no receipt
        _screen_request(log_id, 1000, rh, (signed[:-1] + bytes([signed[-1] ^ 1]),)),  # flipped byte
        _screen_request(log_id, 1000, rh, (forged,)),  # signed by another member
    ):
        with pytest.raises(ValueError):
            check_bilateral(bad, directory, log_id)
    with pytest.raises(ValueError):
        check_bilateral(_screen_request(log_id, 1000, rh, (signed,)), directory, os.urandom(16))
    tampered = bytearray(signed)
    tampered[10] ^= 1
    with pytest.raises(InvalidSignature):
        ScreenReceipt.verified(bytes(tampered), contributor.public_key())


@pytest.mark.parametrize("durable", [False, True])
def test_bilateral_service_checks_and_caps(durable: bool, tmp_path: Path) -> None:
    from api.contributor_server import BilateralService
    from api.errors import BadRequest, PermissionDenied, Refused, Unauthenticated
    from api.meter import Meter

    broker, contributor, directory, log_id = _wire_setup()
    now = [1_000_000]
    items = ([b"\x01" + bytes([i]) * 18 for i in range(50)], [b"\x01\x01"] * 50)
    svc = BilateralService(
        log_id=log_id,
        member_id=4,
        signing_key=contributor,
        directory=directory,
        items=items,
        run_cap=200,
        period_cap=300,
        meter=Meter(tmp_path / "m.db", 300) if durable else None,
        clock=lambda: now[0],
    )
    assert svc.size == 50

    def run(n: int, *, key: SM2PrivateKey = broker, member: int = 3, ts: int | None = None) -> list[int]:
        r = psi.PSIReceiver(items[0][:5] + [os.urandom(19) for _ in range(n - 5)])
        hello = ScreenHello(log_id, member, 4, r.session_id, now[0] if ts is None else ts)
        m1 = r.start()
        m2 = svc.start(hello.sign(key), m1)
        m4, signed = svc.exchange(r.session_id, r.request(m2))
        receipt = ScreenReceipt.verified(signed, contributor.public_key())
        assert receipt.charged == r.charge and receipt.run_hash == run_hash(r.session_id, m1, m2, r.charge)
        return r.finish(m4)

    assert run(100) == [0, 1, 2, 3, 4]  # 127 bins: under both caps
    with pytest.raises(Refused, match="per-run cap"):
        run(200)  # 254 bins
    with pytest.raises(Refused, match="this period"):
        run(150)  # 127 + 191 > 300
    now[0] += 24 * 3600 * 1000  # a new period
    assert run(150) == [0, 1, 2, 3, 4]
    with pytest.raises(Refused, match="window"):
        run(10, ts=now[0] - 10 * 60 * 1000)
    with pytest.raises(Unauthenticated):
        run(10, key=contributor)  # the hello is not signed by the broker it names
    with pytest.raises(PermissionDenied):
        run(10, key=contributor, member=4)  # a contributor without the broker role
    with pytest.raises(BadRequest, match="no open screening run"):
        svc.exchange(os.urandom(16), b"")
