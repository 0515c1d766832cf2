"""Account commands of the CLI: intake's service layer over intake's own store."""

from __future__ import annotations

from hotich_contracts.units import default_registry
from hotich_intake.adapters.mongo_store import MongoAccountStore
from hotich_intake.service_layer import accounts as service
from hotich_intake.service_layer.ports import AccountAlreadyExists
from hotich_runtime import mongo
from hotich_runtime.auth import Role


class AccountError(Exception):
    """The account command cannot be done."""


async def create(
    url: str, username: str, password: str, unit: str, role: str, *, database: str
) -> None:
    """Create an account in intake's store (``database``)."""
    client = mongo.make_client(url, app_name="hotich-cli")
    try:
        await service.create_account(
            MongoAccountStore(client[database]),
            default_registry(),
            username=username,
            password=password,
            unit_code=unit,
            role=Role(role),
        )
    except (ValueError, AccountAlreadyExists) as exc:
        raise AccountError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        client.close()


async def set_locked(url: str, username: str, locked: bool, *, database: str) -> bool:
    """Lock or unlock an account."""
    client = mongo.make_client(url, app_name="hotich-cli")
    try:
        return await service.set_locked(MongoAccountStore(client[database]), username, locked)
    finally:
        client.close()
