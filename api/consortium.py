"""A consortium directory: configuration, members, keys and TLS material.

Layout (``riskshare init DIR``)::

    DIR/consortium.toml            public: log id, suite, addresses, members and public keys
    DIR/keys/<member>/sign.pem     SM2 signing key, encrypted PKCS#8, mode 0600
    DIR/keys/<member>/agree.pem    SM2 key-agreement key, encrypted PKCS#8, mode 0600
    DIR/keys/<member>/passphrase   DEMO AND TESTS ONLY: the passphrase beside the keys
    DIR/keys/<member>/contributor-secret   a contributor's entry secret (sealed)
    DIR/keys/platform/oprf-share   OPRF share k1, sealed under the platform's passphrase
    DIR/keys/keyholder/oprf-share  OPRF share k2, sealed under the key holder's passphrase
    DIR/tls/ca.pem, DIR/tls/<member>.{pem,key}
    DIR/platform/ ...              the platform's stores (ledger, index, meter)
    DIR/keyholder/ ...             the key holder's meter

``init`` generates every party's keys in one directory **for the demo and tests only**: real
members run ``riskshare keygen`` on their own machines and enrol only public keys.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from api import keystore, tls
from ledger.entry import Role
from mpc import oprf
from mpc.sm2 import SM2PrivateKey, SM2PublicKey, load_pem_private_key

ROLE_NAMES: dict[str, Role] = {
    "platform": Role.PLATFORM,
    "keyholder": Role.KEYHOLDER,
    "contributor": Role.CONTRIBUTOR,
    "broker": Role.BROKER,
    "auditor": Role.AUDITOR,
    "admin": Role.ADMIN,
    "mirror": Role.MIRROR,
}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
CONFIG = "consortium.toml"


def parse_member_spec(spec: str) -> tuple[str, Role]:
    """``NAME:ROLE[+ROLE…]``, e.g. ``sec-a:broker+contributor+mirror``."""
    name, sep, roles = spec.partition(":")
    if not sep or not _NAME.match(name):
        raise ValueError(
            f"bad member {spec!r}: expected NAME:ROLE[+ROLE…] with a lower-case name of 1–40 "
            "letters, digits, '.', '_' or '-'"
        )
    r = Role(0)
    for part in roles.split("+"):
        if part not in ROLE_NAMES:
            raise ValueError(
                f"bad member {spec!r}: unknown role {part!r} (choose from {', '.join(ROLE_NAMES)})"
            )
        r |= ROLE_NAMES[part]
    return name, r


def role_names(roles: Role) -> list[str]:
    return [n for n, r in ROLE_NAMES.items() if roles & r]


@dataclass(frozen=True)
class MemberConfig:
    id: int
    name: str
    roles: Role
    sign_key: bytes  # SM2 public key, uncompressed
    agree_key: bytes

    def sign_public(self) -> SM2PublicKey:
        return SM2PublicKey.from_bytes(self.sign_key)

    def agree_public(self) -> SM2PublicKey:
        return SM2PublicKey.from_bytes(self.agree_key)


@dataclass
class Consortium:
    root: Path
    log_id: bytes
    suite: str
    epoch: int
    platform_address: str
    keyholder_address: str
    members: list[MemberConfig] = field(default_factory=list)
    # The epoch's public OPRF shares and proofs of possession, as the key_epoch entry lists them.
    oprf_shares: list[tuple[int, bytes, bytes]] = field(default_factory=list)  # (holder id, K_i, pop)
    demo: bool = False
    admin_threshold: int = 1
    tls: bool = True
    # Oblivious mode: every bucket is padded to bucket_size slots (a power of two, ≥ 1,024 in
    # production); a slot holds a tag's newest slot_cap records.
    bucket_size: int = 1024
    slot_cap: int = 8

    # -- lookups ---------------------------------------------------------------------------------

    def member(self, name: str) -> MemberConfig:
        for m in self.members:
            if m.name == name:
                return m
        raise KeyError(f"no member named {name!r} in {self.root / CONFIG}")

    def member_by_id(self, member_id: int) -> MemberConfig:
        for m in self.members:
            if m.id == member_id:
                return m
        raise KeyError(f"no member with id {member_id}")

    def member_names(self) -> list[str]:
        return [m.name for m in self.members]

    def with_role(self, role: Role) -> list[MemberConfig]:

        return [m for m in self.members if m.roles & role]

    def the(self, role: Role) -> MemberConfig:
        found = self.with_role(role)
        if len(found) != 1:
            raise ValueError(f"the consortium needs exactly one {role_names(role)[0]}, found {len(found)}")
        return found[0]

    @property
    def oprf_suite(self) -> oprf.Suite:
        return oprf.suite_by_name(self.suite)

    # -- files -----------------------------------------------------------------------------------

    def key_dir(self, name: str) -> Path:
        return self.root / "keys" / name

    def state_dir(self, name: str) -> Path:
        d = self.root / "state" / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def passphrase(self, name: str) -> bytes:
        """The member's key passphrase: the demo file beside the keys if there is one (``init``
        only), else $RISKSHARE_PASSPHRASE."""
        path = self.key_dir(name) / "passphrase"
        if path.exists():
            return keystore.read_private(path).strip()
        env = os.environ.get("RISKSHARE_PASSPHRASE")
        if env:
            return env.encode()
        raise FileNotFoundError(f"no passphrase for {name!r}: set RISKSHARE_PASSPHRASE")

    def add_member(self, m: MemberConfig) -> None:
        """Record an enrolled member in the public configuration (after its ledger entry)."""
        if any(x.id == m.id or x.name == m.name for x in self.members):
            raise ValueError(f"member {m.name!r} or id {m.id} is already in {CONFIG}")
        self.members.append(m)
        self.save()

    def signing_key(self, name: str) -> SM2PrivateKey:
        pem = keystore.read_private(self.key_dir(name) / "sign.pem")
        return load_pem_private_key(pem, self.passphrase(name))

    def agreement_key(self, name: str) -> SM2PrivateKey:
        pem = keystore.read_private(self.key_dir(name) / "agree.pem")
        return load_pem_private_key(pem, self.passphrase(name))

    def load_secret(self, name: str, label: str) -> bytes:
        blob = keystore.read_private(self.key_dir(name) / label)
        return keystore.open_secret(blob, self.passphrase(name), f"{name}/{label}")

    def store_secret(self, name: str, label: str, secret: bytes) -> None:
        blob = keystore.seal_secret(secret, self.passphrase(name), f"{name}/{label}")
        keystore.write_private(self.key_dir(name) / label, blob)

    def tls_paths(self, name: str) -> tuple[Path, Path, Path]:
        t = self.root / "tls"
        return t / "ca.pem", t / f"{name}.pem", t / f"{name}.key"

    def save(self) -> None:
        doc = {
            "consortium": {
                "log_id": self.log_id.hex(),
                "suite": self.suite,
                "epoch": self.epoch,
                "admin_threshold": self.admin_threshold,
                "demo": self.demo,
                "tls": self.tls,
            },
            "oblivious": {"bucket_size": self.bucket_size, "slot_cap": self.slot_cap},
            "oprf": {
                "shares": [
                    {"holder": h, "element": e.hex(), "proof": p.hex()} for h, e, p in self.oprf_shares
                ]
            },
            "platform": {"address": self.platform_address},
            "keyholder": {"address": self.keyholder_address},
            "member": [
                {
                    "id": m.id,
                    "name": m.name,
                    "roles": role_names(m.roles),
                    "sign_key": m.sign_key.hex(),
                    "agree_key": m.agree_key.hex(),
                }
                for m in self.members
            ],
        }
        text = tomli_w.dumps(doc)
        if self.demo:
            text = "# DEMO CONSORTIUM: every party's keys were generated here by `riskshare init`.\n" + text
        (self.root / CONFIG).write_text(text)

    @classmethod
    def load(cls, root: Path | str) -> Consortium:
        root = Path(root)
        path = root / CONFIG
        if not path.exists():
            raise FileNotFoundError(
                f"{path} not found: run `riskshare init {root} --member NAME:ROLE …` first"
            )
        doc = tomllib.loads(path.read_text())
        c = doc["consortium"]
        members = [
            MemberConfig(
                int(m["id"]),
                m["name"],
                _roles(m["roles"]),
                bytes.fromhex(m["sign_key"]),
                bytes.fromhex(m["agree_key"]),
            )
            for m in doc.get("member", [])
        ]
        shares = [
            (int(s["holder"]), bytes.fromhex(s["element"]), bytes.fromhex(s["proof"]))
            for s in doc.get("oprf", {}).get("shares", [])
        ]
        return cls(
            root=root,
            oprf_shares=shares,
            log_id=bytes.fromhex(c["log_id"]),
            suite=c["suite"],
            epoch=int(c["epoch"]),
            platform_address=doc["platform"]["address"],
            keyholder_address=doc["keyholder"]["address"],
            members=members,
            demo=bool(c.get("demo", False)),
            admin_threshold=int(c.get("admin_threshold", 1)),
            tls=bool(c.get("tls", True)),
            bucket_size=int(doc.get("oblivious", {}).get("bucket_size", 1024)),
            slot_cap=int(doc.get("oblivious", {}).get("slot_cap", 8)),
        )


def _roles(names: list[str]) -> Role:
    r = Role(0)
    for n in names:
        r |= ROLE_NAMES[n]
    return r


def _write_key(c: Consortium, name: str, label: str, key: SM2PrivateKey, passphrase: bytes) -> None:
    keystore.write_private(c.key_dir(name) / label, key.private_bytes_pem(passphrase))


def init_consortium(
    root: Path | str,
    specs: list[str],
    *,
    suite: str = "SM2-SM3",
    platform_address: str = "127.0.0.1:50051",
    keyholder_address: str = "127.0.0.1:50052",
    use_tls: bool = True,
    bucket_size: int = 1024,
) -> Consortium:
    """Create a demo/test consortium: every member's keys, the two OPRF shares, TLS material.

    The ledger's genesis is created by the platform (api.platform.bootstrap), which needs the
    administrators' signatures within the ±5 minute window.
    """
    root = Path(root)
    if (root / CONFIG).exists():
        raise FileExistsError(f"{root / CONFIG} already exists: choose an empty directory")
    parsed = [parse_member_spec(s) for s in specs]
    names = [n for n, _ in parsed]
    if len(set(names)) != len(names):
        raise ValueError("a member name appears twice")
    for role, what in ((Role.PLATFORM, "platform"), (Role.KEYHOLDER, "keyholder")):
        if sum(1 for _, r in parsed if r & role) != 1:
            raise ValueError(f"exactly one member needs the {what} role")
    if not any(r & Role.ADMIN for _, r in parsed):
        raise ValueError("at least one member needs the admin role")
    oprf.suite_by_name(suite)  # validates the name
    root.mkdir(parents=True, exist_ok=True)
    if bucket_size < 2 or bucket_size & (bucket_size - 1):
        raise ValueError("the oblivious bucket size must be a power of two")
    c = Consortium(
        root,
        secrets.token_bytes(16),
        suite,
        1,
        platform_address,
        keyholder_address,
        demo=True,
        tls=use_tls,
        bucket_size=bucket_size,
    )
    for mid, (name, roles) in enumerate(parsed, start=1):
        passphrase = keystore.new_passphrase()
        keystore.write_private(c.key_dir(name) / "passphrase", passphrase + b"\n")
        sign, agree = SM2PrivateKey.generate(), SM2PrivateKey.generate()
        _write_key(c, name, "sign.pem", sign, passphrase)
        _write_key(c, name, "agree.pem", agree, passphrase)
        c.members.append(
            MemberConfig(mid, name, roles, sign.public_key().to_bytes(), agree.public_key().to_bytes())
        )
    # One OPRF share per server, each sealed under its own holder's passphrase; the public shares
    # with their proofs of possession go into the configuration (and the key_epoch entry).
    for role in (Role.PLATFORM, Role.KEYHOLDER):
        holder = c.the(role)
        share = oprf.PrivateKey.generate(c.oprf_suite, str(c.epoch))
        c.store_secret(holder.name, "oprf-share", share.private_bytes())
        proof = oprf.KeyShare.prove(share, str(holder.id))
        c.oprf_shares.append((holder.id, proof.element, proof.pop))
    c.save()
    for m in c.with_role(Role.CONTRIBUTOR):
        c.store_secret(m.name, "contributor-secret", secrets.token_bytes(32))
    if use_tls:
        ca = tls.make_ca()
        ca_path, _, _ = c.tls_paths("ca")
        ca_path.parent.mkdir(parents=True, exist_ok=True)
        ca_path.write_bytes(ca.cert_pem)
        keystore.write_private(ca_path.with_name("ca.key"), ca.key_pem)
        for m in c.members:
            hosts = ["127.0.0.1", "localhost"]
            ck = tls.issue(
                ca, m.name, hosts, server=bool(m.roles & (Role.PLATFORM | Role.KEYHOLDER | Role.CONTRIBUTOR))
            )
            _, cert_path, key_path = c.tls_paths(m.name)
            cert_path.write_bytes(ck.cert_pem)
            keystore.write_private(key_path, ck.key_pem)
    return c


def key_epoch(c: Consortium) -> oprf.KeyEpoch:
    """The current epoch's public shares, verified (proofs of possession bound to the holders)."""
    if len(c.oprf_shares) != 2:
        raise ValueError(f"{c.root / CONFIG} lists {len(c.oprf_shares)} OPRF shares; a key epoch has two")
    shares = tuple(oprf.KeyShare(c.oprf_suite, str(c.epoch), str(h), e, p) for h, e, p in c.oprf_shares)
    return oprf.KeyEpoch(c.oprf_suite, str(c.epoch), (shares[0], shares[1]))


