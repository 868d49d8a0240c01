"""Base OT (Naor–Pinkas 1-of-2, batched) and 1-of-N OT: correctness, aborts, typed errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpc import _binding, ot
from mpc._binding import lib
from mpc.exceptions import MalformedMessage, ProtocolAbort, ProtocolStateError

HEADER = 30  # frame: magic, version, type, session id, two counts


def run_pair(sender: ot.BatchSender, receiver: ot.BatchReceiver) -> list[bytes]:
    return receiver.receive(sender.finish(receiver.respond(sender.start())))


def flip(msg: bytes, pos: int) -> bytes:
    b = bytearray(msg)
    b[pos] ^= 0x01
    return bytes(b)


# ---- 1-of-2 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", [0, 1])
def test_single_ot(choice: int) -> None:
    m0, m1 = os.urandom(48), os.urandom(48)
    s, r = ot.Sender(m0, m1), ot.Receiver(choice)
    assert r.receive(s.finish(r.respond(s.start()))) == (m0, m1)[choice]
    assert r.session_id == s.session_id


@given(st.lists(st.integers(0, 1), min_size=1, max_size=40), st.integers(1, 70))
def test_batch_ot_round_trip(choices: list[int], size: int) -> None:
    pairs = [(os.urandom(size), os.urandom(size)) for _ in choices]
    out = run_pair(ot.BatchSender(pairs), ot.BatchReceiver(choices))
    assert out == [p[c] for p, c in zip(pairs, choices, strict=True)]


def test_receiver_cannot_open_unchosen_messages() -> None:
    """The receiver's whole state (its keys) does not open the other message of any OT."""
    n = 64
    choices = [i & 1 for i in range(n)]
    pairs = [(os.urandom(32), os.urandom(32)) for _ in range(n)]
    s, r = ot.BatchSender(pairs), ot.BatchReceiver(choices)
    msg3 = s.finish(r.respond(s.start()))
    keys, sid = r._keys, r.session_id
    assert sid is not None
    payload = msg3[HEADER:]
    other = bytes(1 - c for c in choices)
    with pytest.raises(ProtocolAbort):
        lib.ot_pair_decrypt(sid, keys, other, payload, 0)
    # Each unchosen message stays hidden: decrypting it with the key the receiver holds gives junk.
    rec = 32 + 16
    for j in range(n):
        cj = payload[(2 * j + other[j]) * rec : (2 * j + other[j]) * rec + rec]
        ct = bytearray(payload[2 * j * rec : 2 * j * rec + 2 * rec])
        ct[choices[j] * rec : choices[j] * rec + rec] = cj  # put the unchosen where the chosen was
        with pytest.raises(ProtocolAbort):
            lib.ot_pair_decrypt(sid, keys[16 * j : 16 * j + 16], bytes([choices[j]]), bytes(ct), j)
    assert r.receive(msg3) == [p[c] for p, c in zip(pairs, choices, strict=True)]


def test_sender_view_is_a_valid_point_for_either_choice() -> None:
    for c in (0, 1):
        s, r = ot.Sender(b"x", b"y"), ot.Receiver(c)
        msg2 = r.respond(s.start())
        assert len(msg2) == HEADER + 65 and msg2[HEADER] == 4


@pytest.mark.parametrize("where", ["setup", "choose", "cipher"])
def test_tampering_aborts(where: str) -> None:
    s, r = ot.Sender(os.urandom(16), os.urandom(16)), ot.Receiver(1)
    msg1 = s.start()
    if where == "setup":
        msg1 = flip(msg1, HEADER + 40)  # a coordinate of C: off the curve
    if where == "setup":
        with pytest.raises(ProtocolAbort):
            r.respond(msg1)
        return
    msg2 = r.respond(msg1)
    if where == "choose":
        with pytest.raises(ProtocolAbort):
            s.finish(flip(msg2, HEADER + 10))
        return
    msg3 = s.finish(msg2)
    with pytest.raises(ProtocolAbort):
        r.receive(flip(msg3, HEADER + 48 + 5))  # the chosen (second) ciphertext
    for pos in (-1, HEADER + 48 + 16 + 2):  # its tag; the unchosen record does not matter
        s2, r2 = ot.Sender(b"a" * 16, b"b" * 16), ot.Receiver(1)
        m3 = s2.finish(r2.respond(s2.start()))
        if pos == -1:
            with pytest.raises(ProtocolAbort):
                r2.receive(flip(m3, len(m3) - 1))
        else:
            assert r2.receive(flip(m3, HEADER + 3)) == b"b" * 16


