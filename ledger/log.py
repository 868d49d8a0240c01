"""The sequencer: verifies, orders, stores and checkpoints ledger entries.

For each request (canonical request bytes and the signatures over them) it:

1. **refuses** — raises :class:`Refused`, writes nothing, counts it in :class:`Metrics` —
   requests that are oversized, malformed, or unauthenticated (a signature that does not verify,
   an unknown or removed signer), and authenticated refusals beyond the member's rate limit;
2. otherwise computes the ledger's **verdict** (:class:`LedgerState`, shared with auditors):
   wrong log, timestamp outside ±5 min of the platform clock, replayed nonce, wrong role,
   missing administrators' threshold, stale rule version, invalid member fields;
3. hands the entry to the rule hook, which may reject it for a rule reason;
4. appends the entry (accepted or rejected) with its leaf hash and the Merkle nodes it
   completes, and returns a signed :class:`~ledger.checkpoint.Receipt` **after the fsync**.

**Group commit**: sequencing happens under a short lock; the durable write is done by whichever
waiting submitter takes the flush lock first, and it commits everything sequenced so far in one
transaction (one fsync) and signs one receipt batch — so requests arriving while an fsync runs
share the next one. Checkpoints are cut inside the same stream, when new entries exist, every
``checkpoint_max_entries`` entries or ``checkpoint_interval_ms`` (``tick()``, run by the
background thread of :meth:`Log.start`).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

from ledger.checkpoint import (
    Checkpoint,
    Receipt,
    RestoreGuardError,
    SignedCheckpoint,
    check_restore_guard,
    is_witnessed,
    valid_cosigners,
)
from ledger.entry import (
    MAX_REQUEST_SIZE,
    Code,
    DecodeError,
    Entry,
    FieldValue,
    Kind,
    Request,
    Role,
    Signature,
)
from ledger.hooks import NullHook, RuleHook
from ledger.members import Registry, Unauthenticated
from ledger.rounds import RoundBook
from ledger.storage import Batch, CheckpointRow, Storage, StorageError
from mpc import merkle
from mpc.sm2 import SM2PrivateKey, SM2PublicKey

__all__ = [
    "HASH_ALGS",
    "NONCE_RETENTION_MS",
    "WINDOW_MS",
    "LedgerState",
    "Log",
    "Metrics",
    "Refused",
    "final_code",
    "ledger_code",
]

WINDOW_MS: Final = 5 * 60 * 1000
"""Requests must carry a timestamp within ±5 minutes of the platform's clock."""
NONCE_RETENTION_MS: Final = 2 * WINDOW_MS
"""A nonce sequenced within this long before counts as a replay (older ones fail the window)."""
HASH_ALGS: Final[Mapping[int, merkle.HashAlg]] = {1: "sm3", 2: "sha256"}
ZERO32: Final = bytes(32)


class Refused(Exception):
    """Not logged. ``reason``: oversized, malformed, unauthenticated or rate_limited."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def final_code(verdict: int, hook_code: int) -> int:
    """The outcome recorded for an entry: the ledger's refusal stands; otherwise the hook's code,
    where a hook answering outside its range (a ledger code, or not a u16) counts as a rule
    rejection. Sequencer, restart and audit all use this one function."""
    if verdict != Code.ACCEPTED:
        return verdict
    if isinstance(hook_code, bool) or not isinstance(hook_code, int) or not 0 <= hook_code <= 0xFFFF:
        return Code.RULE_REJECTED
    return Code.RULE_REJECTED if Code.is_ledger(hook_code) else hook_code


def ledger_code(recorded: int) -> int:
    """The ledger's verdict behind a recorded outcome (rule-layer codes imply the ledger accepted)."""
    return recorded if Code.is_ledger(recorded) else Code.ACCEPTED


