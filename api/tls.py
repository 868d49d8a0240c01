"""TLS material for the gRPC transport: a consortium CA and P-256 server/client certificates.

grpcio's TLS cannot use SM2 certificates or TLCP, so the transport uses P-256 (DESIGN.md, Threat
model); the national suite protects the application layer (SM2-signed requests, SM4 entries).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = dt.timedelta(days=825)


@dataclass(frozen=True)
class CertKey:
    cert_pem: bytes
    key_pem: bytes  # PKCS#8, unencrypted: the caller writes it 0600 (grpcio needs the raw PEM)

    def __repr__(self) -> str:
        return "CertKey(cert_pem=…, key_pem=<redacted>)"


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "riskshare consortium"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_ca(name: str = "riskshare consortium CA") -> CertKey:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return CertKey(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _ca_parts(ca: CertKey) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    ca_cert = x509.load_pem_x509_certificate(ca.cert_pem)
    ca_key = serialization.load_pem_private_key(ca.key_pem, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ValueError("consortium CA key must be an EC key")
    return ca_cert, ca_key


def _leaf(
    ca: CertKey, common_name: str, public_key: ec.EllipticCurvePublicKey, hosts: list[str], server: bool
) -> bytes:
    ca_cert, ca_key = _ca_parts(ca)
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    now = dt.datetime.now(dt.UTC)
    # Every member is a TLS client (mutual TLS); servers are clients of each other too.
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def issue(ca: CertKey, common_name: str, hosts: list[str], *, server: bool) -> CertKey:
    """A leaf certificate signed by ``ca`` for ``hosts`` (DNS names or IP addresses), with a fresh
    key; client authentication always, server authentication when ``server``."""
    key = ec.generate_private_key(ec.SECP256R1())
    return CertKey(_leaf(ca, common_name, key.public_key(), hosts, server), _key_pem(key))


def make_csr(common_name: str) -> tuple[bytes, bytes]:
    """A member's own TLS key and certificate signing request: (key PEM, CSR PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    csr = x509.CertificateSigningRequestBuilder().subject_name(_name(common_name)).sign(key, hashes.SHA256())
    return _key_pem(key), csr.public_bytes(serialization.Encoding.PEM)


def issue_from_csr(ca: CertKey, csr_pem: bytes, common_name: str) -> bytes:
    """A client certificate for the member's own key: the CSR must be self-signed and name exactly
    the member being enrolled."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
    except ValueError as e:
        raise ValueError(f"the TLS certificate request does not parse: {e}") from None
    if not csr.is_signature_valid:
        raise ValueError("the TLS certificate request's signature does not verify")
    names = [a.value for a in csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [common_name]:
        raise ValueError(f"the TLS certificate request names {names!r}, not {common_name!r}")
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("the TLS certificate request must carry a P-256 key")
    return _leaf(ca, common_name, key, [], server=False)
