"""Member-side flows over gRPC: contribute, mirror sync, lookup, and the auditor's co-signing.

The CLI and the demo call these; each flow signs its own requests with the member's key and
checks everything the servers send back (DLEQ proofs, receipts, witnessed checkpoints, index
roots) before it uses it.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import grpc

from api import convert, slot_report
from api._generated import index_pb2, index_pb2_grpc, ledger_pb2, ledger_pb2_grpc, oprf_pb2_grpc
from api.consortium import Consortium, key_epoch
from api.disputes import DecisionBook
from api.oprf_client import Identity, Server, TwoServerOprf
from api.platform import build_snapshot, epoch_bytes, token_message, upload_hash
from api.reads import Reader, ReadMethod
from api.roles import channel_credentials
from api.server import channel
from incentive.adapter import IncentiveHook
from ledger.audit import Auditor
from ledger.checkpoint import (
    Checkpoint,
    NotWitnessed,
    Receipt,
    RestoreGuardError,
    SignedCheckpoint,
    accept_checkpoint,
    check_restore_guard,
)
from ledger.entry import Kind, Request, Role, Signature
from ledger.hooks import RuleHook
from ledger.metering import EvaluationReceipt
from ledger.storage import Batch, CheckpointRow, Storage
from mpc import index as mindex
from mpc import merkle, ot
from mpc.exceptions import InvalidProof, InvalidSignature, ProtocolAbort
from mpc.lookup import LookupResult, ObliviousLookup, mirror_lookup
from mpc.records import RiskRecord, SubjectType, normalize_subject_id, oprf_input
from mpc.sm2 import SM2PublicKey
from mpc.sm3 import hmac_sm3, sm3

UPLOAD_CHUNK = 4096  # entries per streamed message (≈ 1.4 MB)
MAX_CHECKPOINT_AGE_MS = 60_000  # lookups accept only witnessed checkpoints younger than this


class StaleState(Exception):
    """The newest witnessed checkpoint is older than the bound for this operation."""


@dataclass
class Session:
    """A member's connections to the platform and the key holder."""

    c: Consortium
    name: str
    platform_channel: grpc.Channel
    keyholder_channel: grpc.Channel
    identity: Identity = field(init=False)

    def __post_init__(self) -> None:
        m = self.c.member(self.name)
        self.member = m
        self.identity = Identity(self.c.log_id, m.id, m.name, self.c.signing_key(m.name))
        p, k = self.c.the(Role.PLATFORM), self.c.the(Role.KEYHOLDER)
        self.oprf = TwoServerOprf(
            self.identity,
            key_epoch(self.c),
            self.c.epoch,
            Server(p.id, p.sign_public(), oprf_pb2_grpc.OprfStub(self.platform_channel)),
            Server(k.id, k.sign_public(), oprf_pb2_grpc.OprfStub(self.keyholder_channel)),
        )
        self.index = index_pb2_grpc.IndexStub(self.platform_channel)
        self.ledger = ledger_pb2_grpc.LedgerStub(self.platform_channel)
        self.platform_key = p.sign_public()
        self.reader = Reader(self.c.log_id, m.id, self.identity.signing_key)
        self.epoch = epoch_bytes(self.c)
        self._rule_version = 0
        self.lookups = LookupBatcher(self)
        # contributors who opted in sign their records; their names show on findings
        self.contributor_keys = {m.name: m.sign_public() for m in self.c.with_role(Role.CONTRIBUTOR)}

    @classmethod
    def connect(
        cls,
        c: Consortium,
        name: str,
        platform_address: str | None = None,
        keyholder_address: str | None = None,
    ) -> Session:
        creds = channel_credentials(c, name)
        return cls(
            c,
            name,
            channel(platform_address or c.platform_address, creds),
            channel(keyholder_address or c.keyholder_address, creds),
        )

    def close(self) -> None:
        self.platform_channel.close()
        self.keyholder_channel.close()

    @property
    def rule_version(self) -> int:
        """The rule version in force, from the newest signed checkpoint (requests must name it)."""
        if not self._rule_version:
            signed, _ = self.get_checkpoint()
            self._rule_version = signed.checkpoint.rule_version
        return self._rule_version

    def get_checkpoint(self, *, witnessed: bool = False) -> tuple[SignedCheckpoint, dict[int, bytes]]:
        """The platform's newest checkpoint (or newest witnessed one), its signature checked."""
        auth = self.reader.ledger(ReadMethod.CHECKPOINT, 0, int(witnessed))
        msg = self.ledger.GetCheckpoint(
            ledger_pb2.CheckpointRequest(size=0, witnessed=witnessed, auth=auth), timeout=30
        )
        signed, cosigs = convert.from_checkpoint(msg)
        signed.verify(self.platform_key)
        return signed, cosigs

    def request(self, kind: Kind, fields: dict[str, object]) -> tuple[bytes, tuple[Signature, ...]]:
        raw = Request(
            kind,
            self.c.log_id,
            self.member.id,
            os.urandom(16),
            int(time.time() * 1000),
            self.rule_version,
            fields,  # type: ignore[arg-type]
        ).encode()
        return raw, (Signature(self.member.id, self.identity.signing_key.sign(raw)),)

    def sync_request(self, from_size: int, to_size: int) -> index_pb2.SyncRequest:
        """A signed request to read the index log (mirror brokers and auditors only)."""
        ts, sig = self.reader.sync(from_size, to_size)
        return index_pb2.SyncRequest(
            from_size=from_size, to_size=to_size, member=self.member.id, timestamp_ms=ts, signature=sig
        )

    def auditor_keys(self) -> dict[int, SM2PublicKey]:
        return {m.id: m.sign_public() for m in self.c.with_role(Role.AUDITOR)}

    def check_witnessed(
        self, signed: SignedCheckpoint, cosigs: dict[int, bytes], max_age_ms: int | None
    ) -> Checkpoint:
        """Accept state only from a checkpoint of this log, signed by the platform, co-signed by
        more than half of the auditors and (for lookups) younger than ``max_age_ms``."""
        if signed.checkpoint.log_id != self.c.log_id:
            raise InvalidProof("the checkpoint belongs to another log")
        now = int(time.time() * 1000)
        try:
            cp = accept_checkpoint(signed, cosigs, self.platform_key, self.auditor_keys(), now, 1 << 62)
        except NotWitnessed as e:
            raise InvalidProof(str(e)) from None
        if max_age_ms is not None and now - cp.time_ms > max_age_ms:
            raise StaleState(f"the newest witnessed checkpoint is {(now - cp.time_ms) / 1000:.0f} s old")
        return cp


