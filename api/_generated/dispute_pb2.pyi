from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OpenDisputeRequest(_message.Message):
    __slots__ = ("request", "entry_id", "evidence_digest")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    entry_id: bytes
    evidence_digest: bytes
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ..., entry_id: _Optional[bytes] = ..., evidence_digest: _Optional[bytes] = ...) -> None: ...

class DecideDisputeRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ...) -> None: ...

class DisputeInfo(_message.Message):
    __slots__ = ("dispute_id", "entry_id", "filer", "contributor", "height", "status", "frozen_by_filing", "file_index", "decide_index", "evidence_digest")
    DISPUTE_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    FILER_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTOR_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    FROZEN_BY_FILING_FIELD_NUMBER: _ClassVar[int]
    FILE_INDEX_FIELD_NUMBER: _ClassVar[int]
    DECIDE_INDEX_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    dispute_id: int
    entry_id: bytes
    filer: int
    contributor: int
    height: int
    status: str
    frozen_by_filing: bool
    file_index: int
    decide_index: int
    evidence_digest: bytes
    def __init__(self, dispute_id: _Optional[int] = ..., entry_id: _Optional[bytes] = ..., filer: _Optional[int] = ..., contributor: _Optional[int] = ..., height: _Optional[int] = ..., status: _Optional[str] = ..., frozen_by_filing: _Optional[bool] = ..., file_index: _Optional[int] = ..., decide_index: _Optional[int] = ..., evidence_digest: _Optional[bytes] = ...) -> None: ...

class DisputeResult(_message.Message):
    __slots__ = ("dispute", "receipt")
    DISPUTE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    dispute: DisputeInfo
    receipt: _common_pb2.Receipt
    def __init__(self, dispute: _Optional[_Union[DisputeInfo, _Mapping]] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...

class ListDisputesRequest(_message.Message):
    __slots__ = ("member", "timestamp_ms", "signature")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    member: int
    timestamp_ms: int
    signature: bytes
    def __init__(self, member: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class DisputeList(_message.Message):
    __slots__ = ("disputes",)
    DISPUTES_FIELD_NUMBER: _ClassVar[int]
    disputes: _containers.RepeatedCompositeFieldContainer[DisputeInfo]
    def __init__(self, disputes: _Optional[_Iterable[_Union[DisputeInfo, _Mapping]]] = ...) -> None: ...
