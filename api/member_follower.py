"""The key holder's member directory, followed from the platform's ledger.

The key holder authenticates evaluation requests against the ledger's member registry (adds,
role changes, re-keys and removals), not against its configuration file, so a broker enrolled
later is served without a restart and a removed or re-keyed member stops being accepted. It reads
the platform's ledger as a member (signed reads, api/reads.py) and trusts nothing the platform
says by itself:

- the genesis entry (the trust anchor) must name this log, carry its administrators' threshold of
  signatures, name this key holder with its own signing key, and agree with the consortium file
  on every genesis administrator's key (the genesis ceremony's record);
- every later entry is used only under a checkpoint witnessed by more than half of the auditors
  (as the registry at that size names them) and signed by the registry's platform, whose Merkle
  root the key holder recomputes from all the entries it fetched (so none can be withheld);
- every accepted member entry must carry valid signatures of active members and meet the
  ledger's verdict on members (the administrators' threshold, valid keys), replayed here.

The registry is refreshed in the background every ``interval_s`` and, when an unknown member
calls, at most once per ``min_interval_s`` (the caller waits for the window; unknown callers
cannot make the key holder hammer the platform nor hold more than a few server threads). A
refresh that fails keeps the last verified registry.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import grpc

from api import convert
from api._generated import ledger_pb2, ledger_pb2_grpc
from api.directory import LedgerDirectory, MemberRecord
from api.reads import Reader, ReadMethod
from ledger.checkpoint import Checkpoint, is_witnessed
from ledger.entry import KIND_OFFSET, Code, Entry, Kind, Role
from ledger.log import HASH_ALGS
from ledger.members import Registry, Unauthenticated
from mpc import merkle
from mpc.exceptions import InvalidProof, InvalidSignature

log = logging.getLogger("riskshare.members")

__all__ = ["MAX_WAITERS", "FollowedDirectory", "MemberFollower"]

MAX_WAITERS = 4  # unknown callers waiting for the next refresh; more are refused at once
ENTRIES_TIMEOUT_S = 300.0  # a first sync reads the whole log, as an auditor's does
CONNECT_TIMEOUT_S = 5.0  # how long a refresh waits for the platform to answer at all


class MemberFollower:
    """A verified copy of the ledger's member registry (see the module docstring)."""

    def __init__(
        self,
        stub: ledger_pb2_grpc.LedgerStub,
        reader: Reader,
        log_id: bytes,
        *,
        me: int,
        my_key: bytes,
        genesis_admin_keys: Callable[[], dict[int, bytes]],
        min_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        self._on_close = on_close
        self.stub, self.reader, self.log_id = stub, reader, log_id
        self._me, self._my_key, self._admin_keys = me, my_key, genesis_admin_keys
        self.min_interval_s, self._clock = min_interval_s, clock
        self._lock = threading.Lock()
        self._waiting_lock = threading.Lock()
        self._waiters = 0
        self._generation = 0
        self._last_ok = False
        self._last_attempt = float("-inf")
        self.registry = Registry((), 1)  # nobody until the first refresh
        self.range: merkle.CompactRange | None = None
        self.checkpoint: Checkpoint | None = None  # the newest witnessed checkpoint applied
        self.refreshes = 0
        self.last_error: str | None = None

    @property
    def size(self) -> int:
        return self.range.size if self.range is not None else 0

    # -- refreshing ---------------------------------------------------------------------------------

    def maybe_refresh(self) -> bool:
        """Refresh, at most once per ``min_interval_s``: a caller inside the window waits for it
        to open (at most ``MAX_WAITERS`` callers wait, the others are answered at once with False),
        and callers that waited while another refresh ran take its result. Returns whether the
        registry was refreshed successfully (so it may hold someone it did not before)."""
        with self._waiting_lock:
            if self._waiters >= MAX_WAITERS:
                return False
            self._waiters += 1
            generation = self._generation
        try:
            with self._lock:
                if self._generation != generation:
                    return self._last_ok
                wait = self.min_interval_s - (self._clock() - self._last_attempt)
                if wait > 0:
                    time.sleep(wait)
                return self._refresh_locked()
        finally:
            with self._waiting_lock:
                self._waiters -= 1

    def refresh(self) -> bool:
        with self._lock:
            return self._refresh_locked()

    def _refresh_locked(self) -> bool:
        self._last_attempt = self._clock()
        self._generation += 1
        try:
            self._refresh()
        except (grpc.RpcError, InvalidProof, ValueError) as e:
            detail = e.details() if isinstance(e, grpc.RpcError) else str(e)
            self.last_error = f"{type(e).__name__}: {detail}"
            log.warning("member registry not refreshed from the ledger: %s", self.last_error)
            self._last_ok = False
            return False
        self.last_error = None
        self.refreshes += 1
        self._last_ok = True
        return True

    def _entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """Entries ``start`` … ``end`` − 1 as they stream in (a long backlog is never held whole)."""
        auth = self.reader.ledger(ReadMethod.ENTRIES, start, end)
        height = start
        for batch in self.stub.GetEntries(
            ledger_pb2.EntriesRequest(start=start, end=end, auth=auth),
            timeout=CONNECT_TIMEOUT_S if end - start == 1 else ENTRIES_TIMEOUT_S,
            wait_for_ready=True,
        ):
            if batch.start != height:
                raise InvalidProof("the platform sent ledger entries out of order")
            for body in batch.entries:
                if height >= end:
                    raise InvalidProof(f"the platform sent entries beyond {end - 1}")
                yield height, bytes(body)
                height += 1
        if height != end:
            raise InvalidProof(f"the platform sent {height - start} of the entries {start}..{end - 1}")

    def _refresh(self) -> None:
        registry = Registry(self.registry.members.values(), self.registry.threshold)
        rng = self.range.copy() if self.range is not None else None
        if rng is None:  # the trust anchor first: genesis alone, before anything is witnessed
            ((_, body),) = list(self._entries(0, 1))
            registry, alg = self._genesis(body)
            rng = merkle.CompactRange(alg)
            rng.append(merkle.leaf_hash(body, alg))
            self.registry, self.range = registry, rng.copy()
        auth = self.reader.ledger(ReadMethod.CHECKPOINT, 0, 1)
        try:
            msg = self.stub.GetCheckpoint(
                ledger_pb2.CheckpointRequest(size=0, witnessed=True, auth=auth),
                timeout=CONNECT_TIMEOUT_S,
                wait_for_ready=True,  # a platform starting up is waited for, briefly
            )
        except grpc.RpcError as e:
            if e.code() is grpc.StatusCode.NOT_FOUND:  # nothing witnessed yet: genesis is all we know
                return
            raise
        signed, cosigs = convert.from_checkpoint(msg)
        cp = signed.checkpoint
        if cp.log_id != self.log_id:
            raise InvalidProof("the witnessed checkpoint belongs to another log")
        if cp.size < rng.size:
            raise InvalidProof(
                f"the platform's newest witnessed checkpoint ({cp.size}) is older than the one applied "
                f"({rng.size})"
            )
        if cp.size == rng.size and self.checkpoint is not None:
            return
        for height, body in self._entries(rng.size, cp.size):
            rng.append(merkle.leaf_hash(body, rng.alg))
            if body[KIND_OFFSET] == Kind.MEMBER:
                self._member_entry(registry, height, body)
        if rng.size != cp.size or rng.root() != cp.root:
            raise InvalidProof("the ledger entries do not reproduce the witnessed checkpoint's root")
        platform = min(registry.with_role(Role.PLATFORM), default=None)
        try:
            if platform is None:
                raise InvalidSignature("no platform")
            signed.verify(registry.public_key(platform))
        except (InvalidSignature, Unauthenticated):
            raise InvalidProof("the checkpoint's platform signature does not verify") from None
        auditors = {i: registry.public_key(i) for i in registry.with_role(Role.AUDITOR)}
        if not is_witnessed(cp, cosigs, auditors):
            raise InvalidProof(
                f"the checkpoint of size {cp.size} is not co-signed by a majority of the auditors"
            )
        self.registry, self.range, self.checkpoint = registry, rng, cp
        log.info(
            "member registry at ledger size %d: %d active members",
            cp.size,
            len(registry.with_role(Role.all())),
        )

    def _genesis(self, body: bytes) -> tuple[Registry, merkle.HashAlg]:
        e = Entry.decode(body)
        req = e.request
        if e.kind is not Kind.GENESIS or req.log_id != self.log_id:
            raise InvalidProof("the ledger's first entry is not this log's genesis")
        registry = Registry.from_genesis(req)
        admins = registry.admins()
        try:
            registry.verify_signatures(req.encode(), e.signatures)
        except Unauthenticated as err:
            raise InvalidProof(f"genesis: {err}") from None
        if any(s not in admins for s in e.signers) or len(set(e.signers)) < registry.threshold:
            raise InvalidProof("genesis lacks its administrators' threshold of signatures")
        mine = registry.get(self._me)
        if mine is None or mine.sign_key != self._my_key or not mine.has(Role.KEYHOLDER):
            raise InvalidProof("genesis does not name this key holder with its own key")
        pinned = self._admin_keys()
        for a in admins:
            if pinned.get(a) != registry.members[a].sign_key:
                raise InvalidProof(f"genesis administrator {a} differs from the consortium's record")
        return registry, HASH_ALGS[req.int_field("hash_alg")]

    def _member_entry(self, registry: Registry, height: int, body: bytes) -> None:
        e = Entry.decode(body)
        if not e.accepted:
            return  # a refusal changes nobody; the witnesses replayed the verdict
        if e.request.log_id != self.log_id:
            raise InvalidProof(f"member entry {height} names another log")
        raw = e.request.encode()
        try:
            registry.verify_signatures(raw, e.signatures)
        except Unauthenticated as err:
            raise InvalidProof(f"member entry {height}: {err}") from None
        code = registry.verdict(e.request, e.signers)
        if code != Code.ACCEPTED:
            raise InvalidProof(
                f"member entry {height} is marked accepted but the ledger's rules say {code.name}"
            )
        registry.apply(e)

    # -- background refresh -------------------------------------------------------------------------

    def start(self, interval_s: float) -> Callable[[], None]:
        """Refresh now and then every ``interval_s`` in a daemon thread; returns the function that
        stops it."""
        stop = threading.Event()

        def loop() -> None:
            self.maybe_refresh()  # at once: the first sync may take a while on a long log
            while not stop.wait(interval_s):
                self.refresh()

        t = threading.Thread(target=loop, name="member-follower", daemon=True)
        t.start()

        def halt() -> None:
            stop.set()
            t.join(timeout=5)
            if self._on_close is not None:
                self._on_close()

        return halt


class FollowedDirectory(LedgerDirectory):
    """The members as the followed registry holds them; an unknown caller triggers a bounded
    refresh (a member enrolled since the last one is then served at once)."""

    def __init__(self, follower: MemberFollower, names: Callable[[], dict[int, str]]) -> None:
        super().__init__(lambda: follower.registry, names)
        self.follower = follower

    def get(self, member_id: int) -> MemberRecord | None:
        m = super().get(member_id)
        if m is None and self.follower.maybe_refresh():
            m = super().get(member_id)
        return m

    def recheck(self, member_id: int) -> MemberRecord | None:
        """After a failed signature: refresh (rate-limited as for unknown members), so a member
        that re-keyed on the ledger is served with its new key without waiting for the next
        background refresh."""
        return super().get(member_id) if self.follower.maybe_refresh() else None
