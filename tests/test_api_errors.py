from __future__ import annotations

import grpc
import pytest

from api import errors
from api.proto import generate
from mpc import exceptions as mpc_exc


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (mpc_exc.InvalidSignature("bad"), grpc.StatusCode.UNAUTHENTICATED),
        (mpc_exc.InvalidProof("bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (mpc_exc.InvalidPoint("bad"), grpc.StatusCode.INVALID_ARGUMENT),
        (mpc_exc.ProtocolAbort("bad"), grpc.StatusCode.ABORTED),
        (errors.Refused("quota"), grpc.StatusCode.FAILED_PRECONDITION),
        (errors.PermissionDenied("role"), grpc.StatusCode.PERMISSION_DENIED),
        (ValueError("bad id"), grpc.StatusCode.INVALID_ARGUMENT),
        (RuntimeError("boom"), grpc.StatusCode.INTERNAL),
    ],
)
def test_status_table(exc: BaseException, code: grpc.StatusCode) -> None:
    assert errors.status_for(exc) is code


def test_internal_details_do_not_leak() -> None:
    assert errors.message_for(RuntimeError("secret path /x")) == "internal error"
    assert "quota" in errors.message_for(errors.Refused("quota exhausted"))


def test_exit_codes() -> None:
    assert errors.exit_code(grpc.StatusCode.OK) == 0
    assert errors.exit_code(grpc.StatusCode.INVALID_ARGUMENT) == 2
    assert errors.exit_code(grpc.StatusCode.NOT_FOUND) == 1
    assert errors.exit_code(grpc.StatusCode.PERMISSION_DENIED) == 1


def test_generated_code_is_current() -> None:
    assert generate.check() == 0, "api/_generated is stale: run python -m api.proto.generate"
