"""End to end over real loopback gRPC: the key holder learns members from the platform's ledger.

A broker enrolled after the servers started is served by the key holder, without a restart, once a
witnessed checkpoint covers its member entry; a removed or re-keyed member stops being accepted.
The key holder's follower refuses entries that do not reproduce a witnessed checkpoint, forged
member entries and a genesis that is not the consortium's.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from api import cli, client, convert
from api._generated import ledger_pb2
from api.consortium import Consortium, init_consortium
from api.evaluator import Evaluator
from api.member_follower import MemberFollower
from api.platform import Platform, _sign_admins
from api.reads import Reader
from api.roles import Running, start_keyholder, start_platform
from ledger.entry import Entry, Kind, Request, Role, Signature
from ledger.members import Action
from ledger.storage.memory import MemoryStorage
from mpc.records import SubjectType, SyntheticSource
from mpc.sm2 import SM2PrivateKey

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor+broker",
    "audit-1:auditor",
]
PASSPHRASE = "correct horse battery staple"


@dataclass
class Env:
    c: Consortium
    platform: Platform
    keyholder: Evaluator
    runs: tuple[Running, Running]
    kaddr: str
    auditor: client.Session
    audit: client.AuditorState

    def witness(self) -> int:
        """Checkpoint what the ledger holds and have the auditor co-sign it."""
        self.platform.checkpoint()
        size = self.platform.ledger.storage.size()
        cosigned = client.audit_and_cosign(self.auditor, self.audit).size
        assert cosigned >= size, (cosigned, size)  # the checkpoint just cut is durable and witnessed
        return cosigned

    def session(self, name: str) -> client.Session:
        return client.Session.connect(Consortium.load(self.c.root), name, self.c.platform_address, self.kaddr)

    def member_entry(self, action: Action, target: int, roles: Role, sign_key: bytes = b"") -> None:
        """An administrators' member entry (threshold-signed), sequenced on the platform."""
        admin = self.auditor  # any member may carry the request; the admins sign it
        raw = Request(
            Kind.MEMBER,
            self.c.log_id,
            min(m.id for m in self.c.with_role(Role.ADMIN)),
            os.urandom(16),
            int(time.time() * 1000),
            admin.rule_version,
            {
                "action": int(action),
                "target": target,
                "roles": int(roles),
                "sign_key": sign_key,
                "agree_key": b"",
            },
        ).encode()
        out = admin.ledger.Submit(convert.signed_request(raw, _sign_admins(self.c, raw)), timeout=30)
        assert out.accepted, out.reason


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.setenv("RISKSHARE_PASSPHRASE", PASSPHRASE)  # the new broker's own key passphrase
    c = Consortium.load(
        init_consortium(
            tmp_path / "c", SPECS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0"
        ).root
    )
    p_run, platform = start_platform(c)
    c.platform_address = f"localhost:{p_run.port}"
    c.save()  # the CLI (enrol) reaches the platform through consortium.toml
    k_run, keyholder = start_keyholder(c, refresh_s=0.2)
    kaddr = f"localhost:{k_run.port}"
    auditor = client.Session.connect(c, "audit-1", c.platform_address, kaddr)
    try:
        yield Env(
            c,
            platform,
            keyholder,
            (p_run, k_run),
            kaddr,
            auditor,
            client.new_auditor(auditor, MemoryStorage()),
        )
    finally:
        auditor.close()
        k_run.stop()
        p_run.stop()
        platform.close()


def _follower(e: Env) -> MemberFollower:
    return e.keyholder.directory.follower  # type: ignore[attr-defined, no-any-return]


def _until(
    cond: Callable[[], bool], what: str, timeout: float = 5.0, why: Callable[[], object] | None = None
) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}: {why() if why else ''}")
        time.sleep(0.05)


def _refused(s: client.Session) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        s.oprf.evaluate([b"\x01" + SyntheticSource(seed=1).resident_id().encode()], Kind.LOOKUP)
    return e.value


