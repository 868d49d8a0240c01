from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.entry import (
    ATTESTED,
    KIND_OFFSET,
    MAX_REQUEST_SIZE,
    SCHEMAS,
    Code,
    DecodeError,
    Entry,
    FieldType,
    Kind,
    Request,
    Signature,
)
from ledger.hooks import CountingHook, NullHook, RuleHook

U64 = st.integers(0, 2**64 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
EDGE_U64 = st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1]) | U64
EDGE_I64 = st.sampled_from([-(2**63), -1, 0, 1, 2**63 - 1]) | I64


def _value(t: FieldType) -> st.SearchStrategy[Any]:
    return {
        "u64": EDGE_U64,
        "i64": EDGE_I64,
        "bytes": st.binary(max_size=80),
        "hash": st.binary(min_size=32, max_size=32),
        "u64[]": st.lists(EDGE_U64, max_size=5).map(tuple),
        "i64[]": st.lists(EDGE_I64, max_size=5).map(tuple),
        "bytes[]": st.lists(st.binary(max_size=40), max_size=4).map(tuple),
    }[t]


@st.composite
def requests(draw: st.DrawFn, kind: Kind | None = None) -> Request:
    k = kind if kind is not None else draw(st.sampled_from(list(Kind)))
    fields = {n: draw(_value(t)) for n, t in SCHEMAS[k] if draw(st.booleans())}
    return Request(
        k,
        draw(st.binary(min_size=16, max_size=16)),
        draw(EDGE_U64),
        draw(st.binary(min_size=16, max_size=16)),
        draw(EDGE_U64),
        draw(st.integers(0, 2**32 - 1)),
        fields,
    )


@st.composite
def entries(draw: st.DrawFn) -> Entry:
    req = draw(requests())
    others = sorted(set(draw(st.lists(EDGE_U64, max_size=4))) - {req.member})
    sigs = [Signature(s, draw(st.binary(min_size=1, max_size=72))) for s in [req.member, *others]]
    code = draw(st.sampled_from([0, 0, 1, 2, 100, 65535]))
    att = {n: draw(_value(t)) for n, t in ATTESTED[req.kind]}
    return Entry(req, tuple(sigs), draw(EDGE_U64), code, att)


@given(requests())
def test_request_round_trip(r: Request) -> None:
    b = r.encode()
    assert Request.decode(b) == r
    assert Request.decode(b).encode() == b


@given(entries())
def test_entry_round_trip(e: Entry) -> None:
    b = e.encode()
    d = Entry.decode(b)
    assert d == e and d.encode() == b and hash(d) == hash(e)
    assert b[KIND_OFFSET] == e.kind


@given(entries(), st.data())
def test_one_value_one_encoding(e: Entry, data: st.DataObject) -> None:
    """Any mutation of an encoding either fails to decode or decodes to a different value whose
    encoding is exactly the mutated bytes: no two encodings share a value."""
    b = bytearray(e.encode())
    pos = data.draw(st.integers(0, len(b) - 1))
    b[pos] ^= data.draw(st.integers(1, 255))
    try:
        d = Entry.decode(bytes(b))
    except DecodeError:
        return
    assert d != e and d.encode() == bytes(b)


@given(entries(), st.binary(min_size=1, max_size=8))
def test_trailing_and_truncated_rejected(e: Entry, extra: bytes) -> None:
    b = e.encode()
    with pytest.raises(DecodeError):
        Entry.decode(b + extra)
    with pytest.raises(DecodeError):
        Entry.decode(b[: -len(extra)] if len(extra) < len(b) else b[:1])


def _req(kind: Kind = Kind.LOOKUP, **fields: Any) -> Request:
    return Request(kind, b"L" * 16, 7, b"n" * 16, 1_700_000_000_000, 1, fields)


def test_defaults_and_accessors() -> None:
    r = _req(Kind.CONTRIBUTE, evaluations=5, receipts=[b"a", b"b"])
    assert r.fields["submitted"] == 0 and r.fields["batch_hash"] == bytes(32)
    e = Entry(r, (Signature(7, b"s"),), 9, Code.ACCEPTED, {"accepted": 3})
    assert e.int_field("evaluations") == 5 and e.int_field("accepted") == 3
    assert e.bytes_list_field("receipts") == (b"a", b"b") and e.get("new_tags") == 0
    assert e.accepted and e.kind is Kind.CONTRIBUTE and e.signers == (7,)
    with pytest.raises(TypeError):
        e.bytes_field("evaluations")
    assert not e.with_outcome(Code.REPLAYED_NONCE, {}).accepted


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"evaluations": -1}, ValueError),
        ({"evaluations": 2**64}, ValueError),
        ({"evaluations": True}, TypeError),
        ({"evaluations": 1.0}, TypeError),
        ({"receipts": [b"x" * (16 * 1024 + 1)]}, ValueError),
        ({"subject_id": b"110101199003077777"}, ValueError),  # no such field: never a plaintext ID
    ],
)
def test_field_validation(kwargs: dict[str, Any], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        _req(**kwargs)


def test_signature_order() -> None:
    r = _req(Kind.MEMBER, target=9)
    with pytest.raises(ValueError, match="first signature"):
        Entry(r, (Signature(8, b"s"),), 0)
    with pytest.raises(ValueError, match="ascending"):
        Entry(r, (Signature(7, b"s"), Signature(9, b"s"), Signature(8, b"s")), 0)
    with pytest.raises(ValueError, match="ascending"):
        Entry(r, (Signature(7, b"s"), Signature(7, b"t")), 0)


def test_sizes_and_magic() -> None:
    r = _req()
    with pytest.raises(DecodeError):
        Request.decode(b"XXXX" + r.encode()[4:])
    with pytest.raises(DecodeError):
        Request.decode(r.encode() + bytes(MAX_REQUEST_SIZE))
    b = bytearray(r.encode())
    b[5] = 99  # unknown kind
    with pytest.raises(DecodeError, match="kind"):
        Request.decode(bytes(b))


def test_no_forbidden_fields() -> None:
    forbidden = ("subject", "record", "tag", "bucket", "position", "id_number")
    counts = {"new_tags"}  # a count of distinct tags, not a tag
    for schema in [*SCHEMAS.values(), *ATTESTED.values()]:
        for name, _ in schema:
            assert name in counts or not any(w in name for w in forbidden), name


def test_hooks_follow_protocol() -> None:
    e = Entry(_req(evaluations=3), (Signature(7, b"s"),), 0)
    for hook in (NullHook(), CountingHook(quota=5)):
        assert isinstance(hook, RuleHook)
        assert hook.apply(e, 0) == Code.ACCEPTED
        assert hook.apply(e.with_outcome(Code.WRONG_ROLE), 1) == Code.WRONG_ROLE
        assert len(hook.state_root()) == 32
    h = CountingHook(quota=5)
    h.apply(e, 0)
    root = h.state_root()
    assert h.apply(e, 1) == Code.RULE_REJECTED and h.state_root() == root
