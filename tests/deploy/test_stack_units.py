"""The local stack's store settings, without starting anything."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from hotich_local import stack


def test_the_local_store_is_reached_without_retryable_writes(tmp_path: Path) -> None:
    # SecantusDB sorts its kept retryable-write replies on every write past 10,000
    # (README, pitfalls): every URL of the local store turns them off.
    config = stack.StackConfig.load(str(tmp_path))
    assert config.mongodb_url().endswith("/?directConnection=true&retryWrites=false")


def test_two_stores_keep_intake_and_reporting_apart_and_every_service_in_one() -> None:
    assert {stack.store_of(s, 1) for s in stack.STORE_ORDER} == {0}
    two = {s: stack.store_of(s, 2) for s in stack.STORE_ORDER}
    assert two["intake"] != two["reporting"]
    assert set(two.values()) == {0, 1}
    assert two["intake"] == 0  # accounts and the benchmark's baseline use the first


def test_only_the_stores_holding_reporting_run_as_a_replica_set() -> None:
    assert stack.replica_set_needed(0, 1)  # one store holds everything
    assert [stack.replica_set_needed(i, 2) for i in range(2)] == [False, True]
    assert [stack.replica_set_needed(i, 3) for i in range(3)] == [False, True, False]


SESSION_OR_STREAM = re.compile(
    r"start_session|start_transaction|with_transaction|in_transaction\(|\.watch\("
    r"|\$out\b|\$merge\b"
    r"|read_concern|ReadConcern|causal_consistency|\bsession="
)


def test_no_service_but_reporting_needs_a_replica_set() -> None:
    # What lets the other stores run standalone: sessions (transactions), change streams
    # and majority or snapshot reads are refused there. A service that starts using one
    # joins NEEDS_REPLICA_SET; the local commands (deploy/local) use none of them either:
    # ``hotich reporting`` goes through reporting's own adapters. The shared runtime
    # library defines ``in_transaction`` (a service calling it is caught by that name).
    root = Path(__file__).resolve().parents[2]
    services = root / "services"
    users = {
        path.relative_to(services).parts[0]
        for path in services.rglob("*.py")
        if SESSION_OR_STREAM.search(path.read_text(encoding="utf-8"))
    } - {"runtime"}
    assert users == set(stack.NEEDS_REPLICA_SET)
    local = [
        path.name
        for path in (root / "deploy" / "local" / "src").rglob("*.py")
        if SESSION_OR_STREAM.search(path.read_text(encoding="utf-8"))
    ]
    assert local == []


def state_of(home: str, mongodb_urls: dict[str, str]) -> stack.StackState:
    """A stack's state with its first store at ``mongodb://a``."""
    return stack.StackState(
        home=home,
        kafka="k:9092",
        broker="kafka",
        broker_version="4",
        mongodb_url="mongodb://a",
        store="secantusdb",
        urls={},
        pids={},
        intake_database="hotich_intake",
        mongodb_urls=mongodb_urls,
    )


def test_account_commands_use_intakes_database_setting_without_a_local_stack(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack.StackConfig.load(str(tmp_path))
    monkeypatch.delenv("HOTICH_INTAKE_MONGODB_DATABASE", raising=False)
    assert config.intake_database() == "hotich_intake"
    monkeypatch.setenv("HOTICH_INTAKE_MONGODB_DATABASE", "province_intake")
    assert config.intake_database() == "province_intake"
    stack._write_state(config, state_of(str(tmp_path), {}))  # a running stack's own wins
    assert config.intake_database() == "hotich_intake"


def test_commands_find_their_services_store(tmp_path: Path) -> None:
    config = stack.StackConfig.load(str(tmp_path))
    urls = {"intake": "mongodb://a", "reporting": "mongodb://b"}
    stack._write_state(config, state_of(str(tmp_path), urls))
    assert config.mongodb_url("reporting") == "mongodb://b"
    assert config.mongodb_url("intake") == "mongodb://a"
    assert config.mongodb_url() == "mongodb://a"
    assert stack.status(config)["mongodb_by_service"] == urls


def test_the_benchmark_names_each_store_as_the_stack_does() -> None:
    from hotich_local.bench import store_time, store_urls

    state = state_of(
        "/tmp/x",
        {
            s: ("mongodb://a" if stack.store_of(s, 2) == 0 else "mongodb://b")
            for s in stack.STORE_ORDER
        },
    )
    assert store_urls(state) == {"store": "mongodb://a", "store-2": "mongodb://b"}
    one = dataclasses.replace(state, mongodb_urls={})
    assert store_urls(one) == {"store": "mongodb://a"}

    before = {("db.c", "insert"): (1.0, 10)}
    after = {("db.c", "insert"): (4.0, 40), ("db.c", "queries"): (1.0, 5)}
    spent = store_time(before, after)
    assert spent["server_seconds"] == 4.0
    first, second = spent["by_operation"]
    assert (first["operation"], first["seconds"], first["operations"]) == ("insert", 3.0, 30)
    assert first["share"] == 0.75
    assert first["ms_per_operation"] == 100.0
    assert (second["operation"], second["share"]) == ("queries", 0.25)


def test_a_run_that_did_not_complete_is_credited_only_with_finished_records() -> None:
    from hotich_local.bench import records_finished

    delta = {"exported": 250, "rejected": 70, "duplicate_suspected": 2, "received": 900}
    assert records_finished("complete", 1000, delta) == 1000
    assert records_finished("stalled", 1000, delta) == 322
    assert records_finished("timeout", 1000, {}) == 0


def test_a_services_database_is_named_as_the_stack_names_it(tmp_path: Path) -> None:
    config = stack.StackConfig.load(str(tmp_path), database_prefix="bench_x_")
    env = stack.service_env(
        config, "HOTICH_REPORTING_", "reporting", "k:1", "mongodb://m", tmp_path
    )
    state = dataclasses.replace(
        state_of(str(tmp_path), {}), intake_database=f"{config.database_prefix}intake"
    )
    assert stack.service_database(state, "reporting") == env["HOTICH_REPORTING_MONGODB_DATABASE"]
