"""Statistics end to end over loopback gRPC with SQLite stores (DESIGN.md, Protocols 6)."""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import pytest

from api import client
from api.consortium import Consortium, init_consortium
from api.platform import Platform
from api.roles import Running, start_keyholder, start_platform
from api.stats_client import StatsClient
from api.stats_service import platform_stats, store_paillier_key
from ledger.entry import Entry, Kind
from mpc import paillier as pl
from mpc.exceptions import ProtocolAbort
from mpc.stats import DEFAULT_AMOUNT_COUNT_BY_CATEGORY_MONTH as SPEC
from mpc.stats import Participant, RoundSpec, Submission

SPECS = [
    "platform:platform+admin",
    "supervisor:keyholder+admin",
    "sec-a:contributor+broker",
    "sec-b:contributor",
    "sec-c:contributor",
    "sec-d:contributor",
    "sec-e:contributor",
    "broker-x:broker",
    "audit-1:auditor",
]
PARTS = ["sec-a", "sec-b", "sec-c", "sec-d"]


@dataclass
class Env:
    c: Consortium
    platform: Platform
    runs: tuple[Running, Running]
    clients: dict[str, StatsClient]
    sessions: list[client.Session]

    def ledger_size(self) -> int:
        return self.platform.ledger.storage.size()

    def db(self) -> sqlite3.Connection:
        return platform_stats(self.platform).db


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = tmp_path_factory.mktemp("stats") / "c"
    init_consortium(root, SPECS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0")
    c = Consortium.load(root)
    _, sk = pl._generate_keypair(1024, safe_primes=False)  # speed: production generates 2048 safe
    store_paillier_key(c, sk)
    p_run, platform = start_platform(c)
    c.platform_address = f"localhost:{p_run.port}"  # the key holder reaches the platform here
    k_run, _ = start_keyholder(c)
    kaddr = f"localhost:{k_run.port}"
    c.keyholder_address = kaddr
    c.save()  # the CLI test connects through consortium.toml
    sessions = [client.Session.connect(c, m.name, c.platform_address, kaddr) for m in c.members]
    clients = {s.name: StatsClient(s) for s in sessions}
    try:
        yield Env(c, platform, (p_run, k_run), clients, sessions)
    finally:
        for s in sessions:
            s.close()
        p_run.stop()
        k_run.stop()
        platform.close()


def inputs_for(
    names: list[str], rng: random.Random, sparse: dict[int, set[str]]
) -> dict[str, list[list[int]]]:
    """Random amounts and counts; cell c is fed only by the members in ``sparse[c]`` if given."""
    out: dict[str, list[list[int]]] = {}
    for n in names:
        amount = [rng.randrange(1, 10**12) for _ in range(SPEC.cells)]
        count = [rng.randrange(1, 50) for _ in range(SPEC.cells)]
        for c, feeders in sparse.items():
            if n not in feeders:
                amount[c] = count[c] = 0
        out[n] = [amount, count]
    return out


def expected(inputs: dict[str, list[list[int]]], k: int = 3) -> dict[int, tuple[int, int]]:
    out = {}
    for c in range(SPEC.cells):
        fed = sum(1 for v in inputs.values() if v[0][c] or v[1][c])
        if fed >= k:
            out[c] = (sum(v[0][c] for v in inputs.values()), sum(v[1][c] for v in inputs.values()))
    return out


def stat_entries(e: Env, kind: Kind) -> list[Entry]:
    out = []
    for _, body, _ in e.platform.ledger.storage.entries():
        en = Entry.decode(body)
        if en.kind is kind:
            out.append(en)
    return out


def test_exact_sums_k_suppression_and_one_release_per_cell(env: Env) -> None:
    admin = env.clients["platform"]
    rid, _ = admin.define(SPEC.name, 2024, PARTS)
    rng = random.Random(5)
    # cell 0 fed by two members only, cell 1 by three, cell 2 by nobody
    inputs = inputs_for(PARTS, rng, {0: {"sec-a", "sec-b"}, 1: {"sec-b", "sec-c", "sec-d"}, 2: set()})
    closed = [env.clients[n].submit(rid, inputs[n]).closed for n in PARTS]
    assert closed == [False, False, False, True]  # the last submission closes the round
    querier = env.c.member("broker-x").id
    engine = env.platform.hook.engine  # type: ignore[attr-defined]
    before = engine.balance(querier)
    result, receipt = env.clients["broker-x"].release(rid)
    want = expected(inputs)
    # the release pays one evaluation fee per released cell through the rules
    fee = engine.params.evaluation_fee
    assert engine.balance(querier) == before - fee * len(want)

    assert dict(result.values) == want
    assert 0 not in result.values and 1 in result.values and 2 not in result.values
    assert set(result.suppressed) == set(range(SPEC.cells)) - set(want)
    assert result.value("amount_fen", "admin_penalty", "02") == want[1][0]
    rel = Entry.decode(env.platform.ledger.storage.entry(receipt.index))
    assert rel.kind is Kind.STAT_RELEASE and rel.int_field("cells") == len(want)
    assert rel.int_field("querier") == env.c.member("broker-x").id
    # each cell of a round is released once; nothing is logged for the refusal
    size = env.ledger_size()
    with pytest.raises(grpc.RpcError) as e:
        env.clients["sec-a"].release(rid, [5])
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "already released" in (e.value.details() or "")
    assert env.ledger_size() == size
    # every stat_* entry holds counts and hashes only
    sub = stat_entries(env, Kind.STAT_SUBMIT)[-1]
    assert set(sub.request.fields) == {"round_id", "submission_hash", "size"}


def test_dropped_participant_is_recovered(env: Env) -> None:
    admin = env.clients["platform"]
    names = ["sec-a", "sec-b", "sec-c", "sec-d", "sec-e"]
    rid, _ = admin.define(SPEC.name, 2023, names)
    inputs = inputs_for(names, random.Random(9), {})
    survivors = ["sec-a", "sec-c", "sec-d", "sec-e"]
    for n in survivors:
        env.clients[n].submit(rid, inputs[n])
    with pytest.raises(grpc.RpcError) as e:  # only administrators close a round early
        env.clients["sec-a"].close(rid)
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert admin.close(rid) == (env.c.member("sec-b").id,)  # sec-b dropped out
    close = stat_entries(env, Kind.STAT_CLOSE)[-1]
    assert close.ints_field("non_submitters") == (env.c.member("sec-b").id,)
    b = env.clients["sec-b"]
    with pytest.raises(ProtocolAbort, match="closed"):  # the client sees the close on the ledger
        b.submit(rid, inputs["sec-b"])
    late = b.participant(rid).submit(inputs["sec-b"])
    with pytest.raises(grpc.RpcError) as e:  # and the platform refuses a late submission
        _submit_raw(b, rid, late.to_bytes())
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    # without the survivors' seeds the key holder cannot unmask: refused, nothing released
    with pytest.raises(grpc.RpcError) as e:
        env.clients["broker-x"].release(rid)
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    for n in survivors:
        assert env.clients[n].send_seeds(rid) == 1
    result, _ = env.clients["broker-x"].release(rid)
    assert dict(result.values) == expected({n: inputs[n] for n in survivors})


def test_second_round_for_same_period_is_refused(env: Env) -> None:
    admin = env.clients["platform"]
    admin.define(SPEC.name, 2022, PARTS)
    size = env.ledger_size()
    with pytest.raises(grpc.RpcError) as e:
        admin.define(SPEC.name, 2022, ["sec-a", "sec-b", "sec-e"])
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "re-run must keep the participant set" in (e.value.details() or "")
    names = ["sec-a", "sec-b", "sec-c"]
    rid, _ = admin.define(SPEC.name, 2018, names)
    for n, v in inputs_for(names, random.Random(1), {}).items():
        env.clients[n].submit(rid, v)
    env.clients["broker-x"].release(rid)
    size = env.ledger_size()
    with pytest.raises(grpc.RpcError) as e:  # not even administrators re-run a released round
        admin.define(SPEC.name, 2018, names)
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "already released" in (e.value.details() or "")
    with pytest.raises(grpc.RpcError) as e:  # only administrators or the platform open rounds
        env.clients["sec-a"].define(SPEC.name, 2021, PARTS)
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert env.ledger_size() == size


def test_bad_inputs_are_clear_errors_with_nothing_changed(env: Env) -> None:
    admin = env.clients["platform"]
    admin.ensure_key()  # a first round would publish the key: keep that out of the counts below
    size = env.ledger_size()
    with pytest.raises(ValueError, match="unknown statistic"):
        admin.define("no_such_statistic", 2020, PARTS)
    # the same through the wire, bypassing the client's check
    with pytest.raises(grpc.RpcError) as e:
        _define_raw(env, statistic=999)
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown statistic" in (e.value.details() or "")
    with pytest.raises(grpc.RpcError) as e:
        _define_raw(env, k=2)
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        _define_raw(env, participants=("broker-x", "sec-a", "sec-b"))
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert env.ledger_size() == size

    rid, _ = admin.define(SPEC.name, 2020, PARTS)
    size = env.ledger_size()
    a = env.clients["sec-a"]
    with pytest.raises(ValueError, match="shape"):
        a.submit(rid, [[1, 2, 3]])
    # wrong vector length: a correctly signed submission with one ciphertext too few
    part = a.participant(rid)
    good = part.submit([[1] * SPEC.cells, [1] * SPEC.cells])
    short = replace(good, values=good.values[:-1], signature=b"")
    short = replace(short, signature=env.c.signing_key("sec-a").sign(short.signed_bytes()))
    with pytest.raises(grpc.RpcError) as e:
        _submit_raw(a, rid, short.to_bytes())
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "value and" in (e.value.details() or "")
    # encrypted under another Paillier key
    other, _ = pl._generate_keypair(1024, safe_primes=False)
    spec = a.ledger().round_spec(rid, a.members)
    foreign = RoundSpec(rid, spec.statistic, spec.period, other, spec.participants, spec.k)
    sub = Participant(
        foreign, a.s.member.id, env.c.signing_key("sec-a"), env.c.agreement_key("sec-a")
    ).submit([[1] * SPEC.cells, [1] * SPEC.cells])
    with pytest.raises(grpc.RpcError) as e:
        _submit_raw(a, rid, sub.to_bytes())
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "another Paillier key" in (e.value.details() or "")
    # a submission signed by another member, and a non-participant
    with pytest.raises(grpc.RpcError) as e:
        _submit_raw(env.clients["sec-b"], rid, good.to_bytes())
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        _submit_raw(env.clients["sec-e"], rid, good.to_bytes())
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert env.ledger_size() == size
    assert env.db().execute("SELECT COUNT(*) FROM submissions WHERE round_id = ?", (rid,)).fetchone()[0] == 0
    # the original, correct submission still goes in afterwards
    _submit_raw(a, rid, good.to_bytes())
    assert env.ledger_size() == size + 1


def _define_raw(
    env: Env, *, statistic: int = SPEC.code, k: int = 3, participants: tuple[str, ...] = tuple(PARTS)
) -> None:
    from api import convert
    from api._generated import stats_pb2

    admin = env.clients["platform"]
    view = admin.ensure_key()  # this test may be the first of the module on its worker
    key_id = view.current_key[env.c.member("supervisor").id]
    ids = tuple(sorted(env.c.member(n).id for n in participants))
    raw, sigs = admin.s.request(
        Kind.STAT_ROUND,
        {
            "round_id": 77,
            "statistic": statistic,
            "period": 1999,
            "key_id": key_id,
            "k": k,
            "participants": ids,
        },
    )
    admin.stats.Define(stats_pb2.DefineRoundRequest(request=convert.signed_request(raw, sigs)), timeout=30)


def _submit_raw(sc: StatsClient, rid: int, data: bytes) -> None:
    from api import convert
    from api._generated import stats_pb2
    from mpc.sm3 import sm3

    raw, sigs = sc.s.request(
        Kind.STAT_SUBMIT, {"round_id": rid, "submission_hash": sm3(data), "size": len(data)}
    )
    sc.stats.Submit(
        stats_pb2.StatSubmitRequest(request=convert.signed_request(raw, sigs), submission=data), timeout=30
    )


def test_key_holder_refuses_lists_that_differ_from_the_ledger(env: Env) -> None:
    admin = env.clients["platform"]
    names = ["sec-a", "sec-b", "sec-c"]
    rid, _ = admin.define(SPEC.name, 2019, names)
    inputs = inputs_for(names, random.Random(3), {})
    for n in names:
        env.clients[n].submit(rid, inputs[n])
    db = env.db()
    rows = db.execute("SELECT member, body FROM submissions WHERE round_id = ?", (rid,)).fetchall()
    member, body = rows[0][0], bytes(rows[0][1])
    rnd = env.clients["broker-x"].ledger().round_spec(rid, env.clients["broker-x"].members)
    sub = Submission.from_bytes(body, rnd)
    altered = bytearray(body)
    altered[100] ^= 1  # an altered ciphertext
    unsigned = replace(sub, signature=b"").to_bytes()
    size = env.ledger_size()
    for bad in (bytes(altered), unsigned, None):
        if bad is None:  # a list with one submission missing
            db.execute("DELETE FROM submissions WHERE round_id = ? AND member = ?", (rid, member))
        else:
            db.execute(
                "UPDATE submissions SET body = ? WHERE round_id = ? AND member = ?", (bad, rid, member)
            )
        with pytest.raises(grpc.RpcError) as e:
            env.clients["broker-x"].release(rid)
        assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert "differ from the ledger" in (e.value.details() or "")
        assert env.ledger_size() == size  # no stat_release entry
        db.execute(
            "INSERT OR REPLACE INTO submissions VALUES (?, ?, ?, ?)",
            (rid, member, sub.submission_hash(), body),
        )
    # an unsigned release order, and a querier that is not a broker
    from api import convert
    from api._generated import stats_pb2

    bx = env.clients["broker-x"]
    raw, sigs = bx.s.request(
        Kind.STAT_RELEASE, {"round_id": rid, "querier": bx.s.member.id, "cells": 0, "result_hash": bytes(32)}
    )
    forged = (replace(sigs[0], der=env.c.signing_key("sec-c").sign(raw)),)
    with pytest.raises(grpc.RpcError) as e:
        bx.release_stub.Release(
            stats_pb2.ReleaseRequest(request=convert.signed_request(raw, forged)), timeout=30
        )
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as e:
        env.clients["sec-b"].release(rid)
    assert e.value.code() is grpc.StatusCode.PERMISSION_DENIED
    result, _ = bx.release(rid)
    assert dict(result.values) == expected(inputs)


def test_key_is_generated_and_published_on_first_need(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pl, "generate_keypair", lambda bits: pl._generate_keypair(1024, safe_primes=False))
    c = init_consortium(
        tmp_path / "c", SPECS, platform_address="127.0.0.1:0", keyholder_address="127.0.0.1:0", use_tls=False
    )
    p_run, platform = start_platform(c)
    c.platform_address = f"127.0.0.1:{p_run.port}"
    k_run, _ = start_keyholder(c)
    s = client.Session.connect(c, "platform", c.platform_address, f"127.0.0.1:{k_run.port}")
    try:
        assert not any(Entry.decode(b).kind is Kind.STAT_KEY for _, b, _ in platform.ledger.storage.entries())
        assert not (c.key_dir("supervisor") / "paillier-key").exists()
        rid, _ = StatsClient(s).define(SPEC.name, 2025, PARTS)
        keys = [Entry.decode(b) for _, b, _ in platform.ledger.storage.entries()]
        keys = [e for e in keys if e.kind is Kind.STAT_KEY]
        assert len(keys) == 1 and keys[0].member == c.member("supervisor").id
        assert (c.key_dir("supervisor") / "paillier-key").stat().st_mode & 0o077 == 0
        assert StatsClient(s).status(rid).participants == sorted(c.member(n).id for n in PARTS)
    finally:
        s.close()
        p_run.stop()
        k_run.stop()
        platform.close()


def test_cli_define_submit_query_release(env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    from api.cli import main
    from mpc.records import SyntheticSource, records_to_csv
    from mpc.stats import tabulate_defaults

    root = str(env.c.root)
    names = ["sec-c", "sec-d", "sec-e"]
    assert (
        main(
            [
                "stats",
                "--dir",
                root,
                "--as",
                "platform",
                "define",
                "--statistic",
                SPEC.name,
                "--period",
                "2016",
                "--participants",
                ",".join(names),
            ]
        )
        == 0
    )
    rid = int(capsys.readouterr().out.split()[1])
    tables = {}
    for i, n in enumerate(names):
        recs = SyntheticSource(seed=i).records(400)
        path = env.c.root / f"{n}.csv"
        path.write_text(records_to_csv(recs))
        tables[n] = tabulate_defaults(recs, 2016)
        assert (
            main(["stats", "--dir", root, "--as", n, "submit", "--round", str(rid), "--records", str(path)])
            == 0
        )
    assert "now closed" in capsys.readouterr().out
    assert main(["stats", "--dir", root, "--as", "sec-a", "query", "--round", str(rid), "--json"]) == 0
    q = json.loads(capsys.readouterr().out)
    assert q["closed"] and q["non_submitters"] == "-" and q["submitted"] == ", ".join(names)
    assert main(["stats", "--dir", root, "--as", "broker-x", "release", "--round", str(rid), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = expected(tables)
    assert len(out["released"]) == len(want) > 0
    for c, (amount, count) in want.items():
        assert out["released"][" / ".join(SPEC.cell_labels(c))] == {"amount_fen": amount, "count": count}
    # bad input and refusals map to exit codes 2 and 1
    bad = env.c.root / "bad.csv"
    bad.write_text(records_to_csv(SyntheticSource(seed=1).records(3)).replace(",active", ",maybe", 1))
    rid2 = rid + 1
    assert (
        main(
            [
                "stats",
                "--dir",
                root,
                "--as",
                "platform",
                "define",
                "--statistic",
                SPEC.name,
                "--period",
                "2014",
                "--participants",
                ",".join(names),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert (
        main(["stats", "--dir", root, "--as", "sec-c", "submit", "--round", str(rid2), "--records", str(bad)])
        == 2
    )
    assert "line 2" in capsys.readouterr().err
    assert (
        main(["stats", "--dir", root, "--as", "sec-c", "submit", "--round", str(rid2), "--values", str(bad)])
        == 2
    )
    assert "not JSON" in capsys.readouterr().err
    assert (
        main(
            [
                "stats",
                "--dir",
                root,
                "--as",
                "platform",
                "define",
                "--statistic",
                "nope",
                "--period",
                "2016",
                "--participants",
                "sec-a",
            ]
        )
        == 2
    )
    assert main(["stats", "--dir", root, "--as", "broker-x", "release", "--round", str(rid)]) == 1
    assert "already released" in capsys.readouterr().err


def test_deadline_closes_the_round_and_a_failed_round_is_not_released(env: Env) -> None:
    import time

    admin = env.clients["platform"]
    names = ["sec-a", "sec-b", "sec-c"]
    rid, _ = admin.define(SPEC.name, 2017, names, deadline_ms=int(time.time() * 1000) + 1)
    time.sleep(0.01)
    a = env.clients["sec-a"]
    late = a.participant(rid).submit(inputs_for(["sec-a"], random.Random(2), {})["sec-a"])
    with pytest.raises(grpc.RpcError) as e:
        _submit_raw(a, rid, late.to_bytes())
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    st = a.status(rid)
    assert st.closed and list(st.non_submitters) == sorted(env.c.member(n).id for n in names)
    with pytest.raises(grpc.RpcError) as e:  # fewer than k submissions: nothing to release
        env.clients["broker-x"].release(rid)
    assert e.value.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert "k = 3" in (e.value.details() or "")
    # administrators may re-run a failed round with the same set
    rid2, _ = admin.define(SPEC.name, 2017, names)
    assert rid2 != rid


def test_follower_refuses_entries_that_do_not_match_the_signed_checkpoint(env: Env) -> None:
    from api._generated import ledger_pb2
    from api.stats_ledger import LedgerFollower
    from mpc.exceptions import InvalidProof

    bx = env.clients["broker-x"]
    real = bx.s.ledger

    class Tampering:
        def __init__(self, drop: bool) -> None:
            self.drop = drop

        def GetCheckpoint(self, req: ledger_pb2.CheckpointRequest, timeout: float) -> object:
            return real.GetCheckpoint(req, timeout=timeout)

        def GetEntries(self, req: ledger_pb2.EntriesRequest, timeout: float) -> Iterator[object]:
            for batch in real.GetEntries(req, timeout=timeout):
                entries = list(batch.entries)
                if self.drop:  # a stat_submit withheld from the list
                    kinds = [Entry.decode(bytes(e)).kind for e in entries]
                    subs = [i for i, k in enumerate(kinds) if k is Kind.STAT_SUBMIT]
                    entries.pop(subs[0] if subs else len(entries) - 1)
                else:  # one entry rewritten
                    entries[-1] = bytes(entries[-1])[:-1] + bytes([entries[-1][-1] ^ 1])
                yield ledger_pb2.EntryBatch(start=batch.start, entries=entries)

    assert LedgerFollower(real, bx.s.platform_key, env.c.log_id, bx.s.reader).refresh().size > 0
    for drop in (False, True):
        f = LedgerFollower(Tampering(drop), bx.s.platform_key, env.c.log_id, bx.s.reader)  # type: ignore[arg-type]
        with pytest.raises(InvalidProof):
            f.refresh()


def test_generic_submit_cannot_bypass_the_statistics_checks(env: Env) -> None:
    from api import convert

    # Without the guard a participant can log a hash with no stored submission: the round can
    # then never be released (the key holder finds no submission for it).
    rid, _ = env.clients["platform"].define(SPEC.name, 2012, ["sec-a", "sec-b", "sec-c"])
    a = env.clients["sec-a"]
    raw, sigs = a.s.request(Kind.STAT_SUBMIT, {"round_id": rid, "submission_hash": bytes(32), "size": 1})
    with pytest.raises(grpc.RpcError) as e:
        a.s.ledger.Submit(convert.signed_request(raw, sigs), timeout=30)
    assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_demo_round_with_a_dropout(env: Env) -> None:
    from api.stats_client import demo_round, format_result
    from mpc.records import SyntheticSource
    from mpc.stats import tabulate_defaults

    records = {n: SyntheticSource(seed=10 + i).records(300) for i, n in enumerate(PARTS)}
    out = demo_round(
        env.c,
        admin="platform",
        contributors=PARTS,
        querier="broker-x",
        period=2015,
        records=records,
        drop=["sec-d"],
    )
    assert out.dropped == ("sec-d",) and out.submitted == ("sec-a", "sec-b", "sec-c")
    want = expected({n: tabulate_defaults(records[n], 2015) for n in out.submitted})
    assert dict(out.result.values) == want
    text = format_result(out.result)
    assert f"{len(want)} cells released" in text and "(suppressed)" in text


def test_a_restarted_key_holder_remembers_released_cells_and_seeds(env: Env) -> None:
    admin = env.clients["platform"]
    names = ["sec-a", "sec-b", "sec-c", "sec-e"]
    rid, _ = admin.define(SPEC.name, 2013, names)
    inputs = inputs_for(names[:3], random.Random(4), {})
    for n in names[:3]:
        env.clients[n].submit(rid, inputs[n])
    admin.close(rid)
    for n in names[:3]:
        env.clients[n].send_seeds(rid)
    first, _ = env.clients["broker-x"].release(rid, [0, 1, 2])
    # a second key holder process on the same state (as after a restart)
    k2, _ = start_keyholder(env.c, "127.0.0.1:0")
    s = client.Session.connect(env.c, "broker-x", env.c.platform_address, f"127.0.0.1:{k2.port}")
    try:
        again = StatsClient(s)
        with pytest.raises(grpc.RpcError) as e:
            again.release(rid, [1])
        assert "already released" in (e.value.details() or "")
        rest, _ = again.release(rid)  # the remaining cells; the seeds survived the restart too
        assert not set(rest.values) & {0, 1, 2}
        assert {**first.values, **rest.values} == expected(inputs)
        with pytest.raises(grpc.RpcError) as e:
            again.release(rid)
        assert "every cell of round" in (e.value.details() or "")
    finally:
        s.close()
        k2.stop()
