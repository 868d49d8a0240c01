from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpc import merkle
from mpc.exceptions import InvalidProof
from tests._vectors import load

CT = load("merkle/ct_testdata.txt")


def _section(name: str) -> list[dict[str, str]]:
    return [v for v in CT if v["section"] == name]


LEAVES = [bytes.fromhex(v["Data"]) for v in _section("leaf")]
ROOTS = {int(v["Size"]): bytes.fromhex(v["Root"]) for v in _section("root")}
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def _proof(v: dict[str, str]) -> list[bytes]:
    raw = bytes.fromhex(v["Proof"])
    return [raw[i : i + 32] for i in range(0, len(raw), 32)]


# ---- an independent slow reference: RFC 9162, 2.1 read literally, hashlib only ---------------


def _h(alg: str, data: bytes) -> bytes:
    return hashlib.new(alg, data).digest()


def ref_mth(alg: str, d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return _h(alg, b"")
    if n == 1:
        return _h(alg, b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(alg, b"\x01" + ref_mth(alg, d[:k]) + ref_mth(alg, d[k:]))


def ref_path(alg: str, m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*ref_path(alg, m, d[:k]), ref_mth(alg, d[k:])]
    return [*ref_path(alg, m - k, d[k:]), ref_mth(alg, d[:k])]


def ref_subproof(alg: str, m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(alg, d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*ref_subproof(alg, m, d[:k], b), ref_mth(alg, d[k:])]
    return [*ref_subproof(alg, m - k, d[k:], False), ref_mth(alg, d[:k])]


def ref_proof(alg: str, m: int, d: list[bytes]) -> list[bytes]:
    return [] if m in (0, len(d)) else ref_subproof(alg, m, d, True)


# ---- published CT test data ------------------------------------------------------------------


def test_ct_leaf_and_node_hashes() -> None:
    tree = merkle.Tree("sha256", merkle.leaf_hashes(LEAVES, "sha256"))
    for v in _section("node"):
        level, index = int(v["Level"]), int(v["Index"])
        assert tree.get_nodes([(level, index)])[0].hex() == v["Hash"]
    assert [merkle.leaf_hash(x, "sha256").hex() for x in LEAVES] == [
        v["Hash"] for v in _section("node") if v["Level"] == "0"
    ]


@pytest.mark.parametrize("size", sorted(ROOTS))
def test_ct_roots(size: int) -> None:
    hashes = merkle.leaf_hashes(LEAVES[:size], "sha256")
    assert merkle.root(hashes, "sha256") == ROOTS[size]
    assert ref_mth("sha256", LEAVES[:size]) == ROOTS[size]
    cr = merkle.CompactRange("sha256")
    for h in hashes:
        cr.append(h)
    assert cr.root() == ROOTS[size]
    tree = merkle.Tree("sha256", merkle.leaf_hashes(LEAVES, "sha256"))
    assert tree.root(size) == ROOTS[size]


@pytest.mark.parametrize("v", _section("inclusion"), ids=lambda v: f"{v['Index']}of{v['Size']}")
def test_ct_inclusion(v: dict[str, str]) -> None:
    index, size, want = int(v["Index"]), int(v["Size"]), _proof(v)
    hashes = merkle.leaf_hashes(LEAVES, "sha256")
    assert merkle.inclusion_proof(hashes, index, size, "sha256") == want
    assert ref_path("sha256", index, LEAVES[:size]) == want
    merkle.verify_inclusion(hashes[index], index, size, want, ROOTS[size], "sha256")
    for probe in _inclusion_tampers(hashes[index], index, size, want, ROOTS[size]):
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(*probe, alg="sha256")


def _inclusion_tampers(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> Iterator[tuple[bytes, int, int, list[bytes], bytes]]:
    yield leaf, index + 1, size, proof, root
    if index:
        yield leaf, index - 1, size, proof, root
    yield leaf, index ^ 2, size, proof, root
    yield leaf, index, size * 2, proof, root
    if size // 2 > index:
        yield leaf, index, size // 2, proof, root
    yield SOME_HASH, index, size, proof, root
    yield leaf, index, size, proof, ROOTS[0]
    yield leaf, index, size, proof, SOME_HASH
    yield leaf, index, size, [*proof, root], root
    yield leaf, index, size, [root, *proof], root
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        yield leaf, index, size, bad, root
    if proof:
        yield leaf, index, size, proof[:-1], root
    if len(proof) > 1:
        yield leaf, index, size, [proof[0], SOME_HASH, *proof[1:]], root


@pytest.mark.parametrize("v", _section("consistency"), ids=lambda v: f"{v['Old']}to{v['New']}")
def test_ct_consistency(v: dict[str, str]) -> None:
    old, new, want = int(v["Old"]), int(v["New"]), _proof(v)
    hashes = merkle.leaf_hashes(LEAVES, "sha256")
    assert merkle.consistency_proof(hashes, old, new, "sha256") == want
    assert ref_proof("sha256", old, LEAVES[:new]) == want
    r1, r2 = ROOTS[old], ROOTS[new]
    merkle.verify_consistency(old, new, r1, r2, want, "sha256")
    if not want:
        return
    probes = [
        (old - 1, new, r1, r2, want),
        (old + 1, new, r1, r2, want),
        (old ^ 2, new, r1, r2, want),
        (old, new * 2, r1, r2, want),
        (old, new // 2, r1, r2, want),
        (old, new, SOME_HASH, r2, want),
        (old, new, r1, SOME_HASH, want),
        (old, new, r2, r1, want),
        (old, new, r1, r2, []),
        (old, new, r1, r2, [*want, r1]),
        (old, new, r1, r2, [*want, r2]),
        (old, new, r1, r2, [r1, *want]),
        (old, new, r1, r2, [r2, *want]),
        (old, new, r1, r2, [want[0], *want]),
        (old, new, r1, r2, want[:-1]),
    ]
    for i in range(len(want)):
        bad = list(want)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((old, new, r1, r2, bad))
    for p in probes:
        if p[0] > p[1] or p[0] == 0:
            continue
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(*p, alg="sha256")


def test_trivial_consistency_cases() -> None:
    r1, r2 = b"\x01" * 32, b"\x02" * 32
    merkle.verify_consistency(0, 0, r1, r1, [])
    merkle.verify_consistency(0, 5, r1, r2, [])
    merkle.verify_consistency(3, 3, r2, r2, [])
    for args in [(3, 3, r1, r2, []), (1, 0, r1, r2, []), (1, 2, r1, r2, []), (0, 1, r1, r1, [r1])]:
        with pytest.raises(InvalidProof):
            merkle.verify_consistency(*args)


def test_inclusion_bad_shapes() -> None:
    h = merkle.leaf_hash(b"data")
    merkle.verify_inclusion(h, 0, 1, [], h)
    for leaf, index, size, proof, root in [
        (h, 0, 1, [], b""),
        (b"", 0, 1, [], h),
        (h, 1, 1, [], h),
        (h, 0, 0, [], h),
        (h, 0, 2, [b"short"], h),
    ]:
        with pytest.raises(InvalidProof):
            merkle.verify_inclusion(leaf, index, size, proof, root)


# ---- SM3 (default) and properties against the reference --------------------------------------


@given(st.lists(st.binary(max_size=40), min_size=1, max_size=70), st.data())
def test_sm3_matches_reference(entries: list[bytes], data: st.DataObject) -> None:
    alg = data.draw(st.sampled_from(merkle.ALGORITHMS))
    size = len(entries)
    hashes = merkle.leaf_hashes(entries, alg)
    assert hashes == [merkle.leaf_hash(e, alg) for e in entries]
    root = merkle.root(hashes, alg)
    assert root == ref_mth(alg, entries)
    index = data.draw(st.integers(0, size - 1))
    proof = merkle.inclusion_proof(hashes, index, alg=alg)
    assert proof == ref_path(alg, index, entries)
    merkle.verify_inclusion(hashes[index], index, size, proof, root, alg)
    old = data.draw(st.integers(0, size))
    cproof = merkle.consistency_proof(hashes, old, alg=alg)
    assert cproof == ref_proof(alg, old, entries)
    merkle.verify_consistency(old, size, merkle.root(hashes[:old], alg), root, cproof, alg)


def test_every_leaf_and_every_pair_of_sizes_small_trees() -> None:
    entries = [i.to_bytes(2, "big") for i in range(33)]
    hashes = merkle.leaf_hashes(entries)
    tree = merkle.Tree("sm3", hashes)
    roots = [tree.root(n) for n in range(34)]
    assert roots[0] == merkle.empty_root() == hashlib.new("sm3", b"").digest()
    cr = merkle.CompactRange()
    for n in range(1, 34):
        cr.append(hashes[n - 1])
        assert cr.root() == roots[n] == ref_mth("sm3", entries[:n])
        for m in range(n):
            merkle.verify_inclusion(hashes[m], m, n, tree.inclusion_proof(m, n), roots[n])
        for m in range(n + 1):
            merkle.verify_consistency(m, n, roots[m], roots[n], tree.consistency_proof(m, n))


def test_compact_range_reports_nodes_and_restores() -> None:
    hashes = merkle.leaf_hashes([bytes([i]) for i in range(13)])
    tree = merkle.Tree("sm3", hashes)
    cr = merkle.CompactRange()
    seen: dict[tuple[int, int], bytes] = {(0, i): h for i, h in enumerate(hashes)}
    for h in hashes:
        for level, index, node in cr.append(h):
            seen[(level, index)] = node
    for (level, index), node in seen.items():
        assert tree.get_nodes([(level, index)]) == [node]
    restored = merkle.CompactRange.from_nodes(lambda cs: [seen[c] for c in cs], 13)
    assert restored.root() == cr.root() == tree.root()
    restored.append(hashes[0])
    tree.append(hashes[0])
    assert restored.root() == tree.root()


def test_compact_range_extend_equals_append() -> None:
    hashes = merkle.leaf_hashes([bytes([i]) for i in range(77)])
    a, b = merkle.CompactRange(), merkle.CompactRange()
    for h in hashes:
        a.append(h)
    for lo, hi in ((0, 1), (1, 8), (8, 8), (8, 31), (31, 77)):
        b.extend(hashes[lo:hi])
        assert b.root() == merkle.root(hashes[:hi])
    assert a.hashes == b.hashes and a.size == b.size == 77


def test_tree_extend_in_batches_equals_one_by_one() -> None:
    hashes = merkle.leaf_hashes([bytes([i]) for i in range(100)])
    a = merkle.Tree("sm3", hashes)
    b = merkle.Tree("sm3")
    for cut in (1, 2, 7, 8, 31, 64, 100):
        b.extend(hashes[b.size : cut])
    assert a.root() == b.root() and a.get_nodes([(5, 2), (6, 0)]) == b.get_nodes([(5, 2), (6, 0)])


def test_plans_read_few_nodes() -> None:
    n = 1_000_003
    plan = merkle.inclusion_plan(765_432, n)
    assert len(plan) <= 20 and sum(len(p) for p in plan) <= 40
    assert sum(len(p) for p in merkle.consistency_plan(123_457, n)) <= 80


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="algorithm"):
        merkle.leaf_hash(b"", "md5")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="32-byte"):
        merkle.node_hash(b"a", b"b")
    with pytest.raises(ValueError):
        merkle.inclusion_plan(5, 5)
    with pytest.raises(ValueError):
        merkle.consistency_plan(6, 5)
    with pytest.raises(TypeError):
        merkle.inclusion_plan(True, 5)
    with pytest.raises(ValueError):
        merkle.range_coords(1, 3)
    with pytest.raises(ValueError):
        merkle.Tree("sm3", [b"x"])
    with pytest.raises(ValueError):
        merkle.CompactRange("sm3", 3, [b"\x00" * 32])
