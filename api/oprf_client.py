"""Client side of the two-server OPRF over gRPC: one signed request, both servers, both proofs.

The member signs one EvaluationRequest naming the SM3 hash of the blinded batch; the same bytes go
to the platform and to the key holder concurrently. Each answer's DLEQ proof is checked against
that server's public share of the epoch (a key epoch whose shares carry valid proofs of
possession), each receipt's signature and contents are checked, and only then are the two
evaluations combined and finalized.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from api._generated import oprf_pb2, oprf_pb2_grpc
from ledger.entry import Kind
from ledger.metering import EvaluationReceipt, EvaluationRequest
from mpc import oprf
from mpc.exceptions import ProtocolAbort
from mpc.sm2 import SM2PrivateKey, SM2PublicKey
from mpc.sm3 import sm3

CHUNK = 4096  # elements per request: bounded messages, one proof per chunk
_CALLS = ThreadPoolExecutor(max_workers=64, thread_name_prefix="riskshare-oprf")


@dataclass(frozen=True)
class Identity:
    """Who signs: the member's id and SM2 signing key within one log."""

    log_id: bytes
    member_id: int
    name: str
    signing_key: SM2PrivateKey

    def __repr__(self) -> str:
        return f"Identity({self.name!r}, id={self.member_id})"


@dataclass(frozen=True)
class Server:
    member_id: int
    sign_key: SM2PublicKey
    stub: oprf_pb2_grpc.OprfStub


@dataclass(frozen=True)
class EvaluationResult:
    outputs: list[bytes]
    receipts: list[bytes]  # signed receipts, platform's and key holder's per chunk


class TwoServerOprf:
    def __init__(
        self, identity: Identity, epoch: oprf.KeyEpoch, epoch_number: int, platform: Server, keyholder: Server
    ) -> None:
        self.identity, self.epoch, self.epoch_number = identity, epoch, epoch_number
        self.platform, self.keyholder = platform, keyholder
        self._client = oprf.TwoServerClient(epoch, additive=True)

    def evaluate(self, inputs: list[bytes], purpose: Kind, timeout: float = 60.0) -> EvaluationResult:
        outputs: list[bytes] = []
        receipts: list[bytes] = []
        for start in range(0, len(inputs), CHUNK):
            chunk_out, chunk_receipts = self._evaluate_chunk(inputs[start : start + CHUNK], purpose, timeout)
            outputs += chunk_out
            receipts += chunk_receipts
        return EvaluationResult(outputs, receipts)

    def _evaluate_chunk(
        self, inputs: list[bytes], purpose: Kind, timeout: float
    ) -> tuple[list[bytes], list[bytes]]:
        state, oprf_request = self._client.blind(inputs)
        req = EvaluationRequest(
            self.identity.log_id,
            self.identity.member_id,
            self.epoch_number,
            purpose,
            len(inputs),
            sm3(oprf_request),
            os.urandom(16),
            int(time.time() * 1000),
        )
        signed = req.sign(self.identity.signing_key)
        msg = oprf_pb2.EvaluateRequest(signed_request=signed, oprf_request=oprf_request)
        # The key holder's call runs on a pooled thread while this one makes the platform's: a
        # gRPC future would start a channel thread per call (a third of a client's CPU here).
        f2 = _CALLS.submit(self.keyholder.stub.Evaluate, msg, timeout=timeout)
        try:
            r1 = self.platform.stub.Evaluate(msg, timeout=timeout)
        except BaseException:
            wait([f2])  # no call of this request outlives it
            raise
        r2 = f2.result()  # grpc.RpcError propagates with the server's status
        for server, resp in ((self.platform, r1), (self.keyholder, r2)):
            receipt = EvaluationReceipt.verified(resp.receipt, server.sign_key)
            if (
                receipt.server != server.member_id
                or receipt.member != req.member
                or receipt.count != req.count
                or receipt.epoch != req.epoch
                or not receipt.matches(signed)
            ):
                raise ProtocolAbort(f"server {server.member_id} returned a receipt for another request")
        outputs = self._client.finalize(state, r1.oprf_response, r2.oprf_response)
        return outputs, [r1.receipt, r2.receipt]


def fetch_key_epoch(
    stub: oprf_pb2_grpc.OprfStub, platform_id: int, keyholder_id: int
) -> tuple[oprf.KeyEpoch, int]:
    """The current key epoch as a server reports it; proofs of possession are verified.

    Production clients compare it with the ledger's key_epoch entry; this is the bootstrap path.
    """
    msg = stub.GetKeyEpoch(oprf_pb2.KeyEpochRequest(epoch=0), timeout=10)
    suite = oprf.suite_by_name(msg.suite)
    epoch_id = str(msg.epoch)
    shares = (
        oprf.KeyShare(
            suite, epoch_id, str(platform_id), msg.public_share_platform, msg.possession_proof_platform
        ),
        oprf.KeyShare(
            suite, epoch_id, str(keyholder_id), msg.public_share_keyholder, msg.possession_proof_keyholder
        ),
    )
    return oprf.KeyEpoch(suite, epoch_id, shares), msg.epoch
