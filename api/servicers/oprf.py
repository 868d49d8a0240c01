"""Oprf service: the same servicer on the platform (share k1) and the key holder (share k2)."""

from __future__ import annotations

import grpc

from api._generated import oprf_pb2, oprf_pb2_grpc
from api.errors import BadRequest
from api.evaluator import Evaluator
from api.servicers import guarded
from mpc import oprf

MAX_OPRF_REQUEST = 4 * 1024 * 1024


class OprfServicer(oprf_pb2_grpc.OprfServicer):
    def __init__(self, evaluator: Evaluator, key_epoch: oprf.KeyEpoch, epoch_number: int) -> None:
        self.evaluator, self.key_epoch, self.epoch_number = evaluator, key_epoch, epoch_number

    @guarded
    def GetKeyEpoch(
        self, request: oprf_pb2.KeyEpochRequest, context: grpc.ServicerContext
    ) -> oprf_pb2.KeyEpoch:
        if request.epoch not in (0, self.epoch_number):
            raise KeyError(f"unknown key epoch {request.epoch}")
        a, b = self.key_epoch.shares
        return oprf_pb2.KeyEpoch(
            epoch=self.epoch_number,
            suite=self.key_epoch.suite.name,
            public_share_platform=a.element,
            public_share_keyholder=b.element,
            possession_proof_platform=a.pop,
            possession_proof_keyholder=b.pop,
        )

    @guarded
    def Evaluate(
        self, request: oprf_pb2.EvaluateRequest, context: grpc.ServicerContext
    ) -> oprf_pb2.EvaluateResponse:
        if not request.signed_request or not request.oprf_request:
            raise BadRequest("Evaluate needs signed_request and oprf_request")
        if len(request.oprf_request) > MAX_OPRF_REQUEST:
            raise BadRequest(f"oprf_request larger than {MAX_OPRF_REQUEST} bytes: split the batch")
        result = self.evaluator.evaluate(request.signed_request, request.oprf_request)
        return oprf_pb2.EvaluateResponse(oprf_response=result.response, receipt=result.receipt)
