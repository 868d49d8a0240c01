"""The statistics flow in the service (DESIGN.md, Protocols 6): platform side and key-holder side.

**Platform** (:class:`PlatformStats`): checks a signed ``stat_round`` request against the ledger
(known statistic, the key holder's current Paillier key, contributor participants, k at least
the consortium minimum, one round per statistic and period unless a threshold of administrators
re-runs it with the same set) and sequences it; stores each participant's submission after
checking it against its signed ``stat_submit`` request and the round (signature, statistic, key,
vector lengths) and sequences the request; closes a round (its own ``stat_close`` listing the
non-submitters) when every participant submitted or the deadline passed, and cuts a checkpoint
so that members and the key holder can verify the close; serves a round's submissions to the
key holder only. Submissions live in SQLite under ``state/platform/stats.db``; one whose
``stat_submit`` never reached the ledger is dropped on restart.

**Key holder** (:class:`KeyHolderStats`): its Paillier key is generated on first start and
sealed with ``store_secret`` under the key holder; its ``stat_key`` entry is sequenced through
the platform. It stores the survivors' sealed seed shares, and on a querier's signed order it
follows the ledger under platform-signed checkpoints, fetches the listed submissions from the
platform, lets :class:`mpc.stats.KeyHolder` check them hash by hash against the ledger, multiply,
unmask and decrypt, sequences its ``stat_release`` entry (round, querier, released cell count,
SM3 of the sealed result) and returns the release sealed to the querier. Released cells are kept
durably so each cell of a round is answered once.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from weakref import WeakKeyDictionary

import grpc

from api import convert
from api._generated import ledger_pb2_grpc, stats_pb2, stats_pb2_grpc
from api.consortium import Consortium
from api.directory import Directory
from api.errors import BadRequest, NotFound, PermissionDenied, Refused
from api.platform import Platform, directory_of
from api.reads import Reader
from api.server import Registration, channel
from api.sqlite_db import open_db
from api.stats_ledger import LedgerFollower, MemberKeys, RoundState, StatLedger
from ledger.checkpoint import Receipt
from ledger.entry import Code, Entry, FieldValue, Kind, Request, Role, Signature
from ledger.log import WINDOW_MS
from ledger.log import Refused as LedgerRefused
from mpc import paillier
from mpc.exceptions import (
    InvalidProof,
    InvalidSignature,
    InvalidSubmission,
    PaillierKeyMismatch,
    ProtocolAbort,
    StatisticsRefused,
)
from mpc.sm2 import SM2PrivateKey
from mpc.sm3 import sm3
from mpc.stats import DEFAULT_K, KeyHolder, Release, RoundSpec, Submission, check_new_round, get_statistic

log = logging.getLogger("riskshare.stats")

MAX_SUBMISSION_BYTES = 1 << 20
DEFAULT_DEADLINE_MS = 3_600_000
PAILLIER_SECRET = "paillier-key"  # noqa: S105 (a file label, not a secret)
PAILLIER_BITS = 2048
_SEED_HEADER = struct.Struct(">4sBQQ")


def member_keys(c: Consortium) -> MemberKeys:
    return {m.id: (m.sign_public(), m.agree_public()) for m in c.members}


def cells_hash(cells: Sequence[int]) -> bytes:
    """What a querier's order commits to: SM3 over the requested cells (u16 each, sorted)."""
    return sm3(b"RSCL" + b"".join(c.to_bytes(2, "big") for c in sorted(set(cells))))


def _translate(exc: Exception) -> Exception:
    """Protocol errors as the service reports them: bad input, or a refusal."""
    if isinstance(exc, PaillierKeyMismatch):
        return BadRequest(f"the submission is encrypted under another Paillier key: {exc}")
    if isinstance(exc, InvalidSubmission):
        return BadRequest(str(exc))
    if isinstance(exc, StatisticsRefused):
        return Refused(str(exc))
    return exc


# ---- platform ----------------------------------------------------------------------------------------

_PLATFORM_SCHEMA = """
CREATE TABLE IF NOT EXISTS stats_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    round_id INTEGER NOT NULL, member INTEGER NOT NULL, hash BLOB NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (round_id, member)
);
CREATE TABLE IF NOT EXISTS deadlines (round_id INTEGER PRIMARY KEY, deadline_ms INTEGER NOT NULL);
"""


