"""Risk records: validation of subject IDs, parsing of contributor files, canonical encodings.

A contributor's risk list arrives as CSV or JSON Lines with a header. Every row is validated;
bad rows come back as a list of :class:`RecordError` (line number and reason) beside the good
records, in file order, so that the caller can apply the good rows atomically or refuse the file.

Two byte encodings are canonical and versioned, because other parties hash or MAC them:

- :func:`oprf_input` — what the two-server OPRF evaluates: ``0x01`` (person) or ``0x02`` (org)
  ‖ the ID upper-cased, ASCII (``DESIGN.md``, "Data").
- :meth:`RiskRecord.to_bytes` — integer-only, length-prefixed fields; the plaintext of an index
  entry and the input of the dedup key HMAC-SM3(label key, record bytes).

The synthetic generator (:class:`SyntheticSource`) makes valid, realistic-looking IDs and
records from a seed for the demo and the benchmarks; its people and firms do not exist.
"""

from __future__ import annotations

import csv
import datetime
import enum
import io
import json
import random
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from mpc.exceptions import InvalidRecord
from mpc.sm3 import hmac_sm3

__all__ = [
    "COLUMNS",
    "MAX_AMOUNT_FEN",
    "MAX_REFERENCE_BYTES",
    "RECORD_FORMAT_VERSION",
    "Category",
    "InvalidRecord",
    "ParseResult",
    "RecordError",
    "RiskRecord",
    "Status",
    "SubjectType",
    "SyntheticSource",
    "dedup_key",
    "normalize_subject_id",
    "oprf_input",
    "parse_csv",
    "parse_jsonl",
    "parse_records",
    "records_to_csv",
    "records_to_jsonl",
    "uscc_check_char",
    "validate_resident_id",
    "validate_uscc",
]

RECORD_FORMAT_VERSION = 1
MAX_REFERENCE_BYTES = 64  # keeps every sealed entry inside its fixed size (mpc.index)
MAX_AMOUNT_FEN = (1 << 63) - 1
ID_LENGTH = 18
EARLIEST_DATE = datetime.date(1900, 1, 1)
JSONL_FORMAT = "riskshare.records"
_E = TypeVar("_E", bound=enum.Enum)


class SubjectType(enum.Enum):
    PERSON = "person"
    ORG = "org"

    @property
    def code(self) -> int:
        return 1 if self is SubjectType.PERSON else 2


class Category(enum.Enum):
    ADMIN_PENALTY = "admin_penalty"
    MARGIN_DEFAULT = "margin_default"
    PLEDGE_DEFAULT = "pledge_default"
    OTHER = "other"


class Status(enum.Enum):
    ACTIVE = "active"
    REVOKED = "revoked"
    DISPUTED = "disputed"


# Wire codes are fixed forever (canonical bytes); they are not the enum declaration order.
_CATEGORY_CODE = {
    Category.ADMIN_PENALTY: 1,
    Category.MARGIN_DEFAULT: 2,
    Category.PLEDGE_DEFAULT: 3,
    Category.OTHER: 4,
}
_STATUS_CODE = {Status.ACTIVE: 1, Status.REVOKED: 2, Status.DISPUTED: 3}
_CODE_CATEGORY = {v: k for k, v in _CATEGORY_CODE.items()}
_CODE_STATUS = {v: k for k, v in _STATUS_CODE.items()}
_CODE_SUBJECT = {1: SubjectType.PERSON, 2: SubjectType.ORG}

# --- resident identity number (GB 11643-1999) -------------------------------------------------
# Check digit: ISO 7064 MOD 11-2 (GB/T 17710). Weight of position i (1-based, left to right) is
# 2^(18-i) mod 11, i.e. 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2; check = (12 - S mod 11) mod 11 with
# 10 written "X". Worked example in GB 11643-1999 Appendix A: 11010519491231002X.
_ID_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_ID_CHECK = "10X98765432"  # indexed by S mod 11
# Province-level codes of GB/T 2260 (first two digits of the address code).
_PROVINCES = frozenset(
    {
        *range(11, 16),
        *range(21, 24),
        *range(31, 38),
        *range(41, 47),
        *range(50, 55),
        *range(61, 66),
        71,
        81,
        82,
    }
)

