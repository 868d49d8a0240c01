"""RFC 9497 OPRF/VOPRF/POPRF: the RFC's P256-SHA256 vectors, our SM2-SM3 vectors, the two-server
key, and tamper tests for every message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc import oprf
from mpc.exceptions import InvalidPoint, InvalidProof, ProtocolAbort
from mpc.oprf import Mode
from tests import h2c_reference as ref
from tests._ec_backends import sm2_backends, use_sm2_backend
from tests._vectors import load

RFC = load("oprf/rfc9497_p256.txt")
SM2V = load("oprf/sm2_sm3_reference.txt")


def _split(v: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in v.split(",")]


def _run_vector(suite: oprf.Suite, v: dict[str, str]) -> None:
    mode = Mode[v["section"]]
    key = oprf.PrivateKey.derive(suite, bytes.fromhex(v["Seed"]), bytes.fromhex(v["KeyInfo"]), mode)
    assert key.private_bytes().hex() == v["skSm"]
    if "pkSm" in v:
        assert key.public_key.element.hex() == v["pkSm"]
    inputs, blinds = _split(v["Input"]), _split(v["Blind"])
    info = bytes.fromhex(v.get("Info", ""))
    client = oprf.Client(suite, mode, None if mode == Mode.OPRF else key.public_key)
    state, request = client._blind_with(inputs, blinds, info)
    assert state.blinded == b"".join(_split(v["BlindedElement"]))
    server = oprf.Server(key, mode)
    proof_r = bytes.fromhex(v.get("ProofRandomScalar", "01".zfill(64)))
    response = server._blind_evaluate_with(request, proof_r)
    resp = oprf._Response.decode(response)
    assert resp.evaluated == b"".join(_split(v["EvaluationElement"]))
    if mode != Mode.OPRF:
        assert resp.proof.hex() == v["Proof"]
    assert client.finalize(state, response) == _split(v["Output"])


@pytest.mark.parametrize(
    "v", RFC, ids=lambda v: f"{v['section']}-{len(v['Input'].split(','))}-{v['Input'][:6]}"
)
def test_rfc9497_p256_sha256_vectors(v: dict[str, str]) -> None:
    _run_vector(oprf.P256_SHA256, v)


@pytest.mark.parametrize(
    "v", SM2V, ids=lambda v: f"{v['section']}-{len(v['Input'].split(','))}-{v['Input'][:6]}"
)
def test_sm2_sm3_vectors(v: dict[str, str]) -> None:
    _run_vector(oprf.SM2_SM3, v)


def test_sm2_vector_file_is_what_the_reference_produces() -> None:
    assert (ref.VECTORS / "oprf" / "sm2_sm3_reference.txt").read_text() == ref.sm2_oprf_file()


def test_reference_reproduces_rfc_vectors() -> None:
    for v in RFC:
        if v["section"] == "POPRF":
            continue
        got = ref.vector(
            ref.P256,
            v["section"],
            bytes.fromhex(v["Seed"]),
            bytes.fromhex(v["KeyInfo"]),
            _split(v["Input"]),
            [int(x, 16) for x in v["Blind"].split(",")],
            int(v.get("ProofRandomScalar", "0"), 16),
        )
        assert all(got[k] == v[k] for k in got)


# ---- the two-server key ------------------------------------------------------------------------

SUITES = [oprf.P256_SHA256, oprf.SM2_SM3]


def _epoch(suite: oprf.Suite, epoch: str = "e1") -> tuple[oprf.KeyEpoch, oprf.Server, oprf.Server]:
    k1 = oprf.PrivateKey.generate(suite, epoch)
    k2 = oprf.PrivateKey.generate(suite, epoch)
    e = oprf.KeyEpoch(
        suite, epoch, (oprf.KeyShare.prove(k1, "platform"), oprf.KeyShare.prove(k2, "keyholder"))
    )
    s1 = oprf.Server(k1, Mode.VOPRF, holder="platform", production=True)
    s2 = oprf.Server(k2, Mode.VOPRF, holder="keyholder", production=True)
    return e, s1, s2


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
@pytest.mark.parametrize("additive", [False, True], ids=["multiplicative", "additive"])
def test_two_server_output_equals_rfc_output_under_k1_plus_k2(suite: oprf.Suite, additive: bool) -> None:
    e, s1, s2 = _epoch(suite)
    client = oprf.TwoServerClient(e, additive=additive)
    inputs = [b"\x01110101199003074578", b"\x0291350100MA2XXXXX1X", b""]
    state, request = client.blind(inputs)
    out = client.finalize(state, s1.blind_evaluate(request), s2.blind_evaluate(request))
    # the RFC VOPRF under k = k1 + k2 gives the same outputs
    k = (
        int.from_bytes(s1.key.private_bytes(), "big") + int.from_bytes(s2.key.private_bytes(), "big")
    ) % suite.curve.n
    single = oprf.PrivateKey(suite, k.to_bytes(32, "big"), "e1")
    assert single.public_key.element == e.public_key
    c = oprf.Client(suite, Mode.VOPRF, single.public_key)
    st, rq = c.blind(inputs)
    assert c.finalize(st, oprf.Server(single).blind_evaluate(rq)) == out
    # and the pure-Python reference agrees
    rc = ref.P256 if suite is oprf.P256_SHA256 else ref.SM2
    ctx = ref.context_string(rc, "VOPRF")
    assert out == [ref.finalize_hash(rc, x, ref.mul(rc, k, ref.hash_to_group(rc, x, ctx))) for x in inputs]


def test_two_server_responses_in_either_order() -> None:
    e, s1, s2 = _epoch(oprf.P256_SHA256)
    client = oprf.TwoServerClient(e)
    state, request = client.blind([b"a"])
    a, b = s1.blind_evaluate(request), s2.blind_evaluate(request)
    st2, _ = client._blind_with([b"a"], [state.blinds])
    assert client.finalize(state, a, b) == client.finalize(st2, b, a)


def test_proofs_of_possession_are_bound_to_epoch_and_holder() -> None:
    suite = oprf.SM2_SM3
    k1, k2 = oprf.PrivateKey.generate(suite, "e1"), oprf.PrivateKey.generate(suite, "e1")
    s1, s2 = oprf.KeyShare.prove(k1, "platform"), oprf.KeyShare.prove(k2, "keyholder")
    s1.verify()
    for forged in [
        oprf.KeyShare(suite, "e2", s1.holder, s1.element, s1.pop),  # replayed into another epoch
        oprf.KeyShare(suite, "e1", "keyholder", s1.element, s1.pop),  # claimed by another holder
        oprf.KeyShare(suite, "e1", "platform", s2.element, s1.pop),  # another key
        oprf.KeyShare(suite, "e1", "platform", s1.element, s1.pop[:32] + bytes(32)),
        oprf.KeyShare(suite, "e1", "platform", s1.element, s1.pop[:-1]),
    ]:
        with pytest.raises(InvalidProof):
            forged.verify()
    with pytest.raises(ValueError):
        oprf.KeyEpoch(suite, "e1", (s1, oprf.KeyShare.prove(k2, "platform")))
    with pytest.raises(ValueError):
        oprf.KeyShare.prove(oprf.PrivateKey.generate(suite), "platform")  # no epoch


def test_production_refuses_single_key_mode() -> None:
    key = oprf.PrivateKey.generate(oprf.P256_SHA256, "e1")
    with pytest.raises(ValueError):
        oprf.Client(oprf.P256_SHA256, Mode.VOPRF, key.public_key, production=True)
    with pytest.raises(ValueError):
        oprf.Server(oprf.PrivateKey.generate(oprf.P256_SHA256), Mode.VOPRF, holder="x", production=True)
    with pytest.raises(ValueError):
        oprf.Server(key, Mode.OPRF, holder="x", production=True)
    with pytest.raises(ValueError):
        oprf.Server(key, Mode.VOPRF, production=True)  # no holder


def test_private_key_repr_hides_the_secret() -> None:
    key = oprf.PrivateKey.generate(oprf.SM2_SM3, "e7")
    assert key.private_bytes().hex() not in repr(key)
    assert "e7" in repr(key)


# ---- tampering --------------------------------------------------------------------------------


def _flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_tampered_responses_are_rejected(suite: oprf.Suite) -> None:
    e, s1, s2 = _epoch(suite)
    client = oprf.TwoServerClient(e)
    state, request = client.blind([b"x", b"y"])
    r1, r2 = s1.blind_evaluate(request), s2.blind_evaluate(request)
    header = len(r1) - 2 * 33 - 64
    # every byte of the elements and the proof
    for i in range(header, len(r1)):
        st, _ = client._blind_with([b"x", b"y"], [state.blinds[:32], state.blinds[32:]])
        with pytest.raises((InvalidProof, InvalidPoint)):
            client.finalize(st, _flip(r1, i), r2)
    for bad in [r1[:-1], r1 + b"\x00", r1[:10], b"", _flip(r1, 0), _flip(r1, 5)]:
        st, _ = client._blind_with([b"x", b"y"], [state.blinds[:32], state.blinds[32:]])
        with pytest.raises(ProtocolAbort):
            client.finalize(st, bad, r2)
    st, _ = client._blind_with([b"x", b"y"], [state.blinds[:32], state.blinds[32:]])
    with pytest.raises(ProtocolAbort):  # the same server twice
        client.finalize(st, r1, r1)
    # a response from another epoch's server
    _, s3, _ = _epoch(suite, "e2")
    with pytest.raises(ProtocolAbort):
        client.finalize(st, s3.blind_evaluate(request.replace(b"\x02e1", b"\x02e2")), r2)
    # a response computed with the right holder name but another key
    rogue = oprf.Server(oprf.PrivateKey.generate(suite, "e1"), Mode.VOPRF, holder="platform")
    with pytest.raises(InvalidProof):
        client.finalize(st, rogue.blind_evaluate(request), r2)
    # a response for different blinded elements (replayed from another request)
    _, other = client.blind([b"x", b"z"])
    with pytest.raises(InvalidProof):
        client.finalize(st, s1.blind_evaluate(other), r2)


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.name)
def test_tampered_requests_are_rejected(suite: oprf.Suite) -> None:
    e, s1, _ = _epoch(suite)
    client = oprf.TwoServerClient(e)
    _, request = client.blind([b"x"])
    n = len(request)
    for i in range(n - 33, n):  # the blinded element: off the curve, non-canonical or a valid other point
        bad = _flip(request, i)
        try:
            s1.blind_evaluate(bad)
        except InvalidPoint:
            continue
        # a flip that lands on another valid point is a different (harmless) query
    for bad in [request[:-1], request + b"\x00", b"", request[:8], _flip(request, 0), _flip(request, 4)]:
        with pytest.raises(ProtocolAbort):
            s1.blind_evaluate(bad)
    with pytest.raises(InvalidPoint):  # the point at infinity has no 33-byte encoding
        s1.blind_evaluate(request[:-33] + bytes(33))
    with pytest.raises(ProtocolAbort):  # another epoch
        s1.blind_evaluate(request.replace(b"\x02e1", b"\x02e9"))
    with pytest.raises(ProtocolAbort):  # another mode
        oprf.Server(s1.key, Mode.OPRF).blind_evaluate(request)


def test_single_key_client_rejects_bad_proof_and_wrong_key() -> None:
    suite = oprf.P256_SHA256
    key, other = oprf.PrivateKey.generate(suite), oprf.PrivateKey.generate(suite)
    client = oprf.Client(suite, Mode.VOPRF, key.public_key)
    state, request = client.blind([b"a"])
    with pytest.raises(InvalidProof):
        client.finalize(state, oprf.Server(other).blind_evaluate(request))
    response = oprf.Server(key).blind_evaluate(request)
    proof_at = len(response) - 64
    c_is_n = response[:proof_at] + suite.curve.n.to_bytes(32, "big") + response[proof_at + 32 :]
    with pytest.raises(InvalidProof):
        client.finalize(state, c_is_n)
    assert len(client.finalize(state, response)) == 1
    with pytest.raises(ValueError):  # a state is used once
        client.finalize(state, response)


def test_bad_inputs_and_scalars() -> None:
    suite = oprf.P256_SHA256
    key = oprf.PrivateKey.generate(suite)
    client = oprf.Client(suite, Mode.VOPRF, key.public_key)
    with pytest.raises(ValueError):
        client.blind([])
    with pytest.raises(TypeError):
        client.blind(["text"])  # type: ignore[list-item]
    with pytest.raises(ValueError):
        client._blind_with([b"a"], [bytes(32)])  # zero blind
    with pytest.raises(ValueError):
        client._blind_with([b"a"], [suite.curve.n.to_bytes(32, "big")])
    with pytest.raises(ValueError):
        oprf.PrivateKey(suite, bytes(32))
    with pytest.raises(ValueError):
        oprf.PrivateKey(suite, suite.curve.n.to_bytes(32, "big"))
    with pytest.raises(ValueError):
        oprf.Client(suite, Mode.VOPRF)  # no public key
    with pytest.raises(InvalidPoint):
        oprf.PublicKey(suite, b"\x04" + bytes(32))


# ---- properties, metering, concurrency --------------------------------------------------------

_EPOCHS = {s.name: _epoch(s) for s in SUITES}


@settings(max_examples=15)
@given(
    inputs=st.lists(st.binary(max_size=40), min_size=1, max_size=4),
    suite=st.sampled_from(SUITES),
    additive=st.booleans(),
)
def test_two_server_matches_single_key_property(
    inputs: list[bytes], suite: oprf.Suite, additive: bool
) -> None:
    e, s1, s2 = _EPOCHS[suite.name]
    client = oprf.TwoServerClient(e, additive=additive)
    state, request = client.blind(inputs)
    out = client.finalize(state, s1.blind_evaluate(request), s2.blind_evaluate(request))
    k = (
        int.from_bytes(s1.key.private_bytes(), "big") + int.from_bytes(s2.key.private_bytes(), "big")
    ) % suite.curve.n
    single = oprf.PrivateKey(suite, k.to_bytes(32, "big"), "e1")
    c = oprf.Client(suite, Mode.VOPRF, single.public_key)
    st_, rq = c.blind(inputs)
    assert c.finalize(st_, oprf.Server(single).blind_evaluate(rq)) == out
    # deterministic: the same input always maps to the same output, different inputs differ
    assert len(set(out)) == len(set(inputs))


def test_parse_request_for_metering() -> None:
    from mpc.sm3 import sm3

    e, _, _ = _EPOCHS["SM2-SM3"]
    client = oprf.TwoServerClient(e)
    state, request = client.blind([b"a", b"b", b"c"])
    info = oprf.parse_request(request)
    assert (info.suite, info.mode, info.epoch, info.count) == ("SM2-SM3", Mode.VOPRF, "e1", 3)
    assert info.digest == sm3(state.blinded)
    with pytest.raises(ProtocolAbort):
        oprf.parse_request(request[:-1])


def test_servers_run_concurrently_without_the_gil() -> None:
    from concurrent.futures import ThreadPoolExecutor

    e, s1, s2 = _EPOCHS["P256-SHA256"]
    client = oprf.TwoServerClient(e)
    jobs = [client.blind([b"%d" % i for i in range(j, j + 50)]) for j in range(0, 200, 50)]
    with ThreadPoolExecutor(4) as pool:
        r1 = list(pool.map(s1.blind_evaluate, [rq for _, rq in jobs]))
        r2 = list(pool.map(s2.blind_evaluate, [rq for _, rq in jobs]))
    outs = [client.finalize(stt, a, b) for (stt, _), a, b in zip(jobs, r1, r2, strict=True)]
    assert sum(len(o) for o in outs) == 200


def test_poprf_tampering() -> None:
    suite = oprf.P256_SHA256
    key = oprf.PrivateKey.generate(suite)
    client = oprf.Client(suite, Mode.POPRF, key.public_key)
    server = oprf.Server(key, Mode.POPRF)
    state, request = client.blind([b"x"], info=b"info")
    response = server.blind_evaluate(request)
    other_info = server.blind_evaluate(request.replace(b"info", b"inf0"))
    with pytest.raises(InvalidProof):
        client.finalize(state, other_info)
    with pytest.raises((InvalidProof, InvalidPoint)):
        client.finalize(state, _flip(response, len(response) - 70))
    assert len(client.finalize(state, response)) == 1


@pytest.mark.parametrize("backend", sm2_backends())
def test_sm2_vectors_on_every_backend(backend: str) -> None:
    with use_sm2_backend(backend):
        for v in SM2V:
            _run_vector(oprf.SM2_SM3, v)
        e, s1, s2 = _epoch(oprf.SM2_SM3)
        rc = ref.SM2
        k = (
            int.from_bytes(s1.key.private_bytes(), "big") + int.from_bytes(s2.key.private_bytes(), "big")
        ) % rc.n
        ctx = ref.context_string(rc, "VOPRF")
        expected = [
            ref.finalize_hash(rc, x, ref.mul(rc, k, ref.hash_to_group(rc, x, ctx))) for x in (b"a", b"b")
        ]
        for additive in (False, True):
            client = oprf.TwoServerClient(e, additive=additive)
            state, request = client.blind([b"a", b"b"])
            assert client.finalize(state, s1.blind_evaluate(request), s2.blind_evaluate(request)) == expected


def test_vectors_on_both_arithmetic_paths(dispatch: str) -> None:
    for v in RFC:
        _run_vector(oprf.P256_SHA256, v)
    for v in SM2V:
        _run_vector(oprf.SM2_SM3, v)
    for name in ("P256-SHA256", "SM2-SM3"):
        e, s1, s2 = _EPOCHS[name]
        outs = []
        for additive in (True, False):  # the fixed-base comb of K against multiplicative blinding
            client = oprf.TwoServerClient(e, additive=additive)
            state, request = client.blind([b"x", b"y"])
            outs.append(client.finalize(state, s1.blind_evaluate(request), s2.blind_evaluate(request)))
        assert outs[0] == outs[1]


def test_additive_table_survives_a_backend_switch() -> None:
    # the client's fixed-base table of K belongs to the backend that built it: after a switch the
    # client falls back to plain k*P, and the table is freed by its own backend
    if len(sm2_backends()) < 2:
        pytest.skip("only one SM2 backend in this build")
    e, s1, s2 = _EPOCHS["SM2-SM3"]
    want = None
    for first, second in (("sm2core", "openssl"), ("openssl", "sm2core")):
        with use_sm2_backend(first):
            client = oprf.TwoServerClient(e, additive=True)
        with use_sm2_backend(second):
            state, request = client.blind([b"x"])
            out = client.finalize(state, s1.blind_evaluate(request), s2.blind_evaluate(request))
        want = want or out
        assert out == want
        del client


def test_client_state_repr_hides_inputs_and_blinds() -> None:
    e, _, _ = _EPOCHS["P256-SHA256"]
    state, _ = oprf.TwoServerClient(e).blind([b"\x01110101199003074578"])
    text = repr(state)
    assert "110101199003074578" not in text
    assert state.blinds.hex() not in text