def _open_db(path: Path, schema: str) -> sqlite3.Connection:
    return open_db(path, schema, "stats_version", 1, "statistics")


@dataclass(frozen=True)
class SubmitOutcome:
    receipt: Receipt
    closed: bool


class PlatformStats:
    def __init__(self, platform: Platform, *, clock: Callable[[], float] = time.time) -> None:
        self.p = platform
        self.c = platform.c
        self._clock = clock
        self._lock = threading.RLock()
        self.db = _open_db(self.c.state_dir("platform") / "stats.db", _PLATFORM_SCHEMA)
        self.view = StatLedger()
        self.members = member_keys(self.c)
        self._sync()
        # A submission stored before its stat_submit was sequenced, and never sequenced: drop it.
        for rid, member, h in self.db.execute("SELECT round_id, member, hash FROM submissions").fetchall():
            r = self.view.rounds.get(rid)
            if r is None or r.submissions.get(member) != bytes(h):
                self.db.execute("DELETE FROM submissions WHERE round_id = ? AND member = ?", (rid, member))

    def _sync(self) -> StatLedger:
        storage = self.p.ledger.storage
        for height, body, _ in storage.entries(self.view.size):
            self.view.apply(height, Entry.decode(body))
        return self.view

    def _sequence(self, raw: bytes, sigs: Sequence[Signature]) -> Receipt:
        try:
            receipt = self.p.ledger.submit(raw, sigs)
        except LedgerRefused as e:
            raise Refused(f"ledger refused the request: {e}") from None
        assert isinstance(receipt, Receipt)
        code = self.p.entry_code(receipt.index)
        if code != Code.ACCEPTED:
            raise Refused(f"the ledger rejected the request (code {code})")
        return receipt

    def _own_request(self, kind: Kind, fields: dict[str, FieldValue]) -> tuple[bytes, tuple[Signature, ...]]:
        me = self.p.member
        raw = Request(
            kind,
            self.c.log_id,
            me.id,
            os.urandom(16),
            int(self._clock() * 1000),
            self.p.ledger.state.rule_version,
            fields,
        ).encode()
        return raw, (Signature(me.id, self.p._key.sign(raw)),)

    # -- define -------------------------------------------------------------------------------------

    def define(self, raw: bytes, sigs: Sequence[Signature], deadline_ms: int = 0) -> Receipt:
        req, member = self.p._authenticate(raw, sigs)
        if req.kind is not Kind.STAT_ROUND:
            raise BadRequest("defining a round needs a stat_round request")
        if not member.has(Role.PLATFORM) and not member.has(Role.ADMIN):
            raise PermissionDenied(f"member {member.name!r} may not open statistics rounds")
        f = req.fields
        try:
            get_statistic(req.int_field("statistic"))
        except ValueError as e:
            raise BadRequest(str(e)) from None
        if req.int_field("k") < DEFAULT_K:
            raise BadRequest(f"k = {req.int_field('k')} is below the consortium minimum {DEFAULT_K}")
        ids = req.fields["participants"]
        assert isinstance(ids, tuple)
        for i in ids:
            assert isinstance(i, int)
            m = self.p.directory.get(i)
            if m is None or not m.has(Role.CONTRIBUTOR):
                raise BadRequest(f"participant {i} is not a contributor of the consortium")
        with self._lock:
            view = self._sync()
            keyholder = self.c.the(Role.KEYHOLDER).id
            if keyholder not in view.current_key:
                raise Refused("the key holder has not published its Paillier key (stat_key) yet")
            if req.int_field("key_id") != view.current_key[keyholder]:
                raise BadRequest("the round must name the key holder's current Paillier key")
            try:
                spec = RoundSpec.from_ledger(f, view.paillier_key(req.int_field("key_id")), self.members)
            except (ValueError, TypeError) as e:
                raise BadRequest(f"stat_round: {e}") from None
            admins = {m.id for m in self.c.with_role(Role.ADMIN)}
            signers = {s.signer for s in sigs}
            rerun = signers <= admins and len(signers) >= self.c.admin_threshold and member.has(Role.ADMIN)
            try:
                check_new_round(spec, view.round_entries(), rerun=rerun)
            except StatisticsRefused as e:
                raise Refused(str(e)) from None
            for old in view.rounds.values():  # a re-run replaces a failed round, never a released one
                same = (old.int_field("statistic"), old.int_field("period")) == (
                    spec.statistic.code,
                    spec.period,
                )
                if same and not old.closed:
                    raise Refused(
                        f"statistic {spec.statistic.code} round {old.int_field('round_id')} for period "
                        f"{spec.period} is still open"
                    )
                if same and old.releases:
                    raise Refused(
                        f"statistic {spec.statistic.code} round {old.int_field('round_id')} for period "
                        f"{spec.period} was already released"
                    )
            receipt = self._sequence(raw, sigs)
            deadline = deadline_ms or int(self._clock() * 1000) + DEFAULT_DEADLINE_MS
            self.db.execute("INSERT OR REPLACE INTO deadlines VALUES (?, ?)", (spec.round_id, deadline))
            self.p.ledger.checkpoint()
        log.info("statistics round %d opened (%d participants)", spec.round_id, len(spec.ids))
        return receipt

    # -- submit -------------------------------------------------------------------------------------

    def submit(self, raw: bytes, sigs: Sequence[Signature], data: bytes) -> SubmitOutcome:
        req, member = self.p._authenticate(raw, sigs)
        if req.kind is not Kind.STAT_SUBMIT:
            raise BadRequest("a submission needs a stat_submit request")
        if not member.has(Role.CONTRIBUTOR):
            raise PermissionDenied(f"member {member.name!r} is not a contributor")
        if not 0 < len(data) <= MAX_SUBMISSION_BYTES:
            raise BadRequest(f"a submission holds 1 to {MAX_SUBMISSION_BYTES} bytes")
        if req.fields["submission_hash"] != sm3(data) or req.int_field("size") != len(data):
            raise BadRequest("the submission does not match the hash and size in the signed request")
        rid = req.int_field("round_id")
        with self._lock:
            self._close_due()
            view = self._sync()
            r = view.rounds.get(rid)
            if r is None:
                raise NotFound(f"no statistics round {rid}")
            if r.closed:
                raise Refused(f"statistics round {rid} is closed")
            if member.id not in r.participants:
                raise PermissionDenied(f"member {member.name!r} is not a participant of round {rid}")
            if member.id in r.submissions:
                raise Refused(f"member {member.name!r} already submitted to round {rid}")
            try:
                sub = Submission.from_bytes(data, view.round_spec(rid, self.members))
            except (InvalidSubmission, PaillierKeyMismatch) as e:
                raise _translate(e) from None
            if sub.member_id != member.id:
                raise BadRequest("the submission is signed for another member than the request")
            self.db.execute("INSERT INTO submissions VALUES (?, ?, ?, ?)", (rid, member.id, sm3(data), data))
            try:
                receipt = self._sequence(raw, sigs)
            except BaseException:
                self.db.execute("DELETE FROM submissions WHERE round_id = ? AND member = ?", (rid, member.id))
                raise
            view = self._sync()
            closed = False
            if len(view.round(rid).submissions) == len(r.participants):
                self._close(rid)
                closed = True
        return SubmitOutcome(receipt, closed)

    # -- close --------------------------------------------------------------------------------------

    def _close(self, rid: int) -> None:
        r = self._sync().round(rid)
        if r.closed:
            return
        dropped = sorted(set(r.participants) - set(r.submissions))
        raw, sigs = self._own_request(Kind.STAT_CLOSE, {"round_id": rid, "non_submitters": tuple(dropped)})
        self._sequence(raw, sigs)
        self._sync()
        self.p.ledger.checkpoint()
        log.info(
            "statistics round %d closed: %d submitted, %d did not", rid, len(r.submissions), len(dropped)
        )

    def close(self, round_id: int) -> None:
        """Close a round now (the operator's decision, or its deadline)."""
        with self._lock:
            if round_id not in self._sync().rounds:
                raise NotFound(f"no statistics round {round_id}")
            self._close(round_id)

    def close_order(self, raw: bytes, sigs: Sequence[Signature]) -> tuple[int, ...]:
        """An administrator's signed order to close a round now; returns the non-submitters."""
        req, member = self.p._authenticate(raw, sigs)
        if req.kind is not Kind.STAT_CLOSE or req.log_id != self.c.log_id:
            raise BadRequest("a close order is a stat_close request of this consortium's log")
        if not member.has(Role.ADMIN) and not member.has(Role.PLATFORM):
            raise PermissionDenied(f"member {member.name!r} may not close statistics rounds")
        if abs(req.timestamp_ms - int(self._clock() * 1000)) > WINDOW_MS:
            raise Refused("the close order is outside the ±5 minute window")
        rid = req.int_field("round_id")
        self.close(rid)
        r = self.view.round(rid)
        assert r.non_submitters is not None
        return r.non_submitters

    def _close_due(self) -> None:
        now = int(self._clock() * 1000)
        due = self.db.execute("SELECT round_id FROM deadlines WHERE deadline_ms <= ?", (now,)).fetchall()
        view = self._sync()
        for (rid,) in due:
            r = view.rounds.get(rid)
            if r is not None and not r.closed:
                self._close(rid)

    # -- queries ------------------------------------------------------------------------------------

    def status(self, round_id: int) -> tuple[RoundState, int]:
        with self._lock:
            self._sync()
            self._close_due()
            r = self.view.rounds.get(round_id)
            if r is None:
                raise NotFound(f"no statistics round {round_id}")
            row = self.db.execute(
                "SELECT deadline_ms FROM deadlines WHERE round_id = ?", (round_id,)
            ).fetchone()
            return r, int(row[0]) if row else 0

    def submissions(self, raw: bytes, sigs: Sequence[Signature]) -> list[bytes]:
        """A round's stored submissions, for the key holder's signed order only."""
        req, member = self.p._authenticate(raw, sigs)
        if req.kind is not Kind.STAT_RELEASE or not member.has(Role.KEYHOLDER):
            raise PermissionDenied("only the key holder fetches statistics submissions")
        if abs(req.timestamp_ms - int(self._clock() * 1000)) > WINDOW_MS:
            raise PermissionDenied("the key holder's order is outside the ±5 minute window")
        rid = req.int_field("round_id")
        with self._lock:
            rows = self.db.execute(
                "SELECT body FROM submissions WHERE round_id = ? ORDER BY member", (rid,)
            ).fetchall()
        return [bytes(b) for (b,) in rows]

    def close_db(self) -> None:
        self.db.close()