# --- unified social credit code (GB 32100-2015) -----------------------------------------------
# Character set: digits and upper-case Latin letters without I, O, S, V, Z (31 symbols, values 0..30
# in this order). Weights W_i = 3^(i-1) mod 31 for i = 1..17: 1 3 9 27 19 26 16 17 20 29 25 13 8 24
# 10 30 28; check value C18 = 31 - (Σ C_i·W_i mod 31), where 31 is written 0. Confirmed against the
# GB 32100-2015 digests at codeshelper.com/article/12945.html and dev.mo4tech.com (JS validator
# article): same alphabet, same weights, same rule.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))


def _resident_check_digit(first17: str) -> str:
    s = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[s % 11]


def validate_resident_id(value: str, *, today: datetime.date | None = None) -> str:
    """Validate an 18-character resident identity number and return it upper-cased.

    Checks the province of the address code, a real birth date between 1900-01-01 and ``today``
    and the MOD 11-2 check digit. Raises :class:`InvalidRecord` with the reason.
    """
    if not isinstance(value, str):
        raise InvalidRecord("resident ID must be a string")
    v = value.upper()
    if len(v) != ID_LENGTH:
        raise InvalidRecord(f"resident ID must be {ID_LENGTH} characters, got {len(v)}")
    if not (v[:17].isascii() and v[:17].isdigit()) or v[17] not in "0123456789X":
        raise InvalidRecord("resident ID must be 17 digits and a digit or X")
    if int(v[:2]) not in _PROVINCES:
        raise InvalidRecord("resident ID address code names no province")
    try:
        birth = datetime.date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        raise InvalidRecord("resident ID birth date is not a calendar date") from None
    if not EARLIEST_DATE <= birth <= (today or datetime.date.today()):
        raise InvalidRecord("resident ID birth date is out of range")
    if _resident_check_digit(v[:17]) != v[17]:
        raise InvalidRecord("resident ID check digit does not match")
    return v


def uscc_check_char(first17: str) -> str:
    """The GB 32100 check character for the first 17 characters of a credit code."""
    s = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - s % 31) % 31]


def validate_uscc(value: str) -> str:
    """Validate an 18-character unified social credit code and return it upper-cased.

    Checks the character set, the numeric administrative division code (characters 3–8) and the
    GB 32100 check character. Raises :class:`InvalidRecord` with the reason.
    """
    if not isinstance(value, str):
        raise InvalidRecord("credit code must be a string")
    v = value.upper()
    if len(v) != ID_LENGTH:
        raise InvalidRecord(f"credit code must be {ID_LENGTH} characters, got {len(v)}")
    bad = sorted({c for c in v if c not in _USCC_VALUE})
    if bad:
        raise InvalidRecord(f"credit code contains characters outside GB 32100: {''.join(bad)!r}")
    if not v[2:8].isdigit():
        raise InvalidRecord("credit code characters 3-8 must be a numeric division code")
    if uscc_check_char(v[:17]) != v[17]:
        raise InvalidRecord("credit code check character does not match")
    return v


def normalize_subject_id(subject_type: SubjectType, subject_id: str) -> str:
    if subject_type is SubjectType.PERSON:
        return validate_resident_id(subject_id)
    return validate_uscc(subject_id)


def oprf_input(subject_type: SubjectType, subject_id: str) -> bytes:
    """The canonical OPRF input: type byte ‖ validated, upper-cased ID in ASCII."""
    return bytes([subject_type.code]) + normalize_subject_id(subject_type, subject_id).encode("ascii")


