from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

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
    __slots__ = ("signed_request", "oprf_request")
    SIGNED_REQUEST_FIELD_NUMBER: _ClassVar[int]
    OPRF_REQUEST_FIELD_NUMBER: _ClassVar[int]
    signed_request: bytes
    oprf_request: bytes
    def __init__(self, signed_request: _Optional[bytes] = ..., oprf_request: _Optional[bytes] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("oprf_response", "receipt")
    OPRF_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    oprf_response: bytes
    receipt: bytes
    def __init__(self, oprf_response: _Optional[bytes] = ..., receipt: _Optional[bytes] = ...) -> None: ...
