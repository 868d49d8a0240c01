from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitResult(_message.Message):
    __slots__ = ("accepted", "code", "reason", "receipt")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    code: int
    reason: str
    receipt: _common_pb2.Receipt
    def __init__(self, accepted: _Optional[bool] = ..., code: _Optional[int] = ..., reason: _Optional[str] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...

class CheckpointRequest(_message.Message):
    __slots__ = ("size", "witnessed", "auth")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    WITNESSED_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    size: int
    witnessed: bool
    auth: _common_pb2.ReadAuth
    def __init__(self, size: _Optional[int] = ..., witnessed: _Optional[bool] = ..., auth: _Optional[_Union[_common_pb2.ReadAuth, _Mapping]] = ...) -> None: ...

class EntriesRequest(_message.Message):
    __slots__ = ("start", "end", "auth")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    auth: _common_pb2.ReadAuth
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., auth: _Optional[_Union[_common_pb2.ReadAuth, _Mapping]] = ...) -> None: ...

class EntryBatch(_message.Message):
    __slots__ = ("start", "entries")
    START_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    start: int
    entries: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, start: _Optional[int] = ..., entries: _Optional[_Iterable[bytes]] = ...) -> None: ...

class InclusionRequest(_message.Message):
    __slots__ = ("index", "size", "auth")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    index: int
    size: int
    auth: _common_pb2.ReadAuth
    def __init__(self, index: _Optional[int] = ..., size: _Optional[int] = ..., auth: _Optional[_Union[_common_pb2.ReadAuth, _Mapping]] = ...) -> None: ...

class ConsistencyRequest(_message.Message):
    __slots__ = ("old_size", "new_size", "auth")
    OLD_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEW_SIZE_FIELD_NUMBER: _ClassVar[int]
    AUTH_FIELD_NUMBER: _ClassVar[int]
    old_size: int
    new_size: int
    auth: _common_pb2.ReadAuth
    def __init__(self, old_size: _Optional[int] = ..., new_size: _Optional[int] = ..., auth: _Optional[_Union[_common_pb2.ReadAuth, _Mapping]] = ...) -> None: ...

class Proof(_message.Message):
    __slots__ = ("size", "hashes", "root")
    SIZE_FIELD_NUMBER: _ClassVar[int]
    HASHES_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    size: int
    hashes: _containers.RepeatedScalarFieldContainer[bytes]
    root: bytes
    def __init__(self, size: _Optional[int] = ..., hashes: _Optional[_Iterable[bytes]] = ..., root: _Optional[bytes] = ...) -> None: ...

class CoSignRequest(_message.Message):
    __slots__ = ("auditor", "size", "signature")
    AUDITOR_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    auditor: int
    size: int
    signature: bytes
    def __init__(self, auditor: _Optional[int] = ..., size: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class CoSignResult(_message.Message):
    __slots__ = ("witnessed", "cosignatures")
    WITNESSED_FIELD_NUMBER: _ClassVar[int]
    COSIGNATURES_FIELD_NUMBER: _ClassVar[int]
    witnessed: bool
    cosignatures: int
    def __init__(self, witnessed: _Optional[bool] = ..., cosignatures: _Optional[int] = ...) -> None: ...