class LedgerState:
    """The ledger's own deterministic state: members, rule version and the verdict rules. The
    sequencer and auditors drive it with the same entries and get the same verdicts."""

    def __init__(self, genesis: Entry) -> None:
        self.registry = Registry.from_genesis(genesis.request)
        self.log_id = genesis.request.log_id
        self.rule_version = genesis.request.rule_version
        alg = genesis.request.int_field("hash_alg")
        if alg not in HASH_ALGS:
            raise ValueError(f"unknown Merkle hash algorithm code {alg}")
        self.hash_alg: merkle.HashAlg = HASH_ALGS[alg]
        self.registry_version = 0
        self.rounds = RoundBook()

    def verdict(
        self,
        request: Request,
        signers: Sequence[int],
        now_ms: int,
        nonce_seen: Callable[[int, bytes], int | None],
    ) -> Code:
        if request.log_id != self.log_id:
            return Code.WRONG_LOG
        if abs(request.timestamp_ms - now_ms) > WINDOW_MS:
            return Code.STALE_TIMESTAMP
        prev = nonce_seen(request.member, request.nonce)
        if prev is not None and prev >= now_ms - NONCE_RETENTION_MS:
            return Code.REPLAYED_NONCE
        code = self.registry.verdict(request, signers)
        if code != Code.ACCEPTED:
            return code
        if request.rule_version != self.rule_version:
            return Code.BAD_RULE_VERSION
        if request.kind is Kind.RULE_CHANGE and request.int_field("new_version") <= self.rule_version:
            return Code.INVALID_FIELDS
        return self.rounds.verdict(request, signers, self.registry)

    def advance(self, entry: Entry) -> None:
        if not entry.accepted:
            return
        if entry.kind is Kind.MEMBER:
            self.registry.apply(entry)
            self.registry_version += 1
        elif entry.kind is Kind.RULE_CHANGE:
            self.rule_version = entry.int_field("new_version")
        else:
            self.rounds.apply(entry)

    def platform(self) -> int:
        """The member id that signs checkpoints: the lowest-numbered active platform member."""
        return min(self.registry.with_role(Role.PLATFORM))


