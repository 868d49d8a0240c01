"""Statistics services: ``Stats`` on the platform, ``StatsRelease`` on the key holder."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from api import convert
from api._generated import common_pb2, stats_pb2, stats_pb2_grpc
from api.errors import BadRequest, Unauthenticated
from api.reads import ReadMethod
from api.servicers import guarded, guarded_stream
from api.stats_service import MAX_SUBMISSION_BYTES, KeyHolderStats, PlatformStats

SUBMISSIONS_PER_MESSAGE = 64
MAX_CELLS = 0xFFFF


class StatsServicer(stats_pb2_grpc.StatsServicer):
    def __init__(self, stats: PlatformStats) -> None:
        self.stats = stats

    @guarded
    def Define(
        self, request: stats_pb2.DefineRoundRequest, context: grpc.ServicerContext
    ) -> stats_pb2.DefineRoundResult:
        raw, sigs = convert.from_signed_request(request.request)
        r = self.stats.define(raw, sigs, request.deadline_ms)
        return stats_pb2.DefineRoundResult(receipt=convert.receipt(r))

    @guarded
    def Submit(
        self, request: stats_pb2.StatSubmitRequest, context: grpc.ServicerContext
    ) -> stats_pb2.StatSubmitResult:
        if not request.submission or len(request.submission) > MAX_SUBMISSION_BYTES:
            raise BadRequest(f"a submission holds 1 to {MAX_SUBMISSION_BYTES} bytes")
        raw, sigs = convert.from_signed_request(request.request)
        out = self.stats.submit(raw, sigs, bytes(request.submission))
        return stats_pb2.StatSubmitResult(receipt=convert.receipt(out.receipt), closed=out.closed)

    @guarded
    def Close(
        self, request: stats_pb2.CloseRoundRequest, context: grpc.ServicerContext
    ) -> stats_pb2.CloseRoundResult:
        raw, sigs = convert.from_signed_request(request.request)
        return stats_pb2.CloseRoundResult(non_submitters=list(self.stats.close_order(raw, sigs)))

    @guarded
    def GetRound(
        self, request: stats_pb2.RoundRequest, context: grpc.ServicerContext
    ) -> stats_pb2.RoundStatus:
        auth = request.auth if request.HasField("auth") else None
        if auth is None:
            raise Unauthenticated("reading a round needs a member's signed read request (auth)")
        self.stats.p.authorize_ledger_read(
            ReadMethod.ROUND, auth.member, auth.timestamp_ms, bytes(auth.signature), request.round_id
        )
        r, deadline = self.stats.status(request.round_id)
        return stats_pb2.RoundStatus(
            round_id=r.int_field("round_id"),
            statistic=r.int_field("statistic"),
            period=r.int_field("period"),
            k=r.int_field("k"),
            participants=list(r.participants),
            submitted=sorted(r.submissions),
            closed=r.closed,
            non_submitters=list(r.non_submitters or ()),
            deadline_ms=deadline,
            releases=len(r.releases),
        )

    @guarded_stream
    def GetSubmissions(
        self, request: stats_pb2.SubmissionsRequest, context: grpc.ServicerContext
    ) -> Iterator[stats_pb2.SubmissionBatch]:
        raw, sigs = convert.from_signed_request(request.request)
        subs = self.stats.submissions(raw, sigs)
        for i in range(0, len(subs), SUBMISSIONS_PER_MESSAGE):
            yield stats_pb2.SubmissionBatch(submissions=subs[i : i + SUBMISSIONS_PER_MESSAGE])


class StatsReleaseServicer(stats_pb2_grpc.StatsReleaseServicer):
    def __init__(self, stats: KeyHolderStats) -> None:
        self.stats = stats

    @guarded
    def PublishKey(
        self, request: common_pb2.Empty, context: grpc.ServicerContext
    ) -> stats_pb2.PublishKeyResult:
        published = self.stats.publish_key()
        return stats_pb2.PublishKeyResult(key_id=self.stats.key_id, published=published)

    @guarded
    def SendSeeds(
        self, request: stats_pb2.SeedShareRequest, context: grpc.ServicerContext
    ) -> stats_pb2.SeedShareResult:
        if not request.share:
            raise BadRequest("SendSeeds needs the sealed, signed seed share")
        self.stats.store_seeds(bytes(request.share))
        return stats_pb2.SeedShareResult(stored=True)

    @guarded
    def Release(
        self, request: stats_pb2.ReleaseRequest, context: grpc.ServicerContext
    ) -> stats_pb2.ReleaseResult:
        if len(request.cells) > MAX_CELLS or any(c > MAX_CELLS for c in request.cells):
            raise BadRequest(f"at most {MAX_CELLS} cells, each below {MAX_CELLS}")
        raw, sigs = convert.from_signed_request(request.request)
        rel, receipt = self.stats.release(raw, sigs, list(request.cells))
        return stats_pb2.ReleaseResult(release=rel.to_bytes(), receipt=convert.receipt(receipt))
