from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedRequest(_message.Message):
    __slots__ = ("canonical", "signature")
    CANONICAL_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    canonical: bytes
    signature: bytes
    def __init__(self, canonical: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

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
    __slots__ = ("encoded", "signature")
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    encoded: bytes
    signature: bytes
    def __init__(self, encoded: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