def test_valid_but_wrong_point_is_caught_by_the_tag() -> None:
    """Swapping in another run's (valid) points passes the curve check but fails the tag."""
    s, r = ot.Sender(b"m0" * 8, b"m1" * 8), ot.Receiver(0)
    other = ot.Sender(b"z" * 16, b"z" * 16).start()
    msg1 = s.start()
    forged = msg1[:HEADER] + other[HEADER:]
    msg2 = r.respond(forged)
    with pytest.raises(ProtocolAbort):
        r.receive(s.finish(msg2))


def test_session_ids_bind_runs() -> None:
    sid = os.urandom(16)
    s1, r1 = ot.Sender(b"a", b"b", session_id=sid), ot.Receiver(0, session_id=sid)
    s2, r2 = ot.Sender(b"c", b"d"), ot.Receiver(0)
    msg1a, msg1b = s1.start(), s2.start()
    with pytest.raises(ProtocolAbort):  # the receiver expects sid
        ot.Receiver(0, session_id=sid).respond(msg1b)
    msg2a, msg2b = r1.respond(msg1a), r2.respond(msg1b)
    with pytest.raises(ProtocolAbort):  # a replayed answer from another run
        s1.finish(msg2b)
    msg3b = s2.finish(msg2b)
    with pytest.raises(ProtocolAbort):
        r1.receive(msg3b)
    # A replayed first message makes the run fail at the end (different session keys).
    s3 = ot.Sender(b"e", b"f")
    r3 = ot.Receiver(1)
    s3.start()
    msg2 = r3.respond(msg1a)
    with pytest.raises(ProtocolAbort):
        s3.finish(msg2)
    del msg2a


def test_wrong_lengths_raise_value_errors() -> None:
    s, r = ot.Sender(b"a" * 8, b"b" * 8), ot.Receiver(0)
    msg1 = s.start()
    with pytest.raises(ValueError):
        r.respond(msg1[:-1])
    with pytest.raises(MalformedMessage):
        ot.Receiver(0).respond(msg1 + b"\x00")
    with pytest.raises(MalformedMessage):
        ot.Receiver(0).respond(msg1[:10])
    r = ot.Receiver(0)
    msg3 = s.finish(r.respond(msg1))
    with pytest.raises(ValueError):
        r.receive(msg3[:-3])
    with pytest.raises(TypeError):
        ot.Receiver(0).respond("text")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ot.Sender(b"a", b"bb")
    with pytest.raises(ValueError):
        ot.Receiver(2)
    with pytest.raises(ValueError):
        ot.Sender(b"a", b"b", session_id=b"short")
    with pytest.raises(ValueError):
        lib.ot_np_sender_keys(b"x" * 15, b"", b"", 0)


def test_out_of_order_steps() -> None:
    s, r = ot.Sender(b"a", b"b"), ot.Receiver(0)
    with pytest.raises(ProtocolStateError):
        s.finish(b"")
    msg1 = s.start()
    with pytest.raises(ProtocolStateError):
        s.start()
    with pytest.raises(ProtocolStateError):
        r.receive(msg1)
    msg2 = r.respond(msg1)
    with pytest.raises(ProtocolStateError):
        r.respond(msg1)
    msg3 = s.finish(msg2)
    with pytest.raises(ProtocolStateError):
        s.finish(msg2)  # replay of the same answer into a finished run
    assert r.receive(msg3) == b"a"
    with pytest.raises(ProtocolStateError):
        r.receive(msg3)


def test_abort_kills_the_role() -> None:
    s, r = ot.Sender(b"a", b"b"), ot.Receiver(0)
    msg1 = s.start()
    with pytest.raises(ProtocolAbort):
        r.respond(flip(msg1, HEADER + 40))
    with pytest.raises(ProtocolStateError):
        r.respond(msg1)


def test_message_type_confusion_aborts() -> None:
    s = ot.OneOfNSender([b"a", b"b"])
    with pytest.raises(ProtocolAbort):
        ot.Receiver(0).respond(s.start())


