"""Ledger service on the platform: submit, checkpoints, entries, proofs, co-signing.

Every read needs a member's fresh signed read request (api/reads.py) bound to the method and its
parameters; Submit and CoSign carry their own signatures."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from api import convert
from api._generated import common_pb2, ledger_pb2, ledger_pb2_grpc
from api.errors import BadRequest, NotFound, Unauthenticated
from api.platform import Platform
from api.reads import ReadMethod
from api.servicers import guarded, guarded_stream
from ledger.checkpoint import Checkpoint, SignedCheckpoint
from ledger.entry import Code

ENTRY_CHUNK = 2048


class LedgerServicer(ledger_pb2_grpc.LedgerServicer):
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def _authorize(self, auth: common_pb2.ReadAuth | None, method: ReadMethod, a: int, b: int = 0) -> None:
        if auth is None:
            self.platform.ledger.metrics.refused["ledger read request: unauthenticated"] += 1
            raise Unauthenticated("a ledger read needs a member's signed read request (auth)")
        self.platform.authorize_ledger_read(
            method, auth.member, auth.timestamp_ms, bytes(auth.signature), a, b
        )

    @guarded
    def Submit(
        self, request: common_pb2.SignedRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.SubmitResult:
        raw, sigs = convert.from_signed_request(request)
        r = self.platform.record(raw, sigs)
        code = self.platform.entry_code(r.index)
        return ledger_pb2.SubmitResult(
            accepted=code == Code.ACCEPTED,
            code=code,
            reason="" if code == 0 else _reason(code),
            receipt=convert.receipt(r),
        )

    @guarded
    def GetCheckpoint(
        self, request: ledger_pb2.CheckpointRequest, context: grpc.ServicerContext
    ) -> common_pb2.Checkpoint:
        self._authorize(_auth(request), ReadMethod.CHECKPOINT, request.size, int(request.witnessed))
        storage = self.platform.ledger.storage
        if request.witnessed:
            if request.size:
                raise BadRequest("ask for the newest witnessed checkpoint with size 0")
            w = self.platform.witnessed()
            if w is None:
                raise NotFound("no witnessed checkpoint yet: auditors have not co-signed")
            return convert.checkpoint(*w)
        row = storage.latest_checkpoint() if request.size == 0 else storage.checkpoint(request.size)
        if row is None:
            raise NotFound("no such checkpoint")
        signed = SignedCheckpoint(Checkpoint.decode(row.body), row.signature)
        return convert.checkpoint(signed, storage.cosignatures(row.size))

    @guarded_stream
    def GetCheckpoints(
        self, request: ledger_pb2.CheckpointRequest, context: grpc.ServicerContext
    ) -> Iterator[common_pb2.Checkpoint]:
        self._authorize(_auth(request), ReadMethod.CHECKPOINTS, request.size)
        storage = self.platform.ledger.storage
        for row in storage.checkpoints():
            if row.size > request.size:
                signed = SignedCheckpoint(Checkpoint.decode(row.body), row.signature)
                yield convert.checkpoint(signed, storage.cosignatures(row.size))

    @guarded_stream
    def GetEntries(
        self, request: ledger_pb2.EntriesRequest, context: grpc.ServicerContext
    ) -> Iterator[ledger_pb2.EntryBatch]:
        self._authorize(_auth(request), ReadMethod.ENTRIES, request.start, request.end)
        storage = self.platform.ledger.storage
        end = self.platform.ledger.durable_size if request.end == 0 else request.end
        end = min(end, self.platform.ledger.durable_size)
        batch: list[bytes] = []
        start = request.start
        for height, body, _ in storage.entries(request.start, end):
            batch.append(body)
            if len(batch) == ENTRY_CHUNK:
                yield ledger_pb2.EntryBatch(start=start, entries=batch)
                start, batch = height + 1, []
        if batch:
            yield ledger_pb2.EntryBatch(start=start, entries=batch)

    @guarded
    def GetInclusionProof(
        self, request: ledger_pb2.InclusionRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.Proof:
        self._authorize(_auth(request), ReadMethod.INCLUSION, request.index, request.size)
        size = request.size or None
        proof = self.platform.ledger.inclusion_proof(request.index, size)
        return ledger_pb2.Proof(
            size=size or self.platform.ledger.durable_size, hashes=proof, root=self.platform.ledger.root(size)
        )

    @guarded
    def GetConsistencyProof(
        self, request: ledger_pb2.ConsistencyRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.Proof:
        self._authorize(_auth(request), ReadMethod.CONSISTENCY, request.old_size, request.new_size)
        size = request.new_size or None
        proof = self.platform.ledger.consistency_proof(request.old_size, size)
        return ledger_pb2.Proof(
            size=size or self.platform.ledger.durable_size, hashes=proof, root=self.platform.ledger.root(size)
        )

    @guarded
    def CoSign(
        self, request: ledger_pb2.CoSignRequest, context: grpc.ServicerContext
    ) -> ledger_pb2.CoSignResult:
        witnessed = self.platform.add_cosignature(request.auditor, request.size, bytes(request.signature))
        return ledger_pb2.CoSignResult(
            witnessed=witnessed, cosignatures=len(self.platform.ledger.storage.cosignatures(request.size))
        )


def _auth(
    request: ledger_pb2.CheckpointRequest
    | ledger_pb2.EntriesRequest
    | ledger_pb2.InclusionRequest
    | ledger_pb2.ConsistencyRequest,
) -> common_pb2.ReadAuth | None:
    return request.auth if request.HasField("auth") else None


def _reason(code: int) -> str:
    try:
        return Code(code).name.lower()
    except ValueError:
        return f"rule code {code}"
