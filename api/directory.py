"""The members a server knows: ids, names, roles and public keys.

Servers build their directory from the ledger (genesis and member entries); the CLI and tests can
build one from a consortium file. Lookups by id and by name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ledger.entry import Role
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

    def by_name(self, name: str) -> MemberRecord:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"no member named {name!r}") from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._by_id.values(), key=lambda m: m.id))

    def __len__(self) -> int:
        return len(self._by_id)