def test_no_secret_in_repr() -> None:
    r = ot.OneOfNReceiver(5, 16)
    assert "5" not in repr(r).replace("16", "")


# ---- 1-of-N -----------------------------------------------------------------------------------


def run_n(slots: list[bytes], index: int) -> bytes:
    s, r = ot.OneOfNSender(slots), ot.OneOfNReceiver(index, len(slots))
    return r.receive(s.finish(r.respond(s.start())))


@pytest.mark.parametrize(("n", "size"), [(2, 1), (3, 7), (5, 300), (1000, 17), (1024, 256), (4096, 32)])
def test_one_of_n_every_probe(n: int, size: int) -> None:
    slots = [os.urandom(size) for _ in range(n)]
    for index in {0, 1, n // 2, n - 2, n - 1}:
        assert run_n(slots, index) == slots[index]


@given(st.integers(2, 300), st.integers(1, 40), st.data())
def test_one_of_n_round_trip_property(n: int, size: int, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, n - 1))
    slots = [os.urandom(size) for _ in range(n)]
    assert run_n(slots, index) == slots[index]


@pytest.mark.slow
def test_one_of_n_max() -> None:
    slots = [i.to_bytes(4, "big") * 2 for i in range(ot.MAX_SLOTS)]
    assert run_n(slots, 54321) == slots[54321]


def test_one_of_n_large_slots() -> None:
    slots = [os.urandom(4096) for _ in range(8)]
    assert run_n(slots, 6) == slots[6]


def test_one_of_n_receiver_gets_exactly_its_slot() -> None:
    """With its keys, the receiver fails the tag (and gets junk) at every other index."""
    n, size, index = 64, 32, 37
    slots = [os.urandom(size) for _ in range(n)]
    s, r = ot.OneOfNSender(slots), ot.OneOfNReceiver(index, n)
    msg3 = s.finish(r.respond(s.start()))
    keys, sid = r._keys, r.session_id
    assert sid is not None
    rec = size + 16
    payload = msg3[HEADER:]
    for i in range(n):
        if i == index:
            continue
        with pytest.raises(ProtocolAbort):
            lib.ot_nofn_decrypt(sid, keys, i, payload[i * rec : (i + 1) * rec])
    # Even reading the slot at its own position's pad gives junk for another slot's ciphertext.
    with pytest.raises(ProtocolAbort):
        lib.ot_nofn_decrypt(sid, keys, index, payload[(index ^ 1) * rec : ((index ^ 1) + 1) * rec])
    assert r.receive(msg3) == slots[index]


def test_one_of_n_tampering_and_replay() -> None:
    slots = [os.urandom(64) for _ in range(16)]
    s, r = ot.OneOfNSender(slots), ot.OneOfNReceiver(3, 16)
    msg3 = s.finish(r.respond(s.start()))
    rec = 64 + 16
    with pytest.raises(ProtocolAbort):
        r.receive(flip(msg3, HEADER + 3 * rec + 10))
    # Other slots' bytes are not the receiver's business: tampering them is not detectable by it.
    s, r = ot.OneOfNSender(slots), ot.OneOfNReceiver(3, 16)
    msg3 = s.finish(r.respond(s.start()))
    assert r.receive(flip(msg3, HEADER + 4 * rec + 10)) == slots[3]
    # Replay of another run's slots.
    s2, r2 = ot.OneOfNSender(slots), ot.OneOfNReceiver(3, 16)
    s2.finish(r2.respond(s2.start()))
    with pytest.raises(ProtocolAbort):
        r2.receive(msg3)


def test_one_of_n_parameters() -> None:
    with pytest.raises(ValueError):
        ot.OneOfNSender([b"a"])
    with pytest.raises(ValueError):
        ot.OneOfNSender([b"a", b"bb"])
    with pytest.raises(ValueError):
        ot.OneOfNReceiver(4, 4)
    s = ot.OneOfNSender([b"ab"] * 8)
    with pytest.raises(ProtocolAbort):
        ot.OneOfNReceiver(0, 16).respond(s.start())
    with pytest.raises(ProtocolAbort):
        ot.OneOfNReceiver(0, 8, slot_size=3).respond(ot.OneOfNSender([b"ab"] * 8).start())
    s = ot.OneOfNSender([b"ab"] * 8)
    msg2 = ot.OneOfNReceiver(1, 8).respond(s.start())
    with pytest.raises(MalformedMessage):
        s.finish(msg2[:-1])


