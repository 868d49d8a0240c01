from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DefineRoundRequest(_message.Message):
    __slots__ = ("request", "deadline_ms")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    deadline_ms: int
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ..., deadline_ms: _Optional[int] = ...) -> None: ...

class DefineRoundResult(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: _common_pb2.Receipt
    def __init__(self, receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...

class StatSubmitRequest(_message.Message):
    __slots__ = ("request", "submission")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    SUBMISSION_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    submission: bytes
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ..., submission: _Optional[bytes] = ...) -> None: ...

class StatSubmitResult(_message.Message):
    __slots__ = ("receipt", "closed")
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    receipt: _common_pb2.Receipt
    closed: bool
    def __init__(self, receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ..., closed: _Optional[bool] = ...) -> None: ...

class CloseRoundRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ...) -> None: ...

class CloseRoundResult(_message.Message):
    __slots__ = ("non_submitters",)
    NON_SUBMITTERS_FIELD_NUMBER: _ClassVar[int]
    non_submitters: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, non_submitters: _Optional[_Iterable[int]] = ...) -> None: ...

class RoundRequest(_message.Message):
    __slots__ = ("round_id", "auth")
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    round_id: int
    auth: _common_pb2.ReadAuth
    def __init__(self, round_id: _Optional[int] = ..., auth: _Optional[_Union[_common_pb2.ReadAuth, _Mapping]] = ...) -> None: ...

class RoundStatus(_message.Message):
    __slots__ = ("round_id", "statistic", "period", "k", "participants", "submitted", "closed", "non_submitters", "deadline_ms", "releases")
    ROUND_ID_FIELD_NUMBER: _ClassVar[int]
    STATISTIC_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    NON_SUBMITTERS_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    RELEASES_FIELD_NUMBER: _ClassVar[int]
    round_id: int
    statistic: int
    period: int
    k: int
    participants: _containers.RepeatedScalarFieldContainer[int]
    submitted: _containers.RepeatedScalarFieldContainer[int]
    closed: bool
    non_submitters: _containers.RepeatedScalarFieldContainer[int]
    deadline_ms: int
    releases: int
    def __init__(self, round_id: _Optional[int] = ..., statistic: _Optional[int] = ..., period: _Optional[int] = ..., k: _Optional[int] = ..., participants: _Optional[_Iterable[int]] = ..., submitted: _Optional[_Iterable[int]] = ..., closed: _Optional[bool] = ..., non_submitters: _Optional[_Iterable[int]] = ..., deadline_ms: _Optional[int] = ..., releases: _Optional[int] = ...) -> None: ...

class SubmissionsRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ...) -> None: ...

class SubmissionBatch(_message.Message):
    __slots__ = ("submissions",)
    SUBMISSIONS_FIELD_NUMBER: _ClassVar[int]
    submissions: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, submissions: _Optional[_Iterable[bytes]] = ...) -> None: ...

class PublishKeyResult(_message.Message):
    __slots__ = ("key_id", "published")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_FIELD_NUMBER: _ClassVar[int]
    key_id: int
    published: bool
    def __init__(self, key_id: _Optional[int] = ..., published: _Optional[bool] = ...) -> None: ...

class SeedShareRequest(_message.Message):
    __slots__ = ("share",)
    SHARE_FIELD_NUMBER: _ClassVar[int]
    share: bytes
    def __init__(self, share: _Optional[bytes] = ...) -> None: ...

class SeedShareResult(_message.Message):
    __slots__ = ("stored",)
    STORED_FIELD_NUMBER: _ClassVar[int]
    stored: bool
    def __init__(self, stored: _Optional[bool] = ...) -> None: ...

class ReleaseRequest(_message.Message):
    __slots__ = ("request", "cells")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    CELLS_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    cells: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ..., cells: _Optional[_Iterable[int]] = ...) -> None: ...

class ReleaseResult(_message.Message):
    __slots__ = ("release", "receipt")
    RELEASE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    release: bytes
    receipt: _common_pb2.Receipt
    def __init__(self, release: _Optional[bytes] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...
