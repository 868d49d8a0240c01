"""RFC 9162 Merkle trees (Certificate Transparency v2): hashes, roots, inclusion and consistency
proofs and their verifiers, over SM3 (the default) or SHA-256.

leaf = H(0x00 ‖ entry), node = H(0x01 ‖ left ‖ right), the root of the empty tree is H("").

Three layers, all pure:

* list functions — ``root``, ``inclusion_proof``, ``consistency_proof`` over a list of leaf
  hashes (they rebuild the tree; fine for small trees and tests);
* **plans** — ``inclusion_plan`` / ``consistency_plan`` / ``root_plan`` turn (index, sizes) into
  the coordinates of the perfect subtrees a proof needs, so a store that keeps every complete
  node (``Coord`` = (level, index) covering leaves [index·2^level, (index+1)·2^level)) answers a
  proof with O(log n) reads and at most O(log n) hashes, never rehashing the tree;
  ``*_from(get_nodes, …)`` run a plan against such a store;
* incremental structures — ``CompactRange`` (the O(log n) frontier of [0, n) that a sequencer
  keeps; each append reports the complete nodes it finished, for the store) and ``Tree`` (every
  complete node in memory).

Verifiers return ``None`` or raise :class:`~mpc.exceptions.InvalidProof`.

>>> leaf = leaf_hash(b"entry", "sha256")
>>> root([leaf], "sha256") == leaf
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Literal

from mpc._binding import MERKLE_HASH_SIZE, MERKLE_SHA256, MERKLE_SM3, lib
from mpc.exceptions import InvalidProof
from mpc.sm3 import sm3

__all__ = [
    "ALGORITHMS",
    "HASH_SIZE",
    "CompactRange",
    "Coord",
    "HashAlg",
    "NodeReader",
    "Tree",
    "consistency_plan",
    "consistency_proof",
    "consistency_proof_from",
    "empty_root",
    "inclusion_plan",
    "inclusion_proof",
    "inclusion_proof_from",
    "leaf_hash",
    "leaf_hashes",
    "node_hash",
    "range_coords",
    "root",
    "root_from",
    "root_from_inclusion",
    "root_plan",
    "verify_consistency",
    "verify_inclusion",
]

HashAlg = Literal["sm3", "sha256"]
ALGORITHMS: tuple[HashAlg, ...] = ("sm3", "sha256")
HASH_SIZE = MERKLE_HASH_SIZE
_CODES: dict[str, int] = {"sm3": MERKLE_SM3, "sha256": MERKLE_SHA256}
_EMPTY: dict[str, bytes] = {"sm3": sm3(b""), "sha256": hashlib.sha256(b"").digest()}

Coord = tuple[int, int]
"""(level, index): the perfect subtree over leaves [index·2^level, (index+1)·2^level)."""
NodeReader = Callable[[Sequence[Coord]], Sequence[bytes]]
"""Reads complete nodes by coordinate (level 0 = leaf hashes), in the order asked."""


def _code(alg: str) -> int:
    try:
        return _CODES[alg]
    except (KeyError, TypeError):
        raise ValueError(
            f"Merkle hash algorithm must be one of {', '.join(ALGORITHMS)}, not {alg!r}"
        ) from None


def _check_size(name: str, v: int) -> None:
    if not isinstance(v, int) or isinstance(v, bool):
        raise TypeError(f"{name} must be an int")
    if not 0 <= v < 1 << 63:
        raise ValueError(f"{name} must be between 0 and 2^63 - 1")


# ---- hashes ---------------------------------------------------------------------------------


def empty_root(alg: HashAlg = "sm3") -> bytes:
    """The root of the empty tree, H("")."""
    _code(alg)
    return _EMPTY[alg]


def leaf_hash(data: bytes | bytearray | memoryview, alg: HashAlg = "sm3") -> bytes:
    """H(0x00 ‖ data)."""
    return lib.merkle_leaf_hash(_code(alg), data)


def leaf_hashes(entries: Iterable[bytes], alg: HashAlg = "sm3") -> list[bytes]:
    """Leaf hashes of many entries in one native call."""
    items = entries if isinstance(entries, list | tuple) else list(entries)
    out = lib.merkle_leaf_hashes(_code(alg), items)
    return [out[i : i + HASH_SIZE] for i in range(0, len(out), HASH_SIZE)]


def node_hash(left: bytes, right: bytes, alg: HashAlg = "sm3") -> bytes:
    """H(0x01 ‖ left ‖ right) of two 32-byte child hashes."""
    return lib.merkle_node_hash(_code(alg), left, right)


def _fold(hashes: Sequence[bytes], code: int) -> bytes:
    if len(hashes) == 1:
        return hashes[0]
    return lib.merkle_fold(code, b"".join(hashes))


def root(leaf_hashes: Sequence[bytes], alg: HashAlg = "sm3") -> bytes:
    """The tree head of ``leaf_hashes`` (RFC 9162, 2.1.1)."""
    code = _code(alg)
    if not leaf_hashes:
        return empty_root(alg)
    return lib.merkle_root(code, b"".join(leaf_hashes))


# ---- plans: which perfect subtrees a proof needs ---------------------------------------------


def _split(n: int) -> int:
    """The largest power of two strictly below n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_coords(start: int, end: int) -> list[Coord]:
    """The perfect subtrees, left to right, whose fold is the hash of leaves [start, end).

    Every range that RFC 9162's recursion produces starts at a multiple of the smallest power of
    two ≥ its length, so its pieces follow the binary digits of its length, largest first.
    """
    n = end - start
    if n <= 0:
        raise ValueError("empty leaf range")
    out: list[Coord] = []
    pos = start
    for level in range(n.bit_length() - 1, -1, -1):
        if n >> level & 1:
            if pos % (1 << level):
                raise ValueError("leaf range is not aligned as RFC 9162 subtrees are")
            out.append((level, pos >> level))
            pos += 1 << level
    return out


