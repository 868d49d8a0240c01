"""In-memory ledger storage: the reference backend for tests and the conformance suite."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

from ledger.storage import Batch, CheckpointRow, StorageError

__all__ = ["MemoryStorage"]


class MemoryStorage:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._entries: dict[int, tuple[bytes, bytes]] = {}
        self._size = 0
        self._nodes: dict[tuple[int, int], bytes] = {}
        self._nonces: dict[tuple[int, bytes], int] = {}
        self._meta: dict[str, bytes] = {}
        self._checkpoints: dict[int, CheckpointRow] = {}
        self._cosigs: dict[int, dict[int, bytes]] = {}

    def size(self) -> int:
        return self._size

    def commit(self, batch: Batch) -> None:
        with self._lock:
            if batch.start != self._size:
                raise StorageError(f"batch starts at {batch.start} but the store holds {self._size} entries")
            sizes = [cp.size for cp in batch.checkpoints]
            if len(set(sizes)) != len(sizes) or any(s in self._checkpoints for s in sizes):
                raise StorageError("a checkpoint of that size exists")
            if any(s > batch.start + len(batch.entries) for s in sizes):
                raise StorageError("a checkpoint covers entries the store will not hold")
            for i, (body, leaf) in enumerate(batch.entries):
                self._entries[batch.start + i] = (bytes(body), bytes(leaf))
            self._size += len(batch.entries)
            for level, index, h in batch.nodes:
                self._nodes[(level, index)] = bytes(h)
            for member, nonce, ms in batch.nonces:
                self._nonces.setdefault((member, bytes(nonce)), ms)
            self._meta.update(batch.meta)
            for cp in batch.checkpoints:
                self._checkpoints[cp.size] = cp

    def entry(self, index: int) -> bytes:
        try:
            return self._entries[index][0]
        except KeyError:
            raise IndexError(f"no entry at index {index}") from None

    def entries(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, bytes, bytes]]:
        stop = self._size if end is None else min(end, self._size)
        for i in range(start, stop):
            row = self._entries.get(i)
            if row is not None:
                yield i, row[0], row[1]

    def get_nodes(self, coords: Sequence[tuple[int, int]]) -> list[bytes]:
        out = []
        for level, index in coords:
            if level == 0:
                row = self._entries.get(index)
                if row is None:
                    raise KeyError(f"no leaf {index}")
                out.append(row[1])
            else:
                out.append(self._nodes[(level, index)])
        return out

    def nonce_seen(self, member: int, nonce: bytes) -> int | None:
        return self._nonces.get((member, bytes(nonce)))

    def prune_nonces(self, before_ms: int) -> int:
        with self._lock:
            old = [k for k, ms in self._nonces.items() if ms < before_ms]
            for k in old:
                del self._nonces[k]
            return len(old)

    def nonces_since(self, since_ms: int) -> Iterator[tuple[int, bytes, int]]:
        for (member, nonce), ms in list(self._nonces.items()):
            if ms >= since_ms:
                yield member, nonce, ms

    def get_meta(self, key: str) -> bytes | None:
        return self._meta.get(key)

    def checkpoint(self, size: int) -> CheckpointRow | None:
        return self._checkpoints.get(size)

    def checkpoints(self) -> list[CheckpointRow]:
        return [self._checkpoints[s] for s in sorted(self._checkpoints)]

    def latest_checkpoint(self) -> CheckpointRow | None:
        return self._checkpoints[max(self._checkpoints)] if self._checkpoints else None

    def add_cosignature(self, size: int, auditor: int, signature: bytes) -> None:
        with self._lock:
            if size not in self._checkpoints:
                raise StorageError(f"no checkpoint of size {size}")
            self._cosigs.setdefault(size, {})[auditor] = bytes(signature)

    def cosignatures(self, size: int) -> dict[int, bytes]:
        return dict(self._cosigs.get(size, {}))

    def close(self) -> None:
        pass
