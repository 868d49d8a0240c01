"""A contributor's own screening server (``riskshare serve DIR --role contributor``).

The contributor keeps its raw risk list in its own domain and answers bilateral screening runs
(labeled KKRT PSI, ``DESIGN.md`` Protocols 4): the broker learns which of its IDs the list holds
and their categories; the contributor learns the size of the broker's list. Semi-honest security
(stated in the leakage table). Each run is checked before any work: a signed hello from a member
with the broker role, a fresh time, a per-run cap on bins + stash and a per-period cap per
broker. At the end the contributor signs a :class:`~api.screen_wire.ScreenReceipt` for bins +
stash, which the broker's ``screen`` ledger entry carries.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from api._generated import screen_pb2_grpc
from api.consortium import Consortium
from api.directory import Directory
from api.errors import BadRequest, Exhausted, PermissionDenied, Refused, Unauthenticated
from api.meter import Meter, QuotaExceeded, ReplayedNonce
from api.platform import directory_of
from api.roles import Running, server_credentials
from api.screen_wire import ScreenHello, ScreenReceipt, run_hash
from api.server import Registration, create_server
from ledger.entry import Role
from ledger.log import WINDOW_MS
from mpc import psi
from mpc import screen as sc
from mpc.exceptions import InvalidSignature
from mpc.ot import unpack
from mpc.records import RiskRecord, parse_records
from mpc.sm2 import SM2PrivateKey

log = logging.getLogger("riskshare.contributor")

SESSION_TTL_S = 600.0
MAX_SESSIONS = 4
RUN_CAP = 4_000_000  # bins + stash per run: a 2^21-ID list needs 2.66M
PERIOD_CAP = 20_000_000  # bins + stash per broker per period
PERIOD_MS = 24 * 3600 * 1000
MAX_MATRIX_BYTES = 64 * (RUN_CAP + 128) + 64


@dataclass
class _Session:
    broker: int
    sender: psi.PSISender
    m1: bytes
    m2: bytes
    created: float = field(default_factory=time.monotonic)


class BilateralService:
    """The domain side of the contributor's server: no gRPC here."""

    def __init__(
        self,
        *,
        log_id: bytes,
        member_id: int,
        signing_key: SM2PrivateKey,
        directory: Directory,
        records: Sequence[RiskRecord] = (),
        items: tuple[Sequence[bytes], Sequence[bytes]] | None = None,
        run_cap: int = RUN_CAP,
        period_cap: int = PERIOD_CAP,
        meter: Meter | None = None,
        clock: Callable[[], int] | None = None,
    ) -> None:
        """``records`` are the contributor's raw list; ``items`` (PSI items with one-byte
        category labels, as :func:`mpc.screen.contributor_items` makes them) may be given
        instead. ``meter`` keeps the per-period use durably (and refuses a reused session id);
        without it the counts live in memory."""
        xs, labels = items if items is not None else sc.contributor_items(records)
        if not xs or len(xs) != len(labels):
            raise ValueError("the contributor's list holds no active record")
        self.log_id, self.member_id, self._key = log_id, member_id, signing_key
        self.directory = directory
        self._items, self._labels = psi.item_digests(xs), list(labels)  # hashed once
        self.run_cap, self.period_cap = run_cap, period_cap
        self._clock = clock or (lambda: int(time.time() * 1000))
        self._sessions: dict[bytes, _Session] = {}
        self._used: dict[tuple[int, int], int] = {}
        self.meter = meter
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self._items)

    def start(self, signed_hello: bytes, m1: bytes) -> bytes:
        try:
            hello, blob = ScreenHello.open(signed_hello)
        except ValueError as e:
            raise BadRequest(f"screen hello: {e}") from None
        broker = self.directory.get(hello.broker)
        if broker is None:
            raise Unauthenticated("unknown member")
        try:
            blob.verify(broker.sign_key)
        except InvalidSignature:
            raise Unauthenticated("the hello's signature does not verify") from None
        if hello.log_id != self.log_id or hello.contributor != self.member_id:
            raise BadRequest("the hello names another log or contributor")
        if abs(self._clock() - hello.timestamp_ms) > WINDOW_MS:
            raise Refused("the hello's timestamp is outside the ±5 minute window")
        if not broker.has(Role.BROKER):
            raise PermissionDenied(f"member {broker.name!r} is not a broker")
        sender = psi.PSISender(self._items, labels=self._labels, session_id=hello.session_id)
        m2 = sender.respond(m1)
        with self._lock:
            self._expire()
            if hello.session_id in self._sessions:
                raise Refused("a run with this session id is already open")
            if len(self._sessions) >= MAX_SESSIONS:
                raise Exhausted("too many screening runs open: retry later")
            self._sessions[hello.session_id] = _Session(hello.broker, sender, m1, m2)
        return m2

    def _expire(self) -> None:
        now = time.monotonic()
        for sid in [k for k, v in self._sessions.items() if now - v.created > SESSION_TTL_S]:
            del self._sessions[sid]

    def exchange(self, session_id: bytes, m3: bytes) -> tuple[bytes, bytes]:
        """Answer the broker's matrix: (labeled values, signed receipt)."""
        with self._lock:
            sess = self._sessions.pop(session_id, None)
        if sess is None:
            raise BadRequest("no open screening run with this session id")
        if len(m3) > MAX_MATRIX_BYTES:
            raise BadRequest("the PSI matrix exceeds the per-run cap")
        nbins, stash = _bins_of(m3)
        charge = nbins + stash
        if charge > self.run_cap:
            raise Refused(f"the run asks for {charge:,} bins + stash; the per-run cap is {self.run_cap:,}")
        now = self._clock()
        period = now // PERIOD_MS
        cap_msg = f"the broker's screening cap of {self.period_cap:,} this period is reached"
        if self.meter is not None:
            try:
                self.meter.charge(sess.broker, period, charge, session_id, now + PERIOD_MS, now)
            except QuotaExceeded:
                raise Refused(cap_msg) from None
            except ReplayedNonce:
                raise Refused("this session id was already used") from None
        else:
            with self._lock:
                used = self._used.get((sess.broker, period), 0)
                if used + charge > self.period_cap:
                    raise Refused(cap_msg)
                self._used[(sess.broker, period)] = used + charge
        m4 = sess.sender.answer(m3)
        receipt = ScreenReceipt(
            self.log_id,
            self.member_id,
            sess.broker,
            session_id,
            run_hash(session_id, sess.m1, sess.m2, charge),
            charge,
            self._clock(),
        ).sign(self._key)
        log.info("bilateral screening for member %d: %d bins + stash", sess.broker, charge)
        return m4, receipt


