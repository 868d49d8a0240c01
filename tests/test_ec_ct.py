"""Constant-time evidence for area 'ec': tests/ct/ec_ct.c under valgrind memcheck with the secrets
(the OPRF input hashed to the curve, blinds and key scalars in mod-n arithmetic) marked undefined
(ctgrind). A branch or memory index that depends on them makes valgrind report an uninitialised
value and exit 1. Runs the portable field multiplication and, valgrind decoding mulx/adcx/adox,
the BMI2/ADX one."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "mpc" / "_native"
DRIVER = ROOT / "tests" / "ct" / "ec_ct.c"

pytestmark = [
    pytest.mark.valgrind,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (make sysdeps)"),
    pytest.mark.skipif(
        not Path("/usr/include/valgrind/memcheck.h").exists(), reason="valgrind headers are not installed"
    ),
]


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("ct") / "ec_ct"
    cmd = [
        "gcc",
        "-O2",
        "-g",
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Werror",
        f"-I{NATIVE}",
        f"-I{sysconfig.get_paths()['include']}",
        str(DRIVER),
        str(NATIVE / "ec_field.c"),
        str(NATIVE / "ec_h2c.c"),
        str(NATIVE / "ec_sm3.c"),
        str(NATIVE / "ec_ossl.c"),
        "-o",
        str(exe),
        "-lcrypto",
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def run_valgrind(exe: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["valgrind", "-q", "--error-exitcode=1", "--track-origins=yes", str(exe), mode],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("mode", ["portable", "adx"])
def test_hash_to_curve_and_scalar_arithmetic_are_secret_independent(driver: Path, mode: str) -> None:
    if mode == "adx":
        from mpc._binding import cpu_features

        f = cpu_features()
        if not (f["bmi2"] and f["adx"]):
            pytest.skip("CPU without BMI2/ADX")
    res = run_valgrind(driver, mode)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "uninitialised" not in res.stderr
    assert f"ec ct ok ({mode})" in res.stdout


def test_checker_is_live(driver: Path) -> None:
    res = run_valgrind(driver, "control")
    assert res.returncode == 1
    assert "Conditional jump or move depends on uninitialised value" in res.stderr
