"""Thin gRPC servicers: validate the message, call the domain service, convert the result.

``guarded`` turns domain exceptions into gRPC status codes through api.errors' one table.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

from api import errors

log = logging.getLogger("riskshare.servicer")
F = TypeVar("F", bound=Callable[..., Any])


def guarded(method: F) -> F:
    """Wrap a unary servicer method: domain errors become status codes with clear messages."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return method(self, request, context)
        except Exception as exc:
            code = errors.status_for(exc)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("internal error in %s", method.__name__)
            context.abort(code, errors.message_for(exc))

    return wrapper  # type: ignore[return-value]


G = TypeVar("G", bound=Callable[..., Iterator[Any]])


def guarded_stream(method: G) -> G:
    """The same for a server-streaming method: an error while streaming ends the stream with the
    status code of the table and a clear message."""

    @functools.wraps(method)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from method(self, request, context)
        except Exception as exc:
            code = errors.status_for(exc)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("internal error in %s", method.__name__)
            context.abort(code, errors.message_for(exc))

    return wrapper  # type: ignore[return-value]
