"""Constant-time evidence for the SM2 core: tests/ct/sm2core_ct.c under valgrind memcheck with
the secret scalars marked undefined (ctgrind). Any branch or memory index that depends on a
secret makes valgrind report an uninitialised-value use and exit 1. Runs the portable path and,
valgrind decoding mulx/adcx/adox, the BMI2/ADX path too."""

from __future__ import annotations

import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "mpc" / "_native"
DRIVER = ROOT / "tests" / "ct" / "sm2core_ct.c"

pytestmark = [
    pytest.mark.valgrind,
    pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed (make sysdeps)"),
    pytest.mark.skipif(
        not Path("/usr/include/valgrind/memcheck.h").exists(), reason="valgrind headers are not installed"
    ),
]


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("ct") / "sm2core_ct"
    cmd = [
        "gcc",
        "-O2",
        "-g",
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Werror",
        "-DRS_SM2C_CTGRIND",
        f"-I{NATIVE}",
        f"-I{sysconfig.get_paths()['include']}",
        str(DRIVER),
        str(NATIVE / "sm2core_arith.c"),
        "-o",
        str(exe),
        "-lcrypto",
        "-lgmp",
        "-lpthread",
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
def test_secret_independent_under_valgrind(driver: Path, mode: str) -> None:
    if mode == "adx":
        from mpc._binding import cpu_features

        f = cpu_features()
        if not (f["bmi2"] and f["adx"] and f["avx2"]):
            pytest.skip("CPU without BMI2/ADX/AVX2")
    res = run_valgrind(driver, mode)
    assert res.returncode == 0, res.stderr
    assert "uninitialised" not in res.stderr
    assert f"{'bmi2/adx' if mode == 'adx' else 'portable'} path ok" in res.stdout


def test_checker_is_live(driver: Path) -> None:
    res = run_valgrind(driver, "control")
    assert res.returncode == 1
    assert "Conditional jump or move depends on uninitialised value" in res.stderr
