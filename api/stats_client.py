"""Member-side statistics flows over gRPC: define a round, submit, hand over seeds, release.

Every step reads the round from the member's own copy of the ledger, verified against the
platform-signed checkpoint (:class:`api.stats_ledger.LedgerFollower`), never from what the
platform's ``GetRound`` says. A participant keeps the hash of its submission (and of the close
it sent seeds for) in ``state/<member>/stats-rounds.json`` so that it can hand over its seeds in
a later run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from api import convert
from api._generated import common_pb2, stats_pb2, stats_pb2_grpc
from api.client import Session
from api.consortium import Consortium
from api.reads import ReadMethod
from api.stats_ledger import LedgerFollower, StatLedger
from api.stats_service import cells_hash, member_keys
from ledger.checkpoint import Receipt
from ledger.entry import Kind, Role
from mpc.exceptions import ProtocolAbort
from mpc.records import RiskRecord
from mpc.sm2 import SM2PrivateKey
from mpc.stats import (
    DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH,
    DEFAULT_K,
    Participant,
    Querier,
    Release,
    StatisticResult,
    get_statistic,
    tabulate_defaults,
)

STATE_FILE = "stats-rounds.json"


@dataclass(frozen=True)
class SubmitSummary:
    round_id: int
    submission_hash: bytes
    size: int
    receipt: Receipt
    closed: bool


class StatsClient:
    """A member's statistics calls over its :class:`api.client.Session`."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.stats = stats_pb2_grpc.StatsStub(s.platform_channel)
        self.release_stub = stats_pb2_grpc.StatsReleaseStub(s.keyholder_channel)
        self.follower = LedgerFollower(s.ledger, s.platform_key, s.c.log_id, s.reader)
        self.members = member_keys(s.c)
        self._agree: SM2PrivateKey | None = None

    def agreement_key(self) -> SM2PrivateKey:
        """This member's key-agreement key, decrypted once per client (the KDF costs ~70 ms)."""
        if self._agree is None:
            self._agree = self.s.c.agreement_key(self.s.name)
        return self._agree

    def ledger(self) -> StatLedger:
        return self.follower.refresh()

    # -- state kept by a participant --------------------------------------------------------------

    def _state_path(self) -> Path:
        return self.s.c.state_dir(self.s.name) / STATE_FILE

    def _state(self) -> dict[str, dict[str, str]]:
        p = self._state_path()
        return json.loads(p.read_text()) if p.exists() else {}

    def _save(self, round_id: int, **values: str) -> None:
        st = self._state()
        st.setdefault(str(round_id), {}).update(values)
        tmp = self._state_path().with_suffix(".tmp")
        tmp.write_text(json.dumps(st, indent=1, sort_keys=True))
        tmp.replace(self._state_path())

    # -- administrator ----------------------------------------------------------------------------

    def ensure_key(self) -> StatLedger:
        """The ledger view, after the key holder has published its Paillier key (the first round
        asks it to make and publish one)."""
        view = self.ledger()
        holder = self.s.c.the(Role.KEYHOLDER).id
        if holder not in view.current_key:
            self.release_stub.PublishKey(common_pb2.Empty(), timeout=120)
            deadline = time.monotonic() + 5  # the stat_key entry shows once a checkpoint covers it
            while holder not in view.current_key and time.monotonic() < deadline:
                time.sleep(0.2)
                view = self.ledger()
            if holder not in view.current_key:
                raise ProtocolAbort("the key holder has not published its Paillier key yet")
        return view

    def define(
        self,
        statistic: int | str,
        period: int,
        participants: Sequence[str],
        *,
        k: int = DEFAULT_K,
        deadline_ms: int = 0,
        round_id: int | None = None,
    ) -> tuple[int, Receipt]:
        """Open a round of ``statistic`` for ``period`` with the named participants."""
        spec = get_statistic(statistic)  # ValueError names the known statistics
        ids = sorted({self.s.c.member(n).id for n in participants})
        view = self.ensure_key()
        holder = self.s.c.the(Role.KEYHOLDER).id
        rid = round_id if round_id is not None else max(view.rounds, default=0) + 1  # taken: refused
        raw, sigs = self.s.request(
            Kind.STAT_ROUND,
            {
                "round_id": rid,
                "statistic": spec.code,
                "period": period,
                "key_id": view.current_key[holder],
                "k": k,
                "participants": tuple(ids),
            },
        )
        out = self.stats.Define(
            stats_pb2.DefineRoundRequest(request=convert.signed_request(raw, sigs), deadline_ms=deadline_ms),
            timeout=30,
        )
        receipt = convert.from_receipt(out.receipt)
        receipt.verify(self.s.platform_key)
        return rid, receipt

    def close(self, round_id: int) -> tuple[int, ...]:
        """Administrator: have the platform close the round now; returns the non-submitters."""
        raw, sigs = self.s.request(Kind.STAT_CLOSE, {"round_id": round_id, "non_submitters": ()})
        out = self.stats.Close(
            stats_pb2.CloseRoundRequest(request=convert.signed_request(raw, sigs)), timeout=30
        )
        return tuple(out.non_submitters)

    # -- participant ------------------------------------------------------------------------------

    def participant(self, round_id: int, *, min_k: int = DEFAULT_K) -> Participant:
        view = self.ledger()
        spec = view.round_spec(round_id, self.members)
        st = self._state().get(str(round_id), {})
        return Participant(
            spec,
            self.s.member.id,
            self.s.identity.signing_key,
            self.agreement_key(),
            min_k=min_k,
            submitted=bytes.fromhex(st["submitted"]) if "submitted" in st else None,
            seeded=bytes.fromhex(st["seeded"]) if "seeded" in st else None,
        )

    def submit(self, round_id: int, values: object, *, min_k: int = DEFAULT_K) -> SubmitSummary:
        """Pack, mask, encrypt and sign ``values`` (measures × cells) and submit them."""
        part = self.participant(round_id, min_k=min_k)
        if self.follower.stats.round(round_id).closed:
            raise ProtocolAbort(f"statistics round {round_id} is closed")
        sub = part.submit(values)  # ValueError / TypeError for a wrong shape, before anything is sent
        data = sub.to_bytes()
        h = sub.submission_hash()
        raw, sigs = self.s.request(
            Kind.STAT_SUBMIT, {"round_id": round_id, "submission_hash": h, "size": len(data)}
        )
        out = self.stats.Submit(
            stats_pb2.StatSubmitRequest(request=convert.signed_request(raw, sigs), submission=data),
            timeout=60,
        )
        receipt = convert.from_receipt(out.receipt)
        receipt.verify(self.s.platform_key)
        self._save(round_id, submitted=h.hex())
        return SubmitSummary(round_id, h, len(data), receipt, out.closed)

    def send_seeds(self, round_id: int) -> int:
        """After the close: this survivor's seeds with the listed non-submitters, sealed to the key
        holder. Returns how many non-submitters they cover (0: nothing to send)."""
        self.status(round_id)  # the platform closes a round whose deadline passed when asked
        part = self.participant(round_id)
        closed = self.follower.stats.closed_round(round_id, self.members)
        if not closed.non_submitters:
            return 0
        share = part.seed_share(closed, self.s.c.the(Role.KEYHOLDER).agree_public())
        self.release_stub.SendSeeds(stats_pb2.SeedShareRequest(share=share), timeout=30)
        seeded = part.seeded_close
        assert seeded is not None
        self._save(round_id, seeded=seeded.hex())
        return len(closed.non_submitters)

    # -- querier ----------------------------------------------------------------------------------

    def release(self, round_id: int, cells: Iterable[int] = ()) -> tuple[StatisticResult, Receipt]:
        """Ask the key holder for the round's cells (all by default), open the sealed result."""
        wanted = sorted(set(cells))
        self.status(round_id)  # the platform closes a round whose deadline passed when asked
        raw, sigs = self.s.request(
            Kind.STAT_RELEASE,
            {
                "round_id": round_id,
                "querier": self.s.member.id,
                "cells": len(wanted),
                "result_hash": cells_hash(wanted),
            },
        )
        out = self.release_stub.Release(
            stats_pb2.ReleaseRequest(request=convert.signed_request(raw, sigs), cells=wanted), timeout=120
        )
        receipt = convert.from_receipt(out.receipt)
        receipt.verify(self.s.platform_key)
        rel = Release.from_bytes(bytes(out.release))
        spec = self.ledger().round_spec(round_id, self.members)
        querier = Querier(self.s.member.id, self.agreement_key())
        return querier.open(rel, spec), receipt

    def status(self, round_id: int) -> stats_pb2.RoundStatus:
        out: stats_pb2.RoundStatus = self.stats.GetRound(
            stats_pb2.RoundRequest(round_id=round_id, auth=self.s.reader.ledger(ReadMethod.ROUND, round_id)),
            timeout=30,
        )
        return out


