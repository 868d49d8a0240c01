"""Broker side of a private lookup (``DESIGN.md``, Protocols 3), after the two-server OPRF has
given the broker ``h`` for the subject's ID. No I/O here: the service fetches, this decides.

- ``mirror``: :func:`mirror_lookup` reads the tag's live entries from the broker's verified
  :class:`~mpc.index.MirrorIndex` and opens them.
- ``oblivious``: :class:`ObliviousLookup` walks one query: which bucket to fetch, the check of
  the bucket's tag list against the snapshot root (a miss is a verified non-membership), which
  slot to ask the 1-of-N OT for (a random one on a miss), and the check and opening of the slot.
  A bad slot never raises: the broker completes and acknowledges exactly as on success, and the
  evidence is kept for the report to the auditors (selective-failure resistance).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mpc.exceptions import InvalidProof, InvalidSignature, InvalidTag
from mpc.index import (
    BucketProof,
    EntryVerifier,
    IndexEntry,
    MirrorIndex,
    OpenedEntry,
    Opener,
    SlotProof,
    bucket_of,
    tag_of,
    verify_bucket,
    verify_slot,
)
from mpc.records import RiskRecord

__all__ = ["Finding", "LookupResult", "ObliviousLookup", "SlotEvidence", "mirror_lookup", "open_entries"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One record found for the subject. ``contributor`` is set only for contributors who opted
    in; ``verified`` says whether their signature was checked against an enrolled key (None when
    unnamed or no key was given)."""

    record: RiskRecord
    contributor: str | None
    verified: bool | None
    entry_id: bytes


@dataclass(slots=True)
class LookupResult:
    findings: list[Finding] = field(default_factory=list)
    unreadable: int = 0  # entries filed under the tag that did not open (reported, not shown)
    overflow: bool = False  # the slot held only the newest records of the subject
    bad_slot: bool = False  # oblivious mode: the slot failed its proof (see the evidence)

    @property
    def hit(self) -> bool:
        return bool(self.findings)


def open_entries(
    entries: Sequence[IndexEntry],
    h: bytes,
    epoch: bytes,
    contributor_keys: Mapping[str, EntryVerifier] | None = None,
) -> LookupResult:
    """Open the entries of one tag and check named contributors' signatures when keys are given.
    An entry that fails to open, or carries a signature that does not verify, is not shown."""
    opener = Opener(h, epoch)
    result = LookupResult()
    for e in entries:
        try:
            opened = opener.open(e)
        except InvalidTag:
            result.unreadable += 1
            continue
        verified = _check_signature(opened, opener, contributor_keys)
        if verified is False:
            result.unreadable += 1
            continue
        result.findings.append(Finding(opened.record, opened.contributor, verified, opened.entry_id))
    return result


def _check_signature(
    opened: OpenedEntry, opener: Opener, keys: Mapping[str, EntryVerifier] | None
) -> bool | None:
    if opened.contributor is None or keys is None:
        return None
    key = keys.get(opened.contributor)
    if key is None:
        return False
    try:
        opened.verify_contributor(key, opener.epoch, opener.tag)
    except InvalidSignature:
        return False
    return True


def mirror_lookup(
    mirror: MirrorIndex,
    h: bytes,
    epoch: bytes,
    contributor_keys: Mapping[str, EntryVerifier] | None = None,
) -> LookupResult:
    """Look the subject up in the broker's verified copy of the index."""
    return open_entries(mirror.lookup(tag_of(h)), h, epoch, contributor_keys)


@dataclass(frozen=True, slots=True)
class SlotEvidence:
    """What the broker reports to the auditors after a bad slot: the bucket proof it verified,
    the index it chose and the payload the OT delivered (with the platform-signed transcript and
    the OT randomness, which the service adds)."""

    bucket: int
    index: int
    payload: bytes
    reason: str


class ObliviousLookup:
    """One oblivious-mode query, step by step (the OT itself is the service's)."""

    def __init__(
        self,
        h: bytes,
        epoch: bytes,
        *,
        snapshot_root: bytes,
        bits: int,
        bucket_size: int,
        cap: int,
    ) -> None:
        self._h = h
        self._epoch = epoch
        self.tag = tag_of(h)
        self.snapshot_root = snapshot_root
        self.bits = bits
        self.bucket_size = bucket_size
        self.cap = cap
        self.bucket = bucket_of(self.tag, bits)
        self._proof: BucketProof | None = None
        self._found: int | None = None
        self.choice: int | None = None
        self.evidence: SlotEvidence | None = None

    def receive_bucket(self, proof: BucketProof) -> int:
        """Verify the tag list (raises InvalidProof) and return the slot index to request by OT:
        the subject's slot, or a uniformly random one on a verified miss."""
        if self._proof is not None:
            raise ValueError("bucket already received")
        self._found = verify_bucket(proof, self.snapshot_root, self.bits, self.bucket_size, self.tag)
        self._proof = proof
        self.choice = self._found if self._found is not None else secrets.randbelow(self.bucket_size)
        return self.choice

    @property
    def member(self) -> bool | None:
        """True on a hit, False on a verified miss, None before the tag list was checked."""
        return None if self._proof is None else self._found is not None

    def receive_slot(
        self, payload: bytes, contributor_keys: Mapping[str, EntryVerifier] | None = None
    ) -> LookupResult:
        """Check the OT output against the bucket's slot root and open it. Never raises on a bad
        slot: returns ``bad_slot`` and keeps :attr:`evidence`."""
        if self._proof is None or self.choice is None:
            raise ValueError("receive_bucket first")
        try:
            proof = SlotProof.from_payload(self.choice, payload, self.cap, self.bucket_size)
            slot = verify_slot(proof, self._proof, self.cap)
        except InvalidProof as e:
            self.evidence = SlotEvidence(self.bucket, self.choice, payload, str(e))
            return LookupResult(bad_slot=True)
        if self._found is None:
            return LookupResult()  # the random slot of a miss is checked, then dropped
        result = open_entries(slot.entries, self._h, self._epoch, contributor_keys)
        result.overflow = slot.overflow
        return result

    def __repr__(self) -> str:
        return "<ObliviousLookup …>"