# ---- contributor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContributeSummary:
    submitted: int
    accepted: int
    duplicates: int
    new_tags: int
    evaluations: int
    receipt: Receipt


def contribute(
    s: Session,
    records: Sequence[RiskRecord],
    *,
    named: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ContributeSummary:
    """Derive tags with the two-server OPRF, seal one fixed-size entry per record, upload."""
    if not records:
        raise ValueError("nothing to contribute")
    secret = mindex.ContributorSecret(s.c.load_secret(s.name, "contributor-secret"))
    inputs = sorted({oprf_input(r.subject_type, r.subject_id) for r in records})
    result = s.oprf.evaluate(inputs, Kind.CONTRIBUTE)
    h_of = dict(zip(inputs, result.outputs, strict=True))
    sealed = []
    for i, r in enumerate(records):
        h = h_of[oprf_input(r.subject_type, r.subject_id)]
        if named:
            sealed.append(
                mindex.seal_entry(h, s.epoch, r, secret, name=s.name, signer=s.identity.signing_key)
            )
        else:
            sealed.append(mindex.seal_entry(h, s.epoch, r, secret))
        if progress is not None and i % 1000 == 999:
            progress(1000)
    entries = [x.entry.to_bytes() for x in sealed]
    dedup = [x.dedup_key for x in sealed]
    digest, size = upload_hash(entries, dedup)
    raw, sigs = s.request(
        Kind.CONTRIBUTE,
        {
            "epoch": s.c.epoch,
            "evaluations": len(inputs),
            "submitted": len(entries),
            "batch_hash": digest,
            "batch_size": size,
            "receipts": tuple(result.receipts),
        },
    )

    def chunks() -> Iterator[index_pb2.ContributeChunk]:
        for start in range(0, len(entries), UPLOAD_CHUNK):
            end = start + UPLOAD_CHUNK
            msg = index_pb2.ContributeChunk(entries=entries[start:end], dedup_keys=dedup[start:end])
            if end >= len(entries):
                msg.request.CopyFrom(convert.signed_request(raw, sigs))
            yield msg

    out = s.index.Contribute(chunks(), timeout=600)
    receipt = convert.from_receipt(out.receipt)
    receipt.verify(s.platform_key)
    mask = bytes(out.accepted_mask)
    if len(mask) != (len(sealed) + 7) // 8:
        raise ProtocolAbort("the platform's accepted-entry mask does not match the upload")
    # journal only the entries the platform kept: a re-upload's entries were dropped
    Journal(s).record(
        (secret_record_key(secret, r), x.entry.entry_id, receipt.index)
        for i, (r, x) in enumerate(zip(records, sealed, strict=True))
        if mask[i // 8] >> (i % 8) & 1
    )
    return ContributeSummary(
        len(entries), out.accepted, out.duplicates, out.new_distinct_tags, len(inputs), receipt
    )


def secret_record_key(secret: mindex.ContributorSecret, record: RiskRecord) -> bytes:
    """The contributor's private name for a record in its journal (never sent anywhere)."""
    return hmac_sm3(secret.private_bytes(), b"riskshare journal v1" + record.to_bytes())


class Journal:
    """A contributor's local record of what it uploaded: record key → (entry id, upload height).
    It is what makes revocation possible without another OPRF evaluation; it stays on the
    contributor's machine."""

    def __init__(self, s: Session) -> None:
        import sqlite3

        self.db = sqlite3.connect(str(s.c.state_dir(s.name) / "uploads.db"), isolation_level=None)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS uploads (record_key BLOB NOT NULL, entry_id BLOB PRIMARY KEY,"
            " height INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0)"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS uploads_key ON uploads (record_key)")

    def record(self, rows: Iterable[tuple[bytes, bytes, int]]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT OR IGNORE INTO uploads (record_key, entry_id, height) VALUES (?, ?, ?)", rows
        )
        self.db.execute("COMMIT")

    def find(self, key: bytes) -> list[tuple[bytes, int]]:
        return [
            (bytes(r[0]), int(r[1]))
            for r in self.db.execute(
                "SELECT entry_id, height FROM uploads WHERE record_key = ? AND revoked = 0", (key,)
            )
        ]

    def mark_revoked(self, entry_ids: Iterable[bytes]) -> None:
        self.db.execute("BEGIN")
        self.db.executemany("UPDATE uploads SET revoked = 1 WHERE entry_id = ?", ((e,) for e in entry_ids))
        self.db.execute("COMMIT")


@dataclass(frozen=True)
class RevokeSummary:
    revoked: int
    not_found: int
    receipt: Receipt | None


def revoke(s: Session, records: Sequence[RiskRecord]) -> RevokeSummary:
    """Withdraw previously uploaded records (found in the contributor's journal) with tombstones."""
    secret = mindex.ContributorSecret(s.c.load_secret(s.name, "contributor-secret"))
    journal = Journal(s)
    targets: list[tuple[bytes, int]] = []
    missing = 0
    for r in records:
        found = journal.find(secret_record_key(secret, r))
        missing += not found
        targets.extend(found)
    if not targets:
        return RevokeSummary(0, missing, None)
    ops = [secret.tombstone(eid) for eid, _ in targets]
    salt = os.urandom(32)
    raw, sigs = s.request(
        Kind.REVOKE,
        {
            "count": len(ops),
            "heights": tuple(h for _, h in targets),
            "batch_hash": sm3(salt + b"".join(op.to_bytes() for op in ops)),
        },
    )
    msg = index_pb2.RevokeRequest(
        request=convert.signed_request(raw, sigs),
        entry_ids=[eid for eid, _ in targets],
        secrets=[secret.tombstone_secret(eid) for eid, _ in targets],
        salt=salt,
    )
    out = s.index.Revoke(msg, timeout=120)
    receipt = convert.from_receipt(out.receipt)
    receipt.verify(s.platform_key)
    journal.mark_revoked(eid for eid, _ in targets)
    return RevokeSummary(out.revoked, missing, receipt)


# ---- broker: mirror -------------------------------------------------------------------------------


@dataclass
class Mirror:
    """A broker's verified copy of the index log, held in memory for the session."""

    index: mindex.MirrorIndex = field(default_factory=mindex.MirrorIndex)
    checkpoint: Checkpoint | None = None


def sync(s: Session, mirror: Mirror) -> int:
    """Bring the mirror up to the newest witnessed checkpoint; returns operations applied."""
    ops: list[bytes] = []
    final: index_pb2.IndexDelta | None = None
    for msg in s.index.SyncIndex(s.sync_request(mirror.index.size, 0), timeout=300):
        ops.extend(bytes(o) for o in msg.operations)
        final = msg
    if final is None or not final.HasField("checkpoint"):
        raise InvalidProof("the index sync ended without its witnessed checkpoint")
    signed, cosigs = convert.from_checkpoint(final.checkpoint)
    s.check_witnessed(signed, cosigs, None)
    cp = signed.checkpoint
    if ops or mirror.index.size != cp.index_size:
        delta = mindex.IndexDelta(mirror.index.size, tuple(ops), bytes(final.new_root))
        mirror.index.apply_delta(delta, mindex.IndexCheckpoint(cp.index_size, cp.index_root))
    mirror.checkpoint = cp
    return len(ops)


@dataclass(frozen=True)
class LookupOutcome:
    result: LookupResult
    receipt: Receipt  # of the ledger entry that recorded (and paid for) this lookup
    checkpoint_age_ms: int
    batched_with: int = 1  # lookups of this session evaluated and recorded together
    # oblivious mode, bad slot: what the broker may report to the auditors (reveals the slot)
    slot_report: slot_report.SlotReport | None = field(default=None, repr=False)


@dataclass
class _Pending:
    value: bytes = field(repr=False)  # the subject's OPRF input: never printed
    output: bytes = field(default=b"", repr=False)
    receipt: Receipt | None = None
    batch: int = 0
    error: BaseException | None = None
    done: bool = False


class LookupBatcher:
    """Concurrent mirror lookups of one session share one two-server evaluation (one signed
    request, one batched DLEQ proof per server) and one ledger entry recording them all.

    A broker's node serves many desks at once; batching is group-commit style, so a lone lookup
    is sent at once (no waiting window) and lookups arriving while one batch is in flight form the
    next. The entry states the number of evaluations, so each lookup still pays its fee; it holds
    nothing about the subjects, as a single lookup's entry does not.
    """

    MAX_BATCH = 256

    def __init__(self, s: Session) -> None:
        self._s = s
        self._cond = threading.Condition()
        self._queue: list[_Pending] = []
        self._busy = False

    def evaluate(self, value: bytes) -> _Pending:
        p = _Pending(value)
        with self._cond:
            self._queue.append(p)
            while not p.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                batch, self._queue = self._queue[: self.MAX_BATCH], self._queue[self.MAX_BATCH :]
                self._cond.release()
                try:
                    self._run(batch)
                except BaseException as e:  # every lookup of the batch fails alike
                    for q in batch:
                        q.error = e
                finally:
                    self._cond.acquire()
                    self._busy = False
                    for q in batch:
                        q.done = True
                    self._cond.notify_all()
        if p.error is not None:
            raise p.error
        return p

    def _run(self, batch: list[_Pending]) -> None:
        ev = self._s.oprf.evaluate([q.value for q in batch], Kind.LOOKUP)
        receipt = _record_lookup(self._s, ev.receipts, mode=1, evaluations=len(batch))
        for q, out in zip(batch, ev.outputs, strict=True):
            q.output, q.receipt, q.batch = out, receipt, len(batch)


def lookup_mirror(
    s: Session,
    mirror: Mirror,
    subject_type: SubjectType,
    subject_id: str,
    *,
    max_age_ms: int = MAX_CHECKPOINT_AGE_MS,
) -> LookupOutcome:
    """Private lookup against the mirror: one two-server evaluation, a local search, and the
    ledger's lookup entry carrying both receipts (no ID, tag or result in it)."""
    sid = normalize_subject_id(subject_type, subject_id)  # ValueError names what is wrong
    if mirror.checkpoint is None:
        raise StaleState("the mirror is empty: sync first")
    age = int(time.time() * 1000) - mirror.checkpoint.time_ms
    if age > max_age_ms:
        sync(s, mirror)
        assert mirror.checkpoint is not None
        age = int(time.time() * 1000) - mirror.checkpoint.time_ms
        if age > max_age_ms:
            raise StaleState(f"the newest witnessed checkpoint is {age / 1000:.0f} s old")
    done = s.lookups.evaluate(oprf_input(subject_type, sid))
    assert done.receipt is not None
    result = mirror_lookup(mirror.index, done.output, s.epoch, s.contributor_keys)
    return LookupOutcome(result, done.receipt, age, done.batch)


def _record_lookup(s: Session, receipts: list[bytes], mode: int, evaluations: int = 1) -> Receipt:
    """The ledger's lookup entry: both servers' receipts, the mode, nothing about the subject."""
    raw, sigs = s.request(
        Kind.LOOKUP,
        {"epoch": s.c.epoch, "evaluations": evaluations, "mode": mode, "receipts": tuple(receipts)},
    )
    out = s.index.RecordLookup(
        index_pb2.RecordLookupRequest(request=convert.signed_request(raw, sigs)), timeout=30
    )
    receipt = convert.from_receipt(out.receipt)
    receipt.verify(s.platform_key)
    return receipt


def lookup_oblivious(s: Session, subject_type: SubjectType, subject_id: str) -> LookupOutcome:
    """Private lookup without a mirror: one two-server evaluation; its platform receipt is a
    one-time token for one bucket's tag list (checked against the witnessed snapshot root) and one
    1-of-N OT of that bucket's slots — the subject's slot, or a random one on a verified miss. The
    broker completes and acknowledges identically either way; a bad slot is kept as evidence."""
    sid = normalize_subject_id(subject_type, subject_id)
    auth = s.reader.ledger(ReadMethod.SNAPSHOT_INFO)
    info = s.index.GetSnapshotInfo(index_pb2.SnapshotInfoRequest(auth=auth), timeout=30)
    signed, cosigs = convert.from_checkpoint(info.checkpoint)
    s.check_witnessed(signed, cosigs, MAX_CHECKPOINT_AGE_MS)
    cp = signed.checkpoint
    ev = s.oprf.evaluate([oprf_input(subject_type, sid)], Kind.LOOKUP)
    token = next(r for r in ev.receipts if EvaluationReceipt.open(r)[0].server == s.oprf.platform.member_id)
    if (info.bucket_size, info.slot_cap) != (s.c.bucket_size, s.c.slot_cap):
        raise InvalidProof("the platform's snapshot shape differs from the consortium's parameters")
    q = ObliviousLookup(
        ev.outputs[0],
        s.epoch,
        snapshot_root=cp.snapshot_root,
        bits=info.bits,
        bucket_size=s.c.bucket_size,
        cap=s.c.slot_cap,
    )
    # Record the lookup first: the ledger entry (both receipts, mode oblivious) is what turns the
    # platform's receipt into a token worth one bucket fetch and one OT.
    receipt = _record_lookup(s, ev.receipts, mode=2)
    bind = s.identity.signing_key.sign(token_message(token, cp.index_size, q.bucket))
    b = s.index.GetBucket(
        index_pb2.BucketRequest(token=token, bucket=q.bucket, index_size=cp.index_size, signature=bind),
        timeout=30,
    )
    choice = q.receive_bucket(
        mindex.BucketProof(
            q.bucket,
            tuple(bytes(t) for t in b.tags),
            bytes(b.slot_tree_root),
            tuple(bytes(p) for p in b.snapshot_path),
        )
    )
    receiver = ot.OneOfNReceiver(choice, s.c.bucket_size)
    outbox: queue.Queue[index_pb2.OtMessage | None] = queue.Queue()
    outbox.put(index_pb2.OtMessage(token=token, bucket=q.bucket, index_size=cp.index_size, signature=bind))

    def requests() -> Iterator[index_pb2.OtMessage]:
        while (m := outbox.get()) is not None:
            yield m

    payload = b""
    transcript: list[bytes] = []
    platform_signature = b""
    try:
        for n, msg in enumerate(s.index.ObliviousTransfer(requests(), timeout=60)):
            if n == 0:
                transcript.append(bytes(msg.payload))
                transcript.append(receiver.respond(transcript[0]))
                outbox.put(index_pb2.OtMessage(payload=transcript[1]))
            else:
                transcript.append(bytes(msg.payload))
                platform_signature = bytes(msg.signature)
                payload = receiver.receive(transcript[2])
    finally:
        outbox.put(None)
    result = q.receive_slot(payload, s.contributor_keys)
    report = None
    if result.bad_slot:
        # Only a bad slot needs the transcript's signature (to prove it): checked here, after the
        # run completed as every run does, not on every lookup.
        signed_msg = slot_report.transcript_message(
            token, cp.index_size, q.bucket, transcript[0], transcript[1], transcript[2]
        )
        try:
            s.platform_key.verify(platform_signature, signed_msg)
        except InvalidSignature:
            raise ProtocolAbort("bad slot, and the platform did not sign the OT transcript") from None
        assert q.evidence is not None and q.choice is not None
        report = slot_report.SlotReport(
            member=s.member.id,
            token=token,
            index_size=cp.index_size,
            snapshot_root=cp.snapshot_root,
            bucket=q.bucket,
            tags=tuple(bytes(t) for t in b.tags),
            slot_root=bytes(b.slot_tree_root),
            path=tuple(bytes(p) for p in b.snapshot_path),
            choice=q.choice,
            messages=(transcript[0], transcript[1], transcript[2]),
            platform_signature=platform_signature,
            ot_randomness=receiver.evidence(),
            reason=q.evidence.reason,
        )
    return LookupOutcome(result, receipt, int(time.time() * 1000) - cp.time_ms, slot_report=report)


# ---- auditor ---------------------------------------------------------------------------------------

# The auditor's restore guard, kept in its own copy of the log (durable with the SQLite store): the
# newest checkpoint it co-signed. It never co-signs a smaller checkpoint or one whose log does not
# extend that one.
COSIGNED_META = "auditor_cosigned_checkpoint"


class RestoreGuardRefusal(RestoreGuardError):
    """The platform presents a checkpoint smaller than, or inconsistent with, one this auditor
    already holds (the newest it co-signed, or the newest in its copy of the log): a platform
    restored from an old backup, or a split view."""

    def __init__(self, seen: Checkpoint, held: Checkpoint, why: str, held_as: str = "co-signed") -> None:
        super().__init__(
            f"refusing to co-sign: the platform presents a checkpoint of size {seen.size} "
            f"(root {seen.root.hex()[:16]}…), but this auditor {held_as} the checkpoint of size "
            f"{held.size} (root {held.root.hex()[:16]}…): {why}"
        )
        self.seen, self.held = seen, held


@dataclass
class AuditorState:
    storage: Storage
    auditor: Auditor
    index: mindex.MirrorIndex = field(default_factory=mindex.MirrorIndex)


def last_cosigned(storage: Storage) -> Checkpoint | None:
    """The newest checkpoint this auditor co-signed, from its own durable state."""
    raw = storage.get_meta(COSIGNED_META)
    return Checkpoint.decode(raw) if raw else None


def new_auditor(s: Session, storage: Storage) -> AuditorState:
    """An auditor over its own copy of the log; the newest checkpoint it co-signed (kept in that
    copy) is the one every later checkpoint must extend."""
    key = s.identity.signing_key
    return AuditorState(storage, Auditor(s.member.id, key, s.platform_key, trusted=last_cosigned(storage)))


def check_platform_extends(
    s: Session, cp: Checkpoint, held: Checkpoint | None, held_as: str = "co-signed"
) -> None:
    """The restore guard: ``cp`` (platform-signed) must be at least as large as ``held`` (by
    default the newest checkpoint this auditor co-signed) and extend it, by a consistency proof
    from the platform; RestoreGuardRefusal names both checkpoints otherwise."""
    if held is None:
        return
    proof: list[bytes] | None = None
    if cp.log_id == held.log_id and cp.size > held.size:
        auth = s.reader.ledger(ReadMethod.CONSISTENCY, held.size, cp.size)
        out = s.ledger.GetConsistencyProof(
            ledger_pb2.ConsistencyRequest(old_size=held.size, new_size=cp.size, auth=auth), timeout=30
        )
        proof = [bytes(h) for h in out.hashes]
    try:
        check_restore_guard(cp, held, proof)
    except RestoreGuardError as e:
        raise RestoreGuardRefusal(cp, held, str(e), held_as) from None


def pull_ledger(s: Session, storage: Storage, *, cosignatures: bool = False) -> Checkpoint:
    """Bring an auditor's own copy of the log up to the platform's newest checkpoint with signed
    reads, after the restore guard: that checkpoint must extend the newest one this auditor
    co-signed and the newest one its copy holds. Entries come with their leaf hashes recomputed;
    checkpoints (and, with ``cosignatures``, the auditors' co-signatures) are stored beside them
    for the replay to check. Returns the platform's newest checkpoint."""
    signed, _ = s.get_checkpoint()
    cp = signed.checkpoint
    check_platform_extends(s, cp, last_cosigned(storage))
    have = storage.latest_checkpoint()
    if have is not None:
        check_platform_extends(s, cp, Checkpoint.decode(have.body), "holds in its copy of the log")
    start = storage.size()
    auth = s.reader.ledger(ReadMethod.ENTRIES, start, 0)
    for batch in s.ledger.GetEntries(ledger_pb2.EntriesRequest(start=start, auth=auth), timeout=300):
        if batch.start != storage.size():
            raise InvalidProof("the platform sent entries out of order")
        entries = [(bytes(e), merkle.leaf_hash(bytes(e), "sm3")) for e in batch.entries]
        # the service's ledger runs the incentive rules: `audit verify` replays the copy with them
        meta = {"hook": b"incentive"} if batch.start == 0 else {}
        storage.commit(Batch(batch.start, entries=entries, meta=meta))
    rows: list[CheckpointRow] = []
    sigs: list[tuple[int, int, bytes]] = []
    size = have.size if have else 0
    auth = s.reader.ledger(ReadMethod.CHECKPOINTS, size)
    for m in s.ledger.GetCheckpoints(ledger_pb2.CheckpointRequest(size=size, auth=auth), timeout=60):
        sc, co = convert.from_checkpoint(m)
        if sc.checkpoint.size <= storage.size():
            rows.append(CheckpointRow(sc.checkpoint.size, sc.checkpoint.encode(), sc.signature))
            sigs.extend((sc.checkpoint.size, a, sig) for a, sig in co.items())
    if rows:
        storage.commit(Batch(storage.size(), checkpoints=rows))
    if cosignatures:
        for at, auditor, sig in sigs:
            storage.add_cosignature(at, auditor, sig)
    return cp


def audit_and_cosign(s: Session, st: AuditorState, hook: RuleHook | None = None) -> Checkpoint:
    """Sync the ledger and the index up to the newest checkpoint, replay everything, recompute
    the index root, and co-sign the checkpoint only if all of it agrees. The platform's newest
    checkpoint must extend the one this auditor co-signed last (the restore guard, checked before
    anything is pulled), and the replay checks the copied log against it too."""
    pull_ledger(s, st.storage)
    latest = st.storage.latest_checkpoint()
    assert latest is not None
    cp = Checkpoint.decode(latest.body)
    # The index: fetch published operations up to the checkpoint's size and check its root.
    if cp.index_size > st.index.size:
        ops: list[bytes] = []
        root = b""
        req = s.sync_request(st.index.size, cp.index_size)
        for m in s.index.SyncIndex(req, timeout=300):
            ops.extend(bytes(o) for o in m.operations)
            root = bytes(m.new_root)
        # every freeze, unfreeze and remove must be backed by its dispute entry on the ledger
        try:
            DecisionBook.from_entries(st.storage.entries()).check_ops([*st.index.delta_since(0).ops, *ops])
        except ValueError as e:
            raise InvalidProof(f"the index log's dispute operations: {e}") from None
        st.index.apply_delta(
            mindex.IndexDelta(st.index.size, tuple(ops), root),
            mindex.IndexCheckpoint(cp.index_size, cp.index_root),
        )
    elif st.index.tree.root(cp.index_size) != cp.index_root:
        raise InvalidProof("the checkpoint's index root differs from the published index")
    # oblivious mode: rebuild the padded buckets and compare the snapshot root
    if st.index.size != cp.index_size:
        raise InvalidProof("the published index does not reach the checkpoint's index size")
    if build_snapshot(s.c, st.index.state, cp.index_root).root != cp.snapshot_root:
        raise InvalidProof("the checkpoint's snapshot root differs from the published index")
    # replays everything with the rules; SplitView if anything differs
    sig = st.auditor.cosign(st.storage, hook if hook is not None else IncentiveHook())
    # remember it durably before the platform can count it: the guard for every later checkpoint
    st.storage.commit(Batch(st.storage.size(), meta={COSIGNED_META: cp.encode()}))
    s.ledger.CoSign(ledger_pb2.CoSignRequest(auditor=s.member.id, size=cp.size, signature=sig), timeout=30)
    return cp
