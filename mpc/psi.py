"""KKRT batched OPRF and private set intersection (Kolesnikov–Kumaresan–Rosulek–Trieu, CCS 2016).

The receiver (the broker) learns which of its items the sender (a contributor) also holds; the
sender learns the receiver's set size only. **Security: semi-honest** sender and receiver (stated
in DESIGN.md's threat model); the random oracle is SHA-256 and the pseudo-random code is AES (or
SM4) under keys the sender draws per run.

How it runs (four messages, the receiver speaks first)::

    r = PSIReceiver(my_items); s = PSISender(their_items)
    m1 = r.start()          # 512 base OTs (Naor–Pinkas), receiver as base sender
    m2 = s.respond(m1)      # base-OT answer for the sender's random s ∈ {0,1}^512, code keys
    m3 = r.request(m2)      # cuckoo-hash key, bins, stash, the KKRT matrix U (64 bytes a bin)
    m4 = s.answer(m3)       # the sender's OPRF values, (3 + stash) lists of |X| values, items in random order
    hits = r.finish(m4)     # indices of the receiver's items that the sender holds

* **1-out-of-N OT extension**: w = 512 columns (ERRATA: codewords ≥ 448 bits, so ≥ 448 base
  OTs); a codeword is C(x, i) = E_k1(y) ‖ E_k2(y) ‖ E_k3(y) ‖ E_k4(y), y = E_k0(x) ⊕ x with its last
  byte set to the hash index i. Bin b's OPRF is F_b(x, i) = H(b, q_b ⊕ (C(x, i) ∧ s)).
* **Cuckoo hashing** (receiver): ⌈1.27·n⌉ bins, 3 hash functions h_i(x) from E_hk(x), random-walk
  insertion (500 evictions), then a **stash**. The stash has a size fixed before the run
  (``stash_size``, default 0: Pinkas–Schneider–Tkachenko–Yanai (Eurocrypt 2019) measured the
  stash-less failure rate of 3-hash cuckoo at 1.27·n bins below 2⁻⁴⁰ for large n). Each stash slot
  is one more OPRF instance, and the sender sends one more list of |X| values for it (tag 3), so
  a stash costs |X| values per slot. If insertion fails anyway, the receiver draws a new hash key
  and retries up to 3 times before any message carries the key (the sender sees only the final
  key); then it raises :class:`CuckooFailure`. Bins and stash slots without an item carry a random
  row, which matches nothing.
* **Items** are 16-byte values: an ``(n, 16)`` uint8 array is used as is; a sequence of ``bytes``
  of any length is first hashed (SHA-256, 16 bytes). Both parties must pass the same kind.
* Value length ℓ = ⌈(40 + log₂ bins + log₂ |X|) / 8⌉ bytes (at least 8): a false match somewhere
  in the run has probability below 2⁻⁴⁰.
* **Labels** (bilateral screening: "labels encrypted under the contributor's PRF output"):
  ``PSISender(items, labels=[...])`` attaches one fixed-size label per item. The OPRF output is then
  32 bytes; its first ℓ bytes are compared and its bytes 16..32 key AES-CTR (or SM4-CTR) over the
  label, each key used once. ``PSIReceiver.labels()`` opens the labels of the matched items only;
  the others stay under keys the receiver cannot compute (semi-honest).
* The separate ``OPRFReceiver`` / ``OPRFSender`` expose the batched OPRF itself: the receiver gets
  F_j(r_j), the sender may evaluate F_j(x) for any instance j and item x.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from mpc._binding import OT_KEY_SIZE, OT_KKRT_WIDTH, OT_POINT_SIZE, lib
from mpc.exceptions import MalformedMessage, ProtocolAbort, ProtocolStateError
from mpc.ot import _cipher_id, _new_session_id, _Role, expect_length, pack, unpack

__all__ = [
    "EXPANSION",
    "CuckooFailure",
    "OPRFReceiver",
    "OPRFSender",
    "PSIReceiver",
    "PSISender",
    "item_digests",
]

T_PSI_SETUP = 0x20
T_PSI_BASE = 0x21
T_PSI_MATRIX = 0x22
T_PSI_VALUES = 0x23
T_OPRF_SETUP = 0x24
T_OPRF_BASE = 0x25
T_OPRF_MATRIX = 0x26

W = OT_KKRT_WIDTH  # 512
ROW = W // 8
EXPANSION = 1.27
HASHES = 3
MAX_STASH = 64
MAX_LABEL = 4096
_RETRIES = 3
_CODE_KEYS = 5 * 16


T = TypeVar("T")


class CuckooFailure(ValueError):
    """The receiver's set did not fit the bins and stash (retry with a larger stash)."""


