"""Batch screening of a client book (``DESIGN.md``, Protocols 4): the protocol logic, no I/O
beyond the local journal.

- :func:`parse_ids` reads an ID file (one ID a line, or CSV ``subject_type,subject_id`` with an
  optional header), validates every line and reports bad lines by number and reason; duplicates
  are screened once.
- The IDs go to the two-server OPRF in chunks (:data:`CHUNK`); each chunk's evaluation request
  is signed with the SM3 hash of its blinded batch, so each chunk is metered and receipted on
  its own.
- :class:`Journal` keeps every chunk's outputs and receipts in a local SQLite file (mode 0600),
  so an interrupted run resumes by **replaying stored responses only**: a chunk in the journal
  is never evaluated (nor charged) again, and a journal made for another ID list is refused.
- :func:`match_mirror` looks the outputs up in the broker's verified mirror and opens the
  entries: the result rows are the flagged IDs with their categories.
- Bilateral screening (against a contributor that keeps its list): :func:`contributor_items`
  turns the contributor's records into PSI items with their category bitmask as the label;
  the labeled KKRT PSI in :mod:`mpc.psi` delivers flagged IDs and categories to the broker only.

The ledger's ``screen`` entries carry counts and receipts only: ``chunk_hash`` is the SM3 of the
chunks' signed-request hashes (:func:`segment_hash`), never a hash of IDs.
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mpc.exceptions import InvalidRecord
from mpc.index import EntryVerifier, MirrorIndex, tag_of
from mpc.lookup import open_entries
from mpc.records import Category, RiskRecord, Status, SubjectType, normalize_subject_id, oprf_input
from mpc.sm3 import sm3

__all__ = [
    "CATEGORY_BITS",
    "CHUNK",
    "MAX_IDS",
    "MODE_BILATERAL",
    "MODE_MIRROR",
    "SEGMENT_CHUNKS",
    "Flagged",
    "IdError",
    "IdFile",
    "Journal",
    "JournalMismatch",
    "categories_of",
    "category_mask",
    "chunk_ranges",
    "contributor_items",
    "label_categories",
    "match_mirror",
    "parse_ids",
    "results_csv",
    "run_id",
    "segment_hash",
]

CHUNK = 4096  # elements per signed evaluation request (as api.oprf_client)
SEGMENT_CHUNKS = 32  # chunks per ledger entry: 64 receipts keep a request far below 64 KiB
MAX_IDS = 1 << 24
MAX_LINE = 256
MODE_MIRROR = 1
MODE_BILATERAL = 2
JOURNAL_VERSION = 1
LABEL_VERSION = 1
# Labels are 2 bytes, never 1: mpc.psi's label decryption (ot_label_xor) builds its output with
# PyBytes_FromStringAndSize(data, n) and XORs it in place, which for n == 1 (one hit with a
# one-byte label) writes into CPython's shared one-byte bytes object.
LABEL_SIZE = 2
_SCREEN_DOMAIN = b"riskshare screen v1"

# Label bits of the categories (bilateral screening): fixed forever, like the wire codes.
CATEGORY_BITS: Mapping[Category, int] = {
    Category.ADMIN_PENALTY: 1,
    Category.MARGIN_DEFAULT: 2,
    Category.PLEDGE_DEFAULT: 4,
    Category.OTHER: 8,
}
_ORDER = tuple(CATEGORY_BITS)


# ---- the ID file ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class IdFile:
    """Distinct valid subjects in file order (with the line of their first occurrence)."""

    subjects: list[tuple[SubjectType, str]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    errors: list[IdError] = field(default_factory=list)
    duplicates: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def inputs(self) -> list[bytes]:
        """Canonical OPRF inputs, in the order of :attr:`subjects`."""
        return [bytes([t.code]) + sid.encode("ascii") for t, sid in self.subjects]


_TYPES = {"person": SubjectType.PERSON, "org": SubjectType.ORG, "1": SubjectType.PERSON, "2": SubjectType.ORG}


def _infer(value: str) -> tuple[SubjectType, str]:
    """An ID without a type: a resident ID if it validates as one, else a credit code."""
    try:
        return SubjectType.PERSON, normalize_subject_id(SubjectType.PERSON, value)
    except InvalidRecord as person:
        try:
            return SubjectType.ORG, normalize_subject_id(SubjectType.ORG, value)
        except InvalidRecord as org:
            looks_person = value[:17].isdigit() and len(value) == 18
            raise InvalidRecord(str(person) if looks_person else str(org)) from None


def parse_ids(data: str | bytes, *, limit: int = MAX_IDS) -> IdFile:
    """Parse an ID file: per line either ``ID`` (type inferred) or ``TYPE,ID`` with TYPE
    ``person`` or ``org``. Blank lines and ``#`` comments are skipped; a first line naming the
    columns (``subject_id`` or ``subject_type,subject_id``) is a header."""
    out = IdFile()
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            out.errors.append(IdError(1, "file is not UTF-8"))
            return out
    else:
        text = data.removeprefix("\ufeff")
    seen: set[tuple[SubjectType, str]] = set()
    first = True
    for number, raw in enumerate(io.StringIO(text, newline=None), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line) > MAX_LINE:
            out.errors.append(IdError(number, f"line longer than {MAX_LINE} characters"))
            continue
        try:
            cells = [c.strip() for c in next(csv.reader([line], strict=True))]
        except csv.Error as e:
            out.errors.append(IdError(number, f"malformed CSV: {e}"))
            continue
        if first and [c.lower() for c in cells] in (["subject_id"], ["subject_type", "subject_id"]):
            first = False
            continue
        first = False
        try:
            if len(cells) == 1:
                subject = _infer(cells[0])
            elif len(cells) == 2:
                st = _TYPES.get(cells[0].lower())
                if st is None:
                    raise InvalidRecord(f"subject type must be person or org, not {cells[0][:20]!r}")
                subject = st, normalize_subject_id(st, cells[1])
            else:
                raise InvalidRecord(f"expected 1 or 2 fields, got {len(cells)}")
        except InvalidRecord as e:
            out.errors.append(IdError(number, str(e)))
            continue
        if subject in seen:
            out.duplicates += 1
            continue
        if len(out.subjects) >= limit:
            out.errors.append(IdError(number, f"more than {limit:,} distinct IDs in one run"))
            break
        seen.add(subject)
        out.subjects.append(subject)
        out.lines.append(number)
    if not out.subjects and not out.errors:
        out.errors.append(IdError(1, "the file holds no ID"))
    return out


# ---- chunks, run identity and ledger hashes -----------------------------------------------------------


def chunk_ranges(n: int, size: int = CHUNK) -> list[tuple[int, int]]:
    return [(s, min(n, s + size)) for s in range(0, n, size)]


def run_id(inputs: Sequence[bytes], mode: int, counterpart: int = 0, *, chunk: int = CHUNK) -> bytes:
    """Identifies a screening run in the broker's journal (local only: it hashes the IDs)."""
    h = sm3(b"".join(len(x).to_bytes(1, "big") + x for x in inputs))
    return sm3(_SCREEN_DOMAIN + struct.pack(">BQQQ", mode, counterpart, len(inputs), chunk) + h)


