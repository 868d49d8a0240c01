from . import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ContributeChunk(_message.Message):
    __slots__ = ("entries", "dedup_keys", "request")
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    DEDUP_KEYS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedScalarFieldContainer[bytes]
    dedup_keys: _containers.RepeatedScalarFieldContainer[bytes]
    request: _common_pb2.SignedRequest
    def __init__(self, entries: _Optional[_Iterable[bytes]] = ..., dedup_keys: _Optional[_Iterable[bytes]] = ..., request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ...) -> None: ...

class ContributeResult(_message.Message):
    __slots__ = ("accepted", "duplicates", "new_distinct_tags", "receipt", "accepted_mask")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    NEW_DISTINCT_TAGS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_MASK_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    new_distinct_tags: int
    receipt: _common_pb2.Receipt
    accepted_mask: bytes
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., new_distinct_tags: _Optional[int] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ..., accepted_mask: _Optional[bytes] = ...) -> None: ...

class RevokeRequest(_message.Message):
    __slots__ = ("request", "entry_ids", "secrets", "salt")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    ENTRY_IDS_FIELD_NUMBER: _ClassVar[int]
    SECRETS_FIELD_NUMBER: _ClassVar[int]
    SALT_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    entry_ids: _containers.RepeatedScalarFieldContainer[bytes]
    secrets: _containers.RepeatedScalarFieldContainer[bytes]
    salt: bytes
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ..., entry_ids: _Optional[_Iterable[bytes]] = ..., secrets: _Optional[_Iterable[bytes]] = ..., salt: _Optional[bytes] = ...) -> None: ...

class RevokeResult(_message.Message):
    __slots__ = ("revoked", "receipt")
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    revoked: int
    receipt: _common_pb2.Receipt
    def __init__(self, revoked: _Optional[int] = ..., receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ("from_size", "max_ops", "to_size", "member", "timestamp_ms", "signature")
    FROM_SIZE_FIELD_NUMBER: _ClassVar[int]
    MAX_OPS_FIELD_NUMBER: _ClassVar[int]
    TO_SIZE_FIELD_NUMBER: _ClassVar[int]
    MEMBER_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    from_size: int
    max_ops: int
    to_size: int
    member: int
    timestamp_ms: int
    signature: bytes
    def __init__(self, from_size: _Optional[int] = ..., max_ops: _Optional[int] = ..., to_size: _Optional[int] = ..., member: _Optional[int] = ..., timestamp_ms: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class IndexDelta(_message.Message):
    __slots__ = ("operations", "new_size", "new_root", "checkpoint")
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    NEW_SIZE_FIELD_NUMBER: _ClassVar[int]
    NEW_ROOT_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    operations: _containers.RepeatedScalarFieldContainer[bytes]
    new_size: int
    new_root: bytes
    checkpoint: _common_pb2.Checkpoint
    def __init__(self, operations: _Optional[_Iterable[bytes]] = ..., new_size: _Optional[int] = ..., new_root: _Optional[bytes] = ..., checkpoint: _Optional[_Union[_common_pb2.Checkpoint, _Mapping]] = ...) -> None: ...

class RecordLookupRequest(_message.Message):
    __slots__ = ("request",)
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    request: _common_pb2.SignedRequest
    def __init__(self, request: _Optional[_Union[_common_pb2.SignedRequest, _Mapping]] = ...) -> None: ...

class RecordLookupResult(_message.Message):
    __slots__ = ("receipt",)
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    receipt: _common_pb2.Receipt
    def __init__(self, receipt: _Optional[_Union[_common_pb2.Receipt, _Mapping]] = ...) -> None: ...

class SnapshotInfoRequest(_message.Message):
    __slots__ = ("auth",)
    AUTH_FIELD_NUMBER: _ClassVar[int]
    auth: _common_pb2.ReadAuth
    def __init__(self, auth: _Optional[_Union[_common_pb2.ReadAuth, _Mapping]] = ...) -> None: ...

class SnapshotInfo(_message.Message):
    __slots__ = ("bits", "bucket_size", "slot_cap", "checkpoint")
    BITS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_SIZE_FIELD_NUMBER: _ClassVar[int]
    SLOT_CAP_FIELD_NUMBER: _ClassVar[int]
    CHECKPOINT_FIELD_NUMBER: _ClassVar[int]
    bits: int
    bucket_size: int
    slot_cap: int
    checkpoint: _common_pb2.Checkpoint
    def __init__(self, bits: _Optional[int] = ..., bucket_size: _Optional[int] = ..., slot_cap: _Optional[int] = ..., checkpoint: _Optional[_Union[_common_pb2.Checkpoint, _Mapping]] = ...) -> None: ...

class BucketRequest(_message.Message):
    __slots__ = ("token", "bucket", "index_size", "signature")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    INDEX_SIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    token: bytes
    bucket: int
    index_size: int
    signature: bytes
    def __init__(self, token: _Optional[bytes] = ..., bucket: _Optional[int] = ..., index_size: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...

class BucketResponse(_message.Message):
    __slots__ = ("tags", "slot_tree_root", "snapshot_path")
    TAGS_FIELD_NUMBER: _ClassVar[int]
    SLOT_TREE_ROOT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_PATH_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedScalarFieldContainer[bytes]
    slot_tree_root: bytes
    snapshot_path: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, tags: _Optional[_Iterable[bytes]] = ..., slot_tree_root: _Optional[bytes] = ..., snapshot_path: _Optional[_Iterable[bytes]] = ...) -> None: ...

class OtMessage(_message.Message):
    __slots__ = ("token", "bucket", "payload", "index_size", "signature")
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    INDEX_SIZE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    token: bytes
    bucket: int
    payload: bytes
    index_size: int
    signature: bytes
    def __init__(self, token: _Optional[bytes] = ..., bucket: _Optional[int] = ..., payload: _Optional[bytes] = ..., index_size: _Optional[int] = ..., signature: _Optional[bytes] = ...) -> None: ...
