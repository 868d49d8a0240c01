"""Index service on the platform: contribute (client stream), mirror sync (server stream),
lookup entries."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from api import convert, errors
from api._generated import index_pb2, index_pb2_grpc
from api.errors import BadRequest, NotFound, Unauthenticated
from api.platform import Platform
from api.reads import ReadMethod
from api.servicers import guarded, guarded_stream
from ledger.checkpoint import SignedCheckpoint
from ledger.entry import Kind

SYNC_CHUNK = 8192  # index operations per streamed message (≈ 2.7 MB)
MAX_UPLOAD_CHUNKS = 1024


class IndexServicer(index_pb2_grpc.IndexServicer):
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @guarded
    def Contribute(
        self, request_iterator: Iterator[index_pb2.ContributeChunk], context: grpc.ServicerContext
    ) -> index_pb2.ContributeResult:
        entries: list[bytes] = []
        dedup: list[bytes] = []
        signed = None
        for n, chunk in enumerate(request_iterator):
            if n >= MAX_UPLOAD_CHUNKS:
                raise BadRequest(f"an upload has at most {MAX_UPLOAD_CHUNKS} chunks")
            if signed is not None:
                raise BadRequest("the signed request must come with the last chunk")
            entries.extend(bytes(e) for e in chunk.entries)
            dedup.extend(bytes(d) for d in chunk.dedup_keys)
            if chunk.HasField("request"):
                signed = chunk.request
        if signed is None:
            raise BadRequest("the upload ended without its signed contribute request")
        raw, sigs = convert.from_signed_request(signed)
        out = self.platform.contribute(raw, sigs, entries, dedup)
        return index_pb2.ContributeResult(
            accepted=out.accepted,
            duplicates=out.duplicates,
            new_distinct_tags=out.new_tags,
            receipt=convert.receipt(out.receipt),
            accepted_mask=out.accepted_mask,
        )

    @guarded_stream
    def SyncIndex(
        self, request: index_pb2.SyncRequest, context: grpc.ServicerContext
    ) -> Iterator[index_pb2.IndexDelta]:
        self.platform.authorize_sync(
            request.member, request.timestamp_ms, request.from_size, request.to_size, bytes(request.signature)
        )
        if request.to_size:
            # Auditors verifying a checkpoint before co-signing it: any published prefix.
            w = None
            end = request.to_size
        else:
            w = self.platform.witnessed()
            if w is None:
                raise NotFound("no witnessed checkpoint yet: auditors have not co-signed")
            end = w[0].checkpoint.index_size
        start = request.from_size
        if start > end:
            raise BadRequest(f"mirror holds {start} operations, the witnessed index has {end}")
        limit = min(request.max_ops or SYNC_CHUNK, SYNC_CHUNK)
        pos = start
        while True:
            stop = min(end, pos + limit)
            delta = self.platform.index_delta(pos, stop)
            last = stop == end
            msg = index_pb2.IndexDelta(operations=list(delta.ops), new_size=stop, new_root=delta.root)
            if last and w is not None:
                msg.checkpoint.CopyFrom(convert.checkpoint(*w))
            yield msg
            if last:
                return
            pos = stop

    @guarded
    def Revoke(
        self, request: index_pb2.RevokeRequest, context: grpc.ServicerContext
    ) -> index_pb2.RevokeResult:
        raw, sigs = convert.from_signed_request(request.request)
        n, receipt = self.platform.revoke(
            raw,
            sigs,
            [bytes(e) for e in request.entry_ids],
            [bytes(t) for t in request.secrets],
            bytes(request.salt),
        )
        return index_pb2.RevokeResult(revoked=n, receipt=convert.receipt(receipt))

    def _witnessed(self) -> tuple[SignedCheckpoint, dict[int, bytes]]:
        w = self.platform.witnessed()
        if w is None:
            raise NotFound("no witnessed checkpoint yet: auditors have not co-signed")
        return w

    @guarded
    def GetSnapshotInfo(
        self, request: index_pb2.SnapshotInfoRequest, context: grpc.ServicerContext
    ) -> index_pb2.SnapshotInfo:
        if not request.HasField("auth"):
            raise Unauthenticated("the snapshot info needs a member's signed read request (auth)")
        a = request.auth
        self.platform.authorize_ledger_read(
            ReadMethod.SNAPSHOT_INFO, a.member, a.timestamp_ms, bytes(a.signature)
        )
        signed, cosigs = self._witnessed()
        snap = self.platform.snapshot_for(signed.checkpoint.index_size)
        return index_pb2.SnapshotInfo(
            bits=snap.bits,
            bucket_size=snap.bucket_size,
            slot_cap=snap.cap,
            checkpoint=convert.checkpoint(signed, cosigs),
        )

    @guarded
    def GetBucket(
        self, request: index_pb2.BucketRequest, context: grpc.ServicerContext
    ) -> index_pb2.BucketResponse:
        proof = self.platform.bucket(
            bytes(request.token), request.index_size, request.bucket, bytes(request.signature)
        )
        return index_pb2.BucketResponse(
            tags=list(proof.tags), slot_tree_root=proof.slot_root, snapshot_path=list(proof.path)
        )

    def ObliviousTransfer(
        self, request_iterator: Iterator[index_pb2.OtMessage], context: grpc.ServicerContext
    ) -> Iterator[index_pb2.OtMessage]:
        try:
            first = next(request_iterator)
            sender = self.platform.ot_sender(
                bytes(first.token), first.index_size, first.bucket, bytes(first.signature)
            )
            m1 = sender.start()
            yield index_pb2.OtMessage(payload=m1)
            m2 = bytes(next(request_iterator).payload)
            m3 = sender.finish(m2)
            # the signed transcript lets the broker prove a bad slot to the auditors
            signature = self.platform.sign_ot_transcript(
                bytes(first.token), first.index_size, first.bucket, m1, m2, m3
            )
            yield index_pb2.OtMessage(payload=m3, signature=signature)
        except StopIteration:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "the OT stream ended early")
        except Exception as exc:
            context.abort(errors.status_for(exc), errors.message_for(exc))

    @guarded
    def RecordLookup(
        self, request: index_pb2.RecordLookupRequest, context: grpc.ServicerContext
    ) -> index_pb2.RecordLookupResult:
        raw, sigs = convert.from_signed_request(request.request)
        r = self.platform.record(raw, sigs, Kind.LOOKUP)
        return index_pb2.RecordLookupResult(receipt=convert.receipt(r))
