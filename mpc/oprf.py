"""Oblivious pseudorandom functions, RFC 9497, and riskshare's two-server key.

Suites ``P256-SHA256`` (RFC 9497 section 4.3) and ``SM2-SM3`` (the same construction on the SM2
curve with SM3 and the hash-to-curve suite ``SM2_XMD:SM3_SSWU_RO_`` of ``mpc.ec``); modes OPRF,
VOPRF and POPRF. Roles: :class:`Client` (``blind`` / ``finalize``) and :class:`Server`
(``blind_evaluate``), batched with one DLEQ proof per batch whose composite is a multi-scalar
multiplication. Every role speaks bytes (:func:`Client.blind` returns the request to send,
:func:`Server.blind_evaluate` takes it and returns the response), so the same objects run
in-process or behind gRPC.

Production runs the **two-server key** of DESIGN.md, Protocols 1: k = k1 + k2 mod n, one
:class:`Server` per share k_i with its own batched DLEQ proof against K_i = k_i * G, a proof of
possession for every share bound to (epoch id, holder id) in a :class:`KeyEpoch`, and a
:class:`TwoServerClient` that sends the same blinded elements to both servers, checks both proofs
against the epoch's shares, adds the two evaluations and finalizes as the RFC does, so the output
equals the RFC's VOPRF output under k. Single-key :class:`Client` and :class:`Server` exist for
the RFC vectors and are refused when constructed with ``production=True``.

Errors: a malformed point raises :class:`~mpc.exceptions.InvalidPoint`, a proof that does not
verify :class:`~mpc.exceptions.InvalidProof`, a message that is malformed or for another
suite, mode, epoch or holder :class:`~mpc.exceptions.ProtocolAbort`, a zero or out-of-range
scalar ValueError. No path returns an output after a failed check.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

from mpc import ec
from mpc._binding import ct_equal, lib
from mpc.exceptions import InvalidPoint, InvalidProof, ProtocolAbort
from mpc.sm3 import sm3

__all__ = [
    "P256_SHA256",
    "SM2_SM3",
    "Client",
    "ClientState",
    "KeyEpoch",
    "KeyShare",
    "Mode",
    "PrivateKey",
    "PublicKey",
    "RequestInfo",
    "Server",
    "Suite",
    "TwoServerClient",
    "parse_request",
    "suite_by_name",
]

NE = ec.ELEMENT_SIZE
NS = ec.SCALAR_SIZE
PROOF_SIZE = 2 * NS
MAX_BATCH = 1 << 16  # RFC 9497's I2OSP(i, 2) in the composite transcript


class Mode(enum.IntEnum):
    OPRF = 0
    VOPRF = 1
    POPRF = 2


@dataclass(frozen=True)
class Suite:
    name: str
    curve: ec.Curve

    def context(self, mode: Mode) -> bytes:
        return b"OPRFV1-" + bytes([mode]) + b"-" + self.name.encode()

    def hash(self, data: bytes) -> bytes:
        return self.curve.hash(data)

    def hash_to_scalar(self, msg: bytes, mode: Mode, dst: bytes | None = None) -> bytes:
        return ec.hash_to_scalar(
            self.curve, msg, dst if dst is not None else b"HashToScalar-" + self.context(mode)
        )

    def __repr__(self) -> str:
        return f"Suite({self.name})"


P256_SHA256 = Suite("P256-SHA256", ec.P256)
SM2_SM3 = Suite("SM2-SM3", ec.SM2)
_SUITES = {s.name: s for s in (P256_SHA256, SM2_SM3)}


def suite_by_name(name: str) -> Suite:
    try:
        return _SUITES[name]
    except KeyError:
        raise ValueError(f"unknown OPRF suite {name!r}; choose {', '.join(_SUITES)}") from None


def _lp(*parts: bytes) -> bytes:
    """I2OSP(len(x), 2) || x for each part."""
    return b"".join(struct.pack(">H", len(p)) + p for p in parts)


# ---- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKey:
    suite: Suite
    element: bytes
    epoch: str = ""

    def __post_init__(self) -> None:
        ec.decode_point(self.suite.curve, self.element)


class PrivateKey:
    """An OPRF key (or key share) with its epoch id. Raw bytes only via :meth:`private_bytes`."""

    __slots__ = ("_k", "epoch", "public_key", "suite")

    def __init__(self, suite: Suite, scalar: bytes, epoch: str = "") -> None:
        self.suite = suite
        self._k = ec.validate_scalar(suite.curve, scalar)
        self.epoch = epoch
        self.public_key = PublicKey(suite, ec.scalar_mult_base(suite.curve, self._k), epoch)

    @classmethod
    def generate(cls, suite: Suite, epoch: str = "") -> PrivateKey:
        return cls(suite, ec.random_scalar(suite.curve), epoch)

    @classmethod
    def derive(cls, suite: Suite, seed: bytes, info: bytes, mode: Mode, epoch: str = "") -> PrivateKey:
        """RFC 9497 DeriveKeyPair."""
        if len(seed) != NS:
            raise ValueError(f"seed must be {NS} bytes")
        derive_input = seed + _lp(info)
        dst = b"DeriveKeyPair" + suite.context(mode)
        for counter in range(256):
            sk = suite.hash_to_scalar(derive_input + bytes([counter]), mode, dst)
            if any(sk):
                return cls(suite, sk, epoch)
        raise ValueError("DeriveKeyPairError")  # pragma: no cover - probability 2^-2048

    def private_bytes(self) -> bytes:
        return self._k

    def __repr__(self) -> str:
        return f"PrivateKey({self.suite.name}, epoch={self.epoch!r}, public={self.public_key.element.hex()})"


# ---- messages ----------------------------------------------------------------------------------

_MAGIC = b"RSOP"
_VERSION = 1
_REQUEST, _RESPONSE = b"Q", b"R"


def _str8(s: str) -> bytes:
    b = s.encode()
    if len(b) > 255:
        raise ValueError("identifier longer than 255 bytes")
    return bytes([len(b)]) + b


class _Reader:
    def __init__(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError("message must be bytes")
        self.data = bytes(data)
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolAbort("truncated OPRF message")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int(struct.unpack(">H", self.take(2))[0])

    def u32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def str8(self) -> str:
        try:
            return self.take(self.u8()).decode()
        except UnicodeDecodeError:
            raise ProtocolAbort("identifier is not UTF-8") from None

    def end(self) -> None:
        if self.pos != len(self.data):
            raise ProtocolAbort("trailing bytes in OPRF message")


@dataclass(frozen=True)
class _Request:
    suite: Suite
    mode: Mode
    epoch: str
    info: bytes
    blinded: bytes  # concatenated elements

    def encode(self) -> bytes:
        n = len(self.blinded) // NE
        return (
            _MAGIC
            + bytes([_VERSION])
            + _REQUEST
            + bytes([self.mode])
            + _str8(self.suite.name)
            + _str8(self.epoch)
            + _lp(self.info)
            + struct.pack(">I", n)
            + self.blinded
        )

    @staticmethod
    def decode(data: bytes) -> _Request:
        r = _Reader(data)
        if r.take(4) != _MAGIC or r.u8() != _VERSION or r.take(1) != _REQUEST:
            raise ProtocolAbort("not an OPRF request of this version")
        mode_b = r.u8()
        if mode_b > 2:
            raise ProtocolAbort("unknown OPRF mode")
        name = r.str8()
        if name not in _SUITES:
            raise ProtocolAbort(f"unknown OPRF suite {name!r}")
        epoch = r.str8()
        info = r.take(r.u16())
        n = r.u32()
        if not 0 < n <= MAX_BATCH:
            raise ProtocolAbort("batch size out of range")
        blinded = r.take(NE * n)
        r.end()
        return _Request(_SUITES[name], Mode(mode_b), epoch, info, blinded)


@dataclass(frozen=True)
class _Response:
    suite: Suite
    mode: Mode
    epoch: str
    holder: str
    evaluated: bytes
    proof: bytes

    def encode(self) -> bytes:
        n = len(self.evaluated) // NE
        return (
            _MAGIC
            + bytes([_VERSION])
            + _RESPONSE
            + bytes([self.mode])
            + _str8(self.suite.name)
            + _str8(self.epoch)
            + _str8(self.holder)
            + struct.pack(">I", n)
            + self.evaluated
            + self.proof
        )

    @staticmethod
    def decode(data: bytes) -> _Response:
        r = _Reader(data)
        if r.take(4) != _MAGIC or r.u8() != _VERSION or r.take(1) != _RESPONSE:
            raise ProtocolAbort("not an OPRF response of this version")
        mode_b = r.u8()
        if mode_b > 2:
            raise ProtocolAbort("unknown OPRF mode")
        name = r.str8()
        if name not in _SUITES:
            raise ProtocolAbort(f"unknown OPRF suite {name!r}")
        epoch, holder = r.str8(), r.str8()
        n = r.u32()
        if not 0 < n <= MAX_BATCH:
            raise ProtocolAbort("batch size out of range")
        evaluated = r.take(NE * n)
        proof = r.take(PROOF_SIZE) if mode_b != Mode.OPRF else b""
        r.end()
        return _Response(_SUITES[name], Mode(mode_b), epoch, holder, evaluated, proof)


@dataclass(frozen=True)
class RequestInfo:
    """What a server meters before it evaluates: DESIGN.md's signed request carries the epoch,
    the count and ``digest``, the SM3 hash of the blinded batch (the concatenated elements)."""

    suite: str
    mode: Mode
    epoch: str
    count: int
    digest: bytes


def parse_request(request: bytes) -> RequestInfo:
    """Parse an evaluation request without evaluating it (ProtocolAbort if malformed)."""
    req = _Request.decode(request)
    return RequestInfo(req.suite.name, req.mode, req.epoch, len(req.blinded) // NE, sm3(req.blinded))


# ---- DLEQ proofs (RFC 9497 2.2) ------------------------------------------------------------------


def _seed(suite: Suite, mode: Mode, pk: bytes) -> bytes:
    return suite.hash(_lp(pk, b"Seed-" + suite.context(mode)))


def _challenge(suite: Suite, mode: Mode, pk: bytes, m: bytes, z: bytes, t2: bytes, t3: bytes) -> bytes:
    return suite.hash_to_scalar(_lp(pk, m, z, t2, t3) + b"Challenge", mode)


def _h2s_dst(suite: Suite, mode: Mode) -> bytes:
    return b"HashToScalar-" + suite.context(mode)


def _prove(suite: Suite, mode: Mode, k: bytes, pk: bytes, m: bytes, z: bytes, r: bytes) -> bytes:
    """GenerateProof after the composites: M and Z = k * M are given."""
    curve = suite.curve
    t2 = ec.scalar_mult_base(curve, r)
    t3 = ec.scalar_mult(curve, r, m)
    c = _challenge(suite, mode, pk, m, z, t2, t3)
    s = ec.scalar_muladd(curve, c, ec.scalar_negate(curve, k), r)  # s = r - c * k
    return c + s


def _check_proof(suite: Suite, mode: Mode, pk: bytes, m: bytes, z: bytes, proof: bytes) -> None:
    """The rest of VerifyProof once the composites (M, Z) are known; raises InvalidProof."""
    curve = suite.curve
    if len(proof) != PROOF_SIZE:
        raise InvalidProof("proof has the wrong length")
    c, s = proof[:NS], proof[NS:]
    if int.from_bytes(c, "big") >= curve.n or int.from_bytes(s, "big") >= curve.n:
        raise InvalidProof("proof scalar out of range")
    try:
        t2 = ec.multi_scalar_mult(curve, [c], [pk], base_scalar=s)
        t3 = ec.multi_scalar_mult(curve, [s, c], [m, z])
    except InvalidPoint:
        raise InvalidProof("proof does not verify") from None
    if not ct_equal(_challenge(suite, mode, pk, m, z, t2, t3), c):
        raise InvalidProof("proof does not verify")


def _verify(suite: Suite, mode: Mode, pk: bytes, cs: bytes, ds: bytes, proof: bytes) -> None:
    """VerifyProof(G, pk, C, D, proof); raises InvalidProof."""
    try:
        m, z = lib.ec_composites(suite.curve.id, _seed(suite, mode, pk), cs, ds, _h2s_dst(suite, mode))
    except InvalidPoint:
        raise InvalidProof("proof does not verify") from None
    _check_proof(suite, mode, pk, m, z, proof)


# ---- client --------------------------------------------------------------------------------------


@dataclass
class ClientState:
    """What a client keeps between ``blind`` and ``finalize`` (the blinds are secret)."""

    inputs: list[bytes] = field(repr=False)  # subject IDs: never in a repr
    blinds: bytes = field(repr=False)
    blinded: bytes = field(repr=False)
    info: bytes = b""
    tweaked_key: bytes = b""
    additive: bool = False
    used: bool = False


def _finalize_hash(
    suite: Suite, inputs: Sequence[bytes], unblinded: bytes, info: bytes | None
) -> list[bytes]:
    out = []
    for i, x in enumerate(inputs):
        n = unblinded[NE * i : NE * (i + 1)]
        parts = (x, n) if info is None else (x, info, n)
        out.append(suite.hash(_lp(*parts) + b"Finalize"))
    return out


def _check_inputs(inputs: Sequence[bytes]) -> list[bytes]:
    if not 0 < len(inputs) <= MAX_BATCH:
        raise ValueError(f"batch must hold 1 to {MAX_BATCH} inputs")
    out = []
    for x in inputs:
        if not isinstance(x, bytes):
            raise TypeError("OPRF inputs must be bytes")
        if len(x) > 0xFFFF:
            raise ValueError("OPRF input longer than 65535 bytes")
        out.append(x)
    return out


class Client:
    """Single-key RFC 9497 client (vectors and tests; production uses :class:`TwoServerClient`)."""

    def __init__(
        self,
        suite: Suite,
        mode: Mode = Mode.VOPRF,
        public_key: PublicKey | None = None,
        *,
        production: bool = False,
    ) -> None:
        if production:
            raise ValueError("single-key OPRF is for test vectors only; production uses TwoServerClient")
        if mode != Mode.OPRF and public_key is None:
            raise ValueError(f"{mode.name} mode needs the server's public key")
        if public_key is not None and public_key.suite is not suite:
            raise ValueError("public key belongs to another suite")
        self.suite, self.mode, self.public_key = suite, mode, public_key

    def blind(self, inputs: Sequence[bytes], info: bytes = b"") -> tuple[ClientState, bytes]:
        curve = self.suite.curve
        return self._blind_with(inputs, [ec.random_scalar(curve) for _ in inputs], info)

    def _blind_with(
        self, inputs: Sequence[bytes], blinds: Sequence[bytes], info: bytes = b""
    ) -> tuple[ClientState, bytes]:
        inputs = _check_inputs(inputs)
        if len(blinds) != len(inputs):
            raise ValueError("need one blind per input")
        suite, curve = self.suite, self.suite.curve
        tweaked = b""
        if self.mode == Mode.POPRF:
            assert self.public_key is not None
            m = suite.hash_to_scalar(b"Info" + _lp(info), self.mode)
            if not any(m):
                raise ValueError("InvalidInputError: info hashes to zero")
            tweaked = ec.add(curve, ec.scalar_mult_base(curve, m), self.public_key.element)
        elif info:
            raise ValueError("info is only used in POPRF mode")
        rs = ec.join(blinds)
        dst = b"HashToGroup-" + suite.context(self.mode)
        blinded = lib.ec_hash_to_curve(curve.id, inputs, dst, rs, 0)
        epoch = self.public_key.epoch if self.public_key is not None else ""
        state = ClientState(list(inputs), rs, blinded, info, tweaked)
        return state, _Request(suite, self.mode, epoch, info, blinded).encode()

    def finalize(self, state: ClientState, response: bytes) -> list[bytes]:
        if state.used:
            raise ValueError("client state already finalized")
        resp = _Response.decode(response)
        suite, curve = self.suite, self.suite.curve
        if resp.suite is not suite or resp.mode != self.mode:
            raise ProtocolAbort("response is for another suite or mode")
        if self.public_key is not None and resp.epoch != self.public_key.epoch:
            raise ProtocolAbort("response is for another key epoch")
        if len(resp.evaluated) != len(state.blinded):
            raise ProtocolAbort("response holds a different number of elements")
        if self.mode == Mode.VOPRF:
            assert self.public_key is not None
            _verify(suite, self.mode, self.public_key.element, state.blinded, resp.evaluated, resp.proof)
        elif self.mode == Mode.POPRF:
            _verify(suite, self.mode, state.tweaked_key, resp.evaluated, state.blinded, resp.proof)
        unblinded = lib.ec_client_unblind(curve.id, resp.evaluated, None, state.blinds, None)
        state.used = True
        return _finalize_hash(suite, state.inputs, unblinded, state.info if self.mode == Mode.POPRF else None)


# ---- server --------------------------------------------------------------------------------------


class Server:
    """RFC 9497 server for one key or one key share; one batched DLEQ proof per request.

    ``holder`` names the share's holder in two-server mode (responses carry it, and the client
    matches it against the epoch). ``production=True`` accepts only VOPRF mode with a key that
    belongs to an epoch, i.e. a share of the two-server key.
    """

    def __init__(
        self, key: PrivateKey, mode: Mode = Mode.VOPRF, *, holder: str = "", production: bool = False
    ) -> None:
        if production and (mode != Mode.VOPRF or not key.epoch or not holder):
            raise ValueError(
                "production serves only VOPRF with a two-server key share (epoch and holder set)"
            )
        self.key, self.mode, self.holder = key, mode, holder
        self.suite = key.suite

    def blind_evaluate(self, request: bytes) -> bytes:
        return self._blind_evaluate_with(request, ec.random_scalar(self.suite.curve))

    def _blind_evaluate_with(self, request: bytes, proof_r: bytes) -> bytes:
        req = _Request.decode(request)
        suite, curve, k = self.suite, self.suite.curve, self.key.private_bytes()
        if req.suite is not suite or req.mode != self.mode:
            raise ProtocolAbort("request is for another suite or mode")
        if req.epoch != self.key.epoch:
            raise ProtocolAbort("request is for another key epoch")
        if self.mode == Mode.OPRF:
            if req.info:
                raise ProtocolAbort("info is only used in POPRF mode")
            evaluated, _, _ = lib.ec_server_eval(curve.id, k, req.blinded, None, b"")
            proof = b""
        elif self.mode == Mode.VOPRF:
            if req.info:
                raise ProtocolAbort("info is only used in POPRF mode")
            pk = self.key.public_key.element
            evaluated, m, z = lib.ec_server_eval(
                curve.id, k, req.blinded, _seed(suite, self.mode, pk), _h2s_dst(suite, self.mode)
            )
            assert m is not None and z is not None
            proof = _prove(suite, self.mode, k, pk, m, z, proof_r)
        else:
            mt = suite.hash_to_scalar(b"Info" + _lp(req.info), self.mode)
            t = ec.scalar_muladd(curve, mt, b"\x00" * (NS - 1) + b"\x01", k)  # t = k + m
            if not any(t):
                raise ProtocolAbort("InverseError: the tweaked key is zero")
            evaluated = lib.ec_mul(curve.id, ec.scalar_inverse(curve, t), req.blinded)
            u = ec.scalar_mult_base(curve, t)
            m, z = lib.ec_composites(
                curve.id, _seed(suite, self.mode, u), evaluated, req.blinded, _h2s_dst(suite, self.mode)
            )
            proof = _prove(suite, self.mode, t, u, m, z, proof_r)
        return _Response(suite, self.mode, self.key.epoch, self.holder, evaluated, proof).encode()


# ---- the two-server key (DESIGN.md, Protocols 1) -------------------------------------------------

_POP_DST = b"riskshare-oprf-share-pop-v1"


def _pop_challenge(suite: Suite, epoch: str, holder: str, share: bytes, commitment: bytes) -> bytes:
    return suite.hash_to_scalar(
        _lp(suite.name.encode(), epoch.encode(), holder.encode(), share, commitment), Mode.VOPRF, _POP_DST
    )


@dataclass(frozen=True)
class KeyShare:
    """A holder's public share K_i = k_i * G of an epoch, with its proof of possession: a Schnorr
    proof of knowledge of k_i whose challenge binds the suite, the epoch id and the holder id."""

    suite: Suite
    epoch: str
    holder: str
    element: bytes
    pop: bytes

    @classmethod
    def prove(cls, key: PrivateKey, holder: str) -> KeyShare:
        suite, curve = key.suite, key.suite.curve
        if not key.epoch or not holder:
            raise ValueError("a key share needs an epoch id and a holder id")
        r = ec.random_scalar(curve)
        commitment = ec.scalar_mult_base(curve, r)
        k = key.private_bytes()
        c = _pop_challenge(suite, key.epoch, holder, key.public_key.element, commitment)
        s = ec.scalar_muladd(curve, c, k, r)  # s = r + c * k
        return cls(suite, key.epoch, holder, key.public_key.element, c + s)

    def verify(self) -> None:
        curve = self.suite.curve
        if len(self.pop) != PROOF_SIZE:
            raise InvalidProof("proof of possession has the wrong length")
        c, s = self.pop[:NS], self.pop[NS:]
        if int.from_bytes(c, "big") >= curve.n or not 0 < int.from_bytes(s, "big") < curve.n:
            raise InvalidProof("proof of possession out of range")
        try:
            ec.decode_point(curve, self.element)
            neg_c = ec.scalar_negate(curve, c)
            commitment = ec.multi_scalar_mult(curve, [neg_c], [self.element], base_scalar=s)  # s*G - c*K
        except InvalidPoint:
            raise InvalidProof("proof of possession does not verify") from None
        if not ct_equal(_pop_challenge(self.suite, self.epoch, self.holder, self.element, commitment), c):
            raise InvalidProof("proof of possession does not verify")


@dataclass(frozen=True)
class KeyEpoch:
    """A key epoch as the ledger's ``key_epoch`` entry lists it: its id and the two public shares."""

    suite: Suite
    epoch: str
    shares: tuple[KeyShare, KeyShare]

    def __post_init__(self) -> None:
        a, b = self.shares
        if a.holder == b.holder:
            raise ValueError("the two shares need different holders")
        for s in self.shares:
            if s.suite is not self.suite or s.epoch != self.epoch:
                raise ValueError("share belongs to another suite or epoch")
            s.verify()
        if a.element == b.element:
            raise ValueError("the two shares must differ")

    @property
    def public_key(self) -> bytes:
        """K = K1 + K2, the public key of k = k1 + k2."""
        return ec.add(self.suite.curve, self.shares[0].element, self.shares[1].element)

    def share(self, holder: str) -> KeyShare:
        for s in self.shares:
            if s.holder == holder:
                return s
        raise ProtocolAbort(f"holder {holder!r} holds no share of epoch {self.epoch!r}")


