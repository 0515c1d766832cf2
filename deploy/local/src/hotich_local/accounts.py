"""Account commands of the CLI: the intake service layer over intake's own store."""

from __future__ import annotations

from hotich_contracts.units import default_registry
from hotich_intake.adapters.mongo_store import MongoAccountStore
from hotich_intake.config import IntakeSettings
from hotich_intake.service_layer import accounts as service
from hotich_intake.service_layer.ports import AccountAlreadyExists
from hotich_runtime import mongo
from hotich_runtime.auth import Role


class AccountError(Exception):
    """The account command cannot be done."""


def _store(url: str) -> tuple[MongoAccountStore, object]:
    client = mongo.make_client(url, app_name="hotich-cli")
    return MongoAccountStore(client[IntakeSettings().mongodb_database]), client


async def create(url: str, username: str, password: str, unit: str, role: str) -> None:
    """Create an account in intake's store."""
    store, client = _store(url)
    try:
        await service.create_account(
            store,
            default_registry(),
            username=username,
            password=password,
            unit_code=unit,
            role=Role(role),
        )
    except (ValueError, AccountAlreadyExists) as exc:
        raise AccountError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        client.close()  # type: ignore[attr-defined]


async def set_locked(url: str, username: str, locked: bool) -> bool:
    """Lock or unlock an account."""
    store, client = _store(url)
    try:
        return await service.set_locked(store, username, locked)
    finally:
        client.close()  # type: ignore[attr-defined]
