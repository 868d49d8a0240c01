from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListMembersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Member(_message.Message):
    __slots__ = ("name", "roles", "signing_key", "agreement_key", "administrator", "mirror_granted")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLES_FIELD_NUMBER: _ClassVar[int]
    SIGNING_KEY_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    ADMINISTRATOR_FIELD_NUMBER: _ClassVar[int]
    MIRROR_GRANTED_FIELD_NUMBER: _ClassVar[int]
    name: str
    roles: _containers.RepeatedScalarFieldContainer[str]
    signing_key: bytes
    agreement_key: bytes
    administrator: bool
    mirror_granted: bool
    def __init__(self, name: _Optional[str] = ..., roles: _Optional[_Iterable[str]] = ..., signing_key: _Optional[bytes] = ..., agreement_key: _Optional[bytes] = ..., administrator: _Optional[bool] = ..., mirror_granted: _Optional[bool] = ...) -> None: ...

class MemberList(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedCompositeFieldContainer[Member]
    def __init__(self, members: _Optional[_Iterable[_Union[Member, _Mapping]]] = ...) -> None: ...

class PointsRequest(_message.Message):
    __slots__ = ("member", "history")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    member: str
    history: bool
    def __init__(self, member: _Optional[str] = ..., history: _Optional[bool] = ...) -> None: ...

class PointsChange(_message.Message):
    __slots__ = ("height", "kind", "delta", "reason")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    DELTA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    height: int
    kind: str
    delta: int
    reason: str
    def __init__(self, height: _Optional[int] = ..., kind: _Optional[str] = ..., delta: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class PointsResponse(_message.Message):
    __slots__ = ("member", "balance", "vesting", "history")
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    VESTING_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    member: str
    balance: int
    vesting: int
    history: _containers.RepeatedCompositeFieldContainer[PointsChange]
    def __init__(self, member: _Optional[str] = ..., balance: _Optional[int] = ..., vesting: _Optional[int] = ..., history: _Optional[_Iterable[_Union[PointsChange, _Mapping]]] = ...) -> None: ...