def test_a_broker_enrolled_after_start_is_served_and_a_removed_one_refused(
    env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    e, kh = env, env.keyholder
    a = e.session("sec-a")
    recs = SyntheticSource(seed=11).records(8)
    client.contribute(a, recs)  # genesis members are served before anything is witnessed
    e.witness()
    started = _follower(e).refreshes
    # a new broker makes its own keys; an administrator enrols it on the ledger
    root = str(e.c.root)
    assert cli.main(["keygen", root, "--name", "sec-new", "--roles", "broker"]) == 0
    enrolment = str(e.c.root / "keys" / "sec-new" / "enrolment.json")
    assert cli.main(["--dir", root, "--as", "platform", "enrol", enrolment]) == 0
    capsys.readouterr()
    new = e.session("sec-new")
    new_id = new.member.id
    try:
        # the platform knows it at once; the key holder only once a witnessed checkpoint covers it
        unknown = kh.metrics["refused_unknown_member"]
        err = _refused(new)
        assert err.code() is grpc.StatusCode.UNAUTHENTICATED and "unknown member" in (err.details() or "")
        assert kh.metrics["refused_unknown_member"] == unknown + 1
        e.witness()
        ev = new.oprf.evaluate([b"\x01" + recs[0].subject_id.encode()], Kind.LOOKUP)  # no restart
        assert len(ev.receipts) == 2
        hit = client.lookup_oblivious(new, recs[2].subject_type, recs[2].subject_id)
        assert any(f.record == recs[2] for f in hit.result.findings)
        assert _follower(e).refreshes > started
        assert kh.directory.get(new_id) is not None

        # removal: not applied until witnessed, then refused by the key holder
        e.member_entry(Action.REMOVE, new_id, Role.BROKER)
        e.platform.checkpoint()
        time.sleep(0.5)  # background refreshes run, but nothing newer is witnessed
        assert _follower(e).registry.get(new_id) is not None
        e.witness()
        _until(lambda: _follower(e).registry.get(new_id) is None, "the removal to reach the key holder")
        unknown = kh.metrics["refused_unknown_member"]
        assert _refused(new).code() is grpc.StatusCode.UNAUTHENTICATED  # (the platform refuses too)
        _until(lambda: kh.metrics["refused_unknown_member"] == unknown + 1, "the key holder's refusal")
        with pytest.raises(grpc.RpcError):
            client.lookup_oblivious(new, SubjectType.PERSON, recs[2].subject_id)

        # re-keying: sec-a's old key stops being accepted by the key holder
        e.member_entry(
            Action.REKEY,
            a.member.id,
            Role.CONTRIBUTOR | Role.BROKER,
            SM2PrivateKey.generate().public_key().to_bytes(),
        )
        e.witness()
        _until(
            lambda: _follower(e).registry.get(a.member.id).sign_key != a.member.sign_key,  # type: ignore[union-attr]
            "the new key to reach the key holder",
            why=lambda: (
                _follower(e).checkpoint.size if _follower(e).checkpoint else None,  # type: ignore[union-attr]
                _follower(e).refreshes,
                _follower(e).last_error,
                e.platform.ledger.storage.size(),
                e.platform.witnessed()[0].checkpoint.size,  # type: ignore[index]
            ),
        )
        bad_sig = kh.metrics["refused_bad_signature"]
        assert _refused(a).code() is grpc.StatusCode.UNAUTHENTICATED
        _until(lambda: kh.metrics["refused_bad_signature"] == bad_sig + 1, "the key holder's refusal")
    finally:
        new.close()
        a.close()


def test_the_follower_trusts_only_witnessed_and_well_signed_entries(env: Env) -> None:
    e = env
    a = e.session("sec-a")
    try:
        client.contribute(a, SyntheticSource(seed=12).records(3))
    finally:
        a.close()
    size = e.witness()
    kh, broker = e.c.the(Role.KEYHOLDER), e.c.member("sec-a")
    real = e.auditor.ledger
    admins = {m.id: m.sign_key for m in e.c.with_role(Role.ADMIN)}

    def follower(
        stub: object, *, my_key: bytes = kh.sign_key, pinned: dict[int, bytes] = admins
    ) -> MemberFollower:
        return MemberFollower(
            stub,  # type: ignore[arg-type]
            Reader(e.c.log_id, kh.id, e.c.signing_key(kh.name)),
            e.c.log_id,
            me=kh.id,
            my_key=my_key,
            genesis_admin_keys=lambda: pinned,
            min_interval_s=0,
        )

    good = follower(real)
    assert good.refresh() and good.checkpoint is not None and good.checkpoint.size == size

    class Tampering:
        def __init__(self, how: str) -> None:
            self.how = how

        def GetCheckpoint(self, req: ledger_pb2.CheckpointRequest, **kw: Any) -> object:
            msg = real.GetCheckpoint(req, **kw)
            if self.how == "unwitnessed":
                del msg.cosignatures[:]
            return msg

        def GetEntries(self, req: ledger_pb2.EntriesRequest, **kw: Any) -> Iterator[object]:
            for batch in real.GetEntries(req, **kw):
                entries = [bytes(x) for x in batch.entries]
                if self.how == "withheld" and len(entries) > 2:
                    entries.pop(1)
                if self.how == "reordered" and len(entries) > 2:
                    entries[0], entries[1] = entries[1], entries[0]
                if self.how == "forged" and batch.start > 0:
                    # a member entry no administrator signed, marked accepted
                    raw = Request(
                        Kind.MEMBER,
                        e.c.log_id,
                        broker.id,
                        os.urandom(16),
                        int(time.time() * 1000),
                        1,
                        {
                            "action": int(Action.ADD),
                            "target": 77,
                            "roles": int(Role.BROKER),
                            "sign_key": kh.sign_key,
                            "agree_key": kh.agree_key,
                        },
                    ).encode()
                    sig = Signature(broker.id, e.c.signing_key(broker.name).sign(raw))
                    entries[-1] = Entry(Request.decode(raw), (sig,), int(time.time() * 1000)).encode()
                yield ledger_pb2.EntryBatch(start=batch.start, entries=entries)

    for how, why in [
        ("unwitnessed", "majority of the auditors"),
        ("withheld", "of the entries"),
        ("reordered", "reproduce the witnessed checkpoint"),
        ("forged", "WRONG_ROLE"),
    ]:
        f = follower(Tampering(how))
        assert not f.refresh(), how
        assert f.checkpoint is None and f.registry.get(77) is None, how
        assert why in (f.last_error or ""), (how, f.last_error)
    # a genesis that does not name this key holder's key, or whose administrators differ from
    # the consortium's record, is no trust anchor
    other = SM2PrivateKey.generate().public_key().to_bytes()
    f = follower(real, my_key=other)
    assert not f.refresh() and "this key holder" in (f.last_error or "")
    f = follower(real, pinned={i: other for i in admins})
    assert not f.refresh() and "consortium's record" in (f.last_error or "")
    assert len(f.registry.members) == 0  # nobody is served on an unverified genesis
