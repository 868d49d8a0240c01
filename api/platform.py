"""The platform's domain service: ledger sequencing, the encrypted index, its OPRF share.

Servicers (api/servicers/) and the CLI call these methods; nothing here knows about gRPC.

- ``contribute``: checks the contributor's signed ledger request against the uploaded entries
  (hash, size, count) and both servers' evaluation receipts, drops re-uploads (per-contributor
  dedup keys), stages the index operations, sequences the ledger entry with the attested counts,
  then confirms the staged operations (see api/index_store.py for crash safety).
- ``publish``: the scheduled, tag-sorted publication of staged operations to the index log.
- ``index_delta``: operations for a mirror, up to a checkpoint's index size.
- ``record``: any other signed ledger request (lookup entries with their receipts, members, …).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from api import slot_report
from api.consortium import Consortium, key_epoch, oprf_share
from api.directory import Directory, LedgerDirectory, MemberRecord
from api.disputes import (
    DECISION_DISMISSED,
    DECISION_PENDING,
    DECISION_UPHELD,
    DisputeRecord,
    DisputeStore,
    dispute_binding,
    list_message,
)
from api.errors import BadRequest, NotFound, PermissionDenied, Refused, Unauthenticated
from api.evaluator import Evaluator
from api.index_store import IndexStore, Registration
from api.meter import Meter
from api.reads import ReadMethod, authenticate, ledger_read_message, sync_message
from api.screen_wire import SCREEN_BILATERAL, check_bilateral, mirror_chunk_hash
from incentive.adapter import IncentiveHook
from incentive.corroboration import corroboration_counts, due_period
from incentive.params import PARAM_IDS
from ledger.checkpoint import Receipt, SignedCheckpoint
from ledger.entry import ATTESTED, KIND_OFFSET, Code, Entry, Kind, Request, Role, Signature
from ledger.hooks import RuleHook
from ledger.log import Log
from ledger.log import Refused as LedgerRefused
from ledger.members import SUBMITTERS, DisputeAction
from ledger.metering import EvaluationReceipt
from ledger.storage import Batch, open_storage
from mpc import index as mindex
from mpc import ot
from mpc.exceptions import InvalidSignature
from mpc.sm2 import SM2PublicKey
from mpc.sm3 import sm3

log = logging.getLogger("riskshare.platform")

SUITE_CODES = {"SM2-SM3": 1, "P256-SHA256": 2}
MAX_UPLOAD_ENTRIES = 200_000


def epoch_bytes(c: Consortium) -> bytes:
    """The epoch id used by the index (label-key salt, AEAD data): log id ‖ epoch number."""
    return c.log_id + c.epoch.to_bytes(8, "big")


def _records(c: Consortium) -> list[MemberRecord]:
    return [MemberRecord(m.id, m.name, m.roles, m.sign_public(), m.agree_public()) for m in c.members]


def directory_of(c: Consortium) -> Directory:
    """The members in consortium.toml, reloaded when an unknown member calls (enrolment adds
    members there after their ledger entry is accepted)."""
    return Directory(_records(c), source=lambda: _records(Consortium.load(c.root)))


LOOKUP_OBLIVIOUS = 2


def token_message(token: bytes, index_size: int, bucket: int) -> bytes:
    """What a broker signs to spend its lookup token on one bucket (and its OT)."""
    return (
        b"riskshare lookup token v1" + sm3(token) + index_size.to_bytes(8, "big") + bucket.to_bytes(4, "big")
    )


def build_snapshot(c: Consortium, state: mindex.IndexState, index_root: bytes) -> mindex.Snapshot:
    return mindex.build_snapshot(state, index_root, bucket_size=c.bucket_size, cap=c.slot_cap)


def upload_hash(entries: Sequence[bytes], dedup_keys: Sequence[bytes]) -> tuple[bytes, int]:
    """SM3 and size of an upload as the contribute request commits to it."""
    body = b"".join(entries) + b"".join(dedup_keys)
    return sm3(len(entries).to_bytes(8, "big") + body), len(body)


def _sign_admins(c: Consortium, raw: bytes) -> tuple[Signature, ...]:
    admins = sorted(m.id for m in c.with_role(Role.ADMIN))[: c.admin_threshold]
    return tuple(Signature(a, c.signing_key(c.member_by_id(a).name).sign(raw)) for a in admins)


# Demo consortia run periods of seconds so that fees, the pool and vesting show within a demo;
# a rule_change entry right after genesis sets them (so auditors replay exactly the same rules).
DEMO_RULES = {"period_seconds": 15, "evaluation_fee": 1, "holding_periods": 1, "activity_bonus": 100}


def bootstrap_ledger(c: Consortium, storage_path: Path, rules: dict[str, int] | None = None) -> Log:
    """Create the ledger: genesis (signed by the administrators' threshold), the first key_epoch
    entry and, if ``rules`` is given, a rule_change setting those parameters. Demo consortia
    only: it needs the administrators' private keys."""

    platform = c.the(Role.PLATFORM)
    admins = sorted(m.id for m in c.with_role(Role.ADMIN))
    now = int(time.time() * 1000)
    members = sorted(c.members, key=lambda m: m.id)
    genesis = Request(
        Kind.GENESIS,
        c.log_id,
        admins[0],
        os.urandom(16),
        now,
        1,
        {
            "hash_alg": 1,
            "oprf_suite": SUITE_CODES[c.suite],
            "oprf_mode": 1,
            "admin_threshold": c.admin_threshold,
            "member_ids": tuple(m.id for m in members),
            "member_roles": tuple(int(m.roles) for m in members),
            "sign_keys": tuple(m.sign_key for m in members),
            "agree_keys": tuple(m.agree_key for m in members),
        },
    ).encode()
    storage = open_storage(str(storage_path))
    storage.commit(Batch(0, meta={"hook": b"incentive"}))  # what auditors replay with
    empty = mindex.IndexLog()  # genesis checkpoints commit the empty index, as auditors rebuild it
    roots = (0, empty.root(), build_snapshot(c, empty.state, empty.root()).root)
    ledger = Log.create(
        storage,
        genesis,
        _sign_admins(c, genesis),
        c.signing_key(platform.name),
        hook=IncentiveHook(),
        index_roots=lambda: roots,
    )
    epoch = key_epoch(c)
    req = Request(
        Kind.KEY_EPOCH,
        c.log_id,
        admins[0],
        os.urandom(16),
        int(time.time() * 1000),
        1,
        {
            "epoch": c.epoch,
            "suite": SUITE_CODES[c.suite],
            "holders": tuple(int(s.holder) for s in epoch.shares),
            "shares": tuple(s.element for s in epoch.shares),
            "proofs": tuple(s.pop for s in epoch.shares),
        },
    ).encode()
    ledger.submit(req, _sign_admins(c, req))
    if rules:
        unknown = set(rules) - set(PARAM_IDS)
        if unknown:
            raise ValueError(f"unknown rule parameters: {', '.join(sorted(unknown))}")
        req = Request(
            Kind.RULE_CHANGE,
            c.log_id,
            admins[0],
            os.urandom(16),
            int(time.time() * 1000),
            1,
            {
                "new_version": 2,
                "param_ids": tuple(PARAM_IDS[k] for k in rules),
                "param_values": tuple(rules.values()),
            },
        ).encode()
        ledger.submit(req, _sign_admins(c, req))
    ledger.checkpoint()
    return ledger


@dataclass(frozen=True)
class ContributeOutcome:
    accepted: int
    duplicates: int
    new_tags: int
    receipt: Receipt
    accepted_mask: bytes  # bit i (LSB first) set when upload entry i was new, so the contributor journals it


class Platform:
    def __init__(
        self,
        c: Consortium,
        *,
        hook: RuleHook | None = None,
        quota: int = 1_000_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.c = c
        state = c.state_dir("platform")
        me = c.the(Role.PLATFORM)
        self.member = me
        self._key = c.signing_key(me.name)
        self.directory = directory_of(c)
        self.epoch_id = epoch_bytes(c)
        self.hook: RuleHook = hook if hook is not None else IncentiveHook()
        ledger_path = state / "ledger.db"
        if not ledger_path.exists():
            if not c.demo:
                raise FileNotFoundError(f"{ledger_path} missing: create the ledger with the genesis ceremony")
            bootstrap_ledger(c, ledger_path, DEMO_RULES).close()
        self.store = IndexStore(state / "index.db")
        self.index = mindex.IndexLog()
        self.index.load(self.store.published())
        self._snapshots: dict[int, mindex.Snapshot] = {}
        self._durable_index = (self.index.size, self.index.root(), self._snapshot_now().root)
        self._lock = threading.RLock()
        self._tags_cache: dict[int, set[bytes]] = {}
        self._broken = False
        self.ledger = Log(
            open_storage(str(ledger_path)),
            self._key,
            hook=self.hook,
            clock=clock,
            index_roots=self._index_roots,
        )
        self._recover_staged()
        # Authenticate against the ledger's registry (removals and key rotations apply at once);
        # names for display come from the consortium file.
        self.directory = LedgerDirectory(
            lambda: self.ledger.state.registry,
            lambda: {m.id: m.name for m in Consortium.load(c.root).members},
        )
        self.evaluator = Evaluator(
            log_id=c.log_id,
            server_id=me.id,
            signing_key=self._key,
            share=oprf_share(c, me.name),
            epoch=c.epoch,
            directory=self.directory,
            meter=Meter(state / "meter.db", quota),
            ledger_height=lambda: self.ledger.size,
        )
        self._recover_unrecorded()
        self.key_epoch = key_epoch(c)
        self.server_keys: dict[int, SM2PublicKey] = {
            m.id: m.sign_public() for m in c.with_role(Role.PLATFORM | Role.KEYHOLDER)
        }

    # -- recovery ----------------------------------------------------------------------------------

    def _accepted_requests(self) -> dict[bytes, int]:
        out: dict[bytes, int] = {}
        for height, body, _ in self.ledger.storage.entries():
            if height == 0:
                continue
            e = Entry.decode(body)
            if e.kind in (Kind.CONTRIBUTE, Kind.REVOKE, Kind.DISPUTE) and e.code == Code.ACCEPTED:
                out[sm3(e.request.encode())] = height
        return out

    def _recover_unrecorded(self) -> None:
        """Lookups evaluated before a crash whose ledger entry became durable before the meter
        learnt it: settle them from the ledger (entries since the oldest held evaluation)."""
        held = self.evaluator.meter.unrecorded()
        if not held:
            return
        start = min(h for _, h in held.values())
        done = []
        for _, body, _ in self.ledger.storage.entries(max(start, 1)):
            if body[KIND_OFFSET] != Kind.LOOKUP:
                continue
            e = Entry.decode(body)
            if e.code == Code.ACCEPTED:
                done += [r.request_hash for _, r in self._own_receipts(e.request) if r.request_hash in held]
        self.evaluator.meter.settle(done)
        log.info("settled %d lookups recorded before a restart", len(done))

    def _own_receipts(self, req: Request) -> list[tuple[bytes, EvaluationReceipt]]:
        """This platform's receipts carried by a lookup request: (signed bytes, receipt)."""
        receipts = req.fields["receipts"]
        assert isinstance(receipts, tuple)
        out = []
        for rb in receipts:
            raw = bytes(rb)
            r = EvaluationReceipt.open(raw)[0]
            if r.server == self.member.id:
                out.append((raw, r))
        return out

    def _recover_staged(self) -> None:
        pending = self.store.staged_requests()
        if pending:
            accepted = self._accepted_requests()
            for rh in pending:
                if rh in accepted:
                    self.store.confirm(rh, accepted[rh])
                else:
                    self.store.drop(rh)
            log.info("recovered %d staged contributions", len(pending))
        confirmed = [mindex.IndexOp.from_bytes(b) for b in self.store.confirmed_staged()]
        if confirmed:
            self.index.submit_many(confirmed)

    def _index_roots(self) -> tuple[int, bytes, bytes]:
        return self._durable_index

    def _snapshot_now(self) -> mindex.Snapshot:
        """The oblivious-mode snapshot of the published index (auditors rebuild the same one)."""
        snap = build_snapshot(self.c, self.index.state, self.index.root())
        self._snapshots[self.index.size] = snap
        for old in sorted(self._snapshots)[:-4]:  # keep the few a witnessed checkpoint may name
            del self._snapshots[old]
        return snap

    # -- contributions -------------------------------------------------------------------------------

    def _check_receipts(self, req: Request, receipts: Sequence[bytes], purpose: Kind) -> int:
        """Both servers' receipts for this member and purpose, with equal totals; returns it."""
        totals: dict[int, int] = {}
        for raw in receipts:
            try:
                r, blob = EvaluationReceipt.open(raw)
                key = self.server_keys.get(r.server)
                if key is None:
                    raise BadRequest(f"receipt from unknown server {r.server}")
                blob.verify(key)
            except (ValueError, InvalidSignature) as e:
                raise BadRequest(f"evaluation receipt rejected: {e}") from None
            if (
                r.member != req.member
                or r.purpose != purpose
                or r.log_id != self.c.log_id
                or r.epoch != self.c.epoch
            ):
                raise BadRequest("an evaluation receipt belongs to another member, purpose, log or epoch")
            totals[r.server] = totals.get(r.server, 0) + r.count
        if set(totals) != set(self.server_keys) or len(set(totals.values())) != 1:
            raise BadRequest("receipts of both OPRF servers with equal counts are required")
        return next(iter(totals.values()))

    def _authenticate(self, raw: bytes, signatures: Sequence[Signature]) -> tuple[Request, MemberRecord]:
        try:
            req = Request.decode(raw)
        except ValueError as e:
            raise BadRequest(f"ledger request: {e}") from None
        member = self.directory.get(req.member)
        if member is None or not signatures or signatures[0].signer != req.member:
            raise PermissionDenied("the request must be signed by the member it names")
        try:
            member.sign_key.verify(signatures[0].der, raw)
        except InvalidSignature:
            raise PermissionDenied("the request's signature does not verify") from None
        return req, member

    def contribute(
        self,
        raw: bytes,
        signatures: Sequence[Signature],
        entries: Sequence[bytes],
        dedup_keys: Sequence[bytes],
    ) -> ContributeOutcome:
        req, member = self._authenticate(raw, signatures)
        if req.kind is not Kind.CONTRIBUTE:
            raise BadRequest("a contribution needs a contribute request")
        if not member.has(Role.CONTRIBUTOR):
            raise PermissionDenied(f"member {member.name!r} is not a contributor")
        if len(entries) != len(dedup_keys) or not 0 < len(entries) <= MAX_UPLOAD_ENTRIES:
            raise BadRequest(f"an upload holds 1 to {MAX_UPLOAD_ENTRIES} entries, each with its dedup key")
        digest, size = upload_hash(entries, dedup_keys)
        if req.fields["batch_hash"] != digest or req.int_field("batch_size") != size:
            raise BadRequest("the uploaded entries do not match the hash and size in the signed request")
        if req.int_field("submitted") != len(entries):
            raise BadRequest("the number of uploaded entries differs from the signed request")
        receipts = req.fields["receipts"]
        assert isinstance(receipts, tuple)
        evaluated = self._check_receipts(req, [bytes(r) for r in receipts], Kind.CONTRIBUTE)
        if req.int_field("evaluations") != evaluated:
            raise BadRequest("the request's evaluation count differs from the servers' receipts")
        try:
            parsed = [mindex.IndexEntry.from_bytes(e) for e in entries]
        except ValueError as e:
            raise BadRequest(f"malformed index entry: {e}") from None
        if any(len(k) != 32 for k in dedup_keys):
            raise BadRequest("dedup keys are 32 bytes")
        request_hash = sm3(raw)
        with self._lock:
            fresh: list[tuple[mindex.IndexEntry, bytes]] = []
            seen: set[bytes] = set()
            for entry, dk in zip(parsed, dedup_keys, strict=True):
                if dk in seen or any(self._live(e) for e in self.store.entries_with_dedup(member.id, dk)):
                    continue
                seen.add(dk)
                fresh.append((entry, dk))
            known_tags = self._member_tags(member.id)
            new_tags = len({e.tag for e, _ in fresh} - known_tags)
            ops = [mindex.IndexOp.add(e) for e, _ in fresh]
            regs = [Registration(e.entry_id, member.id, dk, -1) for e, dk in fresh]
            receipt = self._sequence_staged(
                raw,
                signatures,
                request_hash,
                ops,
                regs,
                {"accepted": len(fresh), "new_tags": new_tags},
                "contribution",
            )
            self._tags_cache.setdefault(member.id, set()).update(e.tag for e, _ in fresh)
        log.info(
            "member %d contributed %d new entries (%d duplicates)",
            member.id,
            len(fresh),
            len(entries) - len(fresh),
        )
        kept = {entry.entry_id for entry, _ in fresh}
        mask = bytearray((len(parsed) + 7) // 8)
        for i, parsed_entry in enumerate(parsed):
            if parsed_entry.entry_id in kept:
                mask[i // 8] |= 1 << (i % 8)
        return ContributeOutcome(len(fresh), len(entries) - len(fresh), new_tags, receipt, bytes(mask))

    def _live(self, entry_id: bytes) -> bool:
        """Live or frozen in the published index, or staged and not yet published."""
        status = self.index.state.status(entry_id)
        return status is None or status in (mindex.EntryStatus.LIVE, mindex.EntryStatus.FROZEN)

    def revoke(
        self,
        raw: bytes,
        signatures: Sequence[Signature],
        entry_ids: Sequence[bytes],
        secrets: Sequence[bytes],
        salt: bytes,
    ) -> tuple[int, Receipt]:
        """Withdraw a contributor's entries: tombstones reveal each entry's t (SM3(t) = c shows the
        entry's contributor asked), the ledger's revoke entry lists their upload heights and the
        platform attests how many distinct tags the member no longer reports."""
        req, member = self._authenticate(raw, signatures)
        if req.kind is not Kind.REVOKE:
            raise BadRequest("a revocation needs a revoke request")
        if not member.has(Role.CONTRIBUTOR):
            raise PermissionDenied(f"member {member.name!r} is not a contributor")
        if len(entry_ids) != len(secrets) or not 0 < len(entry_ids) <= MAX_UPLOAD_ENTRIES:
            raise BadRequest("a revocation names 1 or more entries, each with its tombstone secret")
        if len(set(entry_ids)) != len(entry_ids):
            raise BadRequest("a revocation names an entry twice")
        try:
            ops = [mindex.IndexOp.tombstone(e, t) for e, t in zip(entry_ids, secrets, strict=True)]
        except ValueError as e:
            raise BadRequest(f"malformed tombstone: {e}") from None
        if len(salt) != 32:
            raise BadRequest("a revocation carries a 32-byte salt")
        if req.fields["batch_hash"] != sm3(salt + b"".join(op.to_bytes() for op in ops)):
            raise BadRequest("the tombstones do not match the hash in the signed request")
        heights = req.fields["heights"]
        assert isinstance(heights, tuple)
        if req.int_field("count") != len(ops) or len(heights) != len(ops):
            raise BadRequest("the request must list one upload height per revoked entry")
        with self._lock:
            tags: set[bytes] = set()
            for eid, h in zip(entry_ids, heights, strict=True):
                reg = self.store.owner(eid)
                if reg is None or reg.owner != member.id:
                    raise PermissionDenied("a revocation may only withdraw the member's own entries")
                if reg.height != h:
                    raise BadRequest(f"entry {eid.hex()[:8]}… was uploaded at height {reg.height}, not {h}")
                if self.index.state.status(eid) is None:
                    raise Refused("an entry is not published yet: revoke it after the next publication")
                tag = self.index.state.tag_of_entry(eid)
                assert tag is not None
                tags.add(tag)
            try:
                self.index.check_pending(
                    ops
                )  # SM3(t) = c for each; live, and not already tombstoned in a queue
            except ValueError as e:
                raise BadRequest(f"tombstone rejected: {e}") from None
            gone = set(entry_ids)
            removed = 0
            for tag in tags:
                others = [
                    e
                    for e in self.index.state.lookup(tag, include_frozen=True)
                    if e.entry_id not in gone
                    and (o := self.store.owner(e.entry_id)) is not None
                    and o.owner == member.id
                ]
                removed += not others
            receipt = self._sequence_staged(
                raw, signatures, sm3(raw), ops, [], {"removed": removed}, "revocation"
            )
            self._tags_cache.pop(member.id, None)
        return len(ops), receipt

    def _check_broken(self) -> None:
        if self._broken:
            raise RuntimeError("the platform's index store failed; restart the platform to recover")

    def _sequence_staged(
        self,
        raw: bytes,
        signatures: Sequence[Signature],
        request_hash: bytes,
        ops: list[mindex.IndexOp],
        registrations: list[Registration],
        attested: dict[str, int],
        what: str,
    ) -> Receipt:
        """Stage index operations durably, sequence the ledger entry, then confirm and queue them
        (under the platform lock). A refusal drops only this request's unconfirmed rows; any other
        failure leaves them for the restart recovery to confirm or drop against the ledger."""
        self._check_broken()
        if self.store.known_request(request_hash):
            raise Refused(f"this {what} request was already submitted")
        try:
            self.index.check_pending(ops)  # against the published index and everything queued
        except ValueError as e:
            raise BadRequest(f"index operation rejected: {e}") from None
        self.store.stage(request_hash, [op.to_bytes() for op in ops], registrations)
        try:
            receipt = self.ledger.submit(raw, signatures, attested)
        except LedgerRefused as e:
            self.store.drop(request_hash)
            raise Refused(f"ledger refused the {what}: {e}") from None
        assert isinstance(receipt, Receipt)
        code = self.entry_code(receipt.index)
        if code != Code.ACCEPTED:
            self.store.drop(request_hash)
            raise Refused(f"{what} rejected by the ledger (code {code})")
        self.store.confirm(request_hash, receipt.index)
        self.index.submit_many(ops)
        return receipt

    def _member_tags(self, member_id: int) -> set[bytes]:

        if member_id not in self._tags_cache:
            tags: set[bytes] = set()
            for op_bytes in self.store.published() + self.store.confirmed_staged():
                op = mindex.IndexOp.from_bytes(op_bytes)
                if op.entry is not None and self._live(op.entry_id):
                    reg = self.store.owner(op.entry_id)
                    if reg is not None and reg.owner == member_id:
                        tags.add(op.entry.tag)
            self._tags_cache[member_id] = tags
        return self._tags_cache[member_id]

    # -- publication and sync ----------------------------------------------------------------------------

    def publish(self) -> int:
        """Publish staged operations (tag-sorted) and sequence the platform's index_publish entry,
        so the next checkpoint commits the new index size and root; returns the count."""
        with self._lock:
            self._check_broken()
            if self.index.pending == 0:
                return 0
            start = self.index.size
            delta = self.index.publish()
            try:
                self.store.publish(start, delta.ops)
            except BaseException:
                # The in-memory index is ahead of the disk: refuse all further work; a restart
                # reloads the published log and recovers the staged operations.
                self._broken = True
                raise
            self._durable_index = (self.index.size, self.index.root(), self._snapshot_now().root)
            self._sequence_publish(start, len(delta.ops), delta.root)
            return len(delta.ops)

    def _sequence_publish(self, start: int, count: int, root: bytes) -> None:
        raw = Request(
            Kind.INDEX_PUBLISH,
            self.c.log_id,
            self.member.id,
            os.urandom(16),
            int(time.time() * 1000),
            self.ledger.state.rule_version,
            {"start": start, "count": count, "root": root},
        ).encode()
        self.ledger.submit(raw, (Signature(self.member.id, self._key.sign(raw)),))

    def heartbeat(self, max_age_s: float = 30.0) -> bool:
        """Checkpoints are cut only when new entries exist, but clients accept only checkpoints
        younger than a bound (60 s for lookups): on a quiet ledger, sequence an empty
        index_publish (count 0) when the newest checkpoint is older than ``max_age_s`` so the next
        checkpoint, once co-signed, keeps state fresh. Returns whether it did."""
        with self._lock:
            latest = self.ledger.latest_checkpoint()
            if latest is not None and time.time() * 1000 - latest.checkpoint.time_ms < max_age_s * 1000:
                return False
            size, root, _ = self._durable_index
            self._sequence_publish(size, 0, root)
            return True

    def _authenticate_read(
        self, member: int, timestamp_ms: int, signature: bytes, message: bytes, what: str
    ) -> MemberRecord:
        """The caller of a read, by its fresh signature (api/reads.py); unauthenticated reads are
        refused and only counted in the metrics."""
        try:
            return authenticate(
                self.directory, member, timestamp_ms, signature, message, int(time.time() * 1000), what
            )
        except (Unauthenticated, Refused):
            self.ledger.metrics.refused[f"{what}: unauthenticated"] += 1
            raise

    def authorize_sync(
        self, member: int, timestamp_ms: int, from_size: int, to_size: int, signature: bytes
    ) -> None:
        """Only brokers granted mirror mode and auditors read the index log (a copy of every tag
        and encrypted entry); the caller proves who it is with a fresh SM2 signature."""
        msg = sync_message(self.c.log_id, member, timestamp_ms, from_size, to_size)
        m = self._authenticate_read(member, timestamp_ms, signature, msg, "sync request")
        if not (m.has(Role.MIRROR) and m.has(Role.BROKER)) and not m.has(Role.AUDITOR):
            raise PermissionDenied(f"member {m.name!r} is neither a mirror broker nor an auditor")

    def authorize_ledger_read(
        self, method: ReadMethod, member: int, timestamp_ms: int, signature: bytes, a: int = 0, b: int = 0
    ) -> MemberRecord:
        """Any active member reads the ledger, with a fresh signature over the read (its method
        and parameters ``a``, ``b``); anyone else who reaches the port learns nothing."""
        msg = ledger_read_message(self.c.log_id, method, member, timestamp_ms, a, b)
        return self._authenticate_read(member, timestamp_ms, signature, msg, "ledger read request")

    def index_delta(self, start: int, end: int) -> mindex.IndexDelta:
        with self._lock:
            if not 0 <= start <= end <= self._durable_index[0]:
                raise BadRequest(f"index range {start}..{end} is outside the published log")
            return self.index.delta_since(start, end - start)

    # -- ledger ------------------------------------------------------------------------------------------

    def record(self, raw: bytes, signatures: Sequence[Signature], kind: Kind | None = None) -> Receipt:
        """Sequence a signed request; lookup and screen entries must carry both servers' receipts."""
        req, _ = self._authenticate(raw, signatures)
        if kind is not None and req.kind is not kind:
            raise BadRequest(f"expected a {kind.name.lower()} request")
        if req.kind is Kind.SCREEN and req.int_field("mode") == SCREEN_BILATERAL:
            try:  # one receipt, signed by the contributor named as counterpart
                check_bilateral(req, self.directory, self.c.log_id)
            except ValueError as e:
                raise BadRequest(str(e)) from None
        elif req.kind in (Kind.LOOKUP, Kind.SCREEN):
            receipts = req.fields["receipts"]
            assert isinstance(receipts, tuple)
            evaluated = self._check_receipts(req, [bytes(r) for r in receipts], req.kind)
            if req.int_field("evaluations") != evaluated:
                raise BadRequest("the request's evaluation count differs from the servers' receipts")
            if req.kind is Kind.SCREEN and req.fields["chunk_hash"] != mirror_chunk_hash(
                [bytes(r) for r in receipts], self.member.id
            ):
                raise BadRequest("the screen entry's chunk hash does not match its receipts")
        if req.kind in (Kind.STAT_ROUND, Kind.STAT_SUBMIT, Kind.STAT_CLOSE):
            raise BadRequest("statistics rounds, submissions and closes go through the Stats service")
        if req.kind in (Kind.CONTRIBUTE, Kind.REVOKE):
            raise BadRequest(
                f"{req.kind.name.lower()} requests go through their own calls, with their payloads"
            )
        if ATTESTED[req.kind] or SUBMITTERS[req.kind] == Role.PLATFORM:
            raise BadRequest(f"{req.kind.name.lower()} entries are sequenced by the platform itself")
        own = self._own_receipts(req) if req.kind is Kind.LOOKUP else []
        held: list[bytes] = []
        if own:  # each lookup evaluation is recorded (and paid) exactly once
            try:
                held = self.evaluator.meter.claim(req.member, [r.request_hash for _, r in own])
            except ValueError as e:
                raise BadRequest(str(e)) from None
        try:
            try:
                receipt = self.ledger.submit(raw, signatures)
            except LedgerRefused as e:
                raise Refused(f"ledger refused the request: {e}") from None
            assert isinstance(receipt, Receipt)
            code = self.entry_code(receipt.index)
            if code != Code.ACCEPTED:
                what = req.kind.name.lower()
                raise Refused(f"{what} entry rejected by the ledger (code {code}, entry {receipt.index})")
        except BaseException:
            self.evaluator.meter.unclaim(held)  # not logged as accepted: the lookups stay held
            raise
        self.evaluator.meter.settle(held)
        if req.kind is Kind.LOOKUP and req.int_field("mode") == LOOKUP_OBLIVIOUS:
            for rb, _ in own:  # the receipt buys one bucket and one OT
                self.store.add_token(sm3(rb), oblivious=True)
        return receipt

    def entry_code(self, height: int) -> int:
        return Entry.decode(self.ledger.storage.entry(height)).code

    def checkpoint(self) -> SignedCheckpoint | None:
        self.publish()
        return self.ledger.checkpoint()

    def add_cosignature(self, auditor: int, size: int, signature: bytes) -> bool:
        """Store an auditor's co-signature of the checkpoint of ``size`` (checked against the
        ledger's auditors); returns whether that checkpoint is now witnessed."""
        if auditor not in self.ledger.auditor_keys():
            raise PermissionDenied("only auditors co-sign checkpoints")
        if self.ledger.storage.checkpoint(size) is None:
            raise NotFound(f"no checkpoint of size {size}")
        try:
            return self.ledger.add_cosignature(size, auditor, signature)
        except LedgerRefused:
            raise PermissionDenied("the co-signature does not verify") from None

    def witnessed(self) -> tuple[SignedCheckpoint, dict[int, bytes]] | None:
        """The newest checkpoint co-signed by more than half of the auditors, with its co-signatures."""
        signed = self.ledger.latest_witnessed()
        if signed is None:
            return None
        return signed, self.ledger.storage.cosignatures(signed.checkpoint.size)

    # -- oblivious mode ---------------------------------------------------------------------------------

    def snapshot_for(self, index_size: int) -> mindex.Snapshot:
        snap = self._snapshots.get(index_size)
        if snap is None:
            raise NotFound(f"no snapshot at index size {index_size}: sync again")
        return snap

    def _spendable(self, token: bytes, index_size: int, bucket: int, signature: bytes) -> bytes:
        """Check a lookup token: this platform's signed receipt of one LOOKUP evaluation of this
        log and epoch, presented by the broker it was issued to (its SM2 signature over the token,
        bucket and snapshot binds the request to it). Returns the token's hash."""
        try:
            r = EvaluationReceipt.verified(token, self._key.public_key())
        except (ValueError, InvalidSignature):
            raise PermissionDenied("the token is not an evaluation receipt of this platform") from None
        if (
            r.server != self.member.id
            or r.log_id != self.c.log_id
            or r.purpose is not Kind.LOOKUP
            or r.epoch != self.c.epoch
            or r.count != 1
        ):
            raise PermissionDenied(
                "the token must be this log's and epoch's receipt of one lookup evaluation"
            )
        m = self.directory.get(r.member)
        if m is None or not m.has(Role.BROKER):
            raise PermissionDenied("only brokers look up")
        try:
            m.sign_key.verify(signature, token_message(token, index_size, bucket))
        except InvalidSignature:
            raise PermissionDenied("the token is not presented by the broker it was issued to") from None
        return sm3(token)

    def bucket(self, token: bytes, index_size: int, bucket: int, signature: bytes) -> mindex.BucketProof:
        h = self._spendable(token, index_size, bucket, signature)
        snap = self.snapshot_for(index_size)
        if not 0 <= bucket < snap.buckets:
            raise BadRequest(f"bucket {bucket} does not exist (the snapshot has {snap.buckets})")
        why = self.store.use_token_for_bucket(h, index_size, bucket)
        if why is not None:
            raise Refused(why)
        return snap.bucket_proof(bucket)

    def ot_sender(self, token: bytes, index_size: int, bucket: int, signature: bytes) -> ot.OneOfNSender:
        h = self._spendable(token, index_size, bucket, signature)
        snap = self.snapshot_for(index_size)
        if not self.store.use_token_for_ot(h, index_size, bucket):
            raise Refused("a token pays for one OT of the bucket it fetched")
        return ot.OneOfNSender(snap.ot_messages(bucket))

    # -- disputes (api/disputes.py) ----------------------------------------------------------------

    def _dispute_store(self) -> DisputeStore:
        """The private book of disputes, opened on first use and settled against the ledger."""
        with self._lock:
            store: DisputeStore | None = getattr(self, "_disputes", None)
            if store is None:
                store = DisputeStore(self.c.state_dir("platform") / "disputes.db")
                filed: dict[bytes, int] = {}
                decided: dict[int, tuple[bool, int]] = {}
                for height, body, _ in self.ledger.storage.entries(1):
                    if body[KIND_OFFSET] != Kind.DISPUTE:
                        continue
                    e = Entry.decode(body)
                    if e.code != Code.ACCEPTED:
                        continue
                    if e.int_field("action") == DisputeAction.FILE:
                        filed[sm3(e.request.encode())] = height
                    else:
                        decided[e.int_field("dispute_id")] = (
                            e.int_field("decision") == DECISION_UPHELD,
                            height,
                        )
                store.settle(filed)
                for r in store.all():
                    if r.status == "open" and r.dispute_id in decided:
                        store.decided(r.dispute_id, *decided[r.dispute_id])
                self._disputes = store
            return store

    def _admin_threshold_signed(self, signatures: Sequence[Signature]) -> bool:
        registry = self.ledger.state.registry
        return len({s.signer for s in signatures} & registry.admins()) >= registry.threshold

    def file_dispute(
        self, raw: bytes, signatures: Sequence[Signature], entry_id: bytes, evidence: bytes
    ) -> tuple[DisputeRecord, Receipt]:
        """A member files a data subject's complaint against an index entry. The ledger entry binds
        the entry id only through its evidence hash; the platform attests the upload height (the
        rules freeze the contributor's pending reward). Co-signed by the administrators' threshold,
        the filing also freezes the entry in the index."""
        req, member = self._authenticate(raw, signatures)
        if req.kind is not Kind.DISPUTE or req.int_field("action") != DisputeAction.FILE:
            raise BadRequest("filing a dispute needs a dispute request with action 1 (file)")
        if not member.has(Role.BROKER | Role.CONTRIBUTOR | Role.ADMIN):
            raise PermissionDenied(f"member {member.name!r} may not file disputes")
        if req.int_field("decision") != DECISION_PENDING or req.fields["heights"]:
            raise BadRequest("a filing names no decision and no heights (the platform attests the height)")
        if len(entry_id) != 16:
            raise BadRequest("an entry id is 16 bytes")
        if evidence and len(evidence) != 32:
            raise BadRequest("the evidence digest is 32 bytes (SM3 of the salted document)")
        if req.fields["evidence_hash"] != dispute_binding(entry_id):
            raise BadRequest("the request's evidence hash does not bind this entry id")
        did = req.int_field("dispute_id")
        store = self._dispute_store()
        with self._lock:
            reg = self.store.owner(entry_id)
            status = self.index.state.status(entry_id)
            if reg is None or reg.height < 0:
                raise NotFound("no such index entry")
            if status is None:
                raise Refused("the entry is not published yet: file the dispute after the next publication")
            if status not in (mindex.EntryStatus.LIVE, mindex.EntryStatus.FROZEN):
                raise Refused(f"the entry is {status.value}: nothing to dispute")
            if store.get(did) is not None:
                raise Refused(f"dispute {did} exists already")
            ops: list[mindex.IndexOp] = []
            if self._admin_threshold_signed(signatures):
                op = mindex.IndexOp.dispute(mindex.OpKind.FREEZE, entry_id, sm3(raw))
                try:
                    self.index.check_pending([op])
                    ops.append(op)
                except ValueError:
                    pass  # already frozen (another dispute), or a pending change: keep the filing
            rec = DisputeRecord(
                did,
                entry_id,
                member.id,
                reg.owner,
                reg.height,
                evidence,
                "filing",
                bool(ops),
                None,
                None,
                sm3(raw),
            )
            store.add(rec)
            try:
                receipt = self._sequence_staged(
                    raw, signatures, sm3(raw), ops, [], {"height": reg.height}, "dispute"
                )
            except (Refused, BadRequest):
                store.forget(did)  # the ledger did not take it
                raise
            # any other failure leaves the row as "filing": the restart settles it against the ledger
            store.opened(did, receipt.index)
        log.info("dispute %d filed by member %d%s", did, member.id, " (entry frozen)" if ops else "")
        out = store.get(did)
        assert out is not None
        return out, receipt

    def decide_dispute(self, raw: bytes, signatures: Sequence[Signature]) -> tuple[DisputeRecord, Receipt]:
        """The administrators' threshold decides an open dispute: upheld removes the entry from the
        index (the rules claw back and penalise), dismissed unfreezes it if the filing froze it."""
        req, _ = self._authenticate(raw, signatures)
        if req.kind is not Kind.DISPUTE or req.int_field("action") != DisputeAction.DECIDE:
            raise BadRequest("deciding a dispute needs a dispute request with action 2 (decide)")
        decision = req.int_field("decision")
        if decision not in (DECISION_UPHELD, DECISION_DISMISSED):
            raise BadRequest("a decision is 1 (upheld) or 2 (dismissed)")
        if not self._admin_threshold_signed(signatures):
            raise PermissionDenied("a dispute is decided by the administrators' threshold")
        did = req.int_field("dispute_id")
        store = self._dispute_store()
        with self._lock:
            rec = store.get(did)
            if rec is None:
                raise NotFound(f"no dispute {did}")
            if rec.status != "open":
                raise Refused(f"dispute {did} is {rec.status}")
            if req.fields["evidence_hash"] != dispute_binding(rec.entry_id):
                raise BadRequest("the decision's evidence hash does not bind the disputed entry")
            if tuple(req.fields["heights"]) != (rec.height,):  # type: ignore[arg-type]
                raise BadRequest(f"the decision must name the disputed upload height {rec.height}")
            upheld = decision == DECISION_UPHELD
            kind = mindex.OpKind.REMOVE if upheld else mindex.OpKind.UNFREEZE
            ops: list[mindex.IndexOp] = []
            if upheld or rec.froze:
                op = mindex.IndexOp.dispute(kind, rec.entry_id, sm3(raw))
                try:
                    self.index.check_pending([op])
                    ops.append(op)
                except ValueError:
                    pass  # withdrawn or removed meanwhile: the decision stands, the index has nothing to do
            removed = 0
            if upheld and ops:
                tag = self.index.state.tag_of_entry(rec.entry_id)
                others = [
                    e
                    for e in self.index.state.lookup(tag or b"", include_frozen=True)
                    if e.entry_id != rec.entry_id
                    and (o := self.store.owner(e.entry_id)) is not None
                    and o.owner == rec.owner
                ]
                removed = int(not others)
            receipt = self._sequence_staged(
                raw, signatures, sm3(raw), ops, [], {"removed": removed}, "decision"
            )
            store.decided(did, upheld, receipt.index)
            self._tags_cache.pop(rec.owner, None)
        log.info("dispute %d %s", did, "upheld" if upheld else "dismissed")
        out = store.get(did)
        assert out is not None
        return out, receipt

    def list_disputes(self, member: int, timestamp_ms: int, signature: bytes) -> list[DisputeRecord]:
        """Administrators see every dispute; a member sees those it filed and those against its
        own entries (so that it can answer them)."""
        msg = list_message(self.c.log_id, member, timestamp_ms)
        m = self._authenticate_read(member, timestamp_ms, signature, msg, "dispute list request")
        rows = self._dispute_store().all()
        if m.has(Role.ADMIN):
            return rows
        return [r for r in rows if member in (r.filer, r.owner)]

    # -- corroboration (incentive/corroboration.py) -------------------------------------------------

    def _upload_time_s(self, height: int, cache: dict[int, int]) -> int:
        if height not in cache:
            cache[height] = Entry.decode(self.ledger.storage.entry(height)).sequenced_ms // 1000
        return cache[height]

    def corroborate(self) -> Receipt | None:
        """Attest the newest closed period's corroboration counts (per contributor, its distinct
        tags that another contributor also holds, records held past the holding period) as a
        platform-signed ``corroboration`` entry that the rules pay. Call after publication; does
        nothing while no period is due or when nobody corroborates anybody. The published index
        is read under the platform lock; the registry look-ups and the count run outside it."""
        hook = self.hook
        if not isinstance(hook, IncentiveHook):
            return None
        with self._lock:
            due = due_period(hook.engine)
            if due is None or getattr(self, "_corroboration_tried", None) == due.period:
                return None
            self._corroboration_tried = due.period
            # only a tag with two live entries or more can be corroborated
            live = [
                (tag, e.entry_id)
                for tag, es in self.index.state.live_by_tag().items()
                if len(es) > 1
                for e in es
            ]
        times: dict[int, int] = {}
        holdings = []
        for tag, eid in live:
            reg = self.store.owner(eid)
            if reg is not None and reg.height > 0:
                holdings.append((tag, reg.owner, self._upload_time_s(reg.height, times)))
        counts = corroboration_counts(holdings, due.cutoff_s)
        if not counts:
            return None
        raw = Request(
            Kind.CORROBORATION,
            self.c.log_id,
            self.member.id,
            os.urandom(16),
            int(time.time() * 1000),
            self.ledger.state.rule_version,
            {"period": due.period, "contributors": tuple(counts), "counts": tuple(counts.values())},
        ).encode()
        receipt = self.ledger.submit(raw, (Signature(self.member.id, self._key.sign(raw)),))
        assert isinstance(receipt, Receipt)
        code = self.entry_code(receipt.index)
        if code != Code.ACCEPTED:
            log.warning("corroboration of period %d rejected (code %d)", due.period, code)
            return None
        log.info("corroboration of period %d: %d contributors", due.period, len(counts))
        return receipt

    def sign_ot_transcript(
        self, token: bytes, index_size: int, bucket: int, m1: bytes, m2: bytes, m3: bytes
    ) -> bytes:
        """The platform's signature over one oblivious-lookup OT run (api/slot_report.py)."""
        return self._key.sign(slot_report.transcript_message(token, index_size, bucket, m1, m2, m3))

    def close(self) -> None:
        self.ledger.close()
        self.store.close()
        self.evaluator.meter.close()
        disputes: DisputeStore | None = getattr(self, "_disputes", None)
        if disputes is not None:
            disputes.close()
