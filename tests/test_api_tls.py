from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api.server import channel, create_server
from api.tls import issue, make_ca


def test_tls_round_trip_on_loopback() -> None:
    ca = make_ca()
    srv = issue(ca, "platform", ["127.0.0.1", "localhost"], server=True)
    creds = grpc.ssl_server_credentials([(srv.key_pem, srv.cert_pem)])
    server, port = create_server("127.0.0.1:0", [], credentials=creds)
    server.start()
    try:
        client_creds = grpc.ssl_channel_credentials(root_certificates=ca.cert_pem)
        with channel(f"localhost:{port}", client_creds) as ch:
            resp = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        server.stop(None)
    assert "redacted" in repr(srv)
