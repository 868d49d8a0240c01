"""Dispute service on the platform: file, decide and list disputes of index entries."""

from __future__ import annotations

import grpc

from api import convert
from api._generated import dispute_pb2, dispute_pb2_grpc
from api.disputes import DisputeRecord
from api.platform import Platform
from api.servicers import guarded


def dispute_info(r: DisputeRecord) -> dispute_pb2.DisputeInfo:
    return dispute_pb2.DisputeInfo(
        dispute_id=r.dispute_id,
        entry_id=r.entry_id,
        filer=r.filer,
        contributor=r.owner,
        height=r.height,
        status=r.status,
        frozen_by_filing=r.froze,
        file_index=r.file_index or 0,
        decide_index=r.decide_index or 0,
        evidence_digest=r.evidence,
    )


class DisputeServicer(dispute_pb2_grpc.DisputeServicer):
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @guarded
    def Open(
        self, request: dispute_pb2.OpenDisputeRequest, context: grpc.ServicerContext
    ) -> dispute_pb2.DisputeResult:
        raw, sigs = convert.from_signed_request(request.request)
        rec, receipt = self.platform.file_dispute(
            raw, sigs, bytes(request.entry_id), bytes(request.evidence_digest)
        )
        return dispute_pb2.DisputeResult(dispute=dispute_info(rec), receipt=convert.receipt(receipt))

    @guarded
    def Decide(
        self, request: dispute_pb2.DecideDisputeRequest, context: grpc.ServicerContext
    ) -> dispute_pb2.DisputeResult:
        raw, sigs = convert.from_signed_request(request.request)
        rec, receipt = self.platform.decide_dispute(raw, sigs)
        return dispute_pb2.DisputeResult(dispute=dispute_info(rec), receipt=convert.receipt(receipt))

    @guarded
    def List(
        self, request: dispute_pb2.ListDisputesRequest, context: grpc.ServicerContext
    ) -> dispute_pb2.DisputeList:
        rows = self.platform.list_disputes(request.member, request.timestamp_ms, bytes(request.signature))
        return dispute_pb2.DisputeList(disputes=[dispute_info(r) for r in rows])
