"""``riskshare keygen`` (a member makes its own keys) and ``enrol`` (administrators add it).

keygen writes the private keys, encrypted under the member's passphrase ($RISKSHARE_PASSPHRASE
or a prompt), and prints the public enrolment request; enrol sequences the ledger's member entry
signed by the administrators' threshold and records the member in consortium.toml.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from api import convert, tls
from api._generated import ledger_pb2_grpc
from api.client import Session
from api.cmd_service import _run, _session
from api.consortium import Consortium, MemberConfig, _roles, keygen, parse_member_spec
from ledger.entry import Kind, Request, Role, Signature
from ledger.members import Action

console = Console(stderr=True)


def _passphrase() -> bytes:
    env = os.environ.get("RISKSHARE_PASSPHRASE")
    if env:
        return env.encode()
    if not sys.stdin.isatty():
        raise ValueError("set RISKSHARE_PASSPHRASE (no terminal to ask for the key passphrase)")
    a = getpass.getpass("key passphrase: ")
    if a != getpass.getpass("again: "):
        raise ValueError("the passphrases differ")
    return a.encode()


def _keygen(args: argparse.Namespace) -> int:
    name, roles = parse_member_spec(f"{args.name}:{args.roles}")
    doc = keygen(args.directory, name, roles, _passphrase())
    out = Path(args.directory) / "keys" / name / "enrolment.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    console.print(
        f"keys written under {out.parent} (encrypted PKCS#8, mode 0600); send {out} to the administrators"
    )
    print(json.dumps(doc))
    return 0


def _enrol(args: argparse.Namespace) -> int:
    s: Session = _session(args)
    try:
        doc = json.loads(Path(args.request).read_text())
        name, roles = str(doc["name"]), _roles(list(doc["roles"]))
        if args.mirror:
            roles |= Role.MIRROR
        sign_key, agree_key = bytes.fromhex(doc["sign_key"]), bytes.fromhex(doc["agree_key"])
        c = s.c
        if not s.member.roles & Role.ADMIN:
            raise ValueError(f"{s.name} is not an administrator")
        new_id = max(m.id for m in c.members) + 1
        raw = Request(
            Kind.MEMBER,
            c.log_id,
            s.member.id,
            os.urandom(16),
            int(time.time() * 1000),
            s.rule_version,
            {
                "action": int(Action.ADD),
                "target": new_id,
                "roles": int(roles),
                "sign_key": sign_key,
                "agree_key": agree_key,
            },
        ).encode()
        sigs = [Signature(s.member.id, s.identity.signing_key.sign(raw))]
        for other in args.cosign or []:
            m = c.member(other)
            sigs.append(Signature(m.id, c.signing_key(other).sign(raw)))
        sigs.sort(key=lambda x: (x.signer != s.member.id, x.signer))
        out = ledger_pb2_grpc.LedgerStub(s.platform_channel).Submit(
            convert.signed_request(raw, tuple(sigs)), timeout=30
        )
        if not out.accepted:
            console.print(f"[red]refused by the ledger:[/red] {out.reason}")
            return 1
        c.add_member(MemberConfig(new_id, name, roles, sign_key, agree_key))
        console.print(f"enrolled {name} as member {new_id} (ledger entry {out.receipt.index})")
        if c.tls:
            _issue_tls(c, name, str(doc.get("tls_csr", "")))
        return 0
    finally:
        s.close()


def _issue_tls(c: Consortium, name: str, csr: str) -> None:
    """Issue the new member's TLS client certificate (mutual TLS) if this directory holds the
    consortium CA; otherwise say who must."""
    ca_path, _, _ = c.tls_paths("ca")
    ca_key = ca_path.with_name("ca.key")
    if not csr:
        console.print(
            f"[yellow]{name}'s request carries no TLS certificate request: it cannot connect[/yellow]"
        )
        return
    if not ca_key.exists():
        console.print(f"send {name}'s TLS certificate request to the holder of the consortium CA")
        return
    ca = tls.CertKey(ca_path.read_bytes(), ca_key.read_bytes())
    _, cert_path, _ = c.tls_paths(name)
    cert_path.write_bytes(tls.issue_from_csr(ca, csr.encode(), name))
    console.print(f"issued {name}'s TLS client certificate: {cert_path}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("keygen", help="generate this member's own SM2 signing and key-agreement keys")
    p.add_argument("directory", metavar="DIR", help="keys go to DIR/keys/NAME")
    p.add_argument("--name", required=True)
    p.add_argument(
        "--roles", required=True, metavar="ROLE[+ROLE]", help="roles to ask the administrators for"
    )
    p.set_defaults(func=_run(_keygen))
    p = sub.add_parser("enrol", help="administrators: add a member from its enrolment request")
    p.add_argument("request", metavar="ENROLMENT.json")
    p.add_argument("--mirror", action="store_true", help="grant mirror lookups to this broker")
    p.add_argument("--cosign", action="append", metavar="ADMIN", help="another administrator signing too")
    p.set_defaults(func=_run(_enrol))
