"""Account use cases: create, authenticate, lock, unlock (tài khoản)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from hotich_contracts.envelope import utcnow
from hotich_contracts.units import UnitRegistry
from hotich_intake.domain.model import Account
from hotich_intake.service_layer.ports import AccountStore
from hotich_runtime.auth import Principal, Role

_hasher = PasswordHasher()


class UnknownUnit(ValueError):
    """The unit code is not in the unit registry."""


class AuthenticationFailed(Exception):
    """Wrong username or password, or a locked account (the caller is not told which)."""


class TooManyAttempts(Exception):
    """Too many failed logins for this username recently: wait before trying again."""


MAX_LOGIN_FAILURES = 5
"""Failed logins allowed per username within the store's window (15 minutes)."""

MIN_PASSWORD_LENGTH = 8


async def create_account(
    store: AccountStore,
    registry: UnitRegistry,
    *,
    username: str,
    password: str,
    unit_code: str,
    role: Role,
) -> Account:
    """Create an account with an argon2 password hash.

    Raises:
        UnknownUnit: the unit code is not in the registry.
        AccountAlreadyExists: the username is taken.
    """
    if registry.get(unit_code) is None:
        raise UnknownUnit(unit_code)
    _check_password(password)
    account = Account(
        username=username,
        unit_code=unit_code,
        role=role,
        password_hash=_hasher.hash(password),
        created_at=utcnow(),
    )
    await store.add(account)
    return account


async def authenticate(store: AccountStore, username: str, password: str) -> Principal:
    """Return the principal of a valid, unlocked account.

    Raises:
        TooManyAttempts: :data:`MAX_LOGIN_FAILURES` failures recently; the password is not
            even checked, so guessing cannot go on.
        AuthenticationFailed: otherwise.
    """
    if await store.login_failures(username, utcnow()) >= MAX_LOGIN_FAILURES:
        raise TooManyAttempts(username)
    account = await store.get(username)
    try:
        if account is None:
            _hasher.hash(password)  # same cost as a real check: no username probing by timing
            raise AuthenticationFailed(username)
        try:
            _hasher.verify(account.password_hash, password)
        except (VerifyMismatchError, InvalidHashError) as exc:
            raise AuthenticationFailed(username) from exc
    except AuthenticationFailed:
        await store.record_login_failure(username, utcnow())
        raise
    if account.locked:
        raise AuthenticationFailed(username)
    await store.clear_login_failures(username)
    return Principal(account.username, account.unit_code, account.role)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


async def reset_password(store: AccountStore, username: str, new_password: str) -> bool:
    """Set a new password (admin); False if there is no such account."""
    _check_password(new_password)
    return await store.set_password_hash(username, _hasher.hash(new_password))


async def set_locked(store: AccountStore, username: str, locked: bool) -> bool:
    """Lock (or unlock) an account; effective on its very next request."""
    return await store.set_locked(username, locked, utcnow())
