from __future__ import annotations

import datetime
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mpc import records as rec_mod
from mpc.records import (
    Category,
    InvalidRecord,
    RiskRecord,
    Status,
    SubjectType,
    SyntheticSource,
)
from tests._vectors import load

TODAY = datetime.date(2026, 1, 1)
GB11643 = load("records/gb11643.txt")
# Independent reference for GB 32100, written from the weights table as printed (not computed).
USCC_WEIGHTS_TABLE = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ID_WEIGHTS_TABLE = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def ref_uscc_ok(code: str) -> bool:
    alpha = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    s = sum(alpha.index(c) * w for c, w in zip(code[:17], USCC_WEIGHTS_TABLE, strict=True))
    c18 = 31 - s % 31
    return alpha[0 if c18 == 31 else c18] == code[17]


def ref_id_ok(code: str) -> bool:
    s = sum(int(c) * w for c, w in zip(code[:17], ID_WEIGHTS_TABLE, strict=True))
    return "10X98765432"[s % 11] == code[17]


@pytest.mark.parametrize("v", GB11643)
def test_gb11643_appendix_a(v: dict[str, str]) -> None:
    master = v["Master"]
    assert sum(int(c) * w for c, w in zip(master, ID_WEIGHTS_TABLE, strict=True)) == int(v["Sum"])
    full = master + v["Check"]
    assert rec_mod.validate_resident_id(full) == full
    assert rec_mod.validate_resident_id(full.lower()) == full  # a lower-case x is accepted, normalised
    for wrong in "0123456789":
        with pytest.raises(InvalidRecord, match="check digit"):
            rec_mod.validate_resident_id(master + wrong)


ids = st.integers(min_value=0, max_value=2**32).map(lambda s: SyntheticSource(s))


@given(ids)
def test_generated_ids_are_valid_and_match_reference(src: SyntheticSource) -> None:
    rid = src.resident_id()
    assert rec_mod.validate_resident_id(rid, today=TODAY) == rid and ref_id_ok(rid)
    code = src.uscc()
    assert rec_mod.validate_uscc(code) == code and ref_uscc_ok(code)
    assert all(c not in "IOSVZ" for c in code)


@given(ids, st.integers(0, 17), st.integers(1, 30))
def test_any_single_substitution_is_rejected(src: SyntheticSource, pos: int, delta: int) -> None:
    # MOD 11-2 and GB 32100's prime modulus both catch every single-character substitution.
    rid = src.resident_id()
    alphabet = "0123456789X" if pos == 17 else "0123456789"
    bad = rid[:pos] + alphabet[(alphabet.index(rid[pos]) + delta) % len(alphabet)] + rid[pos + 1 :]
    if bad != rid:
        with pytest.raises(InvalidRecord):
            rec_mod.validate_resident_id(bad, today=TODAY)
    code = src.uscc()
    a = rec_mod.USCC_ALPHABET
    bad = code[:pos] + a[(a.index(code[pos]) + delta) % 31] + code[pos + 1 :]
    with pytest.raises(InvalidRecord):
        rec_mod.validate_uscc(bad)


@given(st.text(max_size=40))
def test_validators_never_crash(s: str) -> None:
    for fn in (rec_mod.validate_resident_id, rec_mod.validate_uscc):
        try:
            out = fn(s)
        except InvalidRecord:
            continue
        assert out == s.upper() and len(out) == 18


@given(st.text(alphabet="0123456789Xx", min_size=18, max_size=18))
def test_resident_id_fuzz_agrees_with_reference(s: str) -> None:
    try:
        rec_mod.validate_resident_id(s, today=TODAY)
    except InvalidRecord:
        return
    assert ref_id_ok(s.upper())


@given(st.text(alphabet=rec_mod.USCC_ALPHABET + "IOSVZ", min_size=18, max_size=18))
def test_uscc_fuzz_agrees_with_reference(s: str) -> None:
    ok = all(c in rec_mod.USCC_ALPHABET for c in s) and s[2:8].isdigit() and ref_uscc_ok(s)
    try:
        rec_mod.validate_uscc(s)
    except InvalidRecord:
        assert not ok
    else:
        assert ok


def test_resident_id_rejections() -> None:
    good = "11010519491231002X"
    cases = {
        "11010519491231002": "18 characters",
        "1101051949123100AX": "17 digits",
        "99010519491231002X": "province",
        "110105194902300028": "calendar date",
    }
    for value, reason in cases.items():
        with pytest.raises(InvalidRecord, match=reason):
            rec_mod.validate_resident_id(value)
    with pytest.raises(InvalidRecord, match="out of range"):
        rec_mod.validate_resident_id(good, today=datetime.date(1949, 12, 30))
    with pytest.raises(InvalidRecord, match="string"):
        rec_mod.validate_resident_id(123)  # type: ignore[arg-type]