def chunk_hash(inputs: Sequence[bytes]) -> bytes:
    """SM3 of one chunk's canonical inputs (local: the journal checks a resumed chunk with it)."""
    return sm3(b"".join(len(x).to_bytes(1, "big") + x for x in inputs))


def segment_hash(request_hashes: Iterable[bytes]) -> bytes:
    """The ``chunk_hash`` of a mirror ``screen`` entry: SM3 over the SM3 hashes of the chunks'
    signed evaluation requests (each request names the SM3 of its blinded batch), in order."""
    return sm3(_SCREEN_DOMAIN + b"".join(request_hashes))


# ---- the journal ----------------------------------------------------------------------------------------


class JournalMismatch(ValueError):
    """The journal belongs to another ID list, mode or counterpart."""


def _pack_list(items: Sequence[bytes]) -> bytes:
    return b"".join(struct.pack(">I", len(x)) + x for x in items)


def _unpack_list(data: bytes) -> list[bytes]:
    out, i = [], 0
    while i < len(data):
        (n,) = struct.unpack_from(">I", data, i)
        out.append(data[i + 4 : i + 4 + n])
        i += 4 + n
    return out


class Journal:
    """A screening run's local, durable state: chunk outputs with their receipts and the ledger
    entries recorded for them. Holds OPRF outputs (which open index entries), so the file is
    created with mode 0600 and belongs with the broker's other secrets."""

    def __init__(self, path: Path | str, run: bytes, *, chunks: int) -> None:
        self.path = Path(path)
        if not self.path.exists():
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            os.close(fd)
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS chunks (idx INTEGER PRIMARY KEY, input_hash BLOB NOT NULL,"
            " outputs BLOB NOT NULL, receipts BLOB NOT NULL)"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS entries (segment INTEGER PRIMARY KEY, height INTEGER NOT NULL)"
        )
        have = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        want = {"version": JOURNAL_VERSION, "run": run, "chunks": chunks}
        if not have:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT INTO meta VALUES (?, ?)", list(want.items()))
        elif have != want:
            self._db.close()
            raise JournalMismatch(f"{self.path} belongs to another screening run (other IDs or mode)")
        self.run = run
        self.chunks = chunks

    def get(self, idx: int, input_hash: bytes) -> tuple[list[bytes], list[bytes]] | None:
        row = self._db.execute(
            "SELECT input_hash, outputs, receipts FROM chunks WHERE idx = ?", (idx,)
        ).fetchone()
        if row is None:
            return None
        if bytes(row[0]) != input_hash:
            raise JournalMismatch(f"chunk {idx} of the journal was made for other IDs")
        return _unpack_list(bytes(row[1])), _unpack_list(bytes(row[2]))

    def put(self, idx: int, input_hash: bytes, outputs: Sequence[bytes], receipts: Sequence[bytes]) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO chunks VALUES (?, ?, ?, ?)",
                (idx, input_hash, _pack_list(outputs), _pack_list(receipts)),
            )

    def done(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()
        return int(row[0])

    def recorded(self, segment: int) -> int | None:
        row = self._db.execute("SELECT height FROM entries WHERE segment = ?", (segment,)).fetchone()
        return None if row is None else int(row[0])

    def mark_recorded(self, segment: int, height: int) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?)", (segment, height))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- results ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Flagged:
    """One flagged subject: its line in the ID file, the categories of its live records, how many
    records (mirror path; the bilateral path reports categories only) and named contributors."""

    line: int
    subject_type: SubjectType
    subject_id: str
    categories: tuple[Category, ...]
    records: int = 0
    contributors: tuple[str, ...] = ()


