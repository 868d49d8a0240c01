"""Broker side of batch screening over gRPC (``DESIGN.md``, Protocols 4).

- :func:`screen_mirror`: the two-server OPRF over the broker's ID list in chunks of
  :data:`mpc.screen.CHUNK` (each chunk one signed evaluation request naming the SM3 hash of its
  blinded batch, metered and receipted by both servers), the outputs looked up in the broker's
  verified mirror, and ``screen`` ledger entries (mode 1) carrying both servers' receipts, one
  entry per :data:`mpc.screen.SEGMENT_CHUNKS` chunks. Every chunk's outputs and receipts go to
  the local journal first: an interrupted run resumes by replaying them, without evaluating (or
  paying for) any chunk twice.
- :func:`screen_bilateral`: labeled KKRT PSI against a contributor's own server
  (:mod:`api.contributor_server`); the contributor signs a receipt for bins + stash, which the
  broker's ``screen`` entry (mode 2) carries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from api import convert
from api._generated import screen_pb2, screen_pb2_grpc
from api.client import Mirror, Session, StaleState, sync
from api.oprf_client import EvaluationResult
from api.screen_wire import PART_BYTES, ScreenHello, ScreenReceipt, mirror_chunk_hash, run_hash
from ledger.checkpoint import Receipt
from ledger.entry import Kind, Role
from mpc import psi
from mpc import screen as sc
from mpc.exceptions import ProtocolAbort

MAX_MIRROR_AGE_MS = 10 * 60_000  # screening accepts a mirror synced from a checkpoint this recent
PARALLEL_CHUNKS = 2  # chunks in flight: the client blinds one while the servers evaluate another

Progress = Callable[[int], None]


@dataclass
class ScreenSummary:
    screened: int
    flagged: list[sc.Flagged]
    evaluated: int  # elements evaluated (and charged) by this invocation
    replayed: int  # elements replayed from the journal
    entries: list[Receipt] = field(default_factory=list)
    seconds: float = 0.0
    mode: int = sc.MODE_MIRROR
    charged: int = 0  # bilateral: bins + stash


def _record(s: Session, fields: dict[str, object]) -> Receipt:
    raw, sigs = s.request(Kind.SCREEN, fields)
    out = s.ledger.Submit(convert.signed_request(raw, sigs), timeout=60)
    receipt = convert.from_receipt(out.receipt)
    receipt.verify(s.platform_key)
    if not out.accepted:
        raise ProtocolAbort(f"the ledger rejected the screen entry: {out.reason}")
    return receipt


def screen_mirror(
    s: Session,
    mirror: Mirror,
    ids: sc.IdFile,
    journal_path: Path | str,
    *,
    progress: Progress | None = None,
    max_age_ms: int = MAX_MIRROR_AGE_MS,
    chunk: int = sc.CHUNK,
    sync_first: bool = True,
) -> ScreenSummary:
    if not ids.ok or not ids.subjects:
        raise ValueError("the ID file has errors: " + "; ".join(map(str, ids.errors[:5])))
    t0 = time.perf_counter()
    if sync_first or mirror.checkpoint is None:
        sync(s, mirror)  # screen against the newest witnessed index (an empty delta costs little)
    assert mirror.checkpoint is not None
    if time.time() * 1000 - mirror.checkpoint.time_ms > max_age_ms:
        age = (time.time() * 1000 - mirror.checkpoint.time_ms) / 1000
        raise StaleState(
            f"the newest witnessed checkpoint is {age:.0f} s old (bound {max_age_ms / 1000:.0f} s): "
            "screen when auditors have co-signed a newer one"
        )
    inputs = ids.inputs()
    if not 0 < chunk <= sc.CHUNK:
        raise ValueError(f"chunks hold 1 to {sc.CHUNK} IDs")
    ranges = sc.chunk_ranges(len(inputs), chunk)
    outputs: list[list[bytes]] = [[] for _ in ranges]
    receipts: list[list[bytes]] = [[] for _ in ranges]
    evaluated = replayed = 0
    run_key = sc.run_id(inputs, sc.MODE_MIRROR, chunk=chunk)
    with sc.Journal(journal_path, run_key, chunks=len(ranges)) as journal:
        todo: list[int] = []
        hashes = [sc.chunk_hash(inputs[a:b]) for a, b in ranges]
        for i, (a, b) in enumerate(ranges):
            stored = journal.get(i, hashes[i])
            if stored is None:
                todo.append(i)
                continue
            outputs[i], receipts[i] = stored
            replayed += b - a
            if progress:
                progress(b - a)

        def run(i: int) -> EvaluationResult:
            a, b = ranges[i]
            return s.oprf.evaluate(inputs[a:b], Kind.SCREEN)

        def keep(i: int, ev: EvaluationResult) -> None:
            nonlocal evaluated
            a, b = ranges[i]
            journal.put(i, hashes[i], ev.outputs, ev.receipts)
            outputs[i], receipts[i] = ev.outputs, ev.receipts
            evaluated += b - a
            if progress:
                progress(b - a)

        with ThreadPoolExecutor(max_workers=PARALLEL_CHUNKS) as pool:
            pending: dict[int, Future[EvaluationResult]] = {}
            nxt = 0
            try:
                while nxt < len(todo) or pending:
                    while nxt < len(todo) and len(pending) < PARALLEL_CHUNKS:
                        pending[todo[nxt]] = pool.submit(run, todo[nxt])
                        nxt += 1
                    i = min(pending)
                    ev = pending[i].result()  # an interrupt here leaves chunk i in ``pending``
                    del pending[i]
                    keep(i, ev)
            finally:
                # Interrupted: chunks already at the servers are paid for, so keep their answers.
                for i, f in sorted(pending.items()):
                    if not f.cancel() and f.exception() is None:
                        keep(i, f.result())
        keys = {m.name: m.sign_public() for m in s.c.with_role(Role.CONTRIBUTOR)}
        flat = [h for chunk in outputs for h in chunk]
        flagged = sc.match_mirror(mirror.index, ids, flat, s.epoch, keys)
        entries = []
        for seg, start in enumerate(range(0, len(ranges), sc.SEGMENT_CHUNKS)):
            if journal.recorded(seg) is not None:
                continue
            idx = range(start, min(len(ranges), start + sc.SEGMENT_CHUNKS))
            seg_receipts = [r for i in idx for r in receipts[i]]
            receipt = _record(
                s,
                {
                    "epoch": s.c.epoch,
                    "evaluations": sum(ranges[i][1] - ranges[i][0] for i in idx),
                    "mode": sc.MODE_MIRROR,
                    "chunk_hash": mirror_chunk_hash(seg_receipts, s.c.the(Role.PLATFORM).id),
                    "counterpart": 0,
                    "receipts": tuple(seg_receipts),
                },
            )
            journal.mark_recorded(seg, receipt.index)
            entries.append(receipt)
    return ScreenSummary(len(inputs), flagged, evaluated, replayed, entries, time.perf_counter() - t0)


# ---- bilateral --------------------------------------------------------------------------------------


def _parts(sid: bytes, data: bytes) -> Iterator[screen_pb2.Part]:
    for start in range(0, max(1, len(data)), PART_BYTES):
        end = start + PART_BYTES
        yield screen_pb2.Part(session_id=sid, data=data[start:end], last=end >= len(data))


def screen_bilateral(
    s: Session,
    contributor: str,
    address: str,
    ids: sc.IdFile,
    *,
    progress: Progress | None = None,
    channel: grpc.Channel | None = None,
    stash_size: int = 4,
) -> ScreenSummary:
    """Screen against a contributor's own list by labeled KKRT PSI; record a mode-2 entry."""
    from api.roles import channel_credentials
    from api.server import channel as make_channel

    if not ids.ok or not ids.subjects:
        raise ValueError("the ID file has errors: " + "; ".join(map(str, ids.errors[:5])))
    t0 = time.perf_counter()
    peer = s.c.member(contributor)
    if not peer.roles & Role.CONTRIBUTOR:
        raise ValueError(f"{contributor!r} is not a contributor")
    own = channel is None
    ch = channel or make_channel(address, channel_credentials(s.c, s.name))
    try:
        stub = screen_pb2_grpc.BilateralScreenStub(ch)
        inputs = ids.inputs()
        receiver = psi.PSIReceiver(inputs, stash_size=stash_size)
        hello = ScreenHello(s.c.log_id, s.member.id, peer.id, receiver.session_id, int(time.time() * 1000))
        m1 = receiver.start()
        r2 = stub.Start(
            screen_pb2.StartRequest(hello=hello.sign(s.identity.signing_key), message=m1), timeout=60
        )
        m3 = receiver.request(r2.message)
        if progress:
            progress(len(inputs) // 2)
        sid = receiver.session_id
        chunks: list[bytes] = []
        signed_receipt = b""
        for part in stub.Exchange(_parts(sid, m3), timeout=600):
            chunks.append(part.data)
            if part.receipt:
                signed_receipt = part.receipt
        found = receiver.finish(b"".join(chunks))
        hits = list(zip(found, receiver.labels(), strict=True))
        receipt = ScreenReceipt.verified(signed_receipt, peer.sign_public())
        charged = receiver.charge
        if (
            receipt.broker != s.member.id
            or receipt.contributor != peer.id
            or receipt.session_id != sid
            or receipt.charged != charged
            or receipt.log_id != s.c.log_id
            or receipt.run_hash != run_hash(sid, m1, r2.message, charged)
        ):
            raise ProtocolAbort("the contributor's receipt does not match the run")
    finally:
        if own:
            ch.close()
    flagged = [sc.Flagged(ids.lines[i], *ids.subjects[i], sc.label_categories(label)) for i, label in hits]
    entry = _record(
        s,
        {
            "epoch": s.c.epoch,
            "evaluations": charged,
            "mode": sc.MODE_BILATERAL,
            "chunk_hash": receipt.run_hash,
            "counterpart": peer.id,
            "receipts": (signed_receipt,),
        },
    )
    if progress:
        progress(len(inputs) - len(inputs) // 2)
    return ScreenSummary(
        len(inputs), flagged, 0, 0, [entry], time.perf_counter() - t0, sc.MODE_BILATERAL, charged
    )
