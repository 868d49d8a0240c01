"""Client side of disputes (api/disputes.py): file, decide, list. The CLI (api/cmd_dispute.py)
and the tests call these; the servicer calls the same platform methods."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from api import convert
from api._generated import dispute_pb2, dispute_pb2_grpc
from api.client import Session
from api.disputes import DECISION_DISMISSED, DECISION_UPHELD, dispute_binding, evidence_digest, list_message
from ledger.entry import Kind, Signature
from ledger.members import DisputeAction

__all__ = ["cosigned", "decide_dispute", "list_disputes", "new_dispute_id", "open_dispute"]


def new_dispute_id() -> int:
    """A random dispute id (63 bits: the filer picks it, the rules refuse a repeat)."""
    return int.from_bytes(os.urandom(8), "big") >> 1


def cosigned(
    s: Session, raw: bytes, sigs: tuple[Signature, ...], cosigners: Sequence[str]
) -> tuple[Signature, ...]:
    """Add other members' signatures over the same request bytes (administrators co-signing a
    filing or a decision). Their keys must be in the consortium directory: demo and tests only;
    in production each administrator signs on its own machine."""
    out = list(sigs)
    for name in cosigners:
        m = s.c.member(name)
        if m.id in {x.signer for x in out}:
            continue
        out.append(Signature(m.id, s.c.signing_key(name).sign(raw)))
    return (out[0], *sorted(out[1:], key=lambda x: x.signer))


def _stub(s: Session) -> dispute_pb2_grpc.DisputeStub:
    return dispute_pb2_grpc.DisputeStub(s.platform_channel)


def open_dispute(
    s: Session,
    entry_id: bytes,
    *,
    evidence: bytes | None = None,
    dispute_id: int | None = None,
    cosigners: Sequence[str] = (),
) -> dispute_pb2.DisputeResult:
    """File a complaint against ``entry_id``; ``evidence`` (the complaint document) stays here:
    only its salted SM3 digest is sent. With ``cosigners`` reaching the administrators'
    threshold the entry is frozen at once."""
    if len(entry_id) != 16:
        raise ValueError("an entry id is 16 bytes (32 hex digits)")
    did = dispute_id if dispute_id is not None else new_dispute_id()
    raw, sigs = s.request(
        Kind.DISPUTE,
        {
            "action": int(DisputeAction.FILE),
            "dispute_id": did,
            "evidence_hash": dispute_binding(entry_id),
            "decision": 0,
            "heights": (),
        },
    )
    digest = b"" if evidence is None else evidence_digest(os.urandom(16), evidence)
    msg = dispute_pb2.OpenDisputeRequest(
        request=convert.signed_request(raw, cosigned(s, raw, sigs, cosigners)),
        entry_id=entry_id,
        evidence_digest=digest,
    )
    out: dispute_pb2.DisputeResult = _stub(s).Open(msg, timeout=30)
    return out


def decide_dispute(
    s: Session, info: dispute_pb2.DisputeInfo, upheld: bool, cosigners: Sequence[str] = ()
) -> dispute_pb2.DisputeResult:
    """Administrators: decide the dispute ``info`` (from :func:`list_disputes`)."""
    raw, sigs = s.request(
        Kind.DISPUTE,
        {
            "action": int(DisputeAction.DECIDE),
            "dispute_id": info.dispute_id,
            "evidence_hash": dispute_binding(bytes(info.entry_id)),
            "decision": DECISION_UPHELD if upheld else DECISION_DISMISSED,
            "heights": (info.height,),
        },
    )
    msg = dispute_pb2.DecideDisputeRequest(
        request=convert.signed_request(raw, cosigned(s, raw, sigs, cosigners))
    )
    out: dispute_pb2.DisputeResult = _stub(s).Decide(msg, timeout=30)
    return out


def list_disputes(s: Session) -> list[dispute_pb2.DisputeInfo]:
    ts = int(time.time() * 1000)
    sig = s.identity.signing_key.sign(list_message(s.c.log_id, s.member.id, ts))
    out = _stub(s).List(
        dispute_pb2.ListDisputesRequest(member=s.member.id, timestamp_ms=ts, signature=sig), timeout=30
    )
    return list(out.disputes)