_PLATFORM_STATS: WeakKeyDictionary[Platform, PlatformStats] = WeakKeyDictionary()


def platform_stats(platform: Platform) -> PlatformStats:
    """The statistics service of ``platform`` (one per platform object)."""
    if platform not in _PLATFORM_STATS:
        _PLATFORM_STATS[platform] = PlatformStats(platform)
    return _PLATFORM_STATS[platform]


# ---- key holder ---------------------------------------------------------------------------------------

_KEYHOLDER_SCHEMA = """
CREATE TABLE IF NOT EXISTS stats_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seeds (
    round_id INTEGER NOT NULL, member INTEGER NOT NULL, share BLOB NOT NULL,
    PRIMARY KEY (round_id, member)
);
CREATE TABLE IF NOT EXISTS released (
    round_id INTEGER NOT NULL, cell INTEGER NOT NULL, PRIMARY KEY (round_id, cell)
);
CREATE TABLE IF NOT EXISTS nonces (
    member INTEGER NOT NULL, nonce BLOB NOT NULL, seen_ms INTEGER NOT NULL, PRIMARY KEY (member, nonce)
);
"""


def _key_bytes(sk: paillier.PaillierPrivateKey) -> bytes:
    p, q = sk.private_numbers()
    pb, qb = p.to_bytes((p.bit_length() + 7) // 8, "big"), q.to_bytes((q.bit_length() + 7) // 8, "big")
    return len(pb).to_bytes(2, "big") + pb + len(qb).to_bytes(2, "big") + qb


def _key_from_bytes(data: bytes) -> paillier.PaillierPrivateKey:
    lp = int.from_bytes(data[:2], "big")
    p = int.from_bytes(data[2 : 2 + lp], "big")
    lq = int.from_bytes(data[2 + lp : 4 + lp], "big")
    q = int.from_bytes(data[4 + lp : 4 + lp + lq], "big")
    if len(data) != 4 + lp + lq:
        raise ValueError("stored Paillier key is malformed")
    return paillier.PaillierPrivateKey(paillier.PaillierPublicKey(p * q), p, q)


def store_paillier_key(c: Consortium, sk: paillier.PaillierPrivateKey) -> None:
    """Seal the key holder's Paillier key under its passphrase (init time, or tests)."""
    c.store_secret(c.the(Role.KEYHOLDER).name, PAILLIER_SECRET, _key_bytes(sk))


def load_or_create_paillier_key(c: Consortium, bits: int = PAILLIER_BITS) -> paillier.PaillierPrivateKey:
    name = c.the(Role.KEYHOLDER).name
    if (c.key_dir(name) / PAILLIER_SECRET).exists():
        return _key_from_bytes(c.load_secret(name, PAILLIER_SECRET))
    _, sk = paillier.generate_keypair(bits)
    store_paillier_key(c, sk)
    log.info("generated the key holder's %d-bit Paillier key", bits)
    return sk


class KeyHolderStats:
    def __init__(
        self,
        c: Consortium,
        *,
        platform_target: str | None = None,
        paillier_bits: int = PAILLIER_BITS,
        clock: Callable[[], float] = time.time,
        directory: Directory | None = None,
    ) -> None:
        self.c = c
        self.me = c.the(Role.KEYHOLDER)
        self._clock = clock
        self._lock = threading.RLock()
        self._sk: paillier.PaillierPrivateKey | None = None
        self._bits = paillier_bits
        # who signs seed shares and release orders: the key holder's ledger-followed members
        self.directory = directory if directory is not None else directory_of(c)
        self.members = member_keys(c)
        self.platform_key = c.the(Role.PLATFORM).sign_public()
        self.db = _open_db(c.state_dir(self.me.name) / "stats.db", _KEYHOLDER_SCHEMA)
        self._target = platform_target
        self._channel: grpc.Channel | None = None
        self._follower: LedgerFollower | None = None

    @functools.cached_property
    def _sign(self) -> SM2PrivateKey:
        return self.c.signing_key(self.me.name)  # decrypted on first use (the KDF costs ~70 ms)

    @functools.cached_property
    def _env(self) -> SM2PrivateKey:
        return self.c.agreement_key(self.me.name)

    @property
    def has_key(self) -> bool:
        return self._sk is not None or (self.c.key_dir(self.me.name) / PAILLIER_SECRET).exists()

    @property
    def sk(self) -> paillier.PaillierPrivateKey:
        """The Paillier key, loaded, or generated and sealed on first need (safe primes at 2048
        bits take seconds, so a key holder that never serves statistics never pays for it)."""
        with self._lock:
            if self._sk is None:
                self._sk = load_or_create_paillier_key(self.c, self._bits)
            return self._sk

    @property
    def key_id(self) -> int:
        return int.from_bytes(self.sk.public_key.key_id, "big")

    # -- the platform connection ------------------------------------------------------------------------

    def _connect(self) -> tuple[ledger_pb2_grpc.LedgerStub, stats_pb2_grpc.StatsStub, LedgerFollower]:
        if self._channel is None or self._follower is None:
            from api.roles import channel_credentials  # roles imports this module

            self._channel = channel(
                self._target or self.c.platform_address,
                channel_credentials(self.c, self.c.the(Role.KEYHOLDER).name),
            )
            stub = ledger_pb2_grpc.LedgerStub(self._channel)
            reader = Reader(self.c.log_id, self.me.id, self._sign)
            self._follower = LedgerFollower(stub, self.platform_key, self.c.log_id, reader)
        return self._follower.stub, stats_pb2_grpc.StatsStub(self._channel), self._follower

    def _request(self, kind: Kind, fields: dict[str, FieldValue]) -> tuple[bytes, tuple[Signature, ...]]:
        _, _, follower = self._connect()
        if follower.checkpoint is None:
            follower.refresh()
        assert follower.checkpoint is not None
        version = follower.checkpoint.rule_version  # requests must name the rule version in force
        raw = Request(
            kind, self.c.log_id, self.me.id, os.urandom(16), int(self._clock() * 1000), version, fields
        ).encode()
        return raw, (Signature(self.me.id, self._sign.sign(raw)),)

    def _submit(self, kind: Kind, fields: dict[str, FieldValue]) -> Receipt:
        ledger, _, _ = self._connect()
        raw, sigs = self._request(kind, fields)
        out = ledger.Submit(convert.signed_request(raw, sigs), timeout=30)
        if not out.accepted:
            raise Refused(f"the ledger rejected the key holder's {kind.name.lower()} entry: {out.reason}")
        receipt = convert.from_receipt(out.receipt)
        receipt.verify(self.platform_key)
        return receipt

    def publish_key(self) -> bool:
        """Sequence the stat_key entry unless the ledger already names this key; True if it did."""
        with self._lock:
            _, _, follower = self._connect()
            view = follower.refresh()
            if view.current_key.get(self.me.id) == self.key_id:
                return False
            pk = self.sk.public_key
            self._submit(Kind.STAT_KEY, {"key_id": self.key_id, "public_key": pk.to_bytes(), "proof": b""})
            log.info("published the Paillier key %#x (stat_key)", self.key_id)
            return True

    # -- seeds --------------------------------------------------------------------------------------

    def store_seeds(self, share: bytes) -> None:
        hs = _SEED_HEADER.size
        if len(share) < hs + 6 or len(share) > 64 * 1024:
            raise BadRequest("seed share: truncated or oversized")
        magic, _, rid, member = _SEED_HEADER.unpack_from(share)
        if magic != b"RSSD":
            raise BadRequest("seed share: unknown magic")
        env_len = int.from_bytes(share[hs : hs + 4], "big")
        end = hs + 4 + env_len
        rec = self.directory.get(member)
        if rec is None or len(share) < end + 2:
            raise PermissionDenied("seed share from an unknown member or malformed")
        try:
            rec.sign_key.verify(share[end + 2 :], share[:end])
        except InvalidSignature:
            raise PermissionDenied(f"seed share of member {member}: bad signature") from None
        with self._lock:
            row = self.db.execute(
                "SELECT share FROM seeds WHERE round_id = ? AND member = ?", (rid, member)
            ).fetchone()
            if row is not None and bytes(row[0]) != share:
                raise Refused(f"member {member} already sent other seeds for round {rid}")
            self.db.execute("INSERT OR IGNORE INTO seeds VALUES (?, ?, ?)", (rid, member, share))

    # -- release ------------------------------------------------------------------------------------

    def _check_order(self, raw: bytes, sigs: Sequence[Signature], cells: Sequence[int]) -> Request:
        try:
            req = Request.decode(raw)
        except ValueError as e:
            raise BadRequest(f"release order: {e}") from None
        member = self.directory.get(req.member)
        if member is None or not sigs or sigs[0].signer != req.member:
            raise PermissionDenied("the release order must be signed by the member it names")
        try:
            member.sign_key.verify(sigs[0].der, raw)
        except InvalidSignature:
            raise PermissionDenied("the release order's signature does not verify") from None
        if req.kind is not Kind.STAT_RELEASE or req.log_id != self.c.log_id:
            raise BadRequest("a release order is a stat_release request of this consortium's log")
        if not member.has(Role.BROKER):
            raise PermissionDenied(f"member {member.name!r} is not a querier (broker)")
        now = int(self._clock() * 1000)
        if abs(req.timestamp_ms - now) > WINDOW_MS:
            raise Refused("the release order is outside the ±5 minute window")
        if req.int_field("querier") != req.member:
            raise BadRequest("a release is sealed to the member who orders it")
        if req.int_field("cells") != len(set(cells)) or req.fields["result_hash"] != cells_hash(cells):
            raise BadRequest("the requested cells differ from the signed release order")
        with self._lock:
            self.db.execute("DELETE FROM nonces WHERE seen_ms < ?", (now - 2 * WINDOW_MS,))
            try:
                self.db.execute("INSERT INTO nonces VALUES (?, ?, ?)", (req.member, req.nonce, now))
            except sqlite3.IntegrityError:
                raise Refused("replayed release order") from None
        return req

    def release(self, raw: bytes, sigs: Sequence[Signature], cells: Sequence[int]) -> tuple[Release, Receipt]:
        req = self._check_order(raw, sigs, cells)
        rid, querier = req.int_field("round_id"), req.member
        with self._lock:
            self.publish_key()
            _, stats_stub, follower = self._connect()
            view = follower.refresh()
            if rid not in view.rounds:
                raise NotFound(f"no statistics round {rid} on the ledger")
            r = view.rounds[rid]
            if r.int_field("key_id") != self.key_id:
                raise Refused(f"round {rid} names another Paillier key than the key holder's")
            if not r.closed:
                raise Refused(f"statistics round {rid} is not closed yet")
            closed = view.closed_round(rid, self.members)
            order_raw, order_sigs = self._request(
                Kind.STAT_RELEASE, {"round_id": rid, "querier": querier, "cells": 0, "result_hash": bytes(32)}
            )
            subs: list[bytes] = []
            for batch in stats_stub.GetSubmissions(
                stats_pb2.SubmissionsRequest(request=convert.signed_request(order_raw, order_sigs)),
                timeout=60,
            ):
                subs.extend(bytes(s) for s in batch.submissions)
            seeds = [
                bytes(s) for (s,) in self.db.execute("SELECT share FROM seeds WHERE round_id = ?", (rid,))
            ]
            released = [
                (rid, int(c))
                for (c,) in self.db.execute("SELECT cell FROM released WHERE round_id = ?", (rid,))
            ]
            kh = KeyHolder(self.sk, self._env, released=released)
            # No cells named: every cell not released yet (an explicit list is answered only whole).
            remaining = sorted(set(range(closed.round.statistic.cells)) - {c for _, c in released})
            if not cells and not remaining:
                raise Refused(f"every cell of round {rid} was already released")
            qkey = self.c.member_by_id(querier).agree_public()
            try:
                rel = kh.release(closed, subs, seeds, qkey, querier, list(cells) or remaining)
            except (StatisticsRefused, InvalidSubmission) as e:
                raise Refused(str(e)) from None
            except ProtocolAbort as e:
                raise ProtocolAbort(f"round {rid}: {e}") from None
            receipt = self._submit(Kind.STAT_RELEASE, dict(rel.ledger_fields()))
            wanted = sorted(kh.released_cells(rid) - {c for _, c in released})
            self.db.executemany("INSERT OR IGNORE INTO released VALUES (?, ?)", [(rid, c) for c in wanted])
        log.info("round %d: released %d cells to member %d", rid, rel.cells, querier)
        return rel, receipt

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
        self.db.close()


# ---- registrations (api/roles.py adds these to the platform's and the key holder's servers) ----------


def stats_platform_registrations(platform: Platform) -> list[Registration]:
    from api.servicers.stats import StatsServicer

    return [
        Registration(
            "riskshare.v1.Stats",
            StatsServicer(platform_stats(platform)),
            stats_pb2_grpc.add_StatsServicer_to_server,
        )
    ]


def stats_keyholder_registrations(
    c: Consortium, platform_target: str | None = None, directory: Directory | None = None
) -> list[Registration]:
    """The key holder's statistics service; it publishes its Paillier key now if the platform is
    reachable and the key exists, else on the first ``PublishKey`` call or release."""
    from api.servicers.stats import StatsReleaseServicer

    kh = KeyHolderStats(c, platform_target=platform_target, directory=directory)
    if kh.has_key:  # else the key is generated on the first PublishKey or release
        try:
            kh.publish_key()
        except (grpc.RpcError, Refused, InvalidProof) as e:
            log.warning("could not publish the Paillier key yet: %s", e)
    return [
        Registration(
            "riskshare.v1.StatsRelease",
            StatsReleaseServicer(kh),
            stats_pb2_grpc.add_StatsReleaseServicer_to_server,
        )
    ]
