from __future__ import annotations

import pytest

from api.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert "riskshare" in capsys.readouterr().out


def test_selfcheck_passes() -> None:
    assert main(["selfcheck"]) == 0


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "selfcheck" in capsys.readouterr().out