# --- the record ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RiskRecord:
    """One validated risk record. Construct through :meth:`create` or the parsers."""

    subject_type: SubjectType
    subject_id: str
    category: Category
    amount_fen: int
    event_date: datetime.date
    reference: str
    status: Status = Status.ACTIVE

    def __post_init__(self) -> None:
        _check_record(self)

    @classmethod
    def create(
        cls,
        subject_type: SubjectType | str,
        subject_id: str,
        category: Category | str,
        amount_fen: int,
        event_date: datetime.date | str,
        reference: str,
        status: Status | str = Status.ACTIVE,
        *,
        today: datetime.date | None = None,
    ) -> RiskRecord:
        """Validate loose values (strings from a file) into a record; raises InvalidRecord."""
        st = _enum(SubjectType, subject_type, "subject_type")
        if not isinstance(subject_id, str):
            raise InvalidRecord("subject_id must be a string")
        sid = subject_id.strip()
        sid = validate_resident_id(sid, today=today) if st is SubjectType.PERSON else validate_uscc(sid)
        date = _date(event_date)
        if date > (today or datetime.date.today()):
            raise InvalidRecord("event_date is in the future")
        return cls(
            st,
            sid,
            _enum(Category, category, "category"),
            amount_fen,
            date,
            reference.strip() if isinstance(reference, str) else reference,
            _enum(Status, status, "status"),
        )

    def oprf_input(self) -> bytes:
        return bytes([self.subject_type.code]) + self.subject_id.encode("ascii")

    def to_bytes(self) -> bytes:
        """Canonical bytes: version, type, id, category, amount (u64), date (u32 YYYYMMDD),
        status, reference (u8 length ‖ UTF-8). Integers only, big-endian, length-prefixed."""
        ref = self.reference.encode("utf-8")
        d = self.event_date
        return b"".join(
            (
                struct.pack(">BBB", RECORD_FORMAT_VERSION, self.subject_type.code, len(self.subject_id)),
                self.subject_id.encode("ascii"),
                struct.pack(
                    ">BQIBB",
                    _CATEGORY_CODE[self.category],
                    self.amount_fen,
                    d.year * 10000 + d.month * 100 + d.day,
                    _STATUS_CODE[self.status],
                    len(ref),
                ),
                ref,
            )
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskRecord:
        """Parse canonical bytes (strict: every field re-validated, no trailing bytes)."""
        r, n = cls._read(data)
        if n != len(data):
            raise InvalidRecord("trailing bytes after the record")
        return r

    @classmethod
    def _read(cls, data: bytes) -> tuple[RiskRecord, int]:
        """Parse a record from the front of ``data``; returns it and the bytes consumed."""
        try:
            ver, tcode, idlen = struct.unpack_from(">BBB", data, 0)
            if ver != RECORD_FORMAT_VERSION:
                raise InvalidRecord(f"unknown record format version {ver}")
            sid = data[3 : 3 + idlen]
            if len(sid) != idlen:
                raise InvalidRecord("record is truncated")
            off = 3 + idlen
            cat, amount, ymd, scode, reflen = struct.unpack_from(">BQIBB", data, off)
            off += 15
            ref = data[off : off + reflen]
            if len(ref) != reflen:
                raise InvalidRecord("record is truncated")
            off += reflen
            rec = cls(
                _CODE_SUBJECT[tcode],
                sid.decode("ascii"),
                _CODE_CATEGORY[cat],
                amount,
                datetime.date(ymd // 10000, ymd // 100 % 100, ymd % 100),
                ref.decode("utf-8"),
                _CODE_STATUS[scode],
            )
        except InvalidRecord:
            raise
        except (struct.error, KeyError, ValueError, UnicodeDecodeError):
            raise InvalidRecord("malformed record bytes") from None
        return rec, off

    def with_status(self, status: Status) -> RiskRecord:
        return RiskRecord(
            self.subject_type,
            self.subject_id,
            self.category,
            self.amount_fen,
            self.event_date,
            self.reference,
            status,
        )

    def __repr__(self) -> str:  # the ID is personal data: keep it out of logs
        return (
            f"RiskRecord({self.subject_type.value}, id=…{self.subject_id[-2:]}, {self.category.value}, "
            f"{self.amount_fen} fen, {self.event_date.isoformat()}, {self.status.value})"
        )


def _check_record(r: RiskRecord) -> None:
    """Invariants of a record, checked on every construction (typed fields, canonical ID)."""
    if not isinstance(r.subject_type, SubjectType):
        raise InvalidRecord("subject_type must be a SubjectType")
    if not isinstance(r.category, Category):
        raise InvalidRecord("category must be a Category")
    if not isinstance(r.status, Status):
        raise InvalidRecord("status must be a Status")
    if r.subject_type is SubjectType.PERSON:
        # Birth date against today is checked at entry (create); here only the structure.
        if validate_resident_id(r.subject_id, today=datetime.date.max) != r.subject_id:
            raise InvalidRecord("subject_id must be upper-case")
    elif validate_uscc(r.subject_id) != r.subject_id:
        raise InvalidRecord("subject_id must be upper-case")
    if not isinstance(r.amount_fen, int) or isinstance(r.amount_fen, bool):
        raise InvalidRecord("amount_fen must be an integer")
    if not 0 <= r.amount_fen <= MAX_AMOUNT_FEN:
        raise InvalidRecord("amount_fen must be between 0 and 2^63 - 1")
    if type(r.event_date) is not datetime.date:
        raise InvalidRecord("event_date must be a date")
    if r.event_date < EARLIEST_DATE:
        raise InvalidRecord("event_date is before 1900-01-01")
    if not isinstance(r.reference, str):
        raise InvalidRecord("reference must be a string")
    if not r.reference:
        raise InvalidRecord("reference must not be empty")
    if len(r.reference.encode("utf-8", "surrogatepass")) > MAX_REFERENCE_BYTES:
        raise InvalidRecord(f"reference must be at most {MAX_REFERENCE_BYTES} bytes in UTF-8")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000 for c in r.reference):
        raise InvalidRecord("reference contains control characters")


def _enum(cls: type[_E], value: object, name: str) -> _E:
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value.strip().lower())
        except ValueError:
            pass
    allowed = ", ".join(str(m.value) for m in cls)
    raise InvalidRecord(f"{name} must be one of {allowed}")


