"""``riskshare dispute open|decide|list`` as a user runs it, against served platform and key
holder processes: exit codes 0 / 1 / 2, ``--json`` output, and the entry leaving lookups."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mpc.records import SyntheticSource, records_to_csv
from tests.test_e2e_cli import _cli, _free_port, _serve, _stop, _wait_port

pytestmark = pytest.mark.xdist_group("cli")


def _cosign_until(d: Path, size: int) -> None:
    for _ in range(60):
        co = _cli("--dir", str(d), "--as", "audit-1", "cosign")
        assert co.returncode == 0, co.stderr
        if f"(index size {size})" in co.stderr:
            return
        time.sleep(0.25)
    raise AssertionError(f"no checkpoint of index size {size}: {co.stderr}")


def test_dispute_cli(tmp_path: Path) -> None:
    d = tmp_path / "c"
    pp, kp = _free_port(), _free_port()
    members = ["platform:platform+admin", "supervisor:keyholder+admin", "sec-a:contributor+broker+mirror"]
    args = [x for m in [*members, "audit-1:auditor"] for x in ("--member", m)]
    r = _cli(
        "init",
        str(d),
        *args,
        "--platform-address",
        f"127.0.0.1:{pp}",
        "--keyholder-address",
        f"127.0.0.1:{kp}",
    )
    assert r.returncode == 0, r.stderr
    records = SyntheticSource(seed=13).records(5)
    (tmp_path / "list.csv").write_text(records_to_csv(records))
    (tmp_path / "complaint.txt").write_text("the subject disputes the record\n")
    platform, keyholder = _serve(d, "platform"), _serve(d, "keyholder")
    try:
        _wait_port(pp, platform)
        _wait_port(kp, keyholder)
        a = ("--dir", str(d), "--as", "sec-a")
        admin = ("--dir", str(d), "--as", "platform")
        assert _cli(*a, "contribute", str(tmp_path / "list.csv")).returncode == 0
        _cosign_until(d, 5)
        rec = records[2]
        hit = _cli(*a, "lookup", rec.subject_id, "--type", rec.subject_type.value, "--json")
        assert hit.returncode == 0, hit.stderr
        eid = json.loads(hit.stdout)["records"][0]["entry_id"]

        assert _cli("dispute", "--help").returncode == 0
        assert _cli("dispute", "decide", "--help").returncode == 0
        bad = _cli(*a, "dispute", "open", "not-hex")
        assert bad.returncode == 2 and "32 hex digits" in bad.stderr
        unknown = _cli(*a, "dispute", "open", "00" * 16)
        assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr
        both = _cli(*admin, "dispute", "decide", "1", "--uphold", "--dismiss")
        assert both.returncode == 2

        op = _cli(
            *a,
            "dispute",
            "open",
            eid,
            "--evidence",
            str(tmp_path / "complaint.txt"),
            "--cosign",
            "platform",
            "--json",
        )
        assert op.returncode == 0, op.stderr
        filed = json.loads(op.stdout)
        assert filed["status"] == "open" and filed["frozen_by_filing"] and filed["entry_id"] == eid
        ls = _cli(*a, "dispute", "list", "--json")
        assert ls.returncode == 0 and [x["dispute_id"] for x in json.loads(ls.stdout)] == [
            filed["dispute_id"]
        ]
        table = _cli(*admin, "dispute", "list")
        assert table.returncode == 0 and "open" in table.stdout

        missing = _cli(*admin, "dispute", "decide", "12345", "--uphold")
        assert missing.returncode == 1
        not_admin = _cli(*a, "dispute", "decide", str(filed["dispute_id"]), "--uphold")
        assert not_admin.returncode == 1 and "PERMISSION_DENIED" in not_admin.stderr
        dec = _cli(*admin, "dispute", "decide", str(filed["dispute_id"]), "--uphold", "--json")
        assert dec.returncode == 0, dec.stderr
        assert json.loads(dec.stdout)["status"] == "upheld"
        again = _cli(*admin, "dispute", "decide", str(filed["dispute_id"]), "--dismiss")
        assert again.returncode == 1 and "FAILED_PRECONDITION" in again.stderr

        _cosign_until(d, 7)  # five adds, the freeze and the removal
        gone = _cli(*a, "lookup", rec.subject_id, "--type", rec.subject_type.value, "--json")
        assert gone.returncode == 0, gone.stderr
        assert all(x["entry_id"] != eid for x in json.loads(gone.stdout)["records"])
    finally:
        _stop(platform)
        _stop(keyholder)
