"""Smoke test of the benchmark harness (figures are not asserted: performance lives in benchmarks)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.__main__ import main


def test_quick_sm_run_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["sm", "--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    ops = {r["operation"] for r in rows}
    assert {"SM3 1 MiB", "SM4-GCM encrypt 1 MiB"} <= ops
    assert all(r["ours"] > 0 for r in rows)
    assert all(r["ratio"] is None or r["ratio"] > 0 for r in rows)


def test_quick_oprf_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["oprf", "--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert any("server VOPRF eval" in r["operation"] for r in rows)
    assert all(r["ours"] > 0 for r in rows)


def test_quick_ot_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["ot", "--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert all(r["ours"] > 0 for r in rows)
    assert any(r["operation"].startswith("base OT") for r in rows)


def test_quick_ec_run_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["ec", "--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert len(rows) == 6
    assert all(r["ours"] > 0 and r["reference"] > 0 for r in rows)


@pytest.mark.slow
def test_ledger_area_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import ledger

    monkeypatch.setattr(
        ledger,
        "SIZES",
        {
            "merkle": (64, 64),
            "appends": (40, 40),
            "latency_s": (0.05, 0.05),
            "replay": (60, 60),
            "proof": (300, 300),
        },
    )
    out = tmp_path / "ledger.json"
    assert main(["ledger", "--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert len(rows) == 10 and all(r["ours"] > 0 for r in rows)


def test_service_area_smoke(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchmarks import service

    monkeypatch.setattr(
        service,
        "SIZES",
        {
            "records": (300, 300),
            "mirror_lookups": (6, 6),
            "oblivious_lookups": (2, 2),
            "throughput_s": (0.2, 0.2),
            "load_records": (200, 200),
        },
    )
    out = tmp_path / "service.json"
    assert main(["service", "--quick", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert len(rows) == 6 and all(r["ours"] > 0 for r in rows)
    assert sum("16 concurrent clients" in r["operation"] for r in rows) == 2
