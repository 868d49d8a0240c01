"""gRPC server construction shared by every role (platform, key holder, contributor).

``create_server(address, registrations)`` binds (port 0 picks a free port, as tests do), adds the
standard health service, bounds message sizes, and returns ``(server, port)`` without starting
it. TLS is used when credentials are given; plaintext is only for loopback tests and the demo.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

# Bounded message sizes: the largest legitimate message is an index sync batch or a screening
# chunk, both capped well below this by the servicers themselves.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Registration:
    """A servicer and the generated ``add_XServicer_to_server`` function for it."""

    name: str  # full service name, for the health service, e.g. "riskshare.v1.Oprf"
    servicer: object
    add_to_server: Callable[[object, grpc.Server], None]


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    return host in {"localhost", "::1"} or host.startswith("127.")


def create_server(
    address: str,
    registrations: Iterable[Registration],
    *,
    credentials: grpc.ServerCredentials | None = None,
    max_workers: int = 16,
) -> tuple[grpc.Server, int]:
    if credentials is None and not _is_loopback(address):
        raise ValueError(f"refusing plaintext gRPC on non-loopback address {address!r}: configure TLS")
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_workers), options=options)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for reg in registrations:
        reg.add_to_server(reg.servicer, server)
        health_servicer.set(reg.name, health_pb2.HealthCheckResponse.SERVING)
    health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    if credentials is None:
        port = server.add_insecure_port(address)
    else:
        port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"could not bind gRPC server to {address}")
    return server, port


def channel(
    target: str,
    credentials: grpc.ChannelCredentials | None = None,
    extra_options: Sequence[tuple[str, int]] = (),
) -> grpc.Channel:
    """A client channel with the same message bounds as the server."""
    options = [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        *extra_options,
    ]
    if credentials is None:
        if not _is_loopback(target):
            raise ValueError(f"refusing plaintext gRPC to non-loopback target {target!r}: configure TLS")
        return grpc.insecure_channel(target, options=options)
    return grpc.secure_channel(target, credentials, options=options)
