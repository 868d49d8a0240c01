"""Smoke run of the ``incentive`` benchmark area (figures are reported, not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.__main__ import main


def test_quick_incentive_run(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["incentive", "--quick", "--json", str(out)]) == 0
    rows = {r["operation"]: r for r in json.loads(out.read_text())}
    assert {"apply rule events (mixed stream)", "state root, 10k changed balances"} <= set(rows)
    assert all(r["ours"] > 0 for r in rows.values())
    assert "target" in rows["apply rule events (mixed stream)"]["note"]