Items = Sequence[bytes] | npt.NDArray[np.uint8]


def _items16(items: Items) -> npt.NDArray[np.uint8]:
    if isinstance(items, np.ndarray):
        if items.dtype != np.uint8 or items.ndim != 2 or items.shape[1] != 16:
            raise ValueError("item arrays must be (n, 16) uint8")
        arr = items
    else:
        if any(not isinstance(x, bytes) for x in items):
            raise TypeError("items must be bytes")
        digests = b"".join(hashlib.sha256(b"riskshare/psi/item/v1" + x).digest()[:16] for x in items)
        arr = np.frombuffer(digests, np.uint8).reshape(-1, 16)
    if len(arr) == 0 or len(arr) > (1 << 24):
        raise ValueError("a set holds 1 to 2^24 items")
    return np.ascontiguousarray(arr)


def item_digests(items: Items) -> npt.NDArray[np.uint8]:
    """The (n, 16) array a party's items become (bytes are hashed): compute it once for a set
    that serves many runs."""
    return _items16(items)


def _bins(n: int) -> int:
    return max(8, math.ceil(EXPANSION * n))


def _value_length(slots: int, n_sender: int) -> int:
    bits = 40 + math.ceil(math.log2(max(2, slots))) + math.ceil(math.log2(max(2, n_sender)))
    return max(8, -(-bits // 8))


class PSIReceiver(_Role):
    """KKRT receiver: ``start() -> m1``; ``request(m2) -> m3``; ``finish(m4) -> indices``."""

    def __init__(
        self,
        items: Items,
        *,
        stash_size: int = 0,
        cipher: str = "aes",
        session_id: bytes | None = None,
    ) -> None:
        if not 0 <= stash_size <= MAX_STASH:
            raise ValueError(f"stash size must be 0..{MAX_STASH}")
        self._items = _items16(items)
        self._cipher = _cipher_id(cipher)
        self._stash_size = stash_size
        self._sid = _new_session_id(session_id)
        self._secret = b""
        self._t = b""
        self._label_size = 0
        self._labels: list[bytes] = []
        self._state = 0

    @property
    def session_id(self) -> bytes:
        return self._sid

    @property
    def charge(self) -> int:
        """Bins plus stash slots of the run (known after :meth:`request`): what a contributor
        charges for bilateral screening."""
        if self._state < 2:
            raise ProtocolStateError("the bins are fixed by request()")
        return self._nbins + self._stash_size

    def start(self) -> bytes:
        self._enter(0, "start")
        public, self._secret = lib.ot_np_sender_setup()
        self._state = 1
        return pack(T_PSI_SETUP, self._sid, W, 0, public)

    def _cuckoo(
        self, uniq: npt.NDArray[np.uint8], nbins: int
    ) -> tuple[bytes, npt.NDArray[np.int32], npt.NDArray[np.uint8], list[int]]:
        raw = uniq.tobytes()
        for _ in range(_RETRIES + 1):
            hkey = secrets.token_bytes(16)
            try:
                table, hidx, stash = lib.ot_cuckoo(
                    self._cipher, hkey, raw, nbins, self._stash_size, secrets.randbits(64)
                )
            except ValueError:
                continue
            return (
                hkey,
                np.frombuffer(table, np.int32),
                np.frombuffer(hidx, np.uint8),
                [int(v) for v in np.frombuffer(stash, np.int32)],
            )
        raise CuckooFailure("cuckoo hashing failed repeatedly; use a larger stash")

    def request(self, msg: bytes) -> bytes:
        self._enter(1, "request")
        _, n_sender, label_size, payload = unpack(msg, T_PSI_BASE, self._sid)
        if not 1 <= n_sender <= (1 << 24) or label_size > MAX_LABEL:
            raise MalformedMessage("sender set or label size out of range")
        self._label_size = label_size
        expect_length(payload, W * OT_POINT_SIZE + _CODE_KEYS, "PSI base-OT answer")
        keys = np.frombuffer(
            lib.ot_np_sender_keys(self._sid, self._secret, payload[: W * OT_POINT_SIZE], 0), np.uint8
        ).reshape(W, 2, OT_KEY_SIZE)
        code_keys = bytes(payload[W * OT_POINT_SIZE :])
        self._secret = b""
        # Duplicates would all claim the same three bins: insert each distinct item once.
        self._uniq = uniq = _unique(self._items)
        nbins = _bins(len(uniq))
        hkey, table, hidx, stash = self._cuckoo(uniq, nbins)
        slots = nbins + self._stash_size
        padded = -(-slots // 128) * 128
        # Empty bins and stash slots keep a zero row: their value matches no codeword.
        rows = np.zeros((padded, ROW), np.uint8)
        for i in range(HASHES):
            sel = np.nonzero((table >= 0) & (hidx == i))[0]
            if len(sel):
                codes = lib.ot_kkrt_code(self._cipher, code_keys, uniq[table[sel]].tobytes(), i)
                rows[sel] = np.frombuffer(codes, np.uint8).reshape(-1, ROW)
        if stash:
            codes = lib.ot_kkrt_code(self._cipher, code_keys, uniq[np.array(stash)].tobytes(), HASHES)
            rows[nbins : nbins + len(stash)] = np.frombuffer(codes, np.uint8).reshape(-1, ROW)
        k0, k1 = keys[:, 0].tobytes(), keys[:, 1].tobytes()

        def part(lo: int, hi: int) -> tuple[bytes, bytes]:
            cols = lib.ot_transpose(rows[lo:hi].tobytes(), hi - lo, W)
            return lib.ot_ext_recv(self._cipher, k0, k1, lo // 128, cols, hi - lo)

        parts = _on_two_cores(part, _halves(padded))
        u = _join_columns([p[0] for p in parts])
        self._t = b"".join(p[1] for p in parts)
        self._table, self._hidx, self._stash = table, hidx, stash
        self._nbins, self._n_sender = nbins, n_sender
        self._state = 2
        return pack(T_PSI_MATRIX, self._sid, nbins, self._stash_size, b"".join((hkey, u)))

    def finish(self, msg: bytes) -> list[int]:
        """Indices (into the receiver's items, ascending) of the items the sender also holds."""
        self._enter(2, "finish")
        _, n_sender, vlen, payload = unpack(msg, T_PSI_VALUES, self._sid)
        nbins, nst = self._nbins, self._stash_size
        if n_sender != self._n_sender or vlen != _value_length(nbins + nst, n_sender):
            raise ProtocolAbort("sender's values do not match the run")
        blocks, lsize = HASHES + nst, self._label_size
        expect_length(payload, blocks * n_sender * (vlen + lsize), "PSI values")
        # With labels, each OPRF output is 32 bytes: the first vlen are compared, the last 16 key
        # the label's encryption.
        width = 32 if lsize else vlen
        mine = np.frombuffer(lib.ot_kkrt_hash_rows(self._t[: (nbins + nst) * ROW], width), np.uint8).reshape(
            -1, width
        )
        self._t = b""
        values = np.frombuffer(payload, np.uint8, count=blocks * n_sender * vlen).reshape(blocks, -1)
        sealed = np.frombuffer(payload, np.uint8, offset=blocks * n_sender * vlen).reshape(
            blocks, n_sender, lsize
        )
        hit_uniq: list[npt.NDArray[np.int64]] = []
        keys: list[npt.NDArray[np.uint8]] = []
        cts: list[npt.NDArray[np.uint8]] = []
        probes = [(i, np.nonzero((self._table >= 0) & (self._hidx == i))[0]) for i in range(HASHES)]
        probes += [(HASHES + k, np.array([nbins + k])) for k in range(len(self._stash))]
        for block, sel in probes:
            if not len(sel):
                continue
            query = np.ascontiguousarray(mine[sel, :vlen]).tobytes()
            pos = np.frombuffer(lib.ot_match(values[block], query, vlen, True), np.int32)
            found = pos >= 0
            owners = (
                self._table[sel[found]] if block < HASHES else np.array([self._stash[block - HASHES]])[found]
            )
            hit_uniq.append(owners.astype(np.int64))
            if lsize:
                keys.append(mine[sel[found], 16:32])
                cts.append(sealed[block][pos[found]])
        hits = np.concatenate(hit_uniq) if hit_uniq else np.zeros(0, np.int64)
        hit_rows = self._uniq[hits]
        # Map distinct items back to every position holding them.
        where = np.frombuffer(lib.ot_match(hit_rows.tobytes(), self._items.tobytes(), 16, True), np.int32)
        indices = np.nonzero(where >= 0)[0]
        if lsize and len(hits):
            opened = lib.ot_label_xor(
                self._cipher, np.concatenate(keys).tobytes(), np.concatenate(cts).tobytes()
            )
            per_hit = np.frombuffer(opened, np.uint8).reshape(-1, lsize)
            self._labels = [per_hit[where[i]].tobytes() for i in indices]
        else:
            self._labels = [b""] * len(indices) if lsize else []
        self._state = 3
        return [int(i) for i in indices]

    def labels(self) -> list[bytes]:
        """The sender's labels of the items ``finish`` returned, in the same order."""
        if self._state != 3:
            raise ProtocolStateError("labels are known after finish()")
        if not self._label_size:
            raise ValueError("the sender attached no labels")
        return self._labels


def _first_occurrences(items: npt.NDArray[np.uint8]) -> npt.NDArray[np.int32]:
    return np.frombuffer(lib.ot_unique16(np.ascontiguousarray(items).tobytes()), np.int32)


def _unique(items: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    first = _first_occurrences(items)
    return items if len(first) == len(items) else np.ascontiguousarray(items[first])


def _halves(padded: int) -> list[tuple[int, int]]:
    mid = padded // 256 * 128
    return [(0, mid), (mid, padded)] if mid else [(0, padded)]


def _join_columns(parts: list[bytes]) -> bytes:
    if len(parts) == 1:
        return parts[0]
    arrays = [np.frombuffer(p, np.uint8).reshape(W, -1) for p in parts]
    return np.concatenate(arrays, axis=1).tobytes()


def _on_two_cores(fn: Callable[[int, int], T], ranges: list[tuple[int, int]]) -> list[T]:
    """Run the native kernels (which release the GIL) on the two cores the targets assume."""
    ranges = [r for r in ranges if r[1] > r[0]] or ranges[:1]
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    with ThreadPoolExecutor(max_workers=len(ranges)) as pool:
        return list(pool.map(lambda r: fn(*r), ranges))


class PSISender(_Role):
    """KKRT sender (holds the OPRF key s): ``respond(m1) -> m2``; ``answer(m3) -> m4``."""

    def __init__(
        self,
        items: Items,
        *,
        labels: Sequence[bytes] | None = None,
        cipher: str = "aes",
        session_id: bytes | None = None,
    ) -> None:
        all_items = _items16(items)
        first = _first_occurrences(all_items)  # duplicates would show in the values
        self._items = np.ascontiguousarray(all_items[first])
        self._labels = np.zeros((len(first), 0), np.uint8)
        if labels is not None:
            if len(labels) != len(all_items):
                raise ValueError("one label per item")
            size = len(labels[0]) if labels else 0
            if not 1 <= size <= MAX_LABEL or any(not isinstance(b, bytes) or len(b) != size for b in labels):
                raise ValueError(f"labels must be bytes of one length, 1..{MAX_LABEL}")
            self._labels = np.frombuffer(b"".join(labels), np.uint8).reshape(-1, size)[first]
        self._cipher = _cipher_id(cipher)
        self._sid: bytes | None = None if session_id is None else _new_session_id(session_id)
        self._s = self._ks = self._code_keys = b""
        self._charge = 0
        self._state = 0

    @property
    def session_id(self) -> bytes | None:
        return self._sid

    @property
    def charge(self) -> int:
        """Bins plus stash slots of the run (known after :meth:`answer`)."""
        if self._state < 2:
            raise ProtocolStateError("the bins are known after answer()")
        return self._charge

    def respond(self, msg: bytes) -> bytes:
        self._enter(0, "respond")
        sid, w, _, payload = unpack(msg, T_PSI_SETUP, self._sid)
        if w != W:
            raise ProtocolAbort("PSI receiver asks for another code width")
        expect_length(payload, 2 * OT_POINT_SIZE, "PSI base-OT setup")
        self._sid = sid
        self._s = secrets.token_bytes(ROW)
        sbits = np.unpackbits(np.frombuffer(self._s, np.uint8), bitorder="little").tobytes()
        pk0, self._ks = lib.ot_np_receiver_choose(sid, payload, sbits, 0)
        self._code_keys = secrets.token_bytes(_CODE_KEYS)
        self._state = 1
        return pack(T_PSI_BASE, sid, len(self._items), self._labels.shape[1], pk0 + self._code_keys)

    def answer(self, msg: bytes) -> bytes:
        self._enter(1, "answer")
        assert self._sid is not None
        _, nbins, nst, payload = unpack(msg, T_PSI_MATRIX, self._sid)
        self._charge = nbins + nst
        if not 8 <= nbins <= 2 * (1 << 24) or nst > MAX_STASH:
            raise MalformedMessage("PSI bins or stash out of range")
        padded = -(-(nbins + nst) // 128) * 128
        expect_length(payload, 16 + W * padded // 8, "PSI matrix")
        hkey = bytes(payload[:16])
        u = np.frombuffer(payload[16:], np.uint8).reshape(W, padded // 8)

        def matrix(lo: int, hi: int) -> bytes:
            cols = u[:, lo // 8 : hi // 8].tobytes()
            return lib.ot_ext_send(self._cipher, self._ks, self._s, lo // 128, cols)

        q = b"".join(_on_two_cores(matrix, _halves(padded)))
        n = len(self._items)
        vlen = _value_length(nbins + nst, n)
        # Evaluate the items in a random order: the lists' positions then say nothing about which of
        # the sender's items matched. (The same position across the lists is the same item, which
        # only links values of one unknown item.)
        rng = np.random.default_rng(secrets.randbits(128))
        perm = rng.permutation(n)
        items, lsize = self._items[perm], self._labels.shape[1]
        width = 32 if lsize else vlen

        def evaluate(lo: int, hi: int) -> npt.NDArray[np.uint8]:
            raw = lib.ot_kkrt_eval(
                self._cipher, self._code_keys, hkey, nbins, nst, q, self._s, items[lo:hi].tobytes(), width
            )
            return np.frombuffer(raw, np.uint8).reshape(HASHES + nst, hi - lo, width)

        split = (n // 2, n) if n >= 2 else (n, n)
        out = np.concatenate(_on_two_cores(evaluate, [(0, split[0]), (split[0], n)]), axis=1)
        parts = [np.ascontiguousarray(out[:, :, :vlen]).tobytes()]
        if lsize:
            # Label of item x in list i: AES-CTR under bytes 16..32 of F(x, i), a key used once.
            keys = np.ascontiguousarray(out[:, :, 16:32]).tobytes()
            labels = np.tile(self._labels[perm], (HASHES + nst, 1)).tobytes()
            parts.append(lib.ot_label_xor(self._cipher, keys, labels))
        self._s = self._ks = b""
        self._state = 2
        return pack(T_PSI_VALUES, self._sid, n, vlen, b"".join(parts))


# ---- the batched OPRF on its own (for protocols other than plain PSI) ------------------------------


class OPRFReceiver(_Role):
    """KKRT batched OPRF receiver: instance j evaluates F_j at ``inputs[j]`` (semi-honest).

    ``start() -> m1``; ``request(m2) -> m3``; then ``outputs()`` is an (m, output_size) array.
    """

    def __init__(
        self, inputs: Items, *, output_size: int = 16, cipher: str = "aes", session_id: bytes | None = None
    ) -> None:
        if not 8 <= output_size <= 32:
            raise ValueError("OPRF output size must be 8..32 bytes")
        self._inputs = _items16(inputs)
        self._size = output_size
        self._cipher = _cipher_id(cipher)
        self._sid = _new_session_id(session_id)
        self._secret = b""
        self._out: npt.NDArray[np.uint8] | None = None
        self._state = 0

    @property
    def session_id(self) -> bytes:
        return self._sid

    def start(self) -> bytes:
        self._enter(0, "start")
        public, self._secret = lib.ot_np_sender_setup()
        self._state = 1
        return pack(T_OPRF_SETUP, self._sid, len(self._inputs), self._size, public)

    def request(self, msg: bytes) -> bytes:
        self._enter(1, "request")
        _, _, _, payload = unpack(msg, T_OPRF_BASE, self._sid)
        expect_length(payload, W * OT_POINT_SIZE + _CODE_KEYS, "OPRF base-OT answer")
        keys = np.frombuffer(
            lib.ot_np_sender_keys(self._sid, self._secret, payload[: W * OT_POINT_SIZE], 0), np.uint8
        ).reshape(W, 2, OT_KEY_SIZE)
        self._secret = b""
        m = len(self._inputs)
        padded = -(-m // 128) * 128
        rows = np.zeros((padded, ROW), np.uint8)
        codes = lib.ot_kkrt_code(self._cipher, bytes(payload[W * OT_POINT_SIZE :]), self._inputs.tobytes(), 0)
        rows[:m] = np.frombuffer(codes, np.uint8).reshape(m, ROW)
        cols = lib.ot_transpose(rows.tobytes(), padded, W)
        u, t = lib.ot_ext_recv(self._cipher, keys[:, 0].tobytes(), keys[:, 1].tobytes(), 0, cols, padded)
        self._out = np.frombuffer(lib.ot_kkrt_hash_rows(t[: m * ROW], self._size), np.uint8).reshape(m, -1)
        self._state = 2
        return pack(T_OPRF_MATRIX, self._sid, m, 0, u)

    def outputs(self) -> npt.NDArray[np.uint8]:
        """F_j(inputs[j]) for every instance j."""
        if self._out is None:
            raise ProtocolStateError("the OPRF has not run yet")
        return self._out


class OPRFSender(_Role):
    """KKRT batched OPRF sender (key holder): ``respond(m1) -> m2``; ``receive(m3)``; then
    ``evaluate(instances, items)`` gives F_j(x) for any instance j and item x."""

    def __init__(self, *, cipher: str = "aes", session_id: bytes | None = None) -> None:
        self._cipher = _cipher_id(cipher)
        self._sid: bytes | None = None if session_id is None else _new_session_id(session_id)
        self._s = self._ks = self._code_keys = self._q = b""
        self._m = self._size = 0
        self._state = 0

    @property
    def session_id(self) -> bytes | None:
        return self._sid

    def respond(self, msg: bytes) -> bytes:
        self._enter(0, "respond")
        sid, m, size, payload = unpack(msg, T_OPRF_SETUP, self._sid)
        if not 1 <= m <= (1 << 24) or not 8 <= size <= 32:
            raise MalformedMessage("OPRF batch or output size out of range")
        expect_length(payload, 2 * OT_POINT_SIZE, "OPRF base-OT setup")
        self._sid, self._m, self._size = sid, m, size
        self._s = secrets.token_bytes(ROW)
        sbits = np.unpackbits(np.frombuffer(self._s, np.uint8), bitorder="little").tobytes()
        pk0, self._ks = lib.ot_np_receiver_choose(sid, payload, sbits, 0)
        self._code_keys = secrets.token_bytes(_CODE_KEYS)
        self._state = 1
        return pack(T_OPRF_BASE, sid, W, 0, pk0 + self._code_keys)

    def receive(self, msg: bytes) -> None:
        self._enter(1, "receive")
        assert self._sid is not None
        _, m, _, payload = unpack(msg, T_OPRF_MATRIX, self._sid)
        if m != self._m:
            raise ProtocolAbort("OPRF matrix for another batch size")
        padded = -(-m // 128) * 128
        expect_length(payload, W * padded // 8, "OPRF matrix")
        self._q = lib.ot_ext_send(self._cipher, self._ks, self._s, 0, payload)
        self._ks = b""
        self._state = 2

    def evaluate(
        self, instances: Sequence[int] | npt.NDArray[np.integer], items: Items
    ) -> npt.NDArray[np.uint8]:
        """F_{instances[i]}(items[i]) as a (k, output_size) array."""
        if self._state != 2:
            raise ProtocolStateError("OPRFSender.evaluate() before the matrix arrived")
        pos = np.asarray(instances, dtype=np.int64)
        x = _items16(items)
        if pos.ndim != 1 or len(pos) != len(x):
            raise ValueError("one instance index per item")
        if len(pos) and (pos.min() < 0 or pos.max() >= self._m):
            raise ValueError("instance index out of range")
        codes = np.frombuffer(lib.ot_kkrt_code(self._cipher, self._code_keys, x.tobytes(), 0), np.uint8)
        q = np.frombuffer(self._q, np.uint8).reshape(-1, ROW)
        s = np.frombuffer(self._s, np.uint8)
        rows = q[pos] ^ (codes.reshape(-1, ROW) & s)
        out = lib.ot_kkrt_hash_at(rows.tobytes(), pos.astype("<u4").tobytes(), self._size)
        return np.frombuffer(out, np.uint8).reshape(len(pos), self._size)
