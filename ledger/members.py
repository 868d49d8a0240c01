"""Members, their keys and roles, and who may submit what.

A member is an institution. It holds an SM2 **signing** key (requests, checkpoints, receipts)
and a separate SM2 **key-agreement** key (pairwise seeds of statistics rounds), and a set of
:class:`~ledger.entry.Role` bits. The genesis entry names the first members, among them the
administrators, and the administrators' threshold; afterwards ``member`` entries add a member,
change its roles, rotate its keys or remove it — each signed by a threshold of administrators,
as are ``key_epoch``, ``rule_change`` and dispute decisions.

The :class:`Registry` is a pure function of the accepted entries, so the sequencer and every
auditor hold the same one at every height.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum

from ledger.entry import Code, Entry, Kind, Request, Role, Signature
from mpc.exceptions import InvalidPoint, InvalidSignature
from mpc.sm2 import SM2PublicKey
from mpc.sm3 import sm3

__all__ = [
    "SUBMITTERS",
    "THRESHOLD_KINDS",
    "Action",
    "DisputeAction",
    "Member",
    "Registry",
    "Unauthenticated",
]


class Action(IntEnum):
    ADD = 1
    ROLES = 2
    REKEY = 3
    REMOVE = 4


class DisputeAction(IntEnum):
    FILE = 1
    DECIDE = 2


# Roles any one of which lets a member submit an entry of the kind.
SUBMITTERS: Mapping[Kind, Role] = {
    Kind.GENESIS: Role.ADMIN,
    Kind.MEMBER: Role.ADMIN,
    Kind.KEY_EPOCH: Role.ADMIN,
    Kind.CONTRIBUTE: Role.CONTRIBUTOR,
    Kind.REVOKE: Role.CONTRIBUTOR,
    Kind.DISPUTE: Role.CONTRIBUTOR | Role.BROKER | Role.ADMIN,
    Kind.LOOKUP: Role.BROKER,
    Kind.SCREEN: Role.BROKER,
    Kind.STAT_KEY: Role.KEYHOLDER,
    Kind.STAT_ROUND: Role.PLATFORM | Role.ADMIN,
    Kind.STAT_SUBMIT: Role.CONTRIBUTOR,
    Kind.STAT_CLOSE: Role.PLATFORM,
    Kind.STAT_RELEASE: Role.KEYHOLDER,
    Kind.RULE_CHANGE: Role.ADMIN,
    Kind.CORROBORATION: Role.PLATFORM,
    Kind.INDEX_PUBLISH: Role.PLATFORM,
}

THRESHOLD_KINDS = frozenset({Kind.GENESIS, Kind.MEMBER, Kind.KEY_EPOCH, Kind.RULE_CHANGE})
LOOKUP_MIRROR = 1
SCREEN_BILATERAL = 2


class Unauthenticated(Exception):
    """A signature does not verify or names an unknown or removed member."""


@dataclass(frozen=True)
class Member:
    id: int
    roles: Role
    sign_key: bytes
    agree_key: bytes
    active: bool = True

    def has(self, roles: Role | int) -> bool:
        # int arithmetic: IntFlag's own & builds a new enum member on every call (replay hot path)
        return self.active and bool(int.__and__(self.roles, roles))


def _key(data: bytes) -> SM2PublicKey:
    return SM2PublicKey.from_bytes(data)


def _valid_key(data: bytes) -> bool:
    try:
        _key(data)
    except (InvalidPoint, ValueError, TypeError):
        return False
    return True


class Registry:
    """Members and the administrators' threshold at one height of the log."""

    def __init__(self, members: Iterable[Member], threshold: int) -> None:
        self.members: dict[int, Member] = {m.id: m for m in members}
        self.threshold = threshold
        self._keys: dict[bytes, SM2PublicKey] = {}

    # -- genesis ------------------------------------------------------------------------------

    @classmethod
    def from_genesis(cls, request: Request) -> Registry:
        """The registry a genesis request names; ValueError if it is malformed."""
        if request.kind is not Kind.GENESIS:
            raise ValueError("not a genesis request")
        f = request.fields
        ids, roles = f["member_ids"], f["member_roles"]
        skeys, akeys = f["sign_keys"], f["agree_keys"]
        assert isinstance(ids, tuple) and isinstance(roles, tuple)
        assert isinstance(skeys, tuple) and isinstance(akeys, tuple)
        if not len(ids) == len(roles) == len(skeys) == len(akeys) or not ids:
            raise ValueError("genesis member lists must be non-empty and of equal length")
        if len(set(ids)) != len(ids):
            raise ValueError("genesis names a member twice")
        members = []
        for mid, r, sk, ak in zip(ids, roles, skeys, akeys, strict=True):
            assert isinstance(mid, int) and isinstance(r, int)
            assert isinstance(sk, bytes) and isinstance(ak, bytes)
            if r & ~int(Role.all()):
                raise ValueError(f"member {mid} has unknown role bits")
            if not (_valid_key(sk) and _valid_key(ak)):
                raise ValueError(f"member {mid} has an invalid SM2 public key")
            members.append(Member(mid, Role(r), sk, ak))
        threshold = request.int_field("admin_threshold")
        admins = sum(1 for m in members if m.has(Role.ADMIN))
        if not 1 <= threshold <= admins:
            raise ValueError(f"admin threshold {threshold} needs 1 to {admins} administrators")
        if request.member not in {m.id for m in members if m.has(Role.ADMIN)}:
            raise ValueError("genesis must be submitted by one of its administrators")
        if not any(m.has(Role.PLATFORM) for m in members):
            raise ValueError("genesis must name the platform")
        return cls(members, threshold)

    # -- queries ------------------------------------------------------------------------------

    def get(self, member_id: int) -> Member | None:
        m = self.members.get(member_id)
        return m if m is not None and m.active else None

    def public_key(self, member_id: int) -> SM2PublicKey:
        m = self.get(member_id)
        if m is None:
            raise Unauthenticated(f"unknown or removed member {member_id}")
        k = self._keys.get(m.sign_key)
        if k is None:
            k = self._keys[m.sign_key] = _key(m.sign_key)
        return k

    def with_role(self, role: Role) -> dict[int, Member]:
        return {i: m for i, m in self.members.items() if m.has(role)}

    def admins(self) -> set[int]:
        return set(self.with_role(Role.ADMIN))

    def verify_signatures(self, request_bytes: bytes, signatures: Sequence[Signature]) -> None:
        """Every signature must be by a known active member and verify (Unauthenticated)."""
        for s in signatures:
            try:
                self.public_key(s.signer).verify(s.der, request_bytes)
            except InvalidSignature:
                raise Unauthenticated(f"signature of member {s.signer} does not verify") from None

    # -- the ledger's verdict on an authenticated request -------------------------------------

    def verdict(self, request: Request, signers: Sequence[int]) -> Code:
        """Role, threshold and field checks (the part of the ledger's verdict that depends on
        members). Signatures are assumed verified."""
        kind = request.kind
        m = self.get(request.member)
        if m is None or not m.has(SUBMITTERS[kind]):
            return Code.WRONG_ROLE
        if kind is Kind.GENESIS:
            return Code.INVALID_FIELDS  # only as the first entry, handled by the log
        if kind is Kind.LOOKUP and request.int_field("mode") == LOOKUP_MIRROR and not m.has(Role.MIRROR):
            return Code.WRONG_ROLE
        needs_threshold = kind in THRESHOLD_KINDS or (
            kind is Kind.DISPUTE and request.int_field("action") == DisputeAction.DECIDE
        )
        if needs_threshold:
            admins = self.admins()
            if any(s not in admins for s in signers) or len(set(signers)) < self.threshold:
                return Code.BAD_THRESHOLD
        if kind is Kind.MEMBER:
            return self._member_fields(request)
        if kind is Kind.SCREEN and request.int_field("mode") == SCREEN_BILATERAL:
            # A bilateral run names the contributor it ran against (whose signed receipt, or
            # co-signature, the service checks); it must be another, active contributor.
            cp = self.get(request.int_field("counterpart"))
            if cp is None or not cp.has(Role.CONTRIBUTOR) or cp.id == m.id:
                return Code.INVALID_FIELDS
        return Code.ACCEPTED

    def _member_fields(self, request: Request) -> Code:
        f = request.fields
        try:
            action = Action(request.int_field("action"))
        except ValueError:
            return Code.INVALID_FIELDS
        target = request.int_field("target")
        roles = request.int_field("roles")
        existing = self.members.get(target)
        sk, ak = f["sign_key"], f["agree_key"]
        assert isinstance(sk, bytes) and isinstance(ak, bytes)
        if roles & ~int(Role.all()):
            return Code.INVALID_FIELDS
        if action is Action.ADD:
            ok = existing is None and _valid_key(sk) and _valid_key(ak)
        else:
            ok = existing is not None and existing.active
            if ok and action is Action.REKEY:
                ok = _valid_key(sk) and (not ak or _valid_key(ak))
        if not ok:
            return Code.INVALID_FIELDS
        after = self._after(request)
        if len(after.admins()) < after.threshold or not after.with_role(Role.PLATFORM):
            return Code.INVALID_FIELDS  # would leave too few administrators or no platform
        return Code.ACCEPTED

    # -- state transitions -------------------------------------------------------------------

    def _after(self, request: Request) -> Registry:
        r = Registry(self.members.values(), self.threshold)
        r._keys = self._keys
        r._apply_member(request)
        return r

    def _apply_member(self, request: Request) -> None:
        action = Action(request.int_field("action"))
        target = request.int_field("target")
        sk, ak = request.fields["sign_key"], request.fields["agree_key"]
        assert isinstance(sk, bytes) and isinstance(ak, bytes)
        roles = Role(request.int_field("roles"))
        old = self.members.get(target)
        if action is Action.ADD:
            self.members[target] = Member(target, roles, sk, ak)
        elif old is not None and action is Action.ROLES:
            self.members[target] = Member(target, roles, old.sign_key, old.agree_key, old.active)
        elif old is not None and action is Action.REKEY:
            self.members[target] = Member(target, old.roles, sk, ak or old.agree_key, old.active)
        elif old is not None and action is Action.REMOVE:
            self.members[target] = Member(target, old.roles, old.sign_key, old.agree_key, False)

    def apply(self, entry: Entry) -> None:
        """Advance past an accepted entry."""
        if entry.accepted and entry.kind is Kind.MEMBER:
            self._apply_member(entry.request)

    def digest(self) -> bytes:
        """SM3 commitment to the registry (for diagnostics and tests)."""
        buf = bytearray(struct.pack(">Q", self.threshold))
        for mid in sorted(self.members):
            m = self.members[mid]
            buf += struct.pack(">QQB", m.id, int(m.roles), m.active)
            buf += struct.pack(">H", len(m.sign_key)) + m.sign_key
            buf += struct.pack(">H", len(m.agree_key)) + m.agree_key
        return sm3(bytes(buf))
