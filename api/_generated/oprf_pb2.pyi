from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class KeyEpochRequest(_message.Message):
    __slots__ = ("epoch",)
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    def __init__(self, epoch: _Optional[int] = ...) -> None: ...

class KeyEpoch(_message.Message):
    __slots__ = ("epoch", "suite", "public_share_platform", "public_share_keyholder", "possession_proof_platform", "possession_proof_keyholder")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SUITE_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_SHARE_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_SHARE_KEYHOLDER_FIELD_NUMBER: _ClassVar[int]
    POSSESSION_PROOF_PLATFORM_FIELD_NUMBER: _ClassVar[int]
    POSSESSION_PROOF_KEYHOLDER_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    suite: str
    public_share_platform: bytes
    public_share_keyholder: bytes
    possession_proof_platform: bytes
    possession_proof_keyholder: bytes
    def __init__(self, epoch: _Optional[int] = ..., suite: _Optional[str] = ..., public_share_platform: _Optional[bytes] = ..., public_share_keyholder: _Optional[bytes] = ..., possession_proof_platform: _Optional[bytes] = ..., possession_proof_keyholder: _Optional[bytes] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("request", "blinded")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    BLINDED_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    blinded: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ..., blinded: _Optional[_Iterable[bytes]] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("evaluated", "proof", "evaluation_receipt")
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    EVALUATION_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    evaluated: _containers.RepeatedScalarFieldContainer[bytes]
    proof: bytes
    evaluation_receipt: _common_pb2.Receipt
    def __init__(self, evaluated: _Optional[_Iterable[bytes]] = ..., proof: _Optional[bytes] = ..., evaluation_receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...
