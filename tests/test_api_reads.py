"""Signed read requests (api/reads.py): what is bound, and what is refused."""

from __future__ import annotations

import struct
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.directory import Directory, MemberRecord
from api.errors import Refused, Unauthenticated
from api.reads import Reader, ReadMethod, authenticate, ledger_read_message, sync_message
from ledger.entry import Role
from ledger.log import WINDOW_MS
from mpc.sm2 import SM2PrivateKey

LOG_ID = bytes(range(16))
KEY = SM2PrivateKey.generate()
OTHER = SM2PrivateKey.generate()
DIRECTORY = Directory(
    [
        MemberRecord(3, "sec-a", Role.BROKER, KEY.public_key()),
        MemberRecord(4, "sec-b", Role.CONTRIBUTOR, OTHER.public_key()),
    ]
)
U64 = st.integers(0, 2**64 - 1)


def _check(
    method: ReadMethod, member: int, ts: int, sig: bytes, a: int, b: int, now: int | None = None
) -> None:
    msg = ledger_read_message(LOG_ID, method, member, ts, a, b)
    authenticate(DIRECTORY, member, ts, sig, msg, ts if now is None else now)


def test_the_index_sync_message_keeps_its_wire_format() -> None:
    # mirrors and auditors already sign this; the shared helper must not change it
    assert sync_message(LOG_ID, 3, 5, 6, 7) == b"riskshare index sync v1" + LOG_ID + struct.pack(
        ">QQQQ", 3, 5, 6, 7
    )


@given(st.sampled_from(list(ReadMethod)), U64, U64)
def test_a_signed_read_serves_exactly_the_read_it_names(method: ReadMethod, a: int, b: int) -> None:
    auth = Reader(LOG_ID, 3, KEY).ledger(method, a, b)
    sig, ts = bytes(auth.signature), auth.timestamp_ms
    _check(method, 3, ts, sig, a, b)
    for m2, a2, b2 in [
        (method, a ^ 1, b),
        (method, a, b ^ 1),
        (ReadMethod(method % len(ReadMethod) + 1), a, b),
    ]:
        with pytest.raises(Unauthenticated, match="does not verify"):
            _check(m2, 3, ts, sig, a2, b2)
    with pytest.raises(Unauthenticated):  # another member's name on it
        _check(method, 4, ts, sig, a, b)
    with pytest.raises(Unauthenticated):  # another timestamp
        _check(method, 3, ts + 1, sig, a, b)
    # the index sync message is another domain: the same numbers do not verify there
    with pytest.raises(Unauthenticated):
        authenticate(DIRECTORY, 3, ts, sig, sync_message(LOG_ID, 3, ts, a, b), ts)


def test_unknown_members_and_stale_requests_are_refused() -> None:
    now = int(time.time() * 1000)
    auth = Reader(LOG_ID, 9, KEY).ledger(ReadMethod.ENTRIES, 0, 0)
    with pytest.raises(Unauthenticated, match="unknown or removed member"):
        _check(ReadMethod.ENTRIES, 9, auth.timestamp_ms, bytes(auth.signature), 0, 0)
    stale = Reader(LOG_ID, 3, KEY, clock=lambda: now / 1000 - WINDOW_MS / 1000 - 1).ledger(ReadMethod.ENTRIES)
    with pytest.raises(Refused, match="5 minute window"):
        _check(ReadMethod.ENTRIES, 3, stale.timestamp_ms, bytes(stale.signature), 0, 0, now)
    ahead = Reader(LOG_ID, 3, KEY, clock=lambda: now / 1000 + WINDOW_MS / 1000 - 1).ledger(ReadMethod.ENTRIES)
    _check(ReadMethod.ENTRIES, 3, ahead.timestamp_ms, bytes(ahead.signature), 0, 0, now)  # inside the window