def root_plan(size: int) -> list[Coord]:
    """The perfect subtrees whose fold is the root of a tree of ``size`` ≥ 1 leaves."""
    return range_coords(0, size)


def inclusion_plan(index: int, size: int) -> list[list[Coord]]:
    """For each element of the inclusion proof of leaf ``index`` in a tree of ``size`` leaves
    (RFC 9162, 2.1.3.1, leaf side first), the perfect subtrees whose fold it is."""
    _check_size("index", index)
    _check_size("size", size)
    if index >= size:
        raise ValueError(f"leaf index {index} is not below the tree size {size}")
    top_down: list[list[Coord]] = []
    a, n, m = 0, size, index
    while n > 1:
        k = _split(n)
        if m < k:
            top_down.append(range_coords(a + k, a + n))
            n = k
        else:
            top_down.append(range_coords(a, a + k))
            a, m, n = a + k, m - k, n - k
    top_down.reverse()
    return top_down


def consistency_plan(old_size: int, new_size: int) -> list[list[Coord]]:
    """The subtrees of each element of the consistency proof between trees of ``old_size`` and
    ``new_size`` leaves (RFC 9162, 2.1.4.1). Empty when old_size is 0 or equals new_size."""
    _check_size("old size", old_size)
    _check_size("new size", new_size)
    if old_size > new_size:
        raise ValueError(f"old size {old_size} exceeds new size {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    top_down: list[list[Coord]] = []
    a, n, m, whole = 0, new_size, old_size, True
    while m != n:
        k = _split(n)
        if m <= k:
            top_down.append(range_coords(a + k, a + n))
            n = k
        else:
            top_down.append(range_coords(a, a + k))
            a, m, n, whole = a + k, m - k, n - k, False
    if not whole:
        top_down.append(range_coords(a, a + n))
    top_down.reverse()
    return top_down


def _run_plan(plan: list[list[Coord]], get_nodes: NodeReader, code: int) -> list[bytes]:
    flat = [c for piece in plan for c in piece]
    nodes = list(get_nodes(flat)) if flat else []
    if len(nodes) != len(flat) or any(len(h) != HASH_SIZE for h in nodes):
        raise ValueError("node reader returned the wrong number or size of hashes")
    out: list[bytes] = []
    pos = 0
    for piece in plan:
        out.append(_fold(nodes[pos : pos + len(piece)], code))
        pos += len(piece)
    return out


def root_from(get_nodes: NodeReader, size: int, alg: HashAlg = "sm3") -> bytes:
    """The root of the first ``size`` leaves of a node store."""
    code = _code(alg)
    _check_size("size", size)
    if size == 0:
        return empty_root(alg)
    return _run_plan([root_plan(size)], get_nodes, code)[0]


def inclusion_proof_from(get_nodes: NodeReader, index: int, size: int, alg: HashAlg = "sm3") -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of the first ``size`` leaves of a node store."""
    return _run_plan(inclusion_plan(index, size), get_nodes, _code(alg))


def consistency_proof_from(
    get_nodes: NodeReader, old_size: int, new_size: int, alg: HashAlg = "sm3"
) -> list[bytes]:
    """The consistency proof between the first ``old_size`` and ``new_size`` leaves of a node store."""
    return _run_plan(consistency_plan(old_size, new_size), get_nodes, _code(alg))


# ---- list functions --------------------------------------------------------------------------


def inclusion_proof(
    leaf_hashes: Sequence[bytes], index: int, size: int | None = None, alg: HashAlg = "sm3"
) -> list[bytes]:
    """The inclusion proof of leaf ``index`` in the tree of the first ``size`` (default all) leaves."""
    size = len(leaf_hashes) if size is None else size
    if size > len(leaf_hashes):
        raise ValueError(f"tree size {size} exceeds the {len(leaf_hashes)} leaves given")
    return inclusion_proof_from(Tree(alg, leaf_hashes[:size]).get_nodes, index, size, alg)


def consistency_proof(
    leaf_hashes: Sequence[bytes], old_size: int, new_size: int | None = None, alg: HashAlg = "sm3"
) -> list[bytes]:
    """The consistency proof between the trees of the first ``old_size`` and ``new_size`` leaves."""
    new_size = len(leaf_hashes) if new_size is None else new_size
    if new_size > len(leaf_hashes):
        raise ValueError(f"tree size {new_size} exceeds the {len(leaf_hashes)} leaves given")
    return consistency_proof_from(Tree(alg, leaf_hashes[:new_size]).get_nodes, old_size, new_size, alg)


# ---- verifiers -------------------------------------------------------------------------------


def _check_proof(proof: Sequence[bytes]) -> bytes:
    if any(not isinstance(p, bytes | bytearray) or len(p) != HASH_SIZE for p in proof):
        raise InvalidProof("every proof element must be a 32-byte hash")
    return b"".join(proof)


def root_from_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], alg: HashAlg = "sm3"
) -> bytes:
    """The root that an inclusion proof implies (RFC 9162, 2.1.3.2); raises InvalidProof when the
    proof cannot belong to (index, size)."""
    code = _code(alg)
    _check_size("index", index)
    _check_size("size", size)
    if len(leaf_hash) != HASH_SIZE:
        raise InvalidProof("leaf hash must be 32 bytes")
    if index >= size:
        raise InvalidProof(f"leaf index {index} is not below the tree size {size}")
    return lib.merkle_inclusion_root(code, leaf_hash, index, size, _check_proof(proof))


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes, alg: HashAlg = "sm3"
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves with head ``root``."""
    if root_from_inclusion(leaf_hash, index, size, proof, alg) != root:
        raise InvalidProof("inclusion proof does not lead to the root")


def verify_consistency(
    old_size: int,
    new_size: int,
    old_root: bytes,
    new_root: bytes,
    proof: Sequence[bytes],
    alg: HashAlg = "sm3",
) -> None:
    """Check that the tree of ``new_size`` leaves with head ``new_root`` extends the tree of
    ``old_size`` leaves with head ``old_root`` (RFC 9162, 2.1.4.2)."""
    code = _code(alg)
    _check_size("old size", old_size)
    _check_size("new size", new_size)
    path = list(proof)
    _check_proof(path)
    if old_size > new_size:
        raise InvalidProof(f"old size {old_size} exceeds new size {new_size}")
    if old_size == new_size:
        if path or old_root != new_root:
            raise InvalidProof("equal sizes need equal roots and an empty proof")
        return
    if old_size == 0:
        if path:
            raise InvalidProof("a proof from the empty tree must be empty")
        return
    if not path:
        raise InvalidProof("consistency proof is empty")
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    node = lib.merkle_node_hash
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node(code, c, fr)
            sr = node(code, c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(code, sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof("consistency proof is too short")
    if fr != old_root:
        raise InvalidProof("consistency proof does not lead to the old root")
    if sr != new_root:
        raise InvalidProof("consistency proof does not lead to the new root")


# ---- incremental structures ------------------------------------------------------------------


class CompactRange:
    """The compact range [0, size): the roots of the perfect subtrees that the binary digits of
    ``size`` name, largest first. O(log n) state, enough to append and to compute the root; each
    append returns the complete nodes (level ≥ 1) it finished so a store can keep them."""

    __slots__ = ("_code", "_hashes", "alg", "size")

    def __init__(self, alg: HashAlg = "sm3", size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        self._code = _code(alg)
        self.alg: HashAlg = alg
        _check_size("size", size)
        want = len(root_plan(size)) if size else 0
        if len(hashes) != want or any(len(h) != HASH_SIZE for h in hashes):
            raise ValueError(f"a compact range of size {size} needs {want} hashes of 32 bytes")
        self.size = size
        self._hashes = [bytes(h) for h in hashes]

    @classmethod
    def from_nodes(cls, get_nodes: NodeReader, size: int, alg: HashAlg = "sm3") -> CompactRange:
        """Restore the frontier of the first ``size`` leaves from a node store."""
        hashes = list(get_nodes(root_plan(size))) if size else []
        return cls(alg, size, hashes)

    @property
    def hashes(self) -> list[bytes]:
        return list(self._hashes)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Append one leaf hash; returns the finished complete nodes (level, index, hash)."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError("leaf hash must be 32 bytes")
        done: list[tuple[int, int, bytes]] = []
        cur = bytes(leaf_hash)
        index, level = self.size, 0
        node = lib.merkle_node_hash
        while index & 1:
            cur = node(self._code, self._hashes.pop(), cur)
            index >>= 1
            level += 1
            done.append((level, index, cur))
        self._hashes.append(cur)
        self.size += 1
        return done

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append many leaf hashes in one native call (the completed nodes are not reported)."""
        if not leaf_hashes:
            return
        leaves = b"".join(leaf_hashes)
        if len(leaves) != HASH_SIZE * len(leaf_hashes):
            raise ValueError("leaf hashes must be 32 bytes")
        out = lib.merkle_compact_extend(self._code, self.size, b"".join(self._hashes), leaves)
        self._hashes = [out[i : i + HASH_SIZE] for i in range(0, len(out), HASH_SIZE)]
        self.size += len(leaf_hashes)

    def root(self) -> bytes:
        if not self._hashes:
            return empty_root(self.alg)
        return _fold(self._hashes, self._code)

    def copy(self) -> CompactRange:
        return CompactRange(self.alg, self.size, self._hashes)

    def __repr__(self) -> str:
        return f"CompactRange(alg={self.alg!r}, size={self.size})"


class Tree:
    """Every complete node of a growing tree, in memory (one bytearray per level): roots and
    proofs for any earlier size without rehashing. ``get_nodes`` is a :data:`NodeReader`."""

    __slots__ = ("_code", "_levels", "alg")

    def __init__(self, alg: HashAlg = "sm3", leaf_hashes: Sequence[bytes] = ()) -> None:
        self._code = _code(alg)
        self.alg: HashAlg = alg
        self._levels: list[bytearray] = [bytearray()]
        if leaf_hashes:
            self.extend(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self._levels[0]) // HASH_SIZE

    def append(self, leaf_hash: bytes) -> None:
        self.extend([leaf_hash])

    def extend(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append leaf hashes; the new complete nodes are hashed level by level in C."""
        if any(len(h) != HASH_SIZE for h in leaf_hashes):
            raise ValueError("leaf hashes must be 32 bytes")
        old = self.size
        self._levels[0] += b"".join(leaf_hashes)
        level = 0
        while True:
            lv = self._levels[level]
            count = len(lv) // HASH_SIZE
            start = (old // 2) * 2  # first pair not yet hashed
            end = (count // 2) * 2
            if end <= start:
                break
            if level + 1 == len(self._levels):
                self._levels.append(bytearray())
            self._levels[level + 1] += lib.merkle_parents(
                self._code, memoryview(lv)[start * HASH_SIZE : end * HASH_SIZE]
            )
            old //= 2
            level += 1

    def get_nodes(self, coords: Sequence[Coord]) -> list[bytes]:
        out = []
        for level, index in coords:
            lv = self._levels[level] if level < len(self._levels) else b""
            h = bytes(lv[index * HASH_SIZE : (index + 1) * HASH_SIZE])
            if len(h) != HASH_SIZE:
                raise ValueError(f"node ({level}, {index}) is not complete in a tree of {self.size}")
            out.append(h)
        return out

    def leaf(self, index: int) -> bytes:
        return self.get_nodes([(0, index)])[0]

    def root(self, size: int | None = None) -> bytes:
        return root_from(self.get_nodes, self.size if size is None else self._within(size), self.alg)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof_from(
            self.get_nodes, index, self.size if size is None else self._within(size), self.alg
        )

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new = self.size if new_size is None else self._within(new_size)
        return consistency_proof_from(self.get_nodes, old_size, new, self.alg)

    def _within(self, size: int) -> int:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is beyond the {self.size} leaves held")
        return size

    def __repr__(self) -> str:
        return f"Tree(alg={self.alg!r}, size={self.size})"
