"""A bad slot in an oblivious lookup is provable to the auditors (DESIGN.md, Protocols 3): the
platform signs every OT transcript; the broker's report holds it with its OT randomness; the
auditors' check confirms a bad slot, calls an honest run's report unfounded, and refuses forged
reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from api import client, slot_report
from api.cli import main
from api.consortium import Consortium
from api.platform import Platform
from ledger.entry import Role
from mpc import index as mindex
from mpc import lookup as mlookup
from mpc.exceptions import InvalidProof, ProtocolAbort
from mpc.records import RiskRecord, SyntheticSource
from tests._service import consortium, live

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor",
    "broker:broker",
    "audit-1:auditor",
]


@pytest.fixture
def net(tmp_path: Path) -> Iterator[tuple[Consortium, Platform, client.Session, list[RiskRecord]]]:
    with live(consortium(tmp_path / "c", SPECS)) as svc:
        records = SyntheticSource(seed=21).records(20)
        svc.contribute("sec-a", records, "audit-1")
        yield svc.c, svc.platform, svc["broker"], records


def _check(c: Consortium, report: slot_report.SlotReport) -> slot_report.Verdict:
    return slot_report.check(
        report,
        c.the(Role.PLATFORM).sign_public(),
        bits=len(report.path),
        bucket_size=c.bucket_size,
        cap=c.slot_cap,
    )


def test_a_bad_slot_is_confirmed_from_the_report(
    net: tuple[Consortium, Platform, client.Session, list[RiskRecord]],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    c, _, broker, records = net
    honest = mindex.Snapshot.ot_messages

    def corrupt(self: mindex.Snapshot, bucket: int) -> list[bytes]:
        return [m[:10] + bytes([m[10] ^ 1]) + m[11:] for m in honest(self, bucket)]

    monkeypatch.setattr(mindex.Snapshot, "ot_messages", corrupt)
    r = records[0]
    out = client.lookup_oblivious(broker, r.subject_type, r.subject_id)
    assert out.result.bad_slot and not out.result.hit  # completed identically, nothing shown
    report = out.slot_report
    assert report is not None and "slot_report" not in repr(out)
    assert _check(c, report) is slot_report.Verdict.CONFIRMED
    again = slot_report.SlotReport.from_json(report.to_json())
    assert again == report
    # the auditor's command, against the ledger's checkpoints
    path = tmp_path / "report.json"
    path.write_text(report.to_json())
    ledger = c.state_dir("platform") / "ledger.db"
    assert main(["--dir", str(c.root), "audit", "slot", str(path), str(ledger)]) == 0
    assert '"confirmed"' in capsys.readouterr().out
    # forged reports are refused, not judged
    forged = [
        dataclasses.replace(report, platform_signature=report.platform_signature[:-1] + b"\x00"),
        dataclasses.replace(report, choice=(report.choice + 1) % c.bucket_size),
        dataclasses.replace(report, member=report.member + 1),
        dataclasses.replace(report, snapshot_root=bytes(32)),
    ]
    for bad in forged:
        with pytest.raises(InvalidProof):
            _check(c, bad)
    other = bytearray(report.ot_randomness)
    other[-1] ^= 1
    with pytest.raises(InvalidProof):
        _check(c, dataclasses.replace(report, ot_randomness=bytes(other)))
    path.write_text("{}")
    assert main(["--dir", str(c.root), "audit", "slot", str(path), str(ledger)]) == 2


def test_a_false_report_of_an_honest_run_is_unfounded(
    net: tuple[Consortium, Platform, client.Session, list[RiskRecord]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c, _, broker, records = net
    honest = mlookup.ObliviousLookup.receive_slot

    def lying(self: mlookup.ObliviousLookup, payload: bytes, keys: object = None) -> mlookup.LookupResult:
        honest(self, payload, keys)  # type: ignore[arg-type]
        self.evidence = mlookup.SlotEvidence(self.bucket, self.choice or 0, payload, "claimed bad")
        return mlookup.LookupResult(bad_slot=True)

    monkeypatch.setattr(mlookup.ObliviousLookup, "receive_slot", lying)
    r = records[1]
    out = client.lookup_oblivious(broker, r.subject_type, r.subject_id)
    assert out.slot_report is not None
    assert _check(c, out.slot_report) is slot_report.Verdict.UNFOUNDED


def test_an_unsigned_transcript_with_a_bad_slot_aborts_the_lookup(
    net: tuple[Consortium, Platform, client.Session, list[RiskRecord]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, _, broker, records = net
    monkeypatch.setattr(Platform, "sign_ot_transcript", lambda self, *a: b"\x30\x00")
    r = records[2]
    assert client.lookup_oblivious(broker, r.subject_type, r.subject_id).result.hit  # good slot: no need
    honest = mindex.Snapshot.ot_messages
    monkeypatch.setattr(
        mindex.Snapshot,
        "ot_messages",
        lambda self, b: [m[:10] + bytes([m[10] ^ 1]) + m[11:] for m in honest(self, b)],
    )
    with pytest.raises(ProtocolAbort, match="did not sign"):
        client.lookup_oblivious(broker, r.subject_type, r.subject_id)