def category_mask(categories: Iterable[Category]) -> int:
    m = 0
    for c in categories:
        m |= CATEGORY_BITS[c]
    return m


def categories_of(mask: int) -> tuple[Category, ...]:
    return tuple(c for c in _ORDER if mask & CATEGORY_BITS[c])


def match_mirror(
    mirror: MirrorIndex,
    ids: IdFile,
    outputs: Sequence[bytes],
    epoch: bytes,
    contributor_keys: Mapping[str, EntryVerifier] | None = None,
) -> list[Flagged]:
    """Look every OPRF output up in the verified mirror; open the entries of each hit."""
    if len(outputs) != len(ids.subjects):
        raise ValueError("one OPRF output per subject")
    out: list[Flagged] = []
    for i, h in enumerate(outputs):
        entries = mirror.lookup(tag_of(h))
        if not entries:
            continue
        found = open_entries(entries, h, epoch, contributor_keys).findings
        live = [f for f in found if f.record.status is Status.ACTIVE]
        if not live:
            continue
        st, sid = ids.subjects[i]
        cats = categories_of(category_mask(f.record.category for f in live))
        names = tuple(sorted({f.contributor for f in live if f.contributor and f.verified}))
        out.append(Flagged(ids.lines[i], st, sid, cats, len(live), names))
    return out


def results_csv(rows: Iterable[Flagged]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["line", "subject_type", "subject_id", "categories", "records", "contributors"])
    for r in rows:
        w.writerow(
            [
                r.line,
                r.subject_type.value,
                r.subject_id,
                ";".join(c.value for c in r.categories),
                r.records or "",
                ";".join(r.contributors),
            ]
        )
    return buf.getvalue()


# ---- bilateral ---------------------------------------------------------------------------------------


def contributor_items(records: Iterable[RiskRecord]) -> tuple[list[bytes], list[bytes]]:
    """The contributor's PSI items (canonical OPRF inputs of its subjects with an active record)
    and, for each, a two-byte label: format version ‖ the bitmask of the subject's categories.
    (Two bytes also keep every label buffer longer than one byte: see :func:`label_categories`.)"""
    masks: dict[bytes, int] = {}
    for r in records:
        if r.status is Status.ACTIVE:
            x = oprf_input(r.subject_type, r.subject_id)
            masks[x] = masks.get(x, 0) | CATEGORY_BITS[r.category]
    items = sorted(masks)
    return items, [bytes([LABEL_VERSION, masks[x]]) for x in items]


def label_categories(label: bytes) -> tuple[Category, ...]:
    """The categories in a bilateral label (ValueError for another format)."""
    if len(label) != LABEL_SIZE or label[0] != LABEL_VERSION or label[1] & ~0x0F:
        raise ValueError("not a category label of version 1")
    return categories_of(label[1])
