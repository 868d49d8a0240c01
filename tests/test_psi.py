"""KKRT batched OPRF / PSI: the output equals the plain intersection; stash; typed errors."""

from __future__ import annotations

import os

import numpy as np
import numpy.typing as npt
import pytest

from mpc import psi
from mpc.exceptions import MalformedMessage, ProtocolAbort, ProtocolStateError

HEADER = 30


def run(receiver_items: psi.Items, sender_items: psi.Items, **kw: object) -> tuple[list[int], list[bytes]]:
    r = psi.PSIReceiver(receiver_items, **kw)  # type: ignore[arg-type]
    s = psi.PSISender(sender_items, cipher=str(kw.get("cipher", "aes")))
    msgs = [r.start()]
    msgs.append(s.respond(msgs[-1]))
    msgs.append(r.request(msgs[-1]))
    msgs.append(s.answer(msgs[-1]))
    return r.finish(msgs[-1]), msgs


def random_sets(n_r: int, n_s: int, common: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
    rng = np.random.default_rng()
    x = np.frombuffer(os.urandom(16 * n_s), np.uint8).reshape(n_s, 16)
    y = np.frombuffer(os.urandom(16 * n_r), np.uint8).reshape(n_r, 16).copy()
    y[rng.choice(n_r, common, replace=False)] = x[rng.choice(n_s, common, replace=False)]
    return y, x


def plain(y: npt.NDArray[np.uint8], x: npt.NDArray[np.uint8]) -> list[int]:
    xs = {bytes(v) for v in x}
    return [i for i in range(len(y)) if bytes(y[i]) in xs]


@pytest.mark.parametrize(
    ("n_r", "n_s", "common"), [(1, 1, 1), (1, 5, 0), (300, 1000, 120), (4096, 2000, 1500)]
)
def test_psi_equals_plain_intersection(n_r: int, n_s: int, common: int) -> None:
    y, x = random_sets(n_r, n_s, common)
    hits, _ = run(y, x)
    assert hits == plain(y, x)
    assert len(hits) == common


@pytest.mark.slow
def test_psi_2_16() -> None:
    y, x = random_sets(1 << 16, 1 << 16, 5000)
    hits, msgs = run(y, x)
    assert hits == plain(y, x)
    assert sum(map(len, msgs)) < 10_000_000


def test_psi_sm4_variant() -> None:
    y, x = random_sets(200, 300, 50)
    hits, _ = run(y, x, cipher="sm4")
    assert hits == plain(y, x)


def test_psi_bytes_items_and_duplicates() -> None:
    sender = [f"11010519491231002{i % 10}".encode() for i in range(40)] + [b"dup", b"dup"]
    receiver = [b"dup", b"nothing", b"110105194912310025", b"dup", b"x" * 100]
    hits, _ = run(receiver, sender)
    assert hits == [0, 2, 3]


def test_psi_disjoint_and_identical() -> None:
    y, x = random_sets(500, 500, 0)
    assert run(y, x)[0] == []
    assert run(x, x)[0] == list(range(500))


def test_stash_is_used_and_correct(monkeypatch: pytest.MonkeyPatch) -> None:
    """Too few bins force items into the stash; stash items still intersect correctly."""
    monkeypatch.setattr(psi, "_bins", lambda n: n)  # load 1.0: beyond 3-hash cuckoo's threshold
    y, x = random_sets(400, 400, 400)
    r = psi.PSIReceiver(y, stash_size=64)
    s = psi.PSISender(x)
    m3 = r.request(s.respond(r.start()))
    assert len(r._stash) > 0
    assert r.finish(s.answer(m3)) == list(range(400))


def test_cuckoo_failure_is_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psi, "_bins", lambda n: n // 2 + 8)
    y, x = random_sets(200, 10, 0)
    r = psi.PSIReceiver(y, stash_size=1)
    s = psi.PSISender(x)
    msg = s.respond(r.start())
    with pytest.raises(psi.CuckooFailure):
        r.request(msg)


def test_psi_messages_bind_the_session_and_order() -> None:
    y, x = random_sets(50, 50, 10)
    r, s = psi.PSIReceiver(y), psi.PSISender(x)
    m1 = r.start()
    with pytest.raises(ProtocolStateError):
        s.answer(m1)
    m2 = s.respond(m1)
    r2 = psi.PSIReceiver(y)
    r2.start()
    with pytest.raises(ProtocolAbort):
        r2.request(m2)  # another session
    with pytest.raises(MalformedMessage):
        r.request(m2[:-1])
    r, s = psi.PSIReceiver(y), psi.PSISender(x)
    m3 = r.request(s.respond(r.start()))
    with pytest.raises(MalformedMessage):
        s.answer(m3 + b"\x00")
    r, s = psi.PSIReceiver(y), psi.PSISender(x)
    m4 = s.answer(r.request(s.respond(r.start())))
    with pytest.raises(ProtocolAbort):
        r.finish(m4[: HEADER - 8] + (0).to_bytes(4, "big") + m4[HEADER - 4 :])
    with pytest.raises(ProtocolStateError):
        r.finish(m4)
    with pytest.raises(ValueError):
        psi.PSIReceiver(np.zeros((3, 8), np.uint8))
    with pytest.raises(ValueError):
        psi.PSIReceiver(y, stash_size=1000)


def test_sender_values_are_shuffled_and_unlinkable() -> None:
    """Two runs over the same sets give unrelated values (fresh OPRF key s per run)."""
    y, x = random_sets(64, 64, 64)
    _, a = run(y, x)
    _, b = run(y, x)
    va, vb = a[3][HEADER:], b[3][HEADER:]
    assert len(va) == len(vb) and va != vb


def test_batched_oprf_agrees_between_parties() -> None:
    m = 300
    inputs = np.frombuffer(os.urandom(16 * m), np.uint8).reshape(m, 16)
    r, s = psi.OPRFReceiver(inputs, output_size=32), psi.OPRFSender()
    s.receive(r.request(s.respond(r.start())))
    out = r.outputs()
    assert out.shape == (m, 32)
    idx = np.arange(m)
    assert (s.evaluate(idx, inputs) == out).all()
    # Another item, or another instance, gives an unrelated value.
    other = np.frombuffer(os.urandom(16 * m), np.uint8).reshape(m, 16)
    assert not (s.evaluate(idx, other) == out).all(axis=1).any()
    assert not (s.evaluate((idx + 1) % m, inputs) == out).all(axis=1).any()
    with pytest.raises(ValueError):
        s.evaluate([m], inputs[:1])
    with pytest.raises(ProtocolStateError):
        psi.OPRFSender().evaluate([0], inputs[:1])


def _labelled_run(
    y: psi.Items, x: psi.Items, labels: list[bytes], **kw: object
) -> tuple[list[int], list[bytes]]:
    r = psi.PSIReceiver(y, **kw)  # type: ignore[arg-type]
    s = psi.PSISender(x, labels=labels, cipher=str(kw.get("cipher", "aes")))
    hits = r.finish(s.answer(r.request(s.respond(r.start()))))
    return hits, r.labels()


@pytest.mark.parametrize("cipher", ["aes", "sm4"])
def test_labels_reach_the_receiver_for_hits_only(cipher: str) -> None:
    y, x = random_sets(500, 800, 200)
    labels = [os.urandom(40) for _ in range(len(x))]
    by_item = {bytes(v): lab for v, lab in zip(x, labels, strict=True)}
    hits, got = _labelled_run(y, x, labels, cipher=cipher)
    assert hits == plain(y, x)
    assert got == [by_item[bytes(y[i])] for i in hits]


def test_labels_with_duplicates_and_stash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(psi, "_bins", lambda n: n)
    y, x = random_sets(300, 300, 300)
    y = np.concatenate([y, y[:5]])  # the receiver repeats some items
    labels = [i.to_bytes(4, "big") for i in range(300)]
    by_item = {bytes(v): lab for v, lab in zip(x, labels, strict=True)}
    r = psi.PSIReceiver(y, stash_size=64)
    s = psi.PSISender(x, labels=labels)
    m3 = r.request(s.respond(r.start()))
    assert r._stash
    hits = r.finish(s.answer(m3))
    assert hits == list(range(305))
    assert r.labels() == [by_item[bytes(y[i])] for i in hits]


def test_label_arguments() -> None:
    y, x = random_sets(10, 10, 3)
    with pytest.raises(ValueError):
        psi.PSISender(x, labels=[b"a"] * 9)
    with pytest.raises(ValueError):
        psi.PSISender(x, labels=[b"a"] * 9 + [b"bb"])
    r = psi.PSIReceiver(y)
    with pytest.raises(ProtocolStateError):
        r.labels()
    r, s = psi.PSIReceiver(y), psi.PSISender(x)
    r.finish(s.answer(r.request(s.respond(r.start()))))
    with pytest.raises(ValueError):
        r.labels()
