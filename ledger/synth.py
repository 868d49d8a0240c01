"""A synthetic consortium and a realistic, signed mix of ledger entries — for drills, tests and
benchmarks (``riskshare ledger synth``). Keys are generated here for the demo and tests only;
real members generate their own keys and enrol only public keys."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from ledger.checkpoint import Checkpoint, cosign
from ledger.entry import FieldValue, Kind, Request, Role, Signature
from ledger.hooks import CountingHook, RuleHook
from ledger.log import Log, Refused
from ledger.members import Action, DisputeAction
from ledger.storage import Batch, Storage
from mpc.sm2 import SM2PrivateKey, SM2PublicKey
from mpc.sm3 import sm3

__all__ = ["Consortium", "Party", "SynthClock", "synth"]


@dataclass
class Party:
    id: int
    roles: Role
    sign: SM2PrivateKey
    agree: SM2PrivateKey

    @property
    def sign_pub(self) -> bytes:
        return self.sign.public_key().to_bytes()

    @property
    def agree_pub(self) -> bytes:
        return self.agree.public_key().to_bytes()


def _key(seed: bytes | None) -> SM2PrivateKey:
    if seed is None:
        return SM2PrivateKey.generate()
    ctr = 0
    while True:
        try:
            return SM2PrivateKey.from_private_bytes(sm3(seed + ctr.to_bytes(4, "big")))
        except ValueError:
            ctr += 1


class SynthClock:
    """A clock that advances by ``step_ms`` each time it is read (deterministic drills)."""

    def __init__(self, start_ms: int, step_ms: float = 1.0) -> None:
        self.ms = float(start_ms)
        self.step_ms = step_ms

    def __call__(self) -> float:
        self.ms += self.step_ms
        return self.ms / 1000.0

    def now_ms(self) -> int:
        return int(self.ms)


@dataclass
class Consortium:
    """The parties of a demo consortium: platform 1, key holder 2, administrators 10…,
    firms (contributor + broker) 100…, brokers with mirror rights 200…, auditors 300…"""

    admins: int = 3
    threshold: int = 2
    firms: int = 4
    brokers: int = 2
    auditors: int = 3
    seed: bytes | None = None
    log_id: bytes = field(default_factory=lambda: os.urandom(16))
    hash_alg: int = 1
    parties: dict[int, Party] = field(default_factory=dict)
    rule_version: int = 1

    def __post_init__(self) -> None:
        layout: list[tuple[int, Role]] = [(1, Role.PLATFORM), (2, Role.KEYHOLDER)]
        layout += [(10 + i, Role.ADMIN) for i in range(self.admins)]
        layout += [(100 + i, Role.CONTRIBUTOR | Role.BROKER) for i in range(self.firms)]
        layout += [(200 + i, Role.BROKER | Role.MIRROR) for i in range(self.brokers)]
        layout += [(300 + i, Role.AUDITOR) for i in range(self.auditors)]
        for mid, roles in layout:
            self.add_party(mid, roles)

    def add_party(self, mid: int, roles: Role) -> Party:
        s = None if self.seed is None else self.seed + b"/sign/" + str(mid).encode()
        a = None if self.seed is None else self.seed + b"/agree/" + str(mid).encode()
        p = Party(mid, roles, _key(s), _key(a))
        self.parties[mid] = p
        return p

    def ids(self, role: Role) -> list[int]:
        return sorted(i for i, p in self.parties.items() if p.roles & role)

    @property
    def platform(self) -> Party:
        return self.parties[1]

    def auditor_keys(self) -> dict[int, SM2PublicKey]:
        return {i: self.parties[i].sign.public_key() for i in self.ids(Role.AUDITOR)}

    # -- requests ---------------------------------------------------------------------------

    def request(
        self,
        kind: Kind,
        member: int,
        fields: Mapping[str, FieldValue] | None = None,
        *,
        now_ms: int,
        cosigners: Sequence[int] = (),
        nonce: bytes | None = None,
        rule_version: int | None = None,
        log_id: bytes | None = None,
    ) -> tuple[bytes, tuple[Signature, ...]]:
        req = Request(
            kind,
            self.log_id if log_id is None else log_id,
            member,
            os.urandom(16) if nonce is None else nonce,
            now_ms,
            self.rule_version if rule_version is None else rule_version,
            dict(fields or {}),
        )
        raw = req.encode()
        signers = [member, *sorted(set(cosigners) - {member})]
        return raw, tuple(Signature(s, self.parties[s].sign.sign(raw)) for s in signers)

    def admin_request(
        self, kind: Kind, fields: Mapping[str, FieldValue], *, now_ms: int
    ) -> tuple[bytes, tuple[Signature, ...]]:
        admins = self.ids(Role.ADMIN)
        return self.request(kind, admins[0], fields, now_ms=now_ms, cosigners=admins[1 : self.threshold])

    def genesis(self, now_ms: int) -> tuple[bytes, tuple[Signature, ...]]:
        ps = [self.parties[i] for i in sorted(self.parties)]
        fields: dict[str, FieldValue] = {
            "hash_alg": self.hash_alg,
            "oprf_suite": 1,
            "oprf_mode": 1,
            "admin_threshold": self.threshold,
            "member_ids": tuple(p.id for p in ps),
            "member_roles": tuple(int(p.roles) for p in ps),
            "sign_keys": tuple(p.sign_pub for p in ps),
            "agree_keys": tuple(p.agree_pub for p in ps),
        }
        return self.admin_request(Kind.GENESIS, fields, now_ms=now_ms)

    def cosign_latest(self, storage: Storage, count: int | None = None) -> None:
        """Auditors co-sign the latest checkpoint (a majority by default). Drill shortcut: real
        auditors replay the log first (ledger.audit)."""
        row = storage.latest_checkpoint()
        if row is None:
            return
        cp = Checkpoint.decode(row.body)
        auditors = self.ids(Role.AUDITOR)
        n = len(auditors) // 2 + 1 if count is None else count
        for a in auditors[:n]:
            storage.add_cosignature(cp.size, a, cosign(cp, self.parties[a].sign))


def _h(rng: random.Random) -> bytes:
    return rng.randbytes(32)


def _mix(
    c: Consortium, rng: random.Random, i: int, clock: SynthClock
) -> Iterator[tuple[bytes, tuple[Signature, ...]]]:
    """Requests for step i of the drill: mostly lookups and contributions, with the rarer kinds
    at realistic intervals and a few requests the ledger must reject."""
    now = clock.now_ms()
    firms, brokers = c.ids(Role.CONTRIBUTOR), c.ids(Role.BROKER)
    receipts = (rng.randbytes(120), rng.randbytes(120))
    r = rng.random()
    if i % 997 == 5:
        yield c.admin_request(
            Kind.KEY_EPOCH,
            {
                "epoch": i,
                "suite": 1,
                "holders": (1, 2),
                "shares": (rng.randbytes(65), rng.randbytes(65)),
                "proofs": (rng.randbytes(96), rng.randbytes(96)),
            },
            now_ms=now,
        )
    elif i % 1499 == 7:
        round_id = i
        parts = tuple(firms[:3])
        yield c.request(
            Kind.STAT_ROUND,
            1,
            {
                "round_id": round_id,
                "statistic": 1,
                "period": i // 1000,
                "key_id": 1,
                "k": 3,
                "participants": parts,
            },
            now_ms=now,
        )
        for p in parts:
            yield c.request(
                Kind.STAT_SUBMIT,
                p,
                {"round_id": round_id, "submission_hash": _h(rng), "size": 4096},
                now_ms=now,
            )
        yield c.request(Kind.STAT_CLOSE, 1, {"round_id": round_id, "non_submitters": ()}, now_ms=now)
        yield c.request(
            Kind.STAT_RELEASE,
            2,
            {"round_id": round_id, "querier": brokers[0], "cells": 25, "result_hash": _h(rng)},
            now_ms=now,
        )
    elif i % 1009 == 11:
        yield c.request(
            Kind.CORROBORATION,
            1,
            {
                "period": i // 1000,
                "contributors": tuple(firms),
                "counts": tuple(rng.randrange(100) for _ in firms),
            },
            now_ms=now,
        )
    elif i % 2003 == 13:
        did = i
        yield c.request(
            Kind.DISPUTE,
            brokers[0],
            {"action": DisputeAction.FILE, "dispute_id": did, "evidence_hash": _h(rng)},
            now_ms=now,
        )
        yield c.admin_request(
            Kind.DISPUTE,
            {
                "action": DisputeAction.DECIDE,
                "dispute_id": did,
                "evidence_hash": _h(rng),
                "decision": 2,
                "heights": (max(1, i - 50),),
            },
            now_ms=now,
        )
    elif i % 2503 == 17:
        target = firms[rng.randrange(len(firms))]
        fresh = SM2PrivateKey.generate()
        c.parties[target].sign = fresh
        yield c.admin_request(
            Kind.MEMBER,
            {"action": Action.REKEY, "target": target, "sign_key": fresh.public_key().to_bytes()},
            now_ms=now,
        )
    elif i == 3:
        yield c.request(
            Kind.STAT_KEY, 2, {"key_id": 1, "public_key": rng.randbytes(256), "proof": b""}, now_ms=now
        )
    elif r < 0.30:
        yield c.request(
            Kind.CONTRIBUTE,
            rng.choice(firms),
            {
                "epoch": 1,
                "evaluations": rng.randrange(1, 500),
                "submitted": rng.randrange(1, 500),
                "batch_hash": _h(rng),
                "batch_size": rng.randrange(300, 160_000),
                "receipts": receipts,
            },
            now_ms=now,
        )
    elif r < 0.70:
        b = rng.choice(brokers)
        mode = 1 if c.parties[b].roles & Role.MIRROR else 2
        yield c.request(
            Kind.LOOKUP, b, {"epoch": 1, "evaluations": 1, "mode": mode, "receipts": receipts}, now_ms=now
        )
    elif r < 0.80:
        yield c.request(
            Kind.SCREEN,
            rng.choice(brokers),
            {
                "epoch": 1,
                "evaluations": rng.randrange(100, 10_000),
                "mode": 1,
                "chunk_hash": _h(rng),
                "receipts": receipts,
            },
            now_ms=now,
        )
    elif r < 0.86:
        n = rng.randrange(1, 4)
        yield c.request(
            Kind.REVOKE,
            rng.choice(firms),
            {"count": n, "heights": tuple(rng.randrange(1, i + 2) for _ in range(n)), "batch_hash": _h(rng)},
            now_ms=now,
        )
    elif r < 0.87:  # wrong role: the key holder may not look up
        yield c.request(Kind.LOOKUP, 2, {"epoch": 1, "evaluations": 1, "mode": 2}, now_ms=now)
    elif r < 0.88:  # stale timestamp
        yield c.request(
            Kind.LOOKUP, brokers[-1], {"epoch": 1, "evaluations": 1, "mode": 2}, now_ms=now - 10 * 60 * 1000
        )
    else:
        yield c.request(
            Kind.LOOKUP,
            rng.choice(brokers),
            {"epoch": 1, "evaluations": 1, "mode": 2, "receipts": receipts},
            now_ms=now,
        )


def synth(
    storage: Storage,
    entries: int,
    *,
    consortium: Consortium | None = None,
    hook: RuleHook | None = None,
    seed: int = 1,
    start_ms: int | None = None,
    cosign: bool = True,
    replay_every: int = 211,
) -> tuple[Log, Consortium]:
    """Fill an empty store with a genesis and about ``entries`` signed entries (with checkpoints
    every 1,000 entries or 1 s of synthetic time, co-signed by a majority of auditors)."""
    import time

    c = consortium if consortium is not None else Consortium()
    rng = random.Random(seed)
    clock = SynthClock(int(time.time() * 1000) if start_ms is None else start_ms)
    raw, sigs = c.genesis(clock.now_ms())
    log = Log.create(storage, raw, sigs, c.platform.sign, hook=hook or CountingHook(), clock=clock)
    if hook is None:
        storage.commit(Batch(storage.size(), meta={"hook": b"counting"}))
    if cosign:
        c.cosign_latest(storage)
    last: tuple[bytes, tuple[Signature, ...]] | None = None
    i = 0
    while log.size < entries:
        before = log.metrics.checkpoints
        for raw, sigs in _mix(c, rng, i, clock):
            if log.size >= entries:
                break
            with contextlib.suppress(Refused):
                log.submit_nowait(raw, sigs)
            last = (raw, sigs)
        if last is not None and replay_every and i % replay_every == replay_every - 1 and log.size < entries:
            with contextlib.suppress(Refused):
                log.submit_nowait(*last)  # a replayed request: logged as rejected
        log.tick()
        if log.metrics.checkpoints != before:
            log.flush()
            if cosign:
                c.cosign_latest(storage)
        i += 1
    log.checkpoint()
    if cosign:
        c.cosign_latest(storage)
    return log, c
