from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedRequest(_message.Message):
    __slots__ = ("canonical", "signatures")
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    canonical: bytes
    signatures: _containers.RepeatedCompositeFieldContainer[Signature]
    def __init__(self, canonical: _Optional[bytes] = ..., signatures: _Optional[_Iterable[_Union[Signature, _Mapping]]] = ...) -> None: ...

class Signature(_message.Message):
    __slots__ = ("signer", "der")
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    DER_FIELD_NUMBER: _ClassVar[int]
    signer: int
    der: bytes
    def __init__(self, signer: _Optional[int] = ..., der: _Optional[bytes] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("encoded", "signature", "cosignatures")
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    COSIGNATURES_FIELD_NUMBER: _ClassVar[int]
    encoded: bytes
    signature: bytes
    cosignatures: _containers.RepeatedCompositeFieldContainer[CoSignature]
    def __init__(self, encoded: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., cosignatures: _Optional[_Iterable[_Union[CoSignature, _Mapping]]] = ...) -> None: ...

class CoSignature(_message.Message):
    __slots__ = ("auditor", "signature")
    AUDITOR_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    auditor: str
    signature: bytes
    def __init__(self, auditor: _Optional[str] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("log_id", "index", "leaf_hash", "deadline_ms", "batch_start", "batch_size", "batch_path", "signature")
    LOG_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    LEAF_HASH_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    BATCH_START_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    BATCH_PATH_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    log_id: bytes
    index: int
    leaf_hash: bytes
    deadline_ms: int
    batch_start: int
    batch_size: int
    batch_path: _containers.RepeatedScalarFieldContainer[bytes]
    signature: bytes
    def __init__(self, log_id: _Optional[bytes] = ..., index: _Optional[int] = ..., leaf_hash: _Optional[bytes] = ..., deadline_ms: _Optional[int] = ..., batch_start: _Optional[int] = ..., batch_size: _Optional[int] = ..., batch_path: _Optional[_Iterable[bytes]] = ..., signature: _Optional[bytes] = ...) -> None: ...

class ReadAuth(_message.Message):
    __slots__ = ("member", "timestamp_ms", "signature")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    member: int
    timestamp_ms: int
    signature: bytes
    def __init__(self, member: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
