"""The state root: an RFC 9162 Merkle tree (SM3, :mod:`mpc.merkle`) over the sorted state cells,
kept incrementally.

Format (state-root version 1):

- a cell ``(ns, a, b) = v`` is encoded as ``ns (1 byte) ‖ a (8) ‖ b (8) ‖ v (8, two's complement)``,
  big-endian;
- cells are spread over ``2¹³`` buckets by ``bucket(key)`` below (32 namespace regions of 256
  slots), and
  a bucket's leaf data is the concatenation of its cells' encodings in ascending key order
  (an empty bucket has empty leaf data);
- the root is the RFC 9162 Merkle tree hash over the 8,192 bucket leaves: leaf = SM3(0x00 ‖ data),
  node = SM3(0x01 ‖ left ‖ right).

Buckets keep the work proportional to what changed: a changed cell costs one ``struct.pack``
and a dict store; at :meth:`StateTree.root` each dirty bucket is re-joined and hashed once and the
dirty paths are rehashed. A member can check its balance against a root with its bucket's cells
and a 13-hash path (:meth:`StateTree.proof`).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from incentive.points import split_key
from mpc import merkle

__all__ = [
    "BUCKET_BITS",
    "STATE_ROOT_VERSION",
    "StateTree",
    "bucket",
    "encode_cell",
    "leaf_hash",
    "node_hash",
    "root_of",
    "verify_proof",
]

STATE_ROOT_VERSION = 1
REGION_BITS = 5
SLOT_BITS = 8
BUCKET_BITS = REGION_BITS + SLOT_BITS
_NB = 1 << BUCKET_BITS
_MASK64 = (1 << 64) - 1
_pack = struct.Struct(">BQQq").pack
_pack_key = struct.Struct(">BQQ").pack
_pack_q = struct.Struct(">q").pack


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162, 2.1.1: SM3(0x00 ‖ data)."""
    return merkle.leaf_hash(data, "sm3")


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162, 2.1.1: SM3(0x01 ‖ left ‖ right)."""
    return merkle.node_hash(left, right, "sm3")


def _bucket_of(ns: int, a: int, b: int) -> int:
    return (ns & 31) << SLOT_BITS | ((a ^ b ^ (a >> 8) ^ (b >> 8)) & 255)


def bucket(k: int) -> int:
    """The bucket of the cell ``(ns, a, b)``: region ``ns mod 32`` (so that a burst of balance
    changes rehashes only the balance region), slot = low byte of ``a ⊕ b ⊕ (a >> 8) ⊕ (b >> 8)``
    (spreads consecutive member ids and heights)."""
    return _bucket_of(*split_key(k))


def encode_cell(k: int, v: int) -> bytes:
    """``ns (1) ‖ a (8) ‖ b (8) ‖ value (8, two's complement)``, all big-endian."""
    return _pack(*split_key(k), v)


class StateTree:
    """Incremental bucketed Merkle root over a cell map. Feed changes through ``dirty`` (a dict the
    :class:`~incentive.points.Book` writes ``key → new value`` into) and call :meth:`root`."""

    __slots__ = ("_buckets", "_dirty_buckets", "_levels", "_meta", "dirty")

    def __init__(self) -> None:
        self._buckets: list[dict[int, bytes]] = [{} for _ in range(_NB)]
        empty = leaf_hash(b"")
        levels = [[empty] * _NB]
        while len(levels[-1]) > 1:
            prev = levels[-1]
            levels.append([node_hash(prev[i], prev[i + 1]) for i in range(0, len(prev), 2)])
        self._levels = levels
        self._dirty_buckets: set[int] = set()
        self._meta: dict[int, tuple[int, bytes]] = {}  # key → (bucket, encoded key)
        self.dirty: dict[int, int] = {}

    def _absorb(self) -> None:
        buckets, dirty_b, meta, q = self._buckets, self._dirty_buckets, self._meta, _pack_q
        get, mark = meta.get, dirty_b.add
        for k, v in self.dirty.items():
            m = get(k)
            if m is not None and v:  # the common case: a known cell changes value
                bi, enc = m
                buckets[bi][k] = enc + q(v)
                mark(bi)
            elif m is not None:
                bi = m[0]
                del buckets[bi][k], meta[k]
                mark(bi)
            elif v:
                ns, a, b = split_key(k)
                bi = _bucket_of(ns, a, b)
                enc = _pack_key(ns, a, b)
                meta[k] = (bi, enc)
                buckets[bi][k] = enc + q(v)
                mark(bi)
        self.dirty.clear()

    def _leaf_data(self, bi: int) -> bytes:
        # cell encodings start with their distinct (ns, a, b): sorting them sorts by key
        return b"".join(sorted(self._buckets[bi].values()))

    def root(self) -> bytes:
        """The state root; O(changed cells + dirty buckets' bytes + their paths) since the last call."""
        self._absorb()
        if self._dirty_buckets:
            levels = self._levels
            dirty = sorted(self._dirty_buckets)
            leaves = levels[0]
            hashes = merkle.leaf_hashes([self._leaf_data(bi) for bi in dirty], "sm3")  # one native call
            for bi, h in zip(dirty, hashes, strict=True):
                leaves[bi] = h
            node = merkle.node_hash
            for lvl in range(1, len(levels)):
                below, here = levels[lvl - 1], levels[lvl]
                parents = sorted({i >> 1 for i in dirty})
                for p in parents:
                    here[p] = node(below[2 * p], below[2 * p + 1], "sm3")
                dirty = parents
            self._dirty_buckets.clear()
        return self._levels[-1][0]

    def proof(self, k: int) -> tuple[bytes, list[bytes]]:
        """(the bucket's leaf data, the audit path from that leaf to the root)."""
        self.root()
        bi = bucket(k)
        path = []
        idx = bi
        for lvl in range(len(self._levels) - 1):
            path.append(self._levels[lvl][idx ^ 1])
            idx >>= 1
        return self._leaf_data(bi), path


def verify_proof(root: bytes, k: int, leaf_data: bytes, path: list[bytes]) -> int:
    """The value of cell ``k`` proven by ``(leaf_data, path)`` against ``root`` (0 if absent);
    ``ValueError`` if the proof does not lead to ``root``."""
    bi = bucket(k)
    h = leaf_hash(leaf_data)
    idx = bi
    for sib in path:
        h = node_hash(sib, h) if idx & 1 else node_hash(h, sib)
        idx >>= 1
    if h != root or len(path) != BUCKET_BITS:
        raise ValueError("state proof does not match the root")
    kb = encode_cell(k, 0)[:17]
    for off in range(0, len(leaf_data), 25):
        if leaf_data[off : off + 17] == kb:
            return int.from_bytes(leaf_data[off + 17 : off + 25], "big", signed=True)
    return 0


def root_of(cells: Iterable[tuple[int, int]]) -> bytes:
    """Reference (non-incremental) computation of the state root of a cell map."""
    buckets: list[list[bytes]] = [[] for _ in range(_NB)]
    for k, v in cells:
        if v:
            buckets[bucket(k)].append(encode_cell(k, v))
    return merkle.root([leaf_hash(b"".join(sorted(bk))) for bk in buckets], "sm3")
