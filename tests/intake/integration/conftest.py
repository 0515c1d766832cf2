"""A real intake process on the fixtures' Kafka and store, with one account per role."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hotich_local import accounts
from hotich_local.infra import procs

ACCOUNTS = {
    # name: (unit, role)
    "clerk_a": ("25459", "clerk"),  # Phường 3, Tây Ninh city (703)
    "clerk_b": ("25486", "clerk"),  # Thị trấn Tân Biên (705)
    "district_703": ("703", "district_officer"),
    "district_705": ("705", "district_officer"),
    "department": ("72", "department_officer"),
    "migration": ("72", "migration_operator"),
    "admin": ("72", "admin"),
}
PASSWORD = "integration-pw"


@dataclass
class Intake:
    url: str
    database: str
    mongodb_url: str
    kafka: str
    tokens: dict[str, str]

    def client(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def _wait_ready(url: str, pid: int, log: Path) -> None:
    import asyncio

    async def ready() -> bool:
        async with httpx.AsyncClient(timeout=2) as client:
            return (await client.get(f"{url}/health/ready")).status_code == 200

    try:
        asyncio.run(
            procs.wait_until(ready, within=60, what="intake", alive=lambda: procs.is_running(pid))
        )
    except TimeoutError as exc:
        raise RuntimeError(f"{exc}\n{log.read_text()[-3000:]}") from exc


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> None:
    """Log ``client`` in (OAuth2 password flow): its requests carry the bearer token."""
    answer = await client.post("/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"


def start_intake(
    kafka: str, mongodb_url: str, database: str, home: Path, extra_env: dict[str, str] | None = None
) -> tuple[str, int]:
    port = procs.free_port()
    env = {
        "HOTICH_KAFKA_BOOTSTRAP": kafka,
        "HOTICH_MONGODB_URL": mongodb_url,
        "HOTICH_INTAKE_MONGODB_DATABASE": database,
        "HOTICH_INTAKE_HTTP_PORT": str(port),
        "HOTICH_INTAKE_GROUP_ID": f"intake-{database}",
        "HOTICH_JWT_SECRET": "integration-secret",
        **(extra_env or {}),
    }
    log = home / "intake.log"
    pid = procs.start([sys.executable, "-m", "hotich_intake"], log_path=log, env=env)
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, pid, log)
    return url, pid


@pytest.fixture(scope="module")
def intake(
    kafka_bootstrap: str,
    topics_ready: object,
    mongodb_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Intake]:
    import asyncio
    import uuid

    database = f"intake_it_{uuid.uuid4().hex[:8]}"
    home = tmp_path_factory.mktemp("intake")
    for name, (unit, role) in ACCOUNTS.items():
        asyncio.run(accounts.create(mongodb_url, name, PASSWORD, unit, role, database=database))
    url, pid = start_intake(kafka_bootstrap, mongodb_url, database, home)
    try:
        tokens = {}
        with httpx.Client(base_url=url) as client:
            for name in ACCOUNTS:
                response = client.post(
                    "/v1/auth/token", data={"username": name, "password": PASSWORD}
                )
                response.raise_for_status()
                tokens[name] = response.json()["access_token"]
        yield Intake(url, database, mongodb_url, kafka_bootstrap, tokens)
    finally:
        procs.stop(pid)
