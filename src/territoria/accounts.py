"""Accounts: users with a role, argon2 password hashes and API tokens.

This is a library without web code: the CLI (``territoria users ...``) and the web application
both call it. Three roles, from most to least powerful:

``admin``
    everything, including managing accounts;
``analyst``
    reads everything, runs influence plans and logs actions;
``viewer``
    reads the knowledge base only.

Passwords are stored as argon2id hashes (PHC strings), API tokens as SHA-256 digests: neither is
ever kept in clear. Writing functions expect the caller to serialise writes (the web application
holds a write lock around them).

Typical use::

    from territoria.accounts import add_user, authenticate, issue_token

    add_user(con, "alice", role="analyst", password="correct horse battery")
    user = authenticate(con, "alice", "correct horse battery")
    token = issue_token(con, "alice")  # shown once, for 'Authorization: Bearer ...'
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from territoria.errors import AuthenticationFailed, InvalidAccount, UnknownUser, UserExists
from territoria.kb._transaction import transaction

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PERMISSIONS",
    "ROLES",
    "Permission",
    "Role",
    "User",
    "add_user",
    "authenticate",
    "ensure_demo_admin",
    "generate_password",
    "get_user",
    "issue_token",
    "list_users",
    "remove_user",
    "revoke_tokens",
    "set_password",
    "set_role",
    "user_for_token",
]

Role = Literal["admin", "analyst", "viewer"]
Permission = Literal["read", "plan", "act", "admin"]

#: The roles, from most to least powerful.
ROLES: Final[tuple[str, ...]] = ("admin", "analyst", "viewer")
#: What each role may do: read the knowledge base, run plans, log actions, manage accounts.
PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "admin": frozenset({"read", "plan", "act", "admin"}),
    "analyst": frozenset({"read", "plan", "act"}),
    "viewer": frozenset({"read"}),
}
#: Shortest password accepted.
MIN_PASSWORD_LENGTH: Final = 10
TOKEN_PREFIX: Final = "trt_"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASHER = PasswordHasher()
# A hash of a random password, verified when the user does not exist so that a failed sign-in
# takes as long for an unknown name as for a wrong password (no user enumeration by timing).
_DUMMY_HASH: Final = _HASHER.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class User:
    """An account of the web application."""

    name: str
    role: str
    created_at: datetime | None = None
    session_epoch: int = 0

    def can(self, permission: str) -> bool:
        """Return whether this user's role grants ``permission`` (read, plan, act, admin)."""
        return permission in PERMISSIONS.get(self.role, frozenset())

    def to_dict(self) -> dict[str, Any]:
        """Return the account as JSON-able data (never the password hash)."""
        created = self.created_at.isoformat(timespec="seconds") if self.created_at else None
        return {"name": self.name, "role": self.role, "created_at": created}


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        msg = (
            f"invalid user name {name!r}: use 1 to 64 letters, digits, '.', '_', '@' or '-', "
            "starting with a letter or a digit"
        )
        raise InvalidAccount(msg)


def _check_role(role: str) -> None:
    if role not in ROLES:
        msg = f"unknown role {role!r}: choose one of {', '.join(ROLES)}"
        raise InvalidAccount(msg)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = (
            f"password too short ({len(password)} characters): use at least "
            f"{MIN_PASSWORD_LENGTH}, or let 'territoria users add' generate one"
        )
        raise InvalidAccount(msg)
    if password.strip() != password or "\n" in password:
        msg = "password must not start or end with spaces nor contain a line break"
        raise InvalidAccount(msg)


def _row_to_user(row: tuple[Any, ...]) -> User:
    return User(name=row[0], role=row[1], created_at=row[2], session_epoch=int(row[3]))


