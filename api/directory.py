"""The members a server knows: ids, names, roles and public keys.

Servers build their directory from the ledger (genesis and member entries); the CLI and tests can
build one from a consortium file. Lookups by id and by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ledger.entry import Role
from ledger.members import Registry
from mpc.sm2 import SM2PublicKey


@dataclass(frozen=True)
class MemberRecord:
    id: int
    name: str
    roles: Role
    sign_key: SM2PublicKey
    agree_key: SM2PublicKey | None = None

    def has(self, role: Role) -> bool:
        return bool(self.roles & role)


class Directory:
    """Members by id and name. With ``source``, an unknown id triggers a reload (at most once a
    second, so unknown callers cannot make the server re-read its configuration in a loop): that
    is how running servers learn members enrolled after they started."""

    def __init__(
        self, members: Iterable[MemberRecord] = (), source: Callable[[], Iterable[MemberRecord]] | None = None
    ) -> None:
        self._by_id: dict[int, MemberRecord] = {}
        self._by_name: dict[str, MemberRecord] = {}
        self._source = source
        self._loaded = time.monotonic()
        for m in members:
            self.add(m)

    def recheck(self, member_id: int) -> MemberRecord | None:
        """A fresher record of a member whose signature just failed (it may have re-keyed), or
        None when this directory cannot learn anything newer right now."""
        return None

    def _reload(self) -> None:
        if self._source is None or time.monotonic() - self._loaded < 1.0:
            return
        self._loaded = time.monotonic()
        fresh = list(self._source())
        self._by_id = {m.id: m for m in fresh}
        self._by_name = {m.name: m for m in fresh}

    def add(self, m: MemberRecord) -> None:
        if m.id in self._by_id or m.name in self._by_name:
            raise ValueError(f"member {m.name!r} (id {m.id}) is already in the directory")
        self._by_id[m.id] = m
        self._by_name[m.name] = m

    def get(self, member_id: int) -> MemberRecord | None:
        m = self._by_id.get(member_id)
        if m is None:
            self._reload()
            m = self._by_id.get(member_id)
        return m

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._by_id.values(), key=lambda m: m.id))

    def __len__(self) -> int:
        return len(self._by_id)


class LedgerDirectory(Directory):
    """The members as the ledger's registry holds them now (roles, keys, removals), with display
    names from the consortium file. What the platform authenticates against: a removed member,
    a rotated key or a withdrawn mirror grant takes effect at the next call."""

    def __init__(self, registry: Callable[[], Registry], names: Callable[[], dict[int, str]]) -> None:
        super().__init__()
        self._registry = registry
        self._names = names
        self._name_cache: dict[int, str] = {}
        self._loaded = 0.0  # load names on first use

        self._keys: dict[bytes, SM2PublicKey] = {}

    def _key(self, data: bytes) -> SM2PublicKey:
        k = self._keys.get(data)
        if k is None:
            k = self._keys[data] = SM2PublicKey.from_bytes(data)
        return k

    def get(self, member_id: int) -> MemberRecord | None:
        m = self._registry().get(member_id)
        if m is None or not m.active:
            return None
        if member_id not in self._name_cache and time.monotonic() - self._loaded >= 1.0:
            self._loaded = time.monotonic()
            self._name_cache = self._names()
        name = self._name_cache.get(member_id, f"member-{member_id}")
        agree = self._key(m.agree_key) if m.agree_key else None
        return MemberRecord(m.id, name, Role(m.roles), self._key(m.sign_key), agree)

    def __iter__(self):  # type: ignore[no-untyped-def]
        reg = self._registry()
        return iter([r for i in sorted(reg.members) if (r := self.get(i)) is not None])

    def __len__(self) -> int:
        return sum(1 for m in self._registry().members.values() if m.active)
