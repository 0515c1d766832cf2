"""Several instances of a consumer service locally: ``hotich up --scale validation=N``.

The instances share the service's consumer group, so Kafka splits the topic's
partitions between them; ``hotich status`` lists each one and ``hotich groups`` shows
the members and the group's lag.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json

import httpx
import pytest
from typer.testing import CliRunner

from hotich_contracts import topics
from hotich_local import groups, stack
from hotich_local.cli import app
from hotich_local.infra import procs
from hotich_local.infra.topics import load_topics

from .conftest import VALIDATION_INSTANCES

pytestmark = pytest.mark.e2e

GROUP = "hotich-validation"
SETTLE_S = 60.0


def _partitions(topic: str) -> int:
    return next(t.partitions for t in load_topics() if t.name == topic)


async def _settled_group(bootstrap: str, client_ids: set[str]) -> groups.GroupInfo:
    """Wait until the group is stable with exactly ``client_ids`` holding every partition."""
    last: groups.GroupInfo | None = None
    async with asyncio.timeout(SETTLE_S):
        while True:
            [last] = await groups.describe_groups(bootstrap, group_ids=[GROUP])
            held = [tp for m in last.members for tp in m.partitions]
            if (
                last.state == "Stable"
                and {m.client_id for m in last.members} == client_ids
                and len(held) == _partitions(topics.RECORD_ENTERED)
            ):
                return last
            await asyncio.sleep(0.5)


def _client_ids(count: int) -> set[str]:
    return {f"hotich-validation-{n}" for n in range(1, count + 1)}


async def test_two_validation_instances_split_the_partitions(
    scaled_stack: stack.StackState, scaled_config: stack.StackConfig
) -> None:
    info = stack.status(scaled_config)
    assert info["running"] is True
    assert info["instances"]["validation"] == ["validation", "validation-2"]
    urls = [info["processes"][name]["url"] for name in ("validation", "validation-2")]
    assert len(set(urls)) == VALIDATION_INSTANCES
    async with httpx.AsyncClient(timeout=5) as client:
        for url in urls:
            assert (await client.get(f"{url}/health/ready")).status_code == 200

    group = await _settled_group(scaled_stack.kafka, _client_ids(VALIDATION_INSTANCES))
    assigned = [tp for m in group.members for tp in m.partitions]
    assert len(assigned) == len(set(assigned)), "a partition is held by two members"
    assert {tp.topic for tp in assigned} == {topics.RECORD_ENTERED}
    assert all(m.partitions for m in group.members), "an instance holds no partition"
    lag = {t.topic: t for t in group.topics}
    assert lag[topics.RECORD_ENTERED].partitions == _partitions(topics.RECORD_ENTERED)
    assert lag[topics.RECORD_ENTERED].lag >= 0


async def test_scaling_a_running_stack_starts_and_stops_instances(
    scaled_stack: stack.StackState, scaled_config: stack.StackConfig
) -> None:
    bigger = dataclasses.replace(scaled_config, scale={"validation": 3})
    state = await stack.up(bigger)
    assert state.instances["validation"] == ["validation", "validation-2", "validation-3"]
    await _settled_group(state.kafka, _client_ids(3))
    assert stack.status(scaled_config)["processes"]["validation-3"]["running"] is True
    pid_3 = state.pids["validation-3"]

    state = await stack.up(dataclasses.replace(scaled_config, scale={"validation": 2}))
    assert state.instances["validation"] == ["validation", "validation-2"]
    assert "validation-3" not in state.pids
    assert "validation-3" not in stack.status(scaled_config)["processes"]
    assert not procs.is_running(pid_3)
    await _settled_group(state.kafka, _client_ids(2))


def test_status_and_groups_commands_show_the_instances(
    scaled_stack: stack.StackState, scaled_config: stack.StackConfig
) -> None:
    runner = CliRunner()
    home = str(scaled_config.home)
    status = runner.invoke(app, ["status", "--json", "--home", home])
    assert status.exit_code == 0, status.output
    processes = json.loads(status.output)["processes"]
    assert {"validation", "validation-2"} <= set(processes)

    shown = runner.invoke(app, ["groups", "--json", "--home", home, "--group", GROUP])
    assert shown.exit_code == 0, shown.output
    [group] = json.loads(shown.output)
    assert group["group"] == GROUP
    assert {m["client_id"] for m in group["members"]} == _client_ids(VALIDATION_INSTANCES)
    assert [t["topic"] for t in group["topics"]] == [topics.RECORD_ENTERED]

    table = runner.invoke(app, ["groups", "--home", home])
    assert table.exit_code == 0, table.output
    assert "hotich-validation  state=Stable  members=2" in table.output
    assert "member hotich-validation-2" in table.output
    # every service's group is listed, the intake status view's and reporting's too
    for group_id in ("hotich-intake-status", "hotich-dedup", "hotich-export", "hotich-reporting"):
        assert f"{group_id}  state=" in table.output


def test_scale_option_rejects_what_cannot_scale() -> None:
    assert stack.parse_scale("validation=3,dedup=2") == {"validation": 3, "dedup": 2}
    for wrong in ("national_sandbox=2", "nosuch=2", "validation", "validation=0"):
        with pytest.raises(ValueError, match=r"."):
            stack.parse_scale(wrong)
