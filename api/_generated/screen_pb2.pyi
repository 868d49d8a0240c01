from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class StartRequest(_message.Message):
    __slots__ = ("hello", "message")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    hello: bytes
    message: bytes
    def __init__(self, hello: _Optional[bytes] = ..., message: _Optional[bytes] = ...) -> None: ...

class StartResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: bytes
    def __init__(self, message: _Optional[bytes] = ...) -> None: ...

class Part(_message.Message):
    __slots__ = ("session_id", "data", "last", "receipt")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    session_id: bytes
    data: bytes
    last: bool
    receipt: bytes
    def __init__(self, session_id: _Optional[bytes] = ..., data: _Optional[bytes] = ..., last: _Optional[bool] = ..., receipt: _Optional[bytes] = ...) -> None: ...
