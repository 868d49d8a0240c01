"""The CLI as a user runs it: init, two servers as separate processes, contribute, co-sign, sync,
lookup, revoke; the platform is restarted between steps and its state persists."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mpc.records import SyntheticSource, records_to_csv

pytestmark = pytest.mark.xdist_group("cli")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent), **(env or {})},
    )


def _serve(d: Path, role: str) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", str(d), "--role", role, "--publish-interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
    )
    return p


def _wait_port(port: int, proc: subprocess.Popen[str]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not open")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=20)


def test_cli_session(tmp_path: Path) -> None:
    d = tmp_path / "c"
    pp, kp = _free_port(), _free_port()
    r = _cli(
        "init",
        str(d),
        "--member",
        "platform:platform+admin",
        "--member",
        "supervisor:keyholder+admin",
        "--member",
        "sec-a:contributor+broker+mirror",
        "--member",
        "audit-1:auditor",
        "--platform-address",
        f"127.0.0.1:{pp}",
        "--keyholder-address",
        f"127.0.0.1:{kp}",
    )
    assert r.returncode == 0, r.stderr
    assert "DEMO/TEST ONLY" in r.stderr
    records = SyntheticSource(seed=3).records(25)
    (tmp_path / "list.csv").write_text(records_to_csv(records))
    (tmp_path / "bad.csv").write_text(
        records_to_csv(records[:2]).replace(records[0].subject_id, "110101199003071234")
    )
    platform, keyholder = _serve(d, "platform"), _serve(d, "keyholder")
    try:
        _wait_port(pp, platform)
        _wait_port(kp, keyholder)
        base = ("--dir", str(d), "--as", "sec-a")
        bad = _cli(*base, "contribute", str(tmp_path / "bad.csv"))
        assert bad.returncode == 2 and "line 2" in bad.stderr and "nothing was sent" in bad.stderr
        up = _cli(*base, "contribute", str(tmp_path / "list.csv"), "--json")
        assert up.returncode == 0, up.stderr
        assert json.loads(up.stdout)["accepted"] == 25
        # restart the platform: the ledger, index and meter persist
        _stop(platform)
        platform = _serve(d, "platform")
        _wait_port(pp, platform)
        # the auditor co-signs once a checkpoint covers the scheduled publication
        for _ in range(40):
            co = _cli("--dir", str(d), "--as", "audit-1", "cosign")
            assert co.returncode == 0, co.stderr
            if "(index size 25)" in co.stderr:
                break
            time.sleep(0.25)
        assert "(index size 25)" in co.stderr

        hit = _cli(*base, "lookup", records[4].subject_id, "--type", records[4].subject_type.value, "--json")
        assert hit.returncode == 0, hit.stderr
        doc = json.loads(hit.stdout)
        assert doc["hit"] and doc["records"][0]["reference"] == records[4].reference
        ids = "\n".join(SyntheticSource(seed=99).resident_id() for _ in range(2)) + "\n"
        miss = _cli(*base, "lookup", "-", stdin=ids)
        assert miss.returncode == 1 and "no record" in miss.stderr
        badid = _cli(*base, "lookup", "110101199003071234")
        assert badid.returncode == 2 and "check" in badid.stderr.lower()
        wrong = _cli("--dir", str(d), "--as", "audit-1", "lookup", records[4].subject_id)
        assert wrong.returncode == 1 and "refused" in wrong.stderr
        # a new broker makes its own keys; an administrator enrols it on the ledger; the running
        # servers learn of it without a restart
        pw = {"RISKSHARE_PASSPHRASE": "correct horse battery staple"}
        kg = _cli("keygen", str(d), "--name", "sec-new", "--roles", "broker", env=pw)
        assert kg.returncode == 0, kg.stderr
        assert json.loads(kg.stdout)["roles"] == ["broker"]
        req = d / "keys" / "sec-new" / "enrolment.json"
        denied = _cli(*base, "enrol", str(req))
        assert denied.returncode == 2 and "not an administrator" in denied.stderr
        en = _cli("--dir", str(d), "--as", "platform", "enrol", str(req), "--mirror")
        assert en.returncode == 0 and "enrolled sec-new" in en.stderr, en.stderr
        # the key holder follows the ledger's members: it serves sec-new once a witnessed
        # checkpoint covers the member entry (the auditor co-signs it)
        height = int(re.search(r"ledger entry (\d+)", en.stderr).group(1))  # type: ignore[union-attr]
        for _ in range(40):
            co = _cli("--dir", str(d), "--as", "audit-1", "cosign")
            assert co.returncode == 0, co.stderr
            if int(re.search(r"checkpoint of size (\d+)", co.stderr).group(1)) > height:  # type: ignore[union-attr]
                break
            time.sleep(0.25)
        new = _cli(
            "--dir",
            str(d),
            "--as",
            "sec-new",
            "lookup",
            records[4].subject_id,
            "--type",
            records[4].subject_type.value,
            env=pw,
        )
        assert new.returncode == 0, new.stderr
        rv = _cli(*base, "revoke", str(tmp_path / "list.csv"))

        assert rv.returncode == 0 and "revoked 25" in rv.stderr, rv.stderr
    finally:
        _stop(platform)
        _stop(keyholder)
