import pytest

from hotich_contracts.units import default_registry
from hotich_intake.adapters.memory import InMemoryAccountStore
from hotich_intake.service_layer import accounts
from hotich_intake.service_layer.ports import AccountAlreadyExists
from hotich_runtime.auth import Role


async def test_create_authenticate_lock_unlock() -> None:
    store = InMemoryAccountStore()
    await accounts.create_account(
        store,
        default_registry(),
        username="clerk3",
        password="secret-pw",
        unit_code="25459",
        role=Role.CLERK,
    )
    assert store.accounts["clerk3"].password_hash.startswith("$argon2")
    principal = await accounts.authenticate(store, "clerk3", "secret-pw")
    assert principal.unit_code == "25459"
    with pytest.raises(accounts.AuthenticationFailed):
        await accounts.authenticate(store, "clerk3", "wrong-pw")
    assert await accounts.set_locked(store, "clerk3", True)
    with pytest.raises(accounts.AuthenticationFailed):
        await accounts.authenticate(store, "clerk3", "secret-pw")
    assert await accounts.set_locked(store, "clerk3", False)
    assert (await accounts.authenticate(store, "clerk3", "secret-pw")).role == Role.CLERK


async def test_unknown_unit_and_duplicate_username_are_refused() -> None:
    store = InMemoryAccountStore()
    with pytest.raises(accounts.UnknownUnit):
        await accounts.create_account(
            store,
            default_registry(),
            username="a",
            password="secret-pw",
            unit_code="99999",
            role=Role.CLERK,
        )
    await accounts.create_account(
        store,
        default_registry(),
        username="a",
        password="secret-pw",
        unit_code="72",
        role=Role.ADMIN,
    )
    with pytest.raises(AccountAlreadyExists):
        await accounts.create_account(
            store,
            default_registry(),
            username="a",
            password="secret-pw",
            unit_code="72",
            role=Role.ADMIN,
        )
