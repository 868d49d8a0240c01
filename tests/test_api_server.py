from __future__ import annotations

import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api.server import channel, create_server


def test_health_on_loopback() -> None:
    server, port = create_server("127.0.0.1:0", [])
    server.start()
    try:
        with channel(f"127.0.0.1:{port}") as ch:
            stub = health_pb2_grpc.HealthStub(ch)
            resp = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(None)


def test_plaintext_refused_off_loopback() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        create_server("0.0.0.0:0", [])
    with pytest.raises(ValueError, match="non-loopback"):
        channel("example.org:443")
