"""One OPRF server's evaluation service: check the member's signed request, meter, evaluate,
and return the evaluation with a signed receipt. The platform (share k1) and the key holder (share
k2) run the same code with their own share, key, meter and clock.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from api.directory import Directory, MemberRecord
from api.errors import BadRequest, Refused, Unauthenticated
from api.meter import Meter, QuotaExceeded, ReplayedNonce
from ledger.entry import Kind, Role
from ledger.log import WINDOW_MS
from ledger.metering import EvaluationReceipt, EvaluationRequest, SignedBlob
from mpc import oprf
from mpc.exceptions import InvalidSignature
from mpc.sm2 import SM2PrivateKey
from mpc.sm3 import sm3

log = logging.getLogger("riskshare.evaluator")

DEFAULT_PERIOD_MS = 24 * 3600 * 1000
_PURPOSE_ROLE = {Kind.CONTRIBUTE: Role.CONTRIBUTOR, Kind.LOOKUP: Role.BROKER, Kind.SCREEN: Role.BROKER}


@dataclass(frozen=True)
class Evaluation:
    response: bytes  # encoded OPRF response (evaluations + batched DLEQ proof)
    receipt: bytes  # signed EvaluationReceipt


class Evaluator:
    def __init__(
        self,
        *,
        log_id: bytes,
        server_id: int,
        signing_key: SM2PrivateKey,
        share: oprf.PrivateKey,
        epoch: int,
        directory: Directory,
        meter: Meter,
        period_ms: int = DEFAULT_PERIOD_MS,
        clock: Callable[[], int] | None = None,
        ledger_height: Callable[[], int] | None = None,
    ) -> None:
        """``ledger_height`` is given by the server that sequences the ledger (the platform): its
        meter then holds every lookup evaluation until a ledger entry carries its receipt, and
        refuses a broker holding :data:`api.meter.MAX_UNRECORDED` unrecorded ones."""
        self.log_id, self.server_id, self.epoch = log_id, server_id, epoch
        self._key = signing_key
        self._server = oprf.Server(share, oprf.Mode.VOPRF, holder=str(server_id), production=True)
        self.directory, self.meter, self.period_ms = directory, meter, period_ms
        self._clock = clock or (lambda: int(time.time() * 1000))
        self._ledger_height = ledger_height
        self.metrics: Counter[str] = Counter()
        self._metrics_lock = threading.Lock()

    def _count(self, what: str) -> None:
        with self._metrics_lock:
            self.metrics[what] += 1

    def evaluate(self, signed_request: bytes, oprf_request: bytes) -> Evaluation:
        try:
            req, blob = EvaluationRequest.open(signed_request)
        except ValueError as e:
            self._count("refused_malformed")
            raise BadRequest(f"evaluation request: {e}") from None
        member = self.directory.get(req.member)
        if member is None:
            self._count("refused_unknown_member")
            raise Unauthenticated("unknown member")
        try:
            blob.verify(member.sign_key)
        except InvalidSignature:
            fresh = self.directory.recheck(req.member)  # a re-keyed member: its new key
            if fresh is None or fresh.sign_key == member.sign_key or not _verifies(blob, fresh):
                self._count("refused_bad_signature")
                raise Unauthenticated("the request's signature does not verify") from None
            member = fresh
        now = self._clock()
        if req.log_id != self.log_id:
            raise BadRequest("the request names another log")
        if req.epoch != self.epoch:
            self._count("refused_stale_epoch")
            raise Refused(f"stale key epoch {req.epoch}: the current epoch is {self.epoch}")
        if abs(now - req.timestamp_ms) > WINDOW_MS:
            self._count("refused_stale_timestamp")
            raise Refused("the request's timestamp is outside the ±5 minute window")
        if not member.has(_PURPOSE_ROLE[req.purpose]):
            self._count("refused_wrong_role")
            raise Refused(f"member {member.name!r} lacks the role for {req.purpose.name.lower()} evaluations")
        if sm3(oprf_request) != req.batch_hash:
            raise BadRequest("the blinded batch does not match the hash in the signed request")
        if oprf.parse_request(oprf_request).count != req.count:
            raise BadRequest("the blinded batch holds a different number of elements than the request says")
        response = self._server.blind_evaluate(oprf_request)  # ProtocolAbort changes nothing
        period = now // self.period_ms
        request_hash = sm3(signed_request)
        held = None
        if self._ledger_height is not None and req.purpose is Kind.LOOKUP:
            held = (request_hash, self._ledger_height())
        try:
            charge = self.meter.charge(
                req.member, period, req.count, req.nonce, req.timestamp_ms + WINDOW_MS, now, unrecorded=held
            )
        except ReplayedNonce as e:
            self._count("refused_replay")
            raise Refused(str(e)) from None
        except QuotaExceeded as e:
            self._count("refused_quota")
            raise Refused(str(e)) from None
        self._count("evaluations")
        receipt = EvaluationReceipt(
            self.log_id,
            self.server_id,
            req.member,
            req.epoch,
            req.purpose,
            req.count,
            request_hash,
            period,
            charge.used,
            now,
        ).sign(self._key)
        log.info(
            "evaluated %d elements for member %d (period %d, used %d)",
            req.count,
            req.member,
            period,
            charge.used,
        )
        return Evaluation(response, receipt)


def _verifies(blob: SignedBlob, member: MemberRecord) -> bool:
    try:
        blob.verify(member.sign_key)
    except InvalidSignature:
        return False
    return True