def test_uscc_rejections() -> None:
    code = SyntheticSource(3).uscc()
    with pytest.raises(InvalidRecord, match="outside GB 32100"):
        rec_mod.validate_uscc(code[:5] + "I" + code[6:])
    with pytest.raises(InvalidRecord, match="numeric division"):
        rec_mod.validate_uscc(
            code[:2] + "A" + code[3:17] + rec_mod.uscc_check_char(code[:2] + "A" + code[3:17])
        )
    with pytest.raises(InvalidRecord, match="18 characters"):
        rec_mod.validate_uscc(code[:-1])
    assert rec_mod.validate_uscc(code.lower()) == code


def test_oprf_input_encoding() -> None:
    assert rec_mod.oprf_input(SubjectType.PERSON, "11010519491231002x") == b"\x0111010519491231002X"
    code = SyntheticSource(5).uscc()
    assert rec_mod.oprf_input(SubjectType.ORG, code.lower()) == b"\x02" + code.encode()
    with pytest.raises(InvalidRecord):
        rec_mod.oprf_input(SubjectType.ORG, "11010519491231002X")
    rec = SyntheticSource(1).record()
    assert rec.oprf_input() == rec_mod.oprf_input(rec.subject_type, rec.subject_id)


records = st.integers(min_value=0, max_value=2**32).map(lambda s: SyntheticSource(s).record(person_share=0.5))


@given(records, st.sampled_from(list(Status)))
def test_canonical_bytes_round_trip(rec: RiskRecord, status: Status) -> None:
    rec = rec.with_status(status)
    data = rec.to_bytes()
    assert data[0] == rec_mod.RECORD_FORMAT_VERSION
    assert RiskRecord.from_bytes(data) == rec
    for cut in (0, 1, 5, len(data) - 1):
        with pytest.raises(InvalidRecord):
            RiskRecord.from_bytes(data[:cut])
    with pytest.raises(InvalidRecord, match="trailing"):
        RiskRecord.from_bytes(data + b"\x00")


@given(records, st.integers(0, 200), st.integers(1, 255))
def test_canonical_bytes_fuzz_never_crashes(rec: RiskRecord, pos: int, x: int) -> None:
    data = bytearray(rec.to_bytes())
    data[pos % len(data)] ^= x
    try:
        out = RiskRecord.from_bytes(bytes(data))
    except InvalidRecord:
        return
    assert out.to_bytes() == bytes(data)  # whatever parses is canonical


def test_canonical_bytes_layout() -> None:
    rec = RiskRecord.create(
        "person", "11010519491231002X", "margin_default", 123456, "2024-03-05", "ref-1", today=TODAY
    )
    want = (
        b"\x01\x01\x12" + b"11010519491231002X" + b"\x02" + (123456).to_bytes(8, "big")
        + (20240305).to_bytes(4, "big") + b"\x01" + b"\x05ref-1"
    )  # fmt: skip
    assert rec.to_bytes() == want


def test_record_invariants() -> None:
    base = dict(
        subject_type="person",
        subject_id="11010519491231002X",
        category="other",
        amount_fen=1,
        event_date="2020-01-01",
        reference="r",
    )
    RiskRecord.create(**base, today=TODAY)  # type: ignore[arg-type]
    bad = {
        "amount_fen": -1,
        "category": "fraud",
        "subject_type": "alien",
        "event_date": "2020-1-1",
        "reference": "x" * 65,
        "status": "gone",
    }
    for k, v in bad.items():
        with pytest.raises(InvalidRecord):
            RiskRecord.create(**{**base, k: v}, today=TODAY)  # type: ignore[arg-type]
    with pytest.raises(InvalidRecord, match="future"):
        RiskRecord.create(**{**base, "event_date": "2026-01-02"}, today=TODAY)  # type: ignore[arg-type]
    with pytest.raises(InvalidRecord):
        RiskRecord(SubjectType.PERSON, "11010519491231002x", Category.OTHER, 1, TODAY, "r")
    with pytest.raises(InvalidRecord):
        RiskRecord(SubjectType.PERSON, "11010519491231002X", Category.OTHER, True, TODAY, "r")
    with pytest.raises(InvalidRecord, match="control"):
        RiskRecord(SubjectType.PERSON, "11010519491231002X", Category.OTHER, 1, TODAY, "a\nb")
    # 64 bytes of UTF-8 is the limit, counted in bytes, not characters
    RiskRecord(SubjectType.PERSON, "11010519491231002X", Category.OTHER, 1, TODAY, "号" * 21)
    with pytest.raises(InvalidRecord, match="64 bytes"):
        RiskRecord(SubjectType.PERSON, "11010519491231002X", Category.OTHER, 1, TODAY, "号" * 22)


def test_repr_hides_the_id() -> None:
    rec = SyntheticSource(9).record()
    assert rec.subject_id not in repr(rec) and rec.subject_id[:8] not in repr(rec)


def test_dedup_key_is_keyed_and_idempotent() -> None:
    a, b = SyntheticSource(2).records(2)
    k1, k2 = b"k" * 32, b"j" * 32
    assert rec_mod.dedup_key(k1, a) == rec_mod.dedup_key(k1, RiskRecord.from_bytes(a.to_bytes()))
    assert len({rec_mod.dedup_key(k1, a), rec_mod.dedup_key(k2, a), rec_mod.dedup_key(k1, b)}) == 3
    assert rec_mod.dedup_key(k1, a) != rec_mod.dedup_key(k1, a.with_status(Status.DISPUTED))