def _bins_of(m3: bytes) -> tuple[int, int]:
    """Bins and stash from the PSI matrix frame header (the sender checks the rest)."""
    _, nbins, nst, _ = unpack(m3, psi.T_PSI_MATRIX, None)
    return nbins, nst


def load_list(path: Path | str) -> list[RiskRecord]:
    """The contributor's raw list (CSV or JSON Lines, by extension); any bad row refuses it."""
    p = Path(path)
    fmt = "jsonl" if p.suffix.lower() in (".jsonl", ".json") else "csv"
    parsed = parse_records(p.read_bytes(), fmt)
    if not parsed.ok:
        raise ValueError(f"{p}: " + "; ".join(str(e) for e in parsed.errors[:10]))
    return parsed.records


def start_contributor(
    c: Consortium,
    name: str,
    records: Sequence[RiskRecord],
    address: str = "127.0.0.1:0",
    *,
    items: tuple[Sequence[bytes], Sequence[bytes]] | None = None,
    run_cap: int = RUN_CAP,
    period_cap: int = PERIOD_CAP,
) -> tuple[Running, BilateralService]:
    """Start a contributor's BilateralScreen server; writes the bound address to the member's
    state directory (``screen-address``) so local brokers (demo, tests) can find it."""
    from api.servicers.screen import BilateralScreenServicer

    me = c.member(name)
    if not me.roles & Role.CONTRIBUTOR:
        raise ValueError(f"{name!r} is not a contributor")
    service = BilateralService(
        log_id=c.log_id,
        member_id=me.id,
        signing_key=c.signing_key(name),
        directory=directory_of(c),
        records=records,
        items=items,
        run_cap=run_cap,
        period_cap=period_cap,
        meter=Meter(c.state_dir(name) / "screen-meter.db", period_cap),
    )
    regs = [
        Registration(
            "riskshare.v1.BilateralScreen",
            BilateralScreenServicer(service),
            screen_pb2_grpc.add_BilateralScreenServicer_to_server,
        )
    ]
    server, port = create_server(address, regs, credentials=server_credentials(c, name))
    server.start()
    host = address.rsplit(":", 1)[0]
    (c.state_dir(name) / "screen-address").write_text(f"{host}:{port}\n")
    return Running(server, port), service


def contributor_address(c: Consortium, name: str) -> str:
    """Where a local contributor's screening server listens (written by start_contributor)."""
    path = c.state_dir(name) / "screen-address"
    if not path.exists():
        raise FileNotFoundError(f"{name!r} runs no screening server here: give its address")
    return path.read_text().strip()
