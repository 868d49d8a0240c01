"""api/disputes.py on its own: the binding, the evidence digest and the platform's private book."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from api.disputes import DisputeRecord, DisputeStore, dispute_binding, evidence_digest


def test_binding_and_digest() -> None:
    a, b = b"\x01" * 16, b"\x02" * 16
    assert dispute_binding(a) != dispute_binding(b) and len(dispute_binding(a)) == 32
    with pytest.raises(ValueError):
        dispute_binding(b"short")
    doc = b"complaint naming 110101199003074514"
    assert evidence_digest(b"s1", doc) != evidence_digest(b"s2", doc)  # salted: not guessable
    assert evidence_digest(b"s1", doc) == evidence_digest(b"s1", doc)
    assert evidence_digest(b"ab", b"c") != evidence_digest(b"a", b"bc")  # the salt is framed


def _rec(did: int, request: bytes) -> DisputeRecord:
    return DisputeRecord(did, bytes([did]) * 16, 3, 4, 7, b"", "filing", False, None, None, request)


def test_store_settles_filings_against_the_ledger_after_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "disputes.db"
    store = DisputeStore(path)
    store.add(_rec(1, b"r1" * 16))  # its ledger entry was accepted before the crash
    store.add(_rec(2, b"r2" * 16))  # the crash came before the ledger accepted it
    store.add(_rec(3, b"r3" * 16))
    store.opened(3, 40)
    store.decided(3, True, 41)
    store.close()
    store = DisputeStore(path)
    assert store.settle({b"r1" * 16: 12}) == 2
    got = {r.dispute_id: r for r in store.all()}
    assert set(got) == {1, 3}
    assert got[1].status == "open" and got[1].file_index == 12
    assert got[3].status == "upheld" and got[3].decide_index == 41
    with pytest.raises(sqlite3.IntegrityError):  # one row per dispute id
        store.add(_rec(1, b"r4" * 16))
    store.close()