def format_result(res: StatisticResult, *, suppressed_rows: bool = True) -> str:
    """A released statistic as a text table (one row per cell, suppressed cells marked)."""
    spec = res.statistic
    lines = [
        f"{spec.name}, period {res.period}, round {res.round_id}: {len(res.values)} cells released, "
        f"{len(res.suppressed)} suppressed (fewer than k contributors)"
    ]
    width = max(len(" / ".join(spec.cell_labels(c))) for c in range(spec.cells))
    lines.append(f"  {'cell':<{width}}  " + "  ".join(f"{m:>18}" for m in spec.measures))
    for cell in range(spec.cells):
        label = " / ".join(spec.cell_labels(cell))
        if cell in res.values:
            lines.append(f"  {label:<{width}}  " + "  ".join(f"{v:>18,}" for v in res.values[cell]))
        elif cell in res.suppressed and suppressed_rows:
            lines.append(f"  {label:<{width}}  " + "  ".join(f"{'(suppressed)':>18}" for _ in spec.measures))
    return "\n".join(lines)


@dataclass(frozen=True)
class DemoRound:
    round_id: int
    submitted: tuple[str, ...]
    dropped: tuple[str, ...]
    result: StatisticResult
    release_receipt: Receipt
    seconds: float


def demo_round(
    c: Consortium,
    *,
    admin: str,
    contributors: Sequence[str],
    querier: str,
    period: int,
    records: Mapping[str, Sequence[RiskRecord]],
    drop: Sequence[str] = (),
    platform_address: str | None = None,
    keyholder_address: str | None = None,
) -> DemoRound:
    """One whole round for ``riskshare demo``: ``admin`` opens it, every contributor not in
    ``drop`` submits its tabulated ``records``, ``admin`` closes it, the survivors hand over their
    seeds if anyone dropped, and ``querier`` receives the release."""
    start = time.perf_counter()
    names = [admin, querier, *contributors]
    clients = {
        n: StatsClient(Session.connect(c, n, platform_address, keyholder_address))
        for n in dict.fromkeys(names)
    }
    try:
        rid, _ = clients[admin].define(DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH.name, period, contributors)
        survivors = [n for n in contributors if n not in drop]
        closed = False
        for n in survivors:
            closed = clients[n].submit(rid, tabulate_defaults(records[n], period)).closed
        if not closed:
            clients[admin].close(rid)
        if drop:
            for n in survivors:
                clients[n].send_seeds(rid)
        result, receipt = clients[querier].release(rid)
    finally:
        for sc in clients.values():
            sc.s.close()
    return DemoRound(rid, tuple(survivors), tuple(drop), result, receipt, time.perf_counter() - start)
