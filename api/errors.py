"""One table from domain exceptions to gRPC status codes, used by every servicer and the client.

Servicers raise domain exceptions; ``abort_for`` converts them. The client maps status codes back
to CLI exit codes (0 ok, 1 refused or not found, 2 bad input).
"""

from __future__ import annotations

import grpc

from mpc import exceptions as mpc_exc


class ServiceError(Exception):
    """An error the service reports to its caller with a status code and a clear message."""

    code = grpc.StatusCode.INTERNAL


class BadRequest(ServiceError, ValueError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class Unauthenticated(ServiceError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ServiceError):
    code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class Refused(ServiceError):
    """An authenticated request the rules refuse (quota, balance, stale epoch): logged as rejected."""

    code = grpc.StatusCode.FAILED_PRECONDITION


class Exhausted(ServiceError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


# Order matters: the first matching class wins (subclasses before their bases).
STATUS_TABLE: list[tuple[type[BaseException], grpc.StatusCode]] = [
    (ServiceError, grpc.StatusCode.INTERNAL),  # placeholder: ServiceError carries its own code
    (mpc_exc.InvalidSignature, grpc.StatusCode.UNAUTHENTICATED),
    (mpc_exc.InvalidProof, grpc.StatusCode.INVALID_ARGUMENT),
    (mpc_exc.InvalidPoint, grpc.StatusCode.INVALID_ARGUMENT),
    (mpc_exc.InvalidTag, grpc.StatusCode.INVALID_ARGUMENT),
    (mpc_exc.InvalidEnvelope, grpc.StatusCode.INVALID_ARGUMENT),
    (mpc_exc.DecryptionError, grpc.StatusCode.INVALID_ARGUMENT),
    (mpc_exc.ProtocolAbort, grpc.StatusCode.ABORTED),
    (mpc_exc.ProtocolStateError, grpc.StatusCode.FAILED_PRECONDITION),
    (mpc_exc.PaillierOverflow, grpc.StatusCode.OUT_OF_RANGE),
    (mpc_exc.InternalError, grpc.StatusCode.INTERNAL),
    (mpc_exc.InvalidIndexOperation, grpc.StatusCode.INVALID_ARGUMENT),
    (ValueError, grpc.StatusCode.INVALID_ARGUMENT),
    (TypeError, grpc.StatusCode.INVALID_ARGUMENT),
    (KeyError, grpc.StatusCode.NOT_FOUND),
]


def status_for(exc: BaseException) -> grpc.StatusCode:
    if isinstance(exc, ServiceError):
        return exc.code
    for cls, code in STATUS_TABLE:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


def message_for(exc: BaseException) -> str:
    """The message sent to the caller: the exception's text for domain errors, never a traceback
    and never internal details of unexpected failures."""
    code = status_for(exc)
    if code is grpc.StatusCode.INTERNAL and not isinstance(exc, ServiceError | mpc_exc.InternalError):
        return "internal error"
    return f"{type(exc).__name__}: {exc}"


EXIT_CODES: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 0,
    grpc.StatusCode.INVALID_ARGUMENT: 2,
    grpc.StatusCode.OUT_OF_RANGE: 2,
}


def exit_code(code: grpc.StatusCode) -> int:
    """CLI exit code for a status: 2 for bad input, 0 for OK, 1 for everything refused or missing."""
    return EXIT_CODES.get(code, 1)