def test_generator_is_deterministic_and_realistic() -> None:
    a = SyntheticSource(42).records(300)
    assert a == SyntheticSource(42).records(300)
    assert a != SyntheticSource(43).records(300)
    types = {r.subject_type for r in a}
    assert types == {SubjectType.PERSON, SubjectType.ORG}
    assert len({r.subject_id for r in a}) < len(a)  # some subjects have several records
    assert {r.category for r in a} == set(Category)


CSV_GOOD = "11010519491231002X"


def test_parse_csv_reports_bad_rows_by_line() -> None:
    src = SyntheticSource(7)
    good = src.records(3)
    lines = rec_mod.records_to_csv(good).splitlines()
    text = "\n".join(
        [
            lines[0],
            lines[1],
            "person,11010519491231002Y,other,1,2020-01-01,r,active",  # line 3
            "",  # blank: skipped
            lines[2],  # line 5
            "person,11010519491231002X,other,1.5,2020-01-01,r,active",  # line 6
            'person,11010519491231002X,other,1,2020-01-01,"multi',  # line 7, spans two lines
            'line",active',
            "org,short,other,1,2020-01-01,r",  # line 9: wrong field count
            lines[3],  # line 10
        ]
    )
    res = rec_mod.parse_csv(text, today=TODAY)
    assert res.records == good
    assert res.lines == [2, 5, 10]
    assert [e.line for e in res.errors] == [3, 6, 7, 9]
    assert "resident ID" in res.errors[0].reason
    assert "amount_fen" in res.errors[1].reason
    assert "control" in res.errors[2].reason
    assert "fields" in res.errors[3].reason
    assert not res.ok and str(res.errors[0]).startswith("line 3:")


def test_parse_csv_header_and_encoding_problems() -> None:
    for text, reason in [
        ("", "empty"),
        ("subject_type,subject_id\n", "lacks"),
        ("subject_type,subject_id,category,amount_fen,event_date,reference,colour\n", "unknown"),
        ("subject_type,subject_id,category,amount_fen,event_date,reference,reference\n", "repeats"),
    ]:
        res = rec_mod.parse_csv(text)
        assert res.records == [] and res.errors[0].line == 1 and reason in res.errors[0].reason
    assert "UTF-8" in rec_mod.parse_csv(b"\xff\xfe").errors[0].reason
    # status is optional, a BOM and upper-case header are accepted
    res = rec_mod.parse_csv(
        "\ufeffSUBJECT_TYPE,subject_id,category,amount_fen,event_date,reference\n"
        "person,11010519491231002x,other,100,2020-01-01, ref \n",
        today=TODAY,
    )
    assert res.ok and res.records[0].status is Status.ACTIVE and res.records[0].reference == "ref"
    assert res.records[0].subject_id == CSV_GOOD


def test_parse_jsonl() -> None:
    good = SyntheticSource(8).records(3)
    lines = rec_mod.records_to_jsonl(good).splitlines()
    row = json.loads(lines[1])
    text = "\n".join(
        [
            lines[0],
            lines[1],
            json.dumps({**row, "amount_fen": "100"}),  # 3: strings are not JSON integers
            "{not json",  # 4
            "[1, 2]",  # 5
            json.dumps({**row, "extra": 1}),  # 6
            json.dumps({**row, "amount_fen": True}),  # 7
            lines[2],
            "",
            lines[3],
        ]
    )
    res = rec_mod.parse_jsonl(text, today=TODAY)
    assert res.records == good and res.lines == [2, 8, 10]
    assert [e.line for e in res.errors] == [3, 4, 5, 6, 7]
    assert rec_mod.parse_jsonl(lines[1]).errors[0].line == 1  # the header is required
    assert rec_mod.parse_records(rec_mod.records_to_csv(good), "csv").records == good
    with pytest.raises(ValueError):
        rec_mod.parse_records("", "xml")


@given(st.text(max_size=400))
def test_parsers_never_crash(text: str) -> None:
    header_csv = "subject_type,subject_id,category,amount_fen,event_date,reference\n"
    header_jsonl = '{"format": "riskshare.records", "version": 1}\n'
    for res in (
        rec_mod.parse_csv(text),
        rec_mod.parse_csv(header_csv + text),
        rec_mod.parse_jsonl(text),
        rec_mod.parse_jsonl(header_jsonl + text),
    ):
        assert len(res.records) == len(res.lines)
        assert all(e.line >= 1 for e in res.errors)


@given(st.lists(records, max_size=8))
def test_writers_round_trip(recs: list[RiskRecord]) -> None:
    today = datetime.date.max
    assert rec_mod.parse_csv(rec_mod.records_to_csv(recs), today=today).records == recs
    assert rec_mod.parse_jsonl(rec_mod.records_to_jsonl(recs), today=today).records == recs
