"""BilateralScreen service on a contributor's own server (thin: api.contributor_server decides)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from api._generated import screen_pb2, screen_pb2_grpc
from api.contributor_server import MAX_MATRIX_BYTES, BilateralService
from api.errors import BadRequest
from api.screen_wire import PART_BYTES
from api.servicers import guarded

MAX_START_BYTES = 1 << 20


class BilateralScreenServicer(screen_pb2_grpc.BilateralScreenServicer):
    def __init__(self, service: BilateralService) -> None:
        self.service = service

    @guarded
    def Start(
        self, request: screen_pb2.StartRequest, context: grpc.ServicerContext
    ) -> screen_pb2.StartResponse:
        if not request.hello or not request.message:
            raise BadRequest("Start needs the signed hello and the first PSI message")
        if len(request.message) > MAX_START_BYTES:
            raise BadRequest("the first PSI message is too large")
        return screen_pb2.StartResponse(message=self.service.start(request.hello, request.message))

    @guarded
    def Exchange(
        self, request_iterator: Iterator[screen_pb2.Part], context: grpc.ServicerContext
    ) -> Iterator[screen_pb2.Part]:
        sid = b""
        parts: list[bytes] = []
        size = 0
        last = False
        for part in request_iterator:
            if len(part.data) > PART_BYTES:
                raise BadRequest(f"a part holds at most {PART_BYTES} bytes")
            if sid and part.session_id != sid:
                raise BadRequest("parts of one exchange must name one session")
            sid = part.session_id
            size += len(part.data)
            if size > MAX_MATRIX_BYTES:
                raise BadRequest("the PSI matrix exceeds the per-run cap")
            parts.append(part.data)
            if part.last:
                last = True
                break
        if not last:
            raise BadRequest("the exchange ended before its last part")
        m4, receipt = self.service.exchange(sid, b"".join(parts))
        out = []
        for start in range(0, max(1, len(m4)), PART_BYTES):
            end = start + PART_BYTES
            done = end >= len(m4)
            out.append(
                screen_pb2.Part(
                    session_id=sid, data=m4[start:end], last=done, receipt=receipt if done else b""
                )
            )
        return iter(out)
