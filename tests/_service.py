"""A live loopback service for end-to-end tests: platform and key holder on free ports (mutual
TLS, SQLite), member sessions, and the contributed, published and witnessed index most tests
start from."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from api import client
from api.consortium import Consortium, init_consortium
from api.evaluator import Evaluator
from api.platform import Platform
from api.roles import Running, start_keyholder, start_platform
from ledger.entry import Entry
from ledger.storage.memory import MemoryStorage
from mpc.records import RiskRecord


def consortium(root: Path, specs: list[str], bucket_size: int = 64) -> Consortium:
    c = init_consortium(
        root, specs, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0", bucket_size=bucket_size
    )
    return Consortium.load(c.root)


def ledger_entries(platform: Platform) -> list[Entry]:
    """Every entry after genesis, decoded, as the platform's ledger holds them."""
    return [Entry.decode(body) for _, body, _ in platform.ledger.storage.entries(1)]


@dataclass
class Live:
    c: Consortium
    platform: Platform
    keyholder: Evaluator
    runs: tuple[Running, Running]
    sessions: dict[str, client.Session] = field(default_factory=dict)

    def __getitem__(self, name: str) -> client.Session:
        s = self.sessions.get(name)
        if s is None:
            s = client.Session.connect(
                self.c, name, f"localhost:{self.runs[0].port}", f"localhost:{self.runs[1].port}"
            )
            self.sessions[name] = s
        return s

    def publish_and_witness(self, auditor: str) -> None:
        """Publish, cut a checkpoint and have ``auditor`` replay and co-sign it."""
        self.platform.publish()
        self.platform.checkpoint()
        a = self[auditor]
        client.audit_and_cosign(a, client.new_auditor(a, MemoryStorage()))

    def contribute(self, contributor: str, records: list[RiskRecord], auditor: str) -> None:
        client.contribute(self[contributor], records)
        self.publish_and_witness(auditor)


@contextmanager
def live(c: Consortium) -> Iterator[Live]:
    p_run, platform = start_platform(c)
    k_run, keyholder = start_keyholder(c, platform_target=f"localhost:{p_run.port}")
    svc = Live(c, platform, keyholder, (p_run, k_run))
    try:
        yield svc
    finally:
        for s in svc.sessions.values():
            s.close()
        p_run.stop()
        k_run.stop()
        platform.close()
        keyholder.meter.close()