def generate_password() -> str:
    """Return a random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def add_user(con: duckdb.DuckDBPyConnection, name: str, *, role: str, password: str) -> User:
    """Create an account.

    Parameters
    ----------
    con
        Writable knowledge base.
    name
        User name: letters, digits, ``.``, ``_``, ``@``, ``-``.
    role
        ``admin``, ``analyst`` or ``viewer``.
    password
        At least :data:`MIN_PASSWORD_LENGTH` characters.

    Raises
    ------
    InvalidAccount
        Bad name, role or password.
    UserExists
        An account with this name exists already.
    """
    _check_name(name)
    _check_role(role)
    _check_password(password)
    if _find(con, name) is not None:
        msg = f"user {name!r} already exists: choose another name or 'territoria users passwd'"
        raise UserExists(msg)
    con.execute(
        "INSERT INTO app_user (name, role, password_hash) VALUES (?, ?, ?)",
        [name, role, _HASHER.hash(password)],
    )
    return get_user(con, name)


def _find(con: duckdb.DuckDBPyConnection, name: str) -> User | None:
    row = con.execute(
        "SELECT name, role, created_at, session_epoch FROM app_user WHERE name = ?", [name]
    ).fetchone()
    return _row_to_user(row) if row else None


def get_user(con: duckdb.DuckDBPyConnection, name: str) -> User:
    """Return the account called ``name``.

    Raises
    ------
    UnknownUser
        No such account.
    """
    user = _find(con, name)
    if user is None:
        msg = f"no user {name!r}: 'territoria users list' shows the accounts"
        raise UnknownUser(msg)
    return user


def list_users(con: duckdb.DuckDBPyConnection) -> list[User]:
    """Return all accounts, by name."""
    rows = con.execute(
        "SELECT name, role, created_at, session_epoch FROM app_user ORDER BY name"
    ).fetchall()
    return [_row_to_user(row) for row in rows]


def set_password(con: duckdb.DuckDBPyConnection, name: str, password: str) -> User:
    """Change a password; the user's open sessions end (their epoch changes).

    Raises
    ------
    UnknownUser, InvalidAccount
    """
    get_user(con, name)
    _check_password(password)
    con.execute(
        "UPDATE app_user SET password_hash = ?, session_epoch = session_epoch + 1, "
        "password_changed_at = current_timestamp WHERE name = ?",
        [_HASHER.hash(password), name],
    )
    return get_user(con, name)


def set_role(con: duckdb.DuckDBPyConnection, name: str, role: str) -> User:
    """Change a user's role; the user's open sessions end.

    Raises
    ------
    UnknownUser, InvalidAccount
    """
    get_user(con, name)
    _check_role(role)
    con.execute(
        "UPDATE app_user SET role = ?, session_epoch = session_epoch + 1 WHERE name = ?",
        [role, name],
    )
    return get_user(con, name)


def remove_user(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Delete an account and its API tokens.

    Raises
    ------
    UnknownUser
    """
    get_user(con, name)
    with transaction(con):
        con.execute("DELETE FROM api_token WHERE user_name = ?", [name])
        con.execute("DELETE FROM app_user WHERE name = ?", [name])


def authenticate(con: duckdb.DuckDBPyConnection, name: str, password: str) -> User:
    """Return the account when ``password`` is right.

    Raises
    ------
    AuthenticationFailed
        Unknown name or wrong password (the message does not say which).
    """
    row = con.execute("SELECT password_hash FROM app_user WHERE name = ?", [name]).fetchone()
    stored = row[0] if row else _DUMMY_HASH
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        row = None
    if row is None:
        raise AuthenticationFailed("wrong user name or password")
    if _HASHER.check_needs_rehash(stored):
        con.execute(
            "UPDATE app_user SET password_hash = ? WHERE name = ?", [_HASHER.hash(password), name]
        )
    return get_user(con, name)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(con: duckdb.DuckDBPyConnection, name: str, *, label: str | None = None) -> str:
    """Create an API token for ``name`` and return it (it cannot be shown again).

    Scripts send it as ``Authorization: Bearer TOKEN``; it carries the user's role.

    Raises
    ------
    UnknownUser
    """
    get_user(con, name)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    con.execute(
        "INSERT INTO api_token (token_hash, user_name, label) VALUES (?, ?, ?)",
        [_digest(token), name, label],
    )
    return token


def revoke_tokens(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Delete all API tokens of ``name``; return how many there were."""
    row = con.execute("SELECT count(*) FROM api_token WHERE user_name = ?", [name]).fetchone()
    con.execute("DELETE FROM api_token WHERE user_name = ?", [name])
    return int(row[0]) if row else 0


def user_for_token(con: duckdb.DuckDBPyConnection, token: str) -> User:
    """Return the account an API token belongs to.

    Raises
    ------
    AuthenticationFailed
        Unknown or revoked token.
    """
    row = con.execute(
        "SELECT u.name, u.role, u.created_at, u.session_epoch FROM api_token t "
        "JOIN app_user u ON u.name = t.user_name WHERE t.token_hash = ?",
        [_digest(token)],
    ).fetchone()
    if row is None:
        msg = "invalid API token: create one with 'territoria users token NAME'"
        raise AuthenticationFailed(msg)
    return _row_to_user(row)


def ensure_demo_admin(con: duckdb.DuckDBPyConnection, name: str = "demo") -> tuple[User, str]:
    """Create the demo administrator, or give it a new random password; return both.

    The password is returned once, to be printed; only its hash is stored.
    """
    password = generate_password()
    if _find(con, name) is None:
        user = add_user(con, name, role="admin", password=password)
    else:
        set_role(con, name, "admin")
        user = set_password(con, name, password)
    return user, password