def keygen(root: Path | str, name: str, roles: Role, passphrase: bytes) -> dict[str, object]:
    """Generate a member's own signing and key-agreement keys into ``root/keys/NAME`` (encrypted
    PKCS#8, 0600) and a TLS key into ``root/tls/NAME.key``; return the public enrolment request
    the administrators enrol (public keys and the TLS certificate signing request)."""
    if not _NAME.match(name):
        raise ValueError(f"bad member name {name!r}: 1–40 lower-case letters, digits, '.', '_' or '-'")
    if len(passphrase) < 12:
        raise ValueError("the key passphrase must be at least 12 characters")
    d = Path(root) / "keys" / name
    if (d / "sign.pem").exists():
        raise FileExistsError(f"{d / 'sign.pem'} exists: keys are never overwritten")
    sign, agree = SM2PrivateKey.generate(), SM2PrivateKey.generate()
    keystore.write_private(d / "sign.pem", sign.private_bytes_pem(passphrase))
    keystore.write_private(d / "agree.pem", agree.private_bytes_pem(passphrase))
    tls_key, csr = tls.make_csr(name)  # the transport's client certificate, issued at enrolment
    keystore.write_private(Path(root) / "tls" / f"{name}.key", tls_key)
    doc: dict[str, object] = {
        "name": name,
        "roles": role_names(roles),
        "sign_key": sign.public_key().to_bytes().hex(),
        "agree_key": agree.public_key().to_bytes().hex(),
        "tls_csr": csr.decode(),
    }
    return doc


def oprf_share(c: Consortium, name: str) -> oprf.PrivateKey:
    return oprf.PrivateKey(c.oprf_suite, c.load_secret(name, "oprf-share"), str(c.epoch))