@dataclass
class Metrics:
    accepted: int = 0
    rejected: collections.Counter[int] = field(default_factory=collections.Counter)
    refused: collections.Counter[str] = field(default_factory=collections.Counter)
    fsyncs: int = 0
    committed: int = 0
    checkpoints: int = 0
    receipt_signatures: int = 0
    commit_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=10000))
    cosign_lag_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=1000))

    def snapshot(self) -> dict[str, object]:
        lat = sorted(self.commit_ms)
        return {
            "accepted": self.accepted,
            "rejected": {
                Code(c).name.lower() if c in Code._value2member_map_ else str(c): n
                for c, n in self.rejected.items()
            },
            "refused": dict(self.refused),
            "fsyncs": self.fsyncs,
            "committed": self.committed,
            "checkpoints": self.checkpoints,
            "receipt_signatures": self.receipt_signatures,
            "commit_ms_p50": lat[len(lat) // 2] if lat else None,
            "commit_ms_p99": lat[min(len(lat) - 1, len(lat) * 99 // 100)] if lat else None,
            "cosign_lag_ms_last": self.cosign_lag_ms[-1] if self.cosign_lag_ms else None,
        }


class _Bucket:
    __slots__ = ("last", "tokens")

    def __init__(self, tokens: float, last: float) -> None:
        self.tokens = tokens
        self.last = last


class Log:
    """A sequencer over a :class:`~ledger.storage.Storage` that already holds a genesis entry
    (see :meth:`create`). On open it replays the stored entries through ``hook``."""

    def __init__(
        self,
        storage: Storage,
        platform_key: SM2PrivateKey,
        *,
        hook: RuleHook | None = None,
        clock: Callable[[], float] = time.time,
        index_roots: Callable[[], tuple[int, bytes, bytes]] | None = None,
        witness_source: Callable[[], Checkpoint | None] | None = None,
        checkpoint_interval_ms: int = 1000,
        checkpoint_max_entries: int = 1000,
        receipt_deadline_ms: int = 30_000,
        reject_burst: int = 20,
        reject_per_s: float = 10.0,
        group_window_ms: float = 0.0,
    ) -> None:
        if storage.size() == 0:
            raise StorageError("the store holds no genesis entry; use Log.create")
        self.storage = storage
        self.hook: RuleHook = hook if hook is not None else NullHook()
        self.metrics = Metrics()
        self._key = platform_key
        self._clock = clock
        self._index_roots = index_roots
        self._witness_source = witness_source
        self.checkpoint_interval_ms = checkpoint_interval_ms
        self.checkpoint_max_entries = checkpoint_max_entries
        self.receipt_deadline_ms = receipt_deadline_ms
        self._reject_burst = reject_burst
        self._reject_per_ms = reject_per_s / 1000.0
        self._group_window = group_window_ms / 1000.0
        self._seq_lock = threading.RLock()
        self._flush_lock = threading.Lock()
        self._buckets: dict[int, _Bucket] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._broken: BaseException | None = None
        self.guard_error: RestoreGuardError | None = None
        self._rebuild()
        me = self.state.registry.get(self.platform_member)
        if me is None or me.sign_key != platform_key.public_key().to_bytes():
            raise ValueError("the platform key is not the enrolled signing key of the log's platform")

    # -- creation and restart ----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        storage: Storage,
        genesis: bytes,
        signatures: Sequence[Signature],
        platform_key: SM2PrivateKey,
        **kwargs: object,
    ) -> Log:
        """Start a log with a genesis request signed by a threshold of the administrators it names."""
        if storage.size() != 0:
            raise StorageError("the store already holds a log")
        request = Request.decode(genesis)
        if request.kind is not Kind.GENESIS:
            raise ValueError("the first entry must be a genesis request")
        registry = Registry.from_genesis(request)
        entry = Entry(request, tuple(signatures), 0)
        registry.verify_signatures(genesis, entry.signatures)
        admins = registry.admins()
        if any(s not in admins for s in entry.signers) or len(entry.signers) < registry.threshold:
            raise ValueError("genesis needs signatures of a threshold of its administrators")
        clock = kwargs.get("clock", time.time)
        assert callable(clock)
        now = int(clock() * 1000)
        if abs(request.timestamp_ms - now) > WINDOW_MS:
            raise ValueError("genesis timestamp is outside the ±5 minute window")
        entry = Entry(request, entry.signatures, now)
        state = LedgerState(entry)
        pub = platform_key.public_key().to_bytes()
        platform = [m.id for m in registry.with_role(Role.PLATFORM).values() if m.sign_key == pub]
        if not platform:
            raise ValueError("the platform key is not enrolled with the platform role in genesis")
        body = entry.encode()
        leaf = merkle.leaf_hash(body, state.hash_alg)
        storage.commit(
            Batch(
                0,
                entries=[(body, leaf)],
                nonces=[(request.member, request.nonce, now)],
                meta={"log_id": request.log_id, "platform": platform[0].to_bytes(8, "big")},
            )
        )
        log = cls(storage, platform_key, **kwargs)  # type: ignore[arg-type]
        log.checkpoint()
        return log

    def _rebuild(self) -> None:
        first = Entry.decode(self.storage.entry(0))
        self.state = LedgerState(first)
        pm = self.storage.get_meta("platform")
        self.platform_member = int.from_bytes(pm, "big") if pm else self.state.platform()
        self.alg = self.state.hash_alg
        self.log_id = self.state.log_id
        last_ms = 0
        size = 0
        for height, body, _ in self.storage.entries():
            if height != size:
                raise StorageError(f"entry {size} is missing from the store")
            entry = first if height == 0 else Entry.decode(body)
            verdict = ledger_code(entry.code)
            got = final_code(
                verdict,
                self.hook.apply(entry if entry.code == verdict else entry.with_outcome(verdict), height),
            )
            if verdict == Code.ACCEPTED and got != entry.code:
                raise StorageError(f"rule hook disagrees with the stored outcome at height {height}")
            self.state.advance(entry)
            last_ms = entry.sequenced_ms
            size += 1
        self._size = size
        self._durable = size
        self._last_ms = last_ms
        self._cr = merkle.CompactRange.from_nodes(self.storage.get_nodes, size, self.alg)
        self._pending = Batch(size)
        self._overlay: dict[tuple[int, int], bytes] = {}
        self._inflight_nonces: dict[tuple[int, bytes], int] = {}
        self._want: set[int] = set()
        self._receipts: dict[int, Receipt] = {}
        self._receipt_errors: dict[int, BaseException] = {}
        self._receipt_cv = threading.Condition(threading.Lock())
        self._sign_lock = threading.Lock()
        self._unsigned: list[tuple[int, list[bytes], list[int]]] = []
        row = self.storage.latest_checkpoint()
        if row is None:
            self._cp_size, self._cp_time, self._cp_prev = 0, 0, ZERO32
        else:
            cp = Checkpoint.decode(row.body)
            self._cp_size, self._cp_time, self._cp_prev = cp.size, cp.time_ms, cp.digest()
        self._last_prune = 0

    # -- submission ---------------------------------------------------------------------------

    def _now(self) -> int:
        return max(int(self._clock() * 1000), self._last_ms)

    def _refuse(self, reason: str, detail: str = "") -> Refused:
        with self._seq_lock:
            self.metrics.refused[reason] += 1
        return Refused(reason, detail)

    def _nonce_seen(self, member: int, nonce: bytes) -> int | None:
        ms = self._inflight_nonces.get((member, nonce))
        return ms if ms is not None else self.storage.nonce_seen(member, nonce)

    def _rate_ok(self, member: int, now: int) -> bool:
        b = self._buckets.get(member)
        if b is None:
            b = self._buckets[member] = _Bucket(float(self._reject_burst), now)
        b.tokens = min(float(self._reject_burst), b.tokens + (now - b.last) * self._reject_per_ms)
        b.last = now
        if b.tokens < 1.0:
            return False
        b.tokens -= 1.0
        return True

    def submit(
        self,
        request: bytes,
        signatures: Sequence[Signature],
        attested: Mapping[str, FieldValue] | None = None,
        *,
        receipt: bool = True,
    ) -> Receipt | int:
        """Sequence one request; returns its receipt after the fsync (or, with ``receipt=False``,
        its height, also after the fsync). Raises :class:`Refused` when nothing is logged."""
        height = self._sequence(request, signatures, attested, receipt)
        self._flush_until(height)
        if not receipt:
            return height
        return self._await_receipt(height)

    def submit_nowait(
        self,
        request: bytes,
        signatures: Sequence[Signature],
        attested: Mapping[str, FieldValue] | None = None,
    ) -> int:
        """Sequence without waiting for durability (bulk loads); call :meth:`flush` afterwards."""
        return self._sequence(request, signatures, attested, False)

    def _sequence(
        self,
        raw: bytes,
        signatures: Sequence[Signature],
        attested: Mapping[str, FieldValue] | None,
        want_receipt: bool,
    ) -> int:
        if self._broken is not None:
            raise StorageError(f"log stopped after a failed commit: {self._broken}")
        if len(raw) > MAX_REQUEST_SIZE:
            raise self._refuse("oversized", f"request exceeds {MAX_REQUEST_SIZE} bytes")
        try:
            req = Request.decode(raw)
            sigs = tuple(signatures)
            Entry(req, sigs, 0)  # signer order and shape
        except (DecodeError, ValueError, TypeError) as e:
            raise self._refuse("malformed", str(e)) from None
        version = self.state.registry_version
        try:
            self.state.registry.verify_signatures(raw, sigs)
        except Unauthenticated as e:
            raise self._refuse("unauthenticated", str(e)) from None
        with self._seq_lock:
            if version != self.state.registry_version:  # keys changed meanwhile: check again
                try:
                    self.state.registry.verify_signatures(raw, sigs)
                except Unauthenticated as e:
                    self.metrics.refused["unauthenticated"] += 1
                    raise Refused("unauthenticated", str(e)) from None
            now = self._now()
            signers = [s.signer for s in sigs]
            code = self.state.verdict(req, signers, now, self._nonce_seen)
            if code != Code.ACCEPTED and not self._rate_ok(req.member, now):
                self.metrics.refused["rate_limited"] += 1
                raise Refused("rate_limited", f"member {req.member} sends too many refused requests")
            entry = Entry(req, sigs, now, code, attested if code == Code.ACCEPTED and attested else {})
            height = self._size
            final = final_code(code, self.hook.apply(entry, height))
            if final != code:
                entry = entry.with_outcome(final)
            body = entry.encode()
            leaf = merkle.leaf_hash(body, self.alg)
            nodes = self._cr.append(leaf)
            p = self._pending
            p.entries.append((body, leaf))
            self._overlay[(0, height)] = leaf
            for level, index, h in nodes:
                p.nodes.append((level, index, h))
                self._overlay[(level, index)] = h
            if final != Code.REPLAYED_NONCE:
                p.nonces.append((req.member, req.nonce, now))
                self._inflight_nonces.setdefault((req.member, req.nonce), now)
            self.state.advance(entry)
            self._size += 1
            self._last_ms = now
            if final == Code.ACCEPTED:
                self.metrics.accepted += 1
            else:
                self.metrics.rejected[final] += 1
            if want_receipt:
                self._want.add(height)
            if self._size - self._cp_size >= self.checkpoint_max_entries:
                self._cut_quietly(now)
            return height

    # -- durability -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Make everything sequenced so far durable."""
        with self._seq_lock:
            target = self._size - 1
            has_cp = bool(self._pending.checkpoints)
        if target >= self._durable or has_cp:
            self._flush_until(target, force=has_cp)
        else:
            # Another thread (the background tick) may have taken a checkpoint into a commit that
            # is still running: wait for it, so a checkpoint cut before this call is durable (and
            # visible to readers) when flush returns.
            with self._flush_lock:
                pass

    def _flush_until(self, height: int, force: bool = False) -> None:
        with self._flush_lock:
            if self._durable > height and not force:
                return
            if self._group_window:
                time.sleep(self._group_window)
            with self._seq_lock:
                batch = self._pending
                self._pending = Batch(self._size)
                end = batch.start + len(batch.entries)
                wanted = [h for h in range(batch.start, end) if h in self._want]
                self._want.difference_update(wanted)
            if not batch.entries and not batch.checkpoints:
                return
            t0 = time.perf_counter()
            try:
                self.storage.commit(batch)
            except BaseException as e:
                # Memory ran ahead of the store: stop sequencing; a restart replays the store.
                self._broken = e
                with self._receipt_cv:
                    self._receipt_cv.notify_all()
                raise
            elapsed = (time.perf_counter() - t0) * 1000
            with self._seq_lock:
                for m, n, _ in batch.nonces:
                    self._inflight_nonces.pop((m, n), None)
                for i in range(len(batch.entries)):
                    self._overlay.pop((0, batch.start + i), None)
                for level, index, _ in batch.nodes:
                    self._overlay.pop((level, index), None)
                self._durable = end
                self.metrics.fsyncs += 1
                self.metrics.committed += len(batch.entries)
                self.metrics.commit_ms.append(elapsed)
        # Durable now. Receipts are signed outside the flush lock, and one signature covers every
        # durable batch still waiting for one, so signing neither blocks nor multiplies fsyncs.
        if wanted:
            with self._receipt_cv:
                self._unsigned.append((batch.start, [leaf for _, leaf in batch.entries], wanted))
            self._sign_receipts()

    def _sign_receipts(self) -> None:
        with self._sign_lock:
            with self._receipt_cv:
                todo, self._unsigned = self._unsigned, []
            if not todo:
                return
            runs: list[tuple[int, list[bytes], list[int]]] = []
            for b, ls, ws in todo:  # contiguous runs of batches share one signature
                if runs and runs[-1][0] + len(runs[-1][1]) == b:
                    runs[-1][1].extend(ls)
                    runs[-1][2].extend(ws)
                else:
                    runs.append((b, list(ls), list(ws)))
            for start, leaves, wanted in runs:
                try:
                    deadline = self._last_ms + self.receipt_deadline_ms
                    receipts = Receipt.issue(self.log_id, start, leaves, deadline, self._key, self.alg)
                except BaseException as e:
                    with self._receipt_cv:
                        for h in wanted:
                            self._receipt_errors[h] = e
                        self._receipt_cv.notify_all()
                    raise
                with self._receipt_cv:
                    for h in wanted:
                        self._receipts[h] = receipts[h - start]
                    self._receipt_cv.notify_all()
                self.metrics.receipt_signatures += 1

    def _await_receipt(self, height: int) -> Receipt:
        with self._receipt_cv:
            while height not in self._receipts:
                err = self._receipt_errors.pop(height, None) or self._broken
                if err is not None:
                    raise StorageError(f"no receipt for entry {height}: {err}")
                self._receipt_cv.wait(1.0)
            return self._receipts.pop(height)

    @property
    def size(self) -> int:
        """Entries sequenced (durable or about to be)."""
        return self._size

    @property
    def durable_size(self) -> int:
        return self._durable

    # -- checkpoints ----------------------------------------------------------------------------

    def _get_nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        out: list[bytes] = []
        missing = [c for c in coords if c not in self._overlay]
        stored = iter(self.storage.get_nodes(missing)) if missing else iter(())
        for c in coords:
            h = self._overlay.get(c)
            out.append(h if h is not None else next(stored))
        return out

    def _cut(self, now: int) -> SignedCheckpoint | None:
        """Cut a checkpoint at the current size (under the sequencing lock)."""
        if self._size == self._cp_size:
            return None
        if self._index_roots is not None:
            index_size, index_root, snapshot_root = self._index_roots()
        else:
            index_size, index_root, snapshot_root = 0, ZERO32, ZERO32
        cp = Checkpoint(
            self.log_id,
            self._size,
            self._cr.root(),
            index_size,
            index_root,
            snapshot_root,
            self.hook.state_root(),
            self._cp_prev,
            self.state.rule_version,
            now,
        )
        if self._witness_source is not None:
            w = self._witness_source()
            proof = None
            if w is not None and 0 < w.size <= cp.size:
                proof = merkle.consistency_proof_from(self._get_nodes, w.size, cp.size, self.alg)
            check_restore_guard(cp, w, proof, self.alg)
        signed = SignedCheckpoint.sign(cp, self._key)
        self._pending.checkpoints.append(CheckpointRow(cp.size, cp.encode(), signed.signature))
        self._cp_size, self._cp_time, self._cp_prev = cp.size, now, cp.digest()
        self.metrics.checkpoints += 1
        return signed

    def _cut_quietly(self, now: int) -> None:
        """Automatic cuts never fail the request that triggered them: a restore-guard refusal is
        kept in ``guard_error`` and counted; entries keep flowing, unwitnessed."""
        try:
            self._cut(now)
            self.guard_error = None
        except RestoreGuardError as e:
            self.guard_error = e
            self.metrics.refused["checkpoint_restore_guard"] += 1

    def checkpoint(self) -> SignedCheckpoint | None:
        """Cut a checkpoint now if new entries exist, and make it durable."""
        with self._seq_lock:
            signed = self._cut(self._now())
        self.flush()
        return signed

    def tick(self) -> None:
        """Periodic work: a checkpoint when one is due, nonce pruning."""
        with self._seq_lock:
            now = self._now()
            due = self._size > self._cp_size and now - self._cp_time >= self.checkpoint_interval_ms
            if due:
                self._cut_quietly(now)
            prune = now - self._last_prune >= 60_000
            if prune:
                self._last_prune = now
        if due:
            self.flush()
        if prune:
            self.storage.prune_nonces(now - NONCE_RETENTION_MS)

    def start(self, period_s: float = 0.1) -> None:
        """Run :meth:`tick` in a background thread."""

        def loop() -> None:
            while not self._stop.wait(period_s):
                self.tick()

        self._thread = threading.Thread(target=loop, name="ledger-checkpointer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.flush()

    def auditor_keys(self) -> dict[int, SM2PublicKey]:
        reg = self.state.registry
        return {i: reg.public_key(i) for i in reg.with_role(Role.AUDITOR)}

    def add_cosignature(self, size: int, auditor: int, signature: bytes) -> bool:
        """Store an auditor's co-signature beside the checkpoint of ``size`` (durably) after checking
        it; returns whether the checkpoint is now witnessed. Records the co-signing lag."""
        row = self.storage.checkpoint(size)
        if row is None:
            raise ValueError(f"no checkpoint of size {size}")
        cp = Checkpoint.decode(row.body)
        auditors = self.auditor_keys()
        good, _ = valid_cosigners(cp, {auditor: signature}, auditors)
        if auditor not in good:
            with self._seq_lock:
                self.metrics.refused["bad_cosignature"] += 1
            raise Refused("unauthenticated", f"co-signature of {auditor} does not verify as an auditor's")
        self.storage.add_cosignature(size, auditor, signature)
        with self._seq_lock:
            self.metrics.cosign_lag_ms.append(float(self._now() - cp.time_ms))
        return is_witnessed(cp, self.storage.cosignatures(size), auditors)

    def latest_witnessed(self) -> SignedCheckpoint | None:
        """The newest checkpoint co-signed by a majority of the current auditors."""
        auditors = self.auditor_keys()
        for row in reversed(self.storage.checkpoints()):
            cp = Checkpoint.decode(row.body)
            if is_witnessed(cp, self.storage.cosignatures(row.size), auditors):
                return SignedCheckpoint(cp, row.signature)
        return None

    def latest_checkpoint(self) -> SignedCheckpoint | None:
        row = self.storage.latest_checkpoint()
        return None if row is None else SignedCheckpoint(Checkpoint.decode(row.body), row.signature)

    # -- proofs (durable sizes only) ----------------------------------------------------------

    def _size_ok(self, size: int | None) -> int:
        n = self._durable if size is None else size
        if not 0 <= n <= self._durable:
            raise ValueError(f"size {n} is beyond the {self._durable} durable entries")
        return n

    def root(self, size: int | None = None) -> bytes:
        return merkle.root_from(self.storage.get_nodes, self._size_ok(size), self.alg)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return merkle.inclusion_proof_from(self.storage.get_nodes, index, self._size_ok(size), self.alg)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return merkle.consistency_proof_from(
            self.storage.get_nodes, old_size, self._size_ok(new_size), self.alg
        )

    def leaf_hash(self, index: int) -> bytes:
        return self.storage.get_nodes([(0, index)])[0]