class TwoServerClient:
    """Client of the two-server VOPRF: one request for both servers, both proofs checked.

    Blinding is additive by default (DESIGN.md, Protocols 1, speed hint): B = H(x) + r * G and
    N = Z1 + Z2 - r * K with K = K1 + K2; the output is the same as with the RFC's multiplicative
    blinding (``additive=False``, B = r * H(x), N = r^-1 (Z1 + Z2)), which stays for cross-checks.
    What it means here:

    - Privacy is unchanged: r is uniform, so B is a uniform point whatever x is.
    - The unblinding subtracts r * K for the epoch's K, so it is right only if each server
      evaluated with the share K_i the epoch lists. That is why additive blinding is used only in
      this VOPRF client: both batched DLEQ proofs are checked against the epoch's shares (whose
      proofs of possession :class:`KeyEpoch` verified) before N is computed, and a server that
      evaluates under any other key fails its proof instead of shifting the output. Every
      response must name the epoch the client was built for.
    - Speed: r * G and r * K run on constant-time fixed-base combs (the generator's, and one
      built for K once per client, i.e. per epoch: nistz256's table on P-256, the SM2 core's odd
      comb on the SM2 curve) instead of two variable-base multiplications per element.
    """

    mode = Mode.VOPRF

    def __init__(self, epoch: KeyEpoch, *, additive: bool = True, production: bool = True) -> None:
        del production  # two-server VOPRF is the production mode; the flag is accepted for symmetry
        self.epoch, self.suite, self.additive = epoch, epoch.suite, additive
        self._k = epoch.public_key
        # additive unblinding computes r * K for every element: a fixed-base table for K when the
        # backend has one (P-256 on nistz256), built once per epoch
        self._k_table = lib.ec_fixed_base(self.suite.curve.id, self._k) if additive else None

    def blind(self, inputs: Sequence[bytes]) -> tuple[ClientState, bytes]:
        return self._blind_with(inputs, [ec.random_scalar(self.suite.curve) for _ in inputs])

    def _blind_with(self, inputs: Sequence[bytes], blinds: Sequence[bytes]) -> tuple[ClientState, bytes]:
        inputs = _check_inputs(inputs)
        if len(blinds) != len(inputs):
            raise ValueError("need one blind per input")
        suite = self.suite
        rs = ec.join(blinds)
        dst = b"HashToGroup-" + suite.context(self.mode)
        blinded = lib.ec_hash_to_curve(suite.curve.id, inputs, dst, rs, 1 if self.additive else 0)
        state = ClientState(list(inputs), rs, blinded, additive=self.additive)
        return state, _Request(suite, self.mode, self.epoch.epoch, b"", blinded).encode()

    def _parse(self, state: ClientState, response: bytes) -> tuple[_Response, KeyShare]:
        resp = _Response.decode(response)
        if resp.suite is not self.suite or resp.mode != self.mode:
            raise ProtocolAbort("response is for another suite or mode")
        if resp.epoch != self.epoch.epoch:
            raise ProtocolAbort("response is for another key epoch")
        if len(resp.evaluated) != len(state.blinded):
            raise ProtocolAbort("response holds a different number of elements")
        if len(resp.proof) != PROOF_SIZE:
            raise InvalidProof("proof has the wrong length")
        return resp, self.epoch.share(resp.holder)

    def finalize(self, state: ClientState, response_1: bytes, response_2: bytes) -> list[bytes]:
        """Check both servers' proofs against the epoch's shares, then unblind Z1 + Z2."""
        if state.used:
            raise ValueError("client state already finalized")
        (r1, sh1), (r2, sh2) = self._parse(state, response_1), self._parse(state, response_2)
        if r1.holder == r2.holder:
            raise ProtocolAbort("both responses come from the same key holder")
        suite, curve, mode = self.suite, self.suite.curve, self.mode
        k = self._k if state.additive else None
        try:
            m1, zc1, m2, zc2, unblinded = lib.ec_client_finalize2(
                curve.id,
                state.blinded,
                r1.evaluated,
                r2.evaluated,
                _seed(suite, mode, sh1.element),
                _seed(suite, mode, sh2.element),
                _h2s_dst(suite, mode),
                state.blinds,
                k,
                self._k_table if k is not None else None,
            )
        except InvalidPoint:
            # an element off the curve, or composites / sums at infinity: no valid proof yields them
            raise InvalidProof("evaluation does not verify") from None
        _check_proof(suite, mode, sh1.element, m1, zc1, r1.proof)
        _check_proof(suite, mode, sh2.element, m2, zc2, r2.proof)
        state.used = True
        return _finalize_hash(suite, state.inputs, unblinded, None)