# ---- bit-matrix transposition -------------------------------------------------------------------


def _ref_transpose(data: bytes, r: int, c: int) -> bytes:
    bits = np.unpackbits(np.frombuffer(data, np.uint8).reshape(r, c // 8), axis=1, bitorder="little")
    return np.packbits(bits.T, axis=1, bitorder="little").tobytes()


@pytest.mark.parametrize(
    ("r", "c"), [(32, 8), (32, 136), (64, 24), (128, 256), (128, 4096 + 64), (512, 1024)]
)
def test_transpose_matches_numpy(dispatch: str, r: int, c: int) -> None:
    data = os.urandom(r * c // 8)
    out = lib.ot_transpose(data, r, c)
    assert out == _ref_transpose(data, r, c)
    if c % 32 == 0:
        assert lib.ot_transpose(out, c, r) == data


@pytest.mark.parametrize("path", [1, 2, 3], ids=["portable", "sse2", "avx2"])
def test_each_transpose_path(path: int) -> None:
    feats = _binding.cpu_features()
    if (path == 2 and not feats["sse41"]) or (path == 3 and not feats["avx2"]):
        pytest.skip("CPU lacks this path")
    for r, c in [(32, 8), (64, 24), (128, 4096 + 64), (512, 1024)]:
        data = os.urandom(r * c // 8)
        assert lib.ot_transpose(data, r, c, path) == _ref_transpose(data, r, c)


def test_transpose_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        lib.ot_transpose(bytes(16 * 8), 16, 64)
    with pytest.raises(ValueError):
        lib.ot_transpose(bytes(4 * 12), 32, 12)
    with pytest.raises(ValueError):
        lib.ot_transpose(bytes(4 * 8), 32, 8, 9)


def test_clmul_paths_agree(dispatch: str) -> None:
    a, b = bytes.fromhex("80" + "00" * 14 + "01"), bytes.fromhex("03" + "00" * 15)
    assert int.from_bytes(lib.ot_clmul128(a, b), "little") == _slow_clmul(
        int.from_bytes(a, "little"), int.from_bytes(b, "little")
    )
    seed, rows = os.urandom(16), os.urandom(16 * 512)
    bits = os.urandom(64)
    assert len(lib.ot_kos_combine(0, seed, rows, bits)[0]) == 32


def _slow_clmul(a: int, b: int) -> int:
    out = 0
    for i in range(128):
        if (b >> i) & 1:
            out ^= a << i
    return out


def test_kos_combination_portable_equals_native() -> None:
    seed, rows, bits = os.urandom(16), os.urandom(16 * 1024), os.urandom(128)
    native = lib.ot_kos_combine(0, seed, rows, bits)
    try:
        _binding.set_portable(True)
        portable = lib.ot_kos_combine(0, seed, rows, bits)
    finally:
        _binding.set_portable(False)
    assert native == portable


# ---- IKNP / KOS --------------------------------------------------------------------------------


def _choices(m: int) -> npt.NDArray[np.uint8]:
    return np.frombuffer(os.urandom(m), np.uint8) & np.uint8(1)


def _check_random_ot(
    c: npt.NDArray[np.uint8], x0: npt.NDArray[np.uint8], x1: npt.NDArray[np.uint8], out: npt.NDArray[np.uint8]
) -> None:
    assert (np.where(c[:, None] == 1, x1, x0) == out).all()
    # The unchosen pad differs everywhere: the receiver's outputs say nothing about it directly.
    assert not (np.where(c[:, None] == 1, x0, x1) == out).all(axis=1).any()


@pytest.mark.parametrize("cipher", ["aes", "sm4"])
def test_iknp_batches(dispatch: str, cipher: str) -> None:
    r, s = ot.IKNPReceiver(cipher=cipher), ot.IKNPSender(cipher=cipher)
    r.setup(s.respond(r.start()))
    seen: set[bytes] = set()
    for m in (1, 127, 128, 5000):
        c = _choices(m)
        x0, x1 = s.extend(r.extend(c))
        _check_random_ot(c, x0, x1, r.outputs())
        seen.update(bytes(row) for row in x0[:50])
    assert len(seen) == 1 + 50 * 3  # fresh pads in every batch


@pytest.mark.parametrize("cipher", ["aes", "sm4"])
def test_kos_batches(dispatch: str, cipher: str) -> None:
    r, s = ot.KOSReceiver(cipher=cipher), ot.KOSSender(cipher=cipher)
    r.setup(s.respond(r.start()))
    for m in (1, 1000, 4096):
        c = _choices(m)
        x0, x1 = s.verify(r.prove(s.challenge(r.extend(c))))
        _check_random_ot(c, x0, x1, r.outputs())


def test_kos_catches_inconsistent_choices() -> None:
    """A malicious receiver that uses another choice bit in one column (to learn s_i) is caught.

    Where s_i = 0 the sender ignores column i of U, so the attack (and the check) concerns only the
    columns with s_i = 1; we pick one such column, as a guessing receiver would half the time."""
    r, s = ot.KOSReceiver(), ot.KOSSender()
    r.setup(s.respond(r.start()))
    msg = r.extend(_choices(1000))
    u = bytearray(msg[HEADER:])
    col = len(u) // 128
    sbits = np.unpackbits(np.frombuffer(s._s, np.uint8), bitorder="little")
    i = int(np.nonzero(sbits)[0][0])
    u[i * col + 3] ^= 0x10  # column i, row 28: choice bit flipped only there
    challenge = s.challenge(msg[:HEADER] + bytes(u))
    with pytest.raises(ProtocolAbort):
        s.verify(r.prove(challenge))


def test_kos_catches_a_forged_proof() -> None:
    r, s = ot.KOSReceiver(), ot.KOSSender()
    r.setup(s.respond(r.start()))
    proof = r.prove(s.challenge(r.extend(_choices(300))))
    with pytest.raises(ProtocolAbort):
        s.verify(flip(proof, HEADER + 2))


def test_extension_replay_and_order() -> None:
    r, s = ot.IKNPReceiver(), ot.IKNPSender()
    msg1 = r.start()
    with pytest.raises(ProtocolStateError):
        r.extend([0, 1])
    r.setup(s.respond(msg1))
    m_a = r.extend([1, 0, 1])
    s.extend(m_a)
    with pytest.raises(ProtocolAbort):  # the same batch again
        s.extend(m_a)
    r2, s2 = ot.IKNPReceiver(), ot.IKNPSender()
    r2.setup(s2.respond(r2.start()))
    with pytest.raises(ProtocolAbort):  # another session's batch
        s2.extend(r.extend([1, 1]))
    with pytest.raises(ProtocolAbort):  # a KOS receiver does not talk to a semi-honest sender
        ot.IKNPSender().respond(ot.KOSReceiver().start())
    r3, s3 = ot.IKNPReceiver(), ot.IKNPSender()
    r3.setup(s3.respond(r3.start()))
    with pytest.raises(MalformedMessage):
        s3.extend(r3.extend([1, 0])[:-1])
    with pytest.raises(ValueError):
        ot.IKNPReceiver(cipher="des")
    r5, s5 = ot.IKNPReceiver(), ot.IKNPSender()
    r5.setup(s5.respond(r5.start()))
    for bad in ([2], [-1], [0.5], []):
        with pytest.raises(ValueError):
            r5.extend(bad)  # type: ignore[arg-type]
    assert s5.extend(r5.extend([True, False]))[0].shape == (2, 16)
    r4 = ot.KOSReceiver()
    s4 = ot.KOSSender()
    r4.setup(s4.respond(r4.start()))
    c = s4.challenge(r4.extend([1]))
    with pytest.raises(ProtocolStateError):
        r4.extend([0])  # the proof is due first
    r4.prove(c)


def test_extension_receiver_view_of_unchosen() -> None:
    """The receiver's rows t_j hash to its outputs only; t_j XOR anything it knows is not x_{1-c}."""
    r, s = ot.IKNPReceiver(), ot.IKNPSender()
    r.setup(s.respond(r.start()))
    c = _choices(256)
    x0, x1 = s.extend(r.extend(c))
    other = np.where(c[:, None] == 1, x0, x1)
    assert not any(bytes(o) in {bytes(v) for v in r.outputs()} for o in other)


def test_fused_iknp_kernels_equal_the_step_by_step_ones(dispatch: str) -> None:
    m = 3 * 16384 + 128  # several chunks and a short tail
    k0, k1, s, key = os.urandom(2048), os.urandom(2048), os.urandom(16), os.urandom(16)
    sbits = np.unpackbits(np.frombuffer(s, np.uint8), bitorder="little")
    ks = b"".join((k1 if b else k0)[16 * i : 16 * i + 16] for i, b in enumerate(sbits))
    r = os.urandom(m // 8)
    u, t = lib.ot_ext_recv(0, k0, k1, 9, r, m)
    u2, out, t2 = lib.ot_iknp_recv(0, k0, k1, 9, r, key, 77, m - 100, True)
    assert (u2, t2) == (u, t)
    assert out == lib.ot_tccr(0, key, t, 77, bytes(16))[: (m - 100) * 16]
    q = lib.ot_ext_send(0, ks, s, 9, u)
    x0, x1, q2 = lib.ot_iknp_send(0, ks, s, 9, u, key, 77, m, True)
    assert q2 == q
    assert x0 == lib.ot_tccr(0, key, q, 77, bytes(16))
    assert x1 == lib.ot_tccr(0, key, q, 77, s)
    # The IKNP relation itself: q_j = t_j XOR (r_j AND s).
    rb = np.unpackbits(np.frombuffer(r, np.uint8), bitorder="little")
    qa, ta = np.frombuffer(q, np.uint8).reshape(m, 16), np.frombuffer(t, np.uint8).reshape(m, 16)
    sa = np.frombuffer(s, np.uint8)
    assert (qa == ta ^ (rb[:, None] * sa)).all()


_VALGRIND_DRIVER = """
import os, numpy as np
from mpc import ot, psi, _binding
from mpc._binding import lib
s = ot.BatchSender([(b"a" * 5, b"b" * 5)] * 3); r = ot.BatchReceiver([0, 1, 1])
r.receive(s.finish(r.respond(s.start())))
S = ot.OneOfNSender([os.urandom(33) for _ in range(5)]); R = ot.OneOfNReceiver(3, 5)
R.receive(S.finish(R.respond(S.start())))
for p in (False, True):
    _binding.set_portable(p)
    a, b = ot.IKNPReceiver(), ot.IKNPSender(); a.setup(b.respond(a.start()))
    b.extend(a.extend([1, 0, 1] * 50))
    a, b = ot.KOSReceiver(), ot.KOSSender(); a.setup(b.respond(a.start()))
    b.verify(a.prove(b.challenge(a.extend([1, 0] * 100))))
    for path in (1,) if p else (1, 2, 3):
        lib.ot_transpose(os.urandom(32 * 17), 32, 136, path)
_binding.set_portable(False)
y = np.frombuffer(os.urandom(16 * 100), np.uint8).reshape(100, 16); x = y[:50].copy()
r = psi.PSIReceiver(y, stash_size=2); s = psi.PSISender(x, labels=[b"ab"] * 50)
r.finish(s.answer(r.request(s.respond(r.start())))); r.labels()
o = psi.OPRFReceiver(y); so = psi.OPRFSender(); so.receive(o.request(so.respond(o.start())))
so.evaluate(np.arange(100), y)
lib.ot_unique16(np.concatenate([y, y]).tobytes())
"""


@pytest.mark.valgrind
@pytest.mark.skipif(
    os.environ.get("RISKSHARE_VALGRIND") != "1", reason="set RISKSHARE_VALGRIND=1 (about a minute)"
)
def test_ot_kernels_under_valgrind(tmp_path: Path) -> None:
    """No invalid access or uninitialised use reported inside ot.c / ot_ext.c."""
    driver = tmp_path / "driver.py"
    driver.write_text(_VALGRIND_DRIVER)
    res = subprocess.run(
        ["valgrind", "--track-origins=yes", sys.executable, str(driver)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONMALLOC": "malloc"},
        timeout=900,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    ours = [ln for ln in res.stderr.splitlines() if "ot_ext.c" in ln or "/ot.c" in ln or "(ot.c" in ln]
    assert ours == [], "\n".join(ours[:40])
