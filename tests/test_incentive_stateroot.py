"""The bucketed RFC 9162 state root: incremental equals from-scratch, proofs, tampering."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from incentive.points import INT64_MAX, INT64_MIN, Book, key, split_key
from incentive.stateroot import StateTree, encode_cell, leaf_hash, node_hash, root_of, verify_proof
from mpc.sm3 import sm3

cell_key = st.builds(key, st.integers(1, 45), st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1))
small_key = st.builds(key, st.integers(1, 3), st.integers(0, 40), st.integers(0, 3))
value = st.integers(INT64_MIN, INT64_MAX)


def test_rfc9162_hashing_with_sm3() -> None:
    assert leaf_hash(b"") == sm3(b"\x00")
    left, right = sm3(b"l"), sm3(b"r")
    assert node_hash(left, right) == sm3(b"\x01" + left + right)


def test_empty_state_root_is_the_tree_of_empty_buckets() -> None:
    assert StateTree().root() == root_of([])


@given(st.builds(key, st.integers(0, 255), st.integers(0, (1 << 64) - 1), st.integers(0, (1 << 64) - 1)))
def test_key_packing_round_trips(k: int) -> None:
    assert key(*split_key(k)) == k


def test_key_range_checked() -> None:
    with pytest.raises(ValueError):
        key(256)
    with pytest.raises(ValueError):
        key(1, 1 << 64)


def test_cell_encoding() -> None:
    assert (
        encode_cell(key(1, 2, 3), -1)
        == bytes([1]) + (2).to_bytes(8, "big") + (3).to_bytes(8, "big") + b"\xff" * 8
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.lists(st.tuples(st.one_of(cell_key, small_key), value), max_size=30), min_size=1, max_size=6)
)
def test_incremental_root_equals_from_scratch(batches: list[list[tuple[int, int]]]) -> None:
    book, tree = Book(), StateTree()
    book.subscribe(tree.dirty)
    for batch in batches:
        deltas: dict[int, int] = {}
        for k, v in batch:
            # a delta landing on v (or deleting when it lands on 0) from the current value
            deltas[k] = v - book.get(k) if v % 3 else -book.get(k)
        book.apply(deltas)
        assert tree.root() == root_of(book.cells.items())


@settings(max_examples=30, deadline=None)
@given(st.dictionaries(small_key, value.filter(bool), min_size=1, max_size=40), st.data())
def test_proofs_verify_and_tampering_fails(cells: dict[int, int], data: st.DataObject) -> None:
    book, tree = Book(), StateTree()
    book.subscribe(tree.dirty)
    book.apply(cells)
    root = tree.root()
    k = data.draw(st.sampled_from(sorted(cells)))
    leaf, path = tree.proof(k)
    assert verify_proof(root, k, leaf, path) == cells[k]
    absent = key(4, 1, 1)
    assert verify_proof(root, absent, *tree.proof(absent)) == 0
    bad = bytearray(leaf)
    bad[-1] ^= 1
    with pytest.raises(ValueError):
        verify_proof(root, k, bytes(bad), path)
    with pytest.raises(ValueError):
        verify_proof(root, k, leaf, path[:-1])
    with pytest.raises(ValueError):
        verify_proof(sm3(root), k, leaf, path)
