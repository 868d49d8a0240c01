from __future__ import annotations

import base64

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from grpc_health.v1 import health_pb2, health_pb2_grpc

from api.server import channel, create_server
from api.tls import CertKey, issue, issue_from_csr, make_ca, make_csr


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


def _mutual_server(ca_pem: bytes, srv: CertKey) -> tuple[grpc.Server, int]:
    creds = grpc.ssl_server_credentials(
        [(srv.key_pem, srv.cert_pem)], root_certificates=ca_pem, require_client_auth=True
    )
    server, port = create_server("127.0.0.1:0", [], credentials=creds)
    server.start()
    return server, port


def _check(port: int, ca: CertKey, client: CertKey | None) -> None:
    creds = grpc.ssl_channel_credentials(
        root_certificates=ca.cert_pem,
        private_key=client.key_pem if client else None,
        certificate_chain=client.cert_pem if client else None,
    )
    with channel(f"localhost:{port}", creds) as ch:
        health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)


def test_mutual_tls_needs_a_client_certificate_of_the_consortium() -> None:
    ca, other_ca = make_ca(), make_ca("another CA")
    server, port = _mutual_server(ca.cert_pem, issue(ca, "platform", ["localhost"], server=True))
    try:
        _check(port, ca, issue(ca, "broker", [], server=False))  # a member: served
        key_pem, csr = make_csr("late-broker")  # a member enrolled later, with its own key
        _check(port, ca, CertKey(issue_from_csr(ca, csr, "late-broker"), key_pem))
        for bad in (None, issue(other_ca, "broker", [], server=False)):  # no cert, a foreign CA
            with pytest.raises(grpc.RpcError) as e:
                _check(port, ca, bad)
            assert e.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        server.stop(None)


def test_csr_must_name_the_member_and_verify() -> None:
    ca = make_ca()
    _, csr = make_csr("broker-a")
    with pytest.raises(ValueError, match="names"):
        issue_from_csr(ca, csr, "broker-b")
    der = bytearray(x509.load_pem_x509_csr(csr).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 1  # inside the signature
    body = base64.encodebytes(bytes(der))
    tampered = b"-----BEGIN CERTIFICATE REQUEST-----\n" + body + b"-----END CERTIFICATE REQUEST-----\n"
    with pytest.raises(ValueError, match="does not verify"):
        issue_from_csr(ca, tampered, "broker-a")
    with pytest.raises(ValueError, match="does not parse"):
        issue_from_csr(ca, b"not a csr", "broker-a")