def _date(value: object) -> datetime.date:
    if type(value) is datetime.date:
        return value
    if isinstance(value, str):
        v = value.strip()
        # Only the ISO calendar form YYYY-MM-DD: fromisoformat accepts more (week dates, basic form).
        if len(v) == 10 and v[4] == "-" and v[7] == "-" and (v[:4] + v[5:7] + v[8:]).isdigit():
            try:
                return datetime.date.fromisoformat(v)
            except ValueError:
                pass
    raise InvalidRecord("event_date must be a date YYYY-MM-DD")


def dedup_key(label_key: bytes, record: RiskRecord) -> bytes:
    """HMAC-SM3(label key, canonical record bytes): equal for a re-uploaded row, opaque otherwise."""
    return hmac_sm3(label_key, record.to_bytes())


# --- parsing ------------------------------------------------------------------------------

COLUMNS = ("subject_type", "subject_id", "category", "amount_fen", "event_date", "reference", "status")
_REQUIRED = frozenset(COLUMNS[:-1])
MAX_LINE_BYTES = 4096


@dataclass(frozen=True, slots=True)
class RecordError:
    """One rejected row: 1-based line number in the file, and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ParseResult:
    records: list[RiskRecord] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)  # line of each good record

    @property
    def ok(self) -> bool:
        return not self.errors


def _row_to_record(row: dict[str, object], today: datetime.date | None, *, text: bool) -> RiskRecord:
    amount = row.get("amount_fen")
    if isinstance(amount, str) and text:
        a = amount.strip()
        if not (a.isascii() and a.isdigit()):
            raise InvalidRecord("amount_fen must be a non-negative integer in fen")
        if len(a) > 19:
            raise InvalidRecord("amount_fen must be between 0 and 2^63 - 1")
        amount = int(a)
    elif not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidRecord("amount_fen must be a non-negative integer in fen")
    for name in ("subject_id", "reference"):
        if not isinstance(row.get(name), str):
            raise InvalidRecord(f"{name} must be a string")
    status = row.get("status")
    return RiskRecord.create(
        row["subject_type"],  # type: ignore[arg-type]  # checked by _enum
        row["subject_id"],  # type: ignore[arg-type]
        row["category"],  # type: ignore[arg-type]
        amount,
        row["event_date"],  # type: ignore[arg-type]
        row["reference"],  # type: ignore[arg-type]
        Status.ACTIVE if status is None or status == "" else status,  # type: ignore[arg-type]
        today=today,
    )


def _check_header(names: Iterable[str]) -> str | None:
    seen = list(names)
    missing = [c for c in COLUMNS if c in _REQUIRED and c not in seen]
    unknown = [c for c in seen if c not in COLUMNS]
    dup = sorted({c for c in seen if seen.count(c) > 1})
    if missing:
        return f"header lacks column(s) {', '.join(missing)}"
    if unknown:
        return f"header has unknown column(s) {', '.join(unknown)}"
    if dup:
        return f"header repeats column(s) {', '.join(dup)}"
    return None


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8-sig")
    return data.removeprefix("\ufeff")


def parse_csv(data: str | bytes, *, today: datetime.date | None = None) -> ParseResult:
    """Parse a CSV risk list whose first line is a header naming the columns of :data:`COLUMNS`
    (``status`` optional, default active). Blank lines are skipped. A bad header is one error on
    line 1 and no records. Undecodable UTF-8 is one error on line 1."""
    out = ParseResult()
    try:
        text = _text(data)
    except UnicodeDecodeError:
        out.errors.append(RecordError(1, "file is not UTF-8"))
        return out
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        out.errors.append(RecordError(1, "file is empty: a header line is required"))
        return out
    except csv.Error as e:
        out.errors.append(RecordError(1, f"malformed CSV header: {e}"))
        return out
    header = [h.strip().lower() for h in header]
    problem = _check_header(header)
    if problem:
        out.errors.append(RecordError(1, problem))
        return out
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            out.errors.append(RecordError(start, f"malformed CSV: {e}"))
            break  # the reader cannot resynchronise after a broken quote
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            out.errors.append(RecordError(start, f"expected {len(header)} fields, got {len(cells)}"))
            continue
        try:
            rec = _row_to_record(dict(zip(header, cells, strict=True)), today, text=True)
        except InvalidRecord as e:
            out.errors.append(RecordError(start, str(e)))
            continue
        out.records.append(rec)
        out.lines.append(start)
    return out


def parse_jsonl(data: str | bytes, *, today: datetime.date | None = None) -> ParseResult:
    """Parse JSON Lines: line 1 is the header ``{"format": "riskshare.records", "version": 1}``,
    then one object per line with the keys of :data:`COLUMNS` (``amount_fen`` a JSON integer,
    ``status`` optional). Blank lines are skipped."""
    out = ParseResult()
    try:
        text = _text(data)
    except UnicodeDecodeError:
        out.errors.append(RecordError(1, "file is not UTF-8"))
        return out
    lines = text.split("\n")
    try:
        header = json.loads(lines[0]) if lines[0].strip() else None
    except ValueError:
        header = None
    if header != {"format": JSONL_FORMAT, "version": 1}:
        out.errors.append(RecordError(1, f'header line must be {{"format": "{JSONL_FORMAT}", "version": 1}}'))
        return out
    for i, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        if len(line) > MAX_LINE_BYTES:
            out.errors.append(RecordError(i, "line is too long"))
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            out.errors.append(RecordError(i, f"invalid JSON: {e.args[0] if e.args else e}"))
            continue
        if not isinstance(obj, dict):
            out.errors.append(RecordError(i, "line must be a JSON object"))
            continue
        problem = _check_header(obj.keys())
        if problem:
            out.errors.append(RecordError(i, problem.replace("header", "object")))
            continue
        try:
            rec = _row_to_record(obj, today, text=False)
        except InvalidRecord as e:
            out.errors.append(RecordError(i, str(e)))
            continue
        out.records.append(rec)
        out.lines.append(i)
    return out


def parse_records(data: str | bytes, fmt: str, *, today: datetime.date | None = None) -> ParseResult:
    """Parse ``fmt`` ``"csv"`` or ``"jsonl"``."""
    if fmt == "csv":
        return parse_csv(data, today=today)
    if fmt == "jsonl":
        return parse_jsonl(data, today=today)
    raise ValueError("format must be 'csv' or 'jsonl'")


def _row(r: RiskRecord) -> list[str]:
    return [
        r.subject_type.value,
        r.subject_id,
        r.category.value,
        str(r.amount_fen),
        r.event_date.isoformat(),
        r.reference,
        r.status.value,
    ]


def records_to_csv(records: Iterable[RiskRecord]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    w.writerows(_row(r) for r in records)
    return buf.getvalue()


def records_to_jsonl(records: Iterable[RiskRecord]) -> str:
    lines = [json.dumps({"format": JSONL_FORMAT, "version": 1})]
    for r in records:
        d: dict[str, object] = dict(zip(COLUMNS, _row(r), strict=True))
        d["amount_fen"] = r.amount_fen
        lines.append(json.dumps(d, ensure_ascii=False))
    return "\n".join(lines) + "\n"


# --- synthetic data -----------------------------------------------------------------------

# Real county-level division codes (GB/T 2260) so that generated IDs look like real ones.
# fmt: off
_DIVISIONS = (
    "110101", "110105", "110108", "120101", "130102", "140105", "210102", "220102", "230102",
    "310101", "310104", "310115", "320102", "320505", "330106", "330108", "340104", "350203",
    "360102", "370102", "370202", "410105", "420106", "430104", "440104", "440305", "440306",
    "450103", "460106", "500103", "510104", "510107", "520102", "530102", "610113", "620102",
)
# fmt: on
# Organisation code check (GB 11714-1997): weights 3 7 9 10 5 8 4 2, C9 = 11 - (S mod 11),
# 10 → X, 11 → 0. Used only to make generated credit codes realistic; not validated.
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_REFERENCE_PREFIX = {
    Category.ADMIN_PENALTY: "证监罚字",
    Category.MARGIN_DEFAULT: "融资违约",
    Category.PLEDGE_DEFAULT: "质押违约",
    Category.OTHER: "严重失信",
}


def _org_value(c: str) -> int:
    return int(c) if c.isdigit() else ord(c) - ord("A") + 10


class SyntheticSource:
    """Deterministic generator of valid IDs and records for demos and benchmarks."""

    def __init__(self, seed: int | str = 0) -> None:
        self._rng = random.Random(seed)

    def resident_id(self) -> str:
        rng = self._rng
        birth = datetime.date(1950, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 53))
        first17 = f"{rng.choice(_DIVISIONS)}{birth:%Y%m%d}{rng.randrange(1000):03d}"
        return first17 + _resident_check_digit(first17)

    def uscc(self) -> str:
        rng = self._rng
        body = "".join(rng.choice(_ORG_CHARS[:10] if i < 2 else _ORG_CHARS) for i in range(8))
        s = sum(_org_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
        c9 = 11 - s % 11
        org = body + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
        first17 = rng.choice(("91", "91", "91", "92", "93", "12", "52")) + rng.choice(_DIVISIONS) + org
        return first17 + uscc_check_char(first17)

    def record(
        self, *, person_share: float = 0.8, subject: tuple[SubjectType, str] | None = None
    ) -> RiskRecord:
        rng = self._rng
        if subject is None:
            st = SubjectType.PERSON if rng.random() < person_share else SubjectType.ORG
            sid = self.resident_id() if st is SubjectType.PERSON else self.uscc()
        else:
            st, sid = subject
        cat = rng.choices(list(Category), weights=(5, 3, 2, 1))[0]
        amount = rng.randrange(1, 50_000) * 100 * rng.choice((1, 10, 100))
        event = datetime.date(2015, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 10))
        ref = f"{_REFERENCE_PREFIX[cat]}〔{event.year}〕{rng.randrange(1, 400)}号"
        return RiskRecord(st, sid, cat, amount, event, ref)

    def records(self, n: int, *, person_share: float = 0.8, repeat_share: float = 0.05) -> list[RiskRecord]:
        """``n`` records; about ``repeat_share`` of them name a subject seen before (several
        records for one subject, as real lists have)."""
        out: list[RiskRecord] = []
        for _ in range(n):
            if out and self._rng.random() < repeat_share:
                prev = self._rng.choice(out)
                out.append(self.record(subject=(prev.subject_type, prev.subject_id)))
            else:
                out.append(self.record(person_share=person_share))
        return out

    def ids(self, n: int) -> Iterator[tuple[SubjectType, str]]:
        for _ in range(n):
            if self._rng.random() < 0.8:
                yield SubjectType.PERSON, self.resident_id()
            else:
                yield SubjectType.ORG, self.uscc()
