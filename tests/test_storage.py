"""One conformance suite, run against every storage backend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.storage import Batch, CheckpointRow, Storage, StorageError, open_storage
from ledger.storage.memory import MemoryStorage
from ledger.storage.sqlite import SQLiteStorage
from mpc import merkle

BACKENDS = ["memory", "sqlite"]


def _make(kind: str, path: Path) -> Storage:
    if kind == "memory":
        return MemoryStorage()
    return SQLiteStorage(str(path / "ledger.db"))


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    s = _make(request.param, tmp_path)
    yield s
    s.close()


def _batch(start: int, bodies: list[bytes], cr: merkle.CompactRange) -> Batch:
    b = Batch(start)
    for body in bodies:
        leaf = merkle.leaf_hash(body)
        b.entries.append((body, leaf))
        b.nodes.extend(cr.append(leaf))
    return b


def test_is_a_storage(store: Storage) -> None:
    assert isinstance(store, Storage)
    assert store.size() == 0 and list(store.entries()) == [] and store.latest_checkpoint() is None


def test_append_read_and_proofs(store: Storage) -> None:
    cr = merkle.CompactRange()
    bodies = [b"entry %d" % i for i in range(37)]
    store.commit(_batch(0, bodies[:10], cr))
    store.commit(_batch(10, bodies[10:], cr))
    assert store.size() == 37
    assert store.entry(12) == bodies[12]
    assert [b for _, b, _ in store.entries(5, 9)] == bodies[5:9]
    assert [i for i, _, _ in store.entries()] == list(range(37))
    leaves = [merkle.leaf_hash(b) for b in bodies]
    ref = merkle.Tree("sm3", leaves)
    for size in (1, 16, 21, 37):
        assert merkle.root_from(store.get_nodes, size) == ref.root(size)
        for index in (0, size // 2, size - 1):
            assert merkle.inclusion_proof_from(store.get_nodes, index, size) == ref.inclusion_proof(
                index, size
            )
    assert merkle.consistency_proof_from(store.get_nodes, 13, 37) == ref.consistency_proof(13, 37)
    with pytest.raises(IndexError):
        store.entry(37)
    with pytest.raises(KeyError):
        store.get_nodes([(6, 0)])


def test_batch_must_continue_the_log(store: Storage) -> None:
    cr = merkle.CompactRange()
    store.commit(_batch(0, [b"a"], cr))
    with pytest.raises(StorageError):
        store.commit(Batch(5, [(b"x", bytes(32))]))
    with pytest.raises(StorageError):
        store.commit(Batch(0, [(b"x", bytes(32))]))
    assert store.size() == 1 and store.entry(0) == b"a"


def test_nonces(store: Storage) -> None:
    big = 2**64 - 1  # u64 member ids at the int64 edge
    store.commit(Batch(0, nonces=[(7, b"n" * 16, 1000), (big, b"m" * 16, 2000), (2**63, b"k" * 16, 3000)]))
    assert store.nonce_seen(7, b"n" * 16) == 1000
    assert store.nonce_seen(big, b"m" * 16) == 2000
    assert store.nonce_seen(2**63, b"k" * 16) == 3000
    assert store.nonce_seen(8, b"n" * 16) is None
    store.commit(Batch(0, nonces=[(7, b"n" * 16, 5000)]))  # first sighting wins
    assert store.nonce_seen(7, b"n" * 16) == 1000
    assert sorted(store.nonces_since(2000)) == sorted([(big, b"m" * 16, 2000), (2**63, b"k" * 16, 3000)])
    assert store.prune_nonces(2500) == 2
    assert store.nonce_seen(big, b"m" * 16) is None and store.nonce_seen(2**63, b"k" * 16) == 3000


def test_meta_checkpoints_and_cosignatures(store: Storage) -> None:
    cr = merkle.CompactRange()
    b = _batch(0, [b"a", b"b"], cr)
    b.meta["log_id"] = b"L" * 16
    b.checkpoints.append(CheckpointRow(2, b"cp2", b"sig2"))
    store.commit(b)
    b = _batch(2, [b"c"], cr)
    b.checkpoints.append(CheckpointRow(3, b"cp3", b"sig3"))
    store.commit(b)
    assert store.get_meta("log_id") == b"L" * 16 and store.get_meta("nope") is None
    assert store.checkpoint(2) == CheckpointRow(2, b"cp2", b"sig2")
    assert store.latest_checkpoint() == CheckpointRow(3, b"cp3", b"sig3")
    assert [c.size for c in store.checkpoints()] == [2, 3]
    store.add_cosignature(2, 2**64 - 1, b"co1")
    store.add_cosignature(2, 5, b"co2")
    assert store.cosignatures(2) == {2**64 - 1: b"co1", 5: b"co2"}
    assert store.cosignatures(3) == {}
    with pytest.raises(StorageError):
        store.add_cosignature(9, 5, b"x")
    with pytest.raises(StorageError):
        store.commit(Batch(3, checkpoints=[CheckpointRow(3, b"again", b"s")]))
    with pytest.raises(StorageError):
        store.commit(Batch(3, checkpoints=[CheckpointRow(4, b"ahead", b"s")]))
    assert store.size() == 3


def test_failed_commit_changes_nothing(store: Storage) -> None:
    cr = merkle.CompactRange()
    store.commit(_batch(0, [b"a"], cr))
    b = _batch(1, [b"b"], cr)
    b.checkpoints.append(CheckpointRow(1, b"cp", b"s"))
    store.commit(Batch(1, checkpoints=[CheckpointRow(1, b"cp", b"s")]))
    with pytest.raises(StorageError):
        store.commit(b)  # duplicate checkpoint: the whole batch is refused
    assert store.size() == 1 and [x for _, x, _ in store.entries()] == [b"a"]


@settings(max_examples=15)
@given(st.lists(st.lists(st.binary(max_size=30), max_size=6), max_size=6))
def test_batches_equal_reference(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[bytes]]
) -> None:
    d = tmp_path_factory.mktemp("h")
    stores: list[Storage] = [MemoryStorage(), SQLiteStorage(str(d / "x.db"))]
    crs = [merkle.CompactRange(), merkle.CompactRange()]
    for bodies in batches:
        for s, cr in zip(stores, crs, strict=True):
            s.commit(_batch(s.size(), bodies, cr))
    flat = [b for bodies in batches for b in bodies]
    for s in stores:
        assert [x for _, x, _ in s.entries()] == flat
        if flat:
            assert merkle.root_from(s.get_nodes, len(flat)) == merkle.root(
                [merkle.leaf_hash(x) for x in flat]
            )
        s.close()


def test_sqlite_durability_settings_and_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "l.db")
    s = SQLiteStorage(path)
    assert s._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert s.migrations() == ["0001 ledger tables"]
    cr = merkle.CompactRange()
    s.commit(_batch(0, [b"a", b"b", b"c"], cr))
    s.close()
    s2 = SQLiteStorage(path)
    assert s2.size() == 3 and s2.migrations() == ["0001 ledger tables"]
    restored = merkle.CompactRange.from_nodes(s2.get_nodes, 3)
    assert restored.root() == cr.root()
    s2.close()
    assert os.path.exists(path)


def test_open_storage(tmp_path: Path) -> None:
    assert isinstance(open_storage(None), MemoryStorage)
    s = open_storage(str(tmp_path / "o.db"))
    assert isinstance(s, SQLiteStorage)
    s.close()
