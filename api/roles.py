"""Assemble and start the servers of each role (``riskshare serve`` and the demo use these)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from api._generated import dispute_pb2_grpc, index_pb2_grpc, ledger_pb2_grpc, oprf_pb2_grpc
from api.consortium import Consortium, key_epoch, oprf_share
from api.evaluator import Evaluator
from api.member_follower import FollowedDirectory, MemberFollower
from api.meter import Meter
from api.platform import Platform
from api.reads import Reader
from api.server import Registration, channel, create_server
from api.servicers.dispute import DisputeServicer
from api.servicers.index import IndexServicer
from api.servicers.ledger import LedgerServicer
from api.servicers.oprf import OprfServicer
from api.stats_service import stats_keyholder_registrations, stats_platform_registrations
from ledger.entry import Role
from ledger.hooks import RuleHook


def server_credentials(c: Consortium, name: str) -> grpc.ServerCredentials | None:
    """Mutual TLS: the server presents its certificate and requires one from the consortium CA
    of every client (members only reach the servers; requests are SM2-signed on top)."""
    if not c.tls:
        return None
    ca, cert, key = c.tls_paths(name)
    return grpc.ssl_server_credentials(
        [(Path(key).read_bytes(), Path(cert).read_bytes())],
        root_certificates=Path(ca).read_bytes(),
        require_client_auth=True,
    )


def channel_credentials(c: Consortium, name: str) -> grpc.ChannelCredentials | None:
    """TLS for member ``name``: the consortium CA as trust root and the member's client certificate."""
    if not c.tls:
        return None
    ca, cert, key = c.tls_paths(name)
    if not Path(cert).exists() or not Path(key).exists():
        raise FileNotFoundError(
            f"no TLS client certificate for {name!r} ({cert}): the administrators issue it at enrolment"
        )
    return grpc.ssl_channel_credentials(
        root_certificates=Path(ca).read_bytes(),
        private_key=Path(key).read_bytes(),
        certificate_chain=Path(cert).read_bytes(),
    )


@dataclass
class Running:
    server: grpc.Server
    port: int
    on_stop: list[Callable[[], None]] = field(default_factory=list)  # background work to end

    def stop(self) -> None:
        self.server.stop(grace=1).wait()
        for halt in self.on_stop:
            halt()


def start_platform(
    c: Consortium, address: str | None = None, *, hook: RuleHook | None = None, quota: int = 1_000_000
) -> tuple[Running, Platform]:
    platform = Platform(c, hook=hook, quota=quota)
    regs = [
        Registration(
            "riskshare.v1.Oprf",
            OprfServicer(platform.evaluator, platform.key_epoch, c.epoch),
            oprf_pb2_grpc.add_OprfServicer_to_server,
        ),
        Registration(
            "riskshare.v1.Index", IndexServicer(platform), index_pb2_grpc.add_IndexServicer_to_server
        ),
        Registration(
            "riskshare.v1.Ledger", LedgerServicer(platform), ledger_pb2_grpc.add_LedgerServicer_to_server
        ),
    ]
    regs += stats_platform_registrations(platform)  # statistics (api/stats_service.py)
    regs.append(  # disputes (api/disputes.py)
        Registration(
            "riskshare.v1.Dispute", DisputeServicer(platform), dispute_pb2_grpc.add_DisputeServicer_to_server
        )
    )
    me = c.the(Role.PLATFORM)
    server, port = create_server(
        address or c.platform_address, regs, credentials=server_credentials(c, me.name)
    )
    server.start()
    platform.ledger.start()
    return Running(server, port), platform


RECONNECT_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


def keyholder_directory(
    c: Consortium, platform_target: str | None = None, *, min_interval_s: float = 1.0
) -> FollowedDirectory:
    """The key holder's members, followed from the platform's ledger (api/member_follower.py):
    it reads as the key holder member; display names come from the consortium file."""
    me = c.the(Role.KEYHOLDER)
    target = platform_target or c.platform_address
    # reconnect quickly: the key holder may start before the platform, and a channel in a long
    # reconnect backoff would refuse every member until it ends
    ch = channel(target, channel_credentials(c, me.name), RECONNECT_OPTIONS)
    stub = ledger_pb2_grpc.LedgerStub(ch)
    admins = {m.id: m.sign_key for m in c.with_role(Role.ADMIN)}
    follower = MemberFollower(
        stub,
        Reader(c.log_id, me.id, c.signing_key(me.name)),
        c.log_id,
        me=me.id,
        my_key=me.sign_key,
        genesis_admin_keys=lambda: admins,
        min_interval_s=min_interval_s,
        on_close=ch.close,
    )
    return FollowedDirectory(follower, lambda: {m.id: m.name for m in Consortium.load(c.root).members})


def start_keyholder(
    c: Consortium,
    address: str | None = None,
    *,
    quota: int = 1_000_000,
    platform_target: str | None = None,
    refresh_s: float = 5.0,
) -> tuple[Running, Evaluator]:
    """The key holder's servers. Its members come from the platform's ledger (``platform_target``,
    by default the platform's address in consortium.toml), refreshed every ``refresh_s`` and when
    an unknown member calls."""
    me = c.the(Role.KEYHOLDER)
    state = c.state_dir(me.name)
    directory = keyholder_directory(c, platform_target)
    evaluator = Evaluator(
        log_id=c.log_id,
        server_id=me.id,
        signing_key=c.signing_key(me.name),
        share=oprf_share(c, me.name),
        epoch=c.epoch,
        directory=directory,
        meter=Meter(state / "meter.db", quota),
    )
    regs = [
        Registration(
            "riskshare.v1.Oprf",
            OprfServicer(evaluator, key_epoch(c), c.epoch),
            oprf_pb2_grpc.add_OprfServicer_to_server,
        )
    ]
    # statistics: Paillier key, seeds, releases (authenticated against the same members)
    regs += stats_keyholder_registrations(c, platform_target, directory)
    server, port = create_server(
        address or c.keyholder_address, regs, credentials=server_credentials(c, me.name)
    )
    server.start()
    return Running(server, port, [directory.follower.start(refresh_s)]), evaluator
