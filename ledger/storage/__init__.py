"""Ledger storage backends behind one Protocol (memory, SQLite), tested by one conformance suite.

A backend stores, durably and atomically per :meth:`Storage.commit`:

* entries by index (0-based height) with their leaf hashes;
* the complete Merkle nodes above the leaves (level ≥ 1), so proofs never rehash the tree;
* the nonces seen, with the time they were first sequenced (replay protection survives restarts);
* metadata (log parameters);
* signed checkpoints by size, and auditors' co-signatures beside them (not as entries).

One :meth:`commit` is one transaction and one fsync: the log's group commit hands a whole batch
of entries to a single call.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["Batch", "CheckpointRow", "Storage", "StorageError", "open_storage"]


class StorageError(RuntimeError):
    """The store is inconsistent (a gap in the entries, a write out of order)."""


@dataclass
class Batch:
    """What one commit writes: entries ``start, start+1, …`` with their leaf hashes, the Merkle
    nodes they completed, the nonces they consumed, metadata updates and the checkpoints cut
    over them (each of a size no larger than the store after the batch)."""

    start: int
    entries: list[tuple[bytes, bytes]] = field(default_factory=list)  # (entry bytes, leaf hash)
    nodes: list[tuple[int, int, bytes]] = field(default_factory=list)  # (level ≥ 1, index, hash)
    nonces: list[tuple[int, bytes, int]] = field(default_factory=list)  # (member, nonce, ms)
    meta: dict[str, bytes] = field(default_factory=dict)
    checkpoints: list[CheckpointRow] = field(default_factory=list)


@dataclass(frozen=True)
class CheckpointRow:
    size: int
    body: bytes  # canonical checkpoint bytes
    signature: bytes  # the platform's SM2 signature (DER)


@runtime_checkable
class Storage(Protocol):
    def size(self) -> int:
        """Number of entries stored."""
        ...

    def commit(self, batch: Batch) -> None:
        """Write a batch atomically and durably (one fsync). ``batch.start`` must equal size()."""
        ...

    def entry(self, index: int) -> bytes: ...

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes, bytes]]:
        """(index, entry bytes, stored leaf hash) in index order, as stored (gaps included)."""
        ...

    def get_nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        """Complete Merkle nodes by (level, index); level 0 are the stored leaf hashes."""
        ...

    def nonce_seen(self, member: int, nonce: bytes) -> int | None:
        """The time the nonce was first sequenced, or None."""
        ...

    def prune_nonces(self, before_ms: int) -> int:
        """Forget nonces first sequenced before ``before_ms``; returns how many."""
        ...

    def nonces_since(self, since_ms: int) -> Iterator[tuple[int, bytes, int]]: ...

    def get_meta(self, key: str) -> bytes | None: ...

    def checkpoint(self, size: int) -> CheckpointRow | None: ...

    def checkpoints(self) -> list[CheckpointRow]:
        """Every stored checkpoint, by size."""
        ...

    def latest_checkpoint(self) -> CheckpointRow | None: ...

    def add_cosignature(self, size: int, auditor: int, signature: bytes) -> None:
        """Store an auditor's co-signature beside the checkpoint of that size (durably)."""
        ...

    def cosignatures(self, size: int) -> dict[int, bytes]: ...

    def close(self) -> None: ...


def open_storage(path: str | None) -> Storage:
    """``None`` or ``":memory:"`` gives a MemoryStorage, anything else a SQLite file."""
    if path is None or path == ":memory:":
        from ledger.storage.memory import MemoryStorage

        return MemoryStorage()
    from ledger.storage.sqlite import SQLiteStorage

    return SQLiteStorage(path)
