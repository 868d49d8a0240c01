"""Audit: replay a ledger from its store and check everything it claims.

:func:`audit` re-derives every leaf hash and every checkpointed root, verifies every checkpoint's
platform signature, chain and co-signatures, and — by default — decodes every entry, verifies
every member signature, recomputes the ledger's verdict (log id, timestamp window, nonce
replay, role, administrators' threshold, rule version) and re-runs the rule hook, comparing
outcomes and state roots. It stops at the **first divergence** and names the height, the entry
kind and what differs. Three depths: ``roots`` (leaves, roots, checkpoints; fastest),
``rules`` (+ verdicts and the hook), ``full`` (+ every member signature, in parallel threads).

:class:`Auditor` is the witness side: it keeps the last checkpoint it trusted, accepts a newer
one only with a valid consistency proof (a rewritten history — a split view — raises
:class:`SplitView`), and co-signs a checkpoint only after a replay to its size agrees.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ledger.checkpoint import Checkpoint, SignedCheckpoint, cosign, valid_cosigners
from ledger.entry import KIND_OFFSET, Code, DecodeError, Entry, Kind, Role
from ledger.hooks import NullHook, RuleHook
from ledger.log import NONCE_RETENTION_MS, LedgerState, final_code, ledger_code
from ledger.members import Unauthenticated
from ledger.storage import Batch, CheckpointRow, Storage
from mpc import merkle
from mpc.exceptions import InvalidProof, InvalidSignature
from mpc.sm2 import SM2PrivateKey, SM2PublicKey

__all__ = ["AuditReport", "Auditor", "Divergence", "SplitView", "audit", "sync"]

MODES = ("roots", "rules", "full")
_CHUNK = 4096


@dataclass(frozen=True)
class Divergence:
    what: str
    height: int | None = None
    kind: str | None = None
    checkpoint_size: int | None = None

    def __str__(self) -> str:
        where = []
        if self.height is not None:
            where.append(f"height {self.height}")
        if self.kind:
            where.append(self.kind)
        if self.checkpoint_size is not None:
            where.append(f"checkpoint of size {self.checkpoint_size}")
        return f"{', '.join(where)}: {self.what}" if where else self.what

    def as_json(self) -> dict[str, object]:
        return {
            "height": self.height,
            "kind": self.kind,
            "checkpoint_size": self.checkpoint_size,
            "what": self.what,
        }


@dataclass
class AuditReport:
    mode: str
    size: int = 0
    entries_checked: int = 0
    checkpoints: int = 0
    witnessed: int = 0
    latest: Checkpoint | None = None
    latest_witnessed: Checkpoint | None = None
    divergence: Divergence | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "mode": self.mode,
            "size": self.size,
            "entries_checked": self.entries_checked,
            "checkpoints": self.checkpoints,
            "witnessed": self.witnessed,
            "latest": self.latest.as_json() if self.latest else None,
            "latest_witnessed": self.latest_witnessed.as_json() if self.latest_witnessed else None,
            "divergence": self.divergence.as_json() if self.divergence else None,
            "seconds": round(self.seconds, 3),
            "notes": self.notes,
        }


class _Stop(Exception):
    def __init__(self, d: Divergence) -> None:
        self.d = d


def _kind_at(body: bytes) -> str | None:
    try:
        return Kind(body[KIND_OFFSET]).name.lower()
    except (IndexError, ValueError):
        return None


def _verify_batch(items: list[tuple[int, SM2PublicKey, bytes, bytes, int]]) -> tuple[int, int] | None:
    for height, key, sig, msg, signer in items:
        try:
            key.verify(sig, msg)
        except InvalidSignature:
            return height, signer
    return None


class _Replay:
    def __init__(
        self,
        storage: Storage,
        mode: str,
        hook: RuleHook,
        index_check: Callable[[Checkpoint], str | None] | None,
        trusted: Checkpoint | None,
        threads: int,
    ) -> None:
        self.storage = storage
        self.mode = mode
        self.rules = mode in ("rules", "full")
        self.sigs = mode == "full"
        self.hook = hook
        self.index_check = index_check
        self.trusted = trusted
        self.pool = ThreadPoolExecutor(max(1, threads)) if self.sigs else None
        self.report = AuditReport(mode)

    def run(self) -> AuditReport:
        t0 = time.perf_counter()
        try:
            self._run()
        except _Stop as s:
            self.report.divergence = s.d
        finally:
            if self.pool is not None:
                self.pool.shutdown()
            self.report.seconds = time.perf_counter() - t0
        return self.report

    def _run(self) -> None:
        st = self.storage
        size = st.size()
        self.report.size = size
        if size == 0:
            raise _Stop(Divergence("the log is empty (no genesis)"))
        try:
            genesis = Entry.decode(st.entry(0))
            self.state = LedgerState(genesis)
        except (DecodeError, ValueError, IndexError) as e:
            raise _Stop(Divergence(f"genesis does not decode or is invalid: {e}", 0, "genesis")) from None
        self.alg = self.state.hash_alg
        if st.get_meta("log_id") not in (None, self.state.log_id):
            raise _Stop(Divergence("stored log id differs from the genesis entry", 0, "genesis"))
        pm = st.get_meta("platform")
        self.platform = int.from_bytes(pm, "big") if pm else self.state.platform()
        self.cr = merkle.CompactRange(self.alg)
        self.nonces: dict[tuple[int, bytes], int] = {}
        self.last_ms = 0
        self.prev_cp = bytes(32)
        self.prev_cp_time = 0
        self.prev_cp_size = 0
        rows = {r.size: r for r in st.checkpoints()}
        beyond = [s for s in rows if s > size]
        cp_sizes = sorted(s for s in rows if s <= size)
        if self.trusted is not None and self.trusted.size > size:
            raise _Stop(
                Divergence(
                    f"the log holds {size} entries but a checkpoint you trusted covers {self.trusted.size}: "
                    "entries are missing (rollback or split view)",
                    size,
                )
            )
        stops = set(cp_sizes)
        if self.trusted is not None and self.trusted.size > 0:
            stops.add(self.trusted.size)
        stop_iter = iter(sorted(stops))
        next_stop = next(stop_iter, None)
        expected = 0
        for chunk in self._chunks(size):
            first = chunk[0][0]
            if first != expected:
                raise _Stop(Divergence("entry is missing from the store", expected))
            for j, (h, _, _) in enumerate(chunk):
                if h != first + j:
                    raise _Stop(Divergence("entry is missing from the store", first + j))
            bodies = [b for _, b, _ in chunk]
            leaves = merkle.leaf_hashes(bodies, self.alg)
            for j, (h, body, stored) in enumerate(chunk):
                if leaves[j] != stored:
                    raise _Stop(
                        Divergence("stored leaf hash differs from the entry bytes", h, _kind_at(body))
                    )
            pending: list[Future[tuple[int, int] | None]] = []
            pos = 0
            while pos < len(chunk):
                end = len(chunk)
                if next_stop is not None and next_stop <= first + end:
                    end = next_stop - first
                self._entries(chunk[pos:end], pending)
                self.cr.extend(leaves[pos:end])
                if next_stop is not None and next_stop == first + end:
                    self._drain(pending)
                    if self.trusted is not None and next_stop == self.trusted.size:
                        self._check_trusted()
                    if next_stop in rows:
                        self._checkpoint(rows[next_stop])
                    next_stop = next(stop_iter, None)
                pos = end
            self._drain(pending)
            expected = first + len(chunk)
            self.report.entries_checked = expected
        if expected != size:
            raise _Stop(Divergence("entry is missing from the store", expected))
        if beyond:
            raise _Stop(
                Divergence(
                    f"a checkpoint covers {min(beyond)} entries but the store holds {size}: "
                    "entries are missing",
                    size,
                    checkpoint_size=min(beyond),
                )
            )
        if not cp_sizes:
            self.report.notes.append("no checkpoint stored")
        elif cp_sizes[-1] != size:
            self.report.notes.append(f"entries {cp_sizes[-1]}..{size - 1} are not yet checkpointed")
        if self.index_check is None:
            self.report.notes.append("index and snapshot roots not recomputed (no index given)")

    def _chunks(self, size: int) -> Iterator[list[tuple[int, bytes, bytes]]]:
        """Chunks of stored rows, read ahead by a thread (SQLite reads run without the GIL, so
        reading overlaps hashing and replay)."""
        q: queue.Queue[list[tuple[int, bytes, bytes]] | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def produce() -> None:
            buf: list[tuple[int, bytes, bytes]] = []
            try:
                for row in self.storage.entries(0, size):
                    buf.append(row)
                    if len(buf) == _CHUNK:
                        q.put(buf)
                        buf = []
                        if stop.is_set():
                            return
                if buf:
                    q.put(buf)
                q.put(None)
            except BaseException as e:  # handed to the consumer
                q.put(e)

        t = threading.Thread(target=produce, name="audit-reader", daemon=True)
        t.start()
        try:
            while True:
                item = q.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while t.is_alive():  # unblock a producer waiting on a full queue
                try:
                    q.get_nowait()
                except queue.Empty:
                    t.join(0.01)

    def _drain(self, pending: list[Future[tuple[int, int] | None]]) -> None:
        bad = [r for r in (f.result() for f in pending) if r is not None]
        pending.clear()
        if bad:
            height, signer = min(bad)
            kind = _kind_at(self.storage.entry(height))
            raise _Stop(Divergence(f"signature of member {signer} does not verify", height, kind))

    def _entries(
        self, rows: list[tuple[int, bytes, bytes]], pending: list[Future[tuple[int, int] | None]]
    ) -> None:
        if not self.rules and not self.sigs:
            # Fast path: only member entries change the keys that checkpoints are verified with.
            for h, body, _ in rows:
                if h and body[KIND_OFFSET] == Kind.MEMBER:
                    self.state.advance(self._decode(h, body))
            return
        todo: list[tuple[int, SM2PublicKey, bytes, bytes, int]] = []
        for h, body, _ in rows:
            e = self._decode(h, body)
            kind = e.kind.name.lower()
            if self.sigs:
                raw = e.request.encode()
                for s in e.signatures:
                    try:
                        key = self.state.registry.public_key(s.signer)
                    except Unauthenticated:
                        raise _Stop(
                            Divergence(f"signer {s.signer} is not an active member", h, kind)
                        ) from None
                    todo.append((h, key, s.der, raw, s.signer))
            if h == 0:
                if e.kind is not Kind.GENESIS:
                    raise _Stop(Divergence("the first entry is not a genesis", 0, kind))
                got = final_code(Code.ACCEPTED, self.hook.apply(e, 0))
                if got != e.code:
                    raise _Stop(Divergence(f"rule outcome differs: recorded {e.code}, replay {got}", 0, kind))
                self.nonces[(e.member, e.request.nonce)] = e.sequenced_ms
                self.last_ms = e.sequenced_ms
                continue
            if e.sequenced_ms < self.last_ms:
                raise _Stop(Divergence("sequenced time goes backwards", h, kind))
            self.last_ms = e.sequenced_ms
            verdict = self.state.verdict(
                e.request, e.signers, e.sequenced_ms, lambda m, n: self.nonces.get((m, n))
            )
            if verdict != ledger_code(e.code):
                raise _Stop(
                    Divergence(
                        f"ledger verdict differs: recorded {_code(e.code)}, replay {_code(verdict)}", h, kind
                    )
                )
            got = final_code(verdict, self.hook.apply(e if e.code == verdict else e.with_outcome(verdict), h))
            if got != e.code:
                raise _Stop(
                    Divergence(
                        f"rule outcome differs: recorded {_code(e.code)}, replay {_code(got)}", h, kind
                    )
                )
            if e.code != Code.REPLAYED_NONCE:
                self.nonces.setdefault((e.member, e.request.nonce), e.sequenced_ms)
            if h % 8192 == 0:
                cutoff = e.sequenced_ms - NONCE_RETENTION_MS
                self.nonces = {k: v for k, v in self.nonces.items() if v >= cutoff}
            self.state.advance(e)
        if todo and self.pool is not None:
            step = max(64, len(todo) // 8)
            for i in range(0, len(todo), step):
                pending.append(self.pool.submit(_verify_batch, todo[i : i + step]))

    def _decode(self, h: int, body: bytes) -> Entry:
        try:
            return Entry.decode(body)
        except DecodeError as e:
            raise _Stop(Divergence(f"entry bytes do not decode: {e}", h, _kind_at(body))) from None

    def _checkpoint(self, row: CheckpointRow) -> None:
        size = row.size
        try:
            cp = Checkpoint.decode(row.body)
        except (DecodeError, ValueError) as e:
            raise _Stop(Divergence(f"checkpoint does not decode: {e}", checkpoint_size=size)) from None

        def fail(what: str, height: int | None = None) -> _Stop:
            return _Stop(Divergence(what, height, None, size))

        if cp.size != size or cp.log_id != self.state.log_id:
            raise fail("checkpoint names another size or log")
        try:
            key = self.state.registry.public_key(self.platform)
            SignedCheckpoint(cp, row.signature).verify(key)
        except (InvalidSignature, Unauthenticated):
            raise fail("platform signature does not verify") from None
        if cp.previous != self.prev_cp:
            raise fail("previous-checkpoint hash breaks the chain")
        if cp.time_ms < self.prev_cp_time:
            raise fail("checkpoint time goes backwards")
        if cp.root != self.cr.root():
            h, what = self._locate(self.prev_cp_size, size)
            raise fail(f"root differs from the entries ({what})", h)
        if self.rules:
            if cp.state_root != self.hook.state_root():
                raise fail("state root differs from the replayed rule state", size - 1)
            if cp.rule_version != self.state.rule_version:
                raise fail(
                    f"rule version {cp.rule_version} differs from the replayed {self.state.rule_version}"
                )
        if self.index_check is not None:
            problem = self.index_check(cp)
            if problem:
                raise fail(problem)
        auditors = {i: self.state.registry.public_key(i) for i in self.state.registry.with_role(Role.AUDITOR)}
        good, bad = valid_cosigners(cp, self.storage.cosignatures(size), auditors)
        if bad:
            raise fail(f"co-signature of {', '.join(f'auditor {a}' for a in sorted(bad))} does not verify")
        self.report.checkpoints += 1
        self.report.latest = cp
        if auditors and 2 * len(good) > len(auditors):
            self.report.witnessed += 1
            self.report.latest_witnessed = cp
        self.prev_cp, self.prev_cp_time, self.prev_cp_size = cp.digest(), cp.time_ms, size

    def _check_trusted(self) -> None:
        t = self.trusted
        assert t is not None
        if t.log_id != self.state.log_id or self.cr.root() != t.root:
            raise _Stop(
                Divergence(
                    f"split view: the log's first {t.size} entries differ from the checkpoint you trusted "
                    "(a rewritten history)",
                    checkpoint_size=t.size,
                )
            )

    def _locate(self, start: int, end: int) -> tuple[int | None, str]:
        """Narrow a root mismatch down with the stored level-1 nodes (written at sequencing)."""
        lo = start - start % 2
        for i in range(lo // 2, end // 2):
            try:
                left, right, node = self.storage.get_nodes([(0, 2 * i), (0, 2 * i + 1), (1, i)])
            except KeyError:
                break
            if merkle.node_hash(left, right, self.alg) != node:
                return 2 * i, f"entries {2 * i}..{2 * i + 1} were altered or reordered after sequencing"
        return start, f"an entry in {start}..{end - 1} was altered or reordered"


def _code(c: int) -> str:
    try:
        return Code(c).name.lower()
    except ValueError:
        return str(c)


def audit(
    storage: Storage,
    *,
    mode: str = "full",
    hook: RuleHook | None = None,
    index_check: Callable[[Checkpoint], str | None] | None = None,
    trusted: Checkpoint | None = None,
    threads: int = 2,
) -> AuditReport:
    """Replay the whole log in ``storage`` (see the module docstring for the modes)."""
    if mode not in MODES:
        raise ValueError(f"audit mode must be one of {', '.join(MODES)}")
    return _Replay(
        storage, mode, hook if hook is not None else NullHook(), index_check, trusted, threads
    ).run()


class SplitView(Exception):
    """A checkpoint or a log that does not extend what this auditor already holds."""

    def __init__(self, message: str, height: int | None = None) -> None:
        super().__init__(message)
        self.height = height


def sync(source: Storage, replica: Storage, *, chunk: int = 4096) -> int:
    """Bring an auditor's own copy of the log up to date from a node; returns the entries copied.

    Before copying, the source must hold exactly the entries the replica already has: a node
    that rewrote history (a split view) is caught here and the first differing height named
    (:class:`SplitView`). Entries are copied with leaf hashes recomputed from their bytes and
    the Merkle nodes rebuilt locally; checkpoints and co-signatures are copied beside them, and
    then :func:`audit` checks them all.
    """
    have, size = replica.size(), source.size()
    if size < have:
        raise SplitView(f"the node holds {size} entries but this replica already holds {have}", size)
    if have:
        alg = LedgerState(Entry.decode(replica.entry(0))).hash_alg
        mine = merkle.root_from(replica.get_nodes, have, alg)
        theirs = [b for _, b, _ in source.entries(have - 1, have)]
        if not theirs or merkle.root_from(source.get_nodes, have, alg) != mine:
            for (i, b1, _), (j, b2, _) in zip(
                replica.entries(0, have), source.entries(0, have), strict=False
            ):
                if i != j or b1 != b2:
                    raise SplitView(
                        f"split view: the node's entry {min(i, j)} differs from this replica's", min(i, j)
                    )
            raise SplitView("split view: the node's tree differs from this replica's", None)
    else:
        alg = LedgerState(Entry.decode(source.entry(0))).hash_alg
    cr = merkle.CompactRange.from_nodes(replica.get_nodes, have, alg) if have else merkle.CompactRange(alg)
    copied = 0
    known = {r.size for r in replica.checkpoints()}
    rows = [r for r in source.checkpoints() if r.size > have and r.size not in known]
    pos = have
    while pos < size:
        end = min(size, pos + chunk)
        batch = Batch(pos)
        for i, body, _ in source.entries(pos, end):
            if i != pos + len(batch.entries):
                raise SplitView(
                    f"the node is missing entry {pos + len(batch.entries)}", pos + len(batch.entries)
                )
            leaf = merkle.leaf_hash(body, alg)
            batch.entries.append((body, leaf))
            batch.nodes.extend(cr.append(leaf))
        end = pos + len(batch.entries)
        if end == pos:
            break
        batch.checkpoints = [r for r in rows if pos < r.size <= end]
        if pos == 0:
            for key in ("log_id", "platform", "hook"):
                v = source.get_meta(key)
                if v is not None:
                    batch.meta[key] = v
        replica.commit(batch)
        copied += end - pos
        pos = end
    for r in replica.checkpoints():
        for auditor, sig in source.cosignatures(r.size).items():
            if replica.cosignatures(r.size).get(auditor) != sig:
                replica.add_cosignature(r.size, auditor, sig)
    return copied


class Auditor:
    """A witness that remembers the last checkpoint it trusted and co-signs only extensions."""

    def __init__(
        self,
        member: int,
        key: SM2PrivateKey,
        platform_key: SM2PublicKey,
        alg: merkle.HashAlg = "sm3",
        trusted: Checkpoint | None = None,
    ) -> None:
        self.member = member
        self._key = key
        self.platform_key = platform_key
        self.alg = alg
        self.trusted = trusted

    def observe(self, signed: SignedCheckpoint, consistency_proof: list[bytes]) -> None:
        """Accept a newer checkpoint from the platform if it is signed and extends the trusted one."""
        cp = signed.checkpoint
        try:
            signed.verify(self.platform_key)
        except InvalidSignature:
            raise SplitView(f"checkpoint of size {cp.size}: platform signature does not verify") from None
        t = self.trusted
        if t is not None:
            if cp.log_id != t.log_id:
                raise SplitView("checkpoint is for another log")
            if cp.size < t.size:
                raise SplitView(f"checkpoint of size {cp.size} is older than the trusted size {t.size}")
            try:
                merkle.verify_consistency(t.size, cp.size, t.root, cp.root, consistency_proof, self.alg)
            except InvalidProof as e:
                raise SplitView(
                    f"split view: checkpoint of size {cp.size} does not extend the trusted checkpoint of "
                    f"size {t.size} ({e})"
                ) from None
        self.trusted = cp

    def cosign(self, storage: Storage, hook: RuleHook | None = None, **kwargs: object) -> bytes:
        """Replay ``storage`` (a synced copy of the log); if it agrees with the newest checkpoint
        and extends the trusted one, co-sign that checkpoint and store the co-signature."""
        report = audit(storage, hook=hook, trusted=self.trusted, **kwargs)  # type: ignore[arg-type]
        if not report.ok:
            raise SplitView(f"refusing to co-sign: {report.divergence}")
        cp = report.latest
        if cp is None:
            raise SplitView("no checkpoint to co-sign")
        sig = cosign(cp, self._key)
        storage.add_cosignature(cp.size, self.member, sig)
        self.trusted = cp
        return sig
