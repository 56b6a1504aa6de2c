"""Accounts: users with a role, argon2 password hashes, API tokens and server-side sessions.

This is a library without web code: the CLI (``territoria users ...``) and the web application
both call it. Three roles, from most to least powerful:

``admin``
    everything, including managing accounts;
``analyst``
    reads everything, runs influence plans and logs actions;
``viewer``
    reads the knowledge base only.

Passwords are stored as argon2id hashes (PHC strings), API tokens and session ids as SHA-256
digests: none is ever kept in clear. A browser session lives in the ``app_session`` table, so
that signing out, a password or role change, a removal or a revocation ends it at once. Every
change to an account is written in one transaction with its audit row
(:func:`territoria.kb.audit.record`); the last administrator can be neither removed nor demoted.
Signing in and out are recorded in the sessions table itself (when, from which address), and a
failed sign-in writes nothing at all.

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
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

import duckdb
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from territoria._passwords import MIN_PASSWORD_LENGTH, check_password
from territoria.errors import (
    AuthenticationFailed,
    InvalidAccount,
    LastAdmin,
    UnknownUser,
    UserExists,
)
from territoria.kb._transaction import transaction
from territoria.kb.audit import record

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "PERMISSIONS",
    "ROLES",
    "Account",
    "Permission",
    "Revocation",
    "Role",
    "Session",
    "User",
    "add_user",
    "authenticate",
    "end_session",
    "ensure_demo_admin",
    "generate_password",
    "get_user",
    "issue_token",
    "list_accounts",
    "list_users",
    "open_session",
    "remove_user",
    "revoke_access",
    "session_for",
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
TOKEN_PREFIX: Final = "trt_"
#: Ended sessions are kept this long (who signed in from where), then purged.
SESSION_HISTORY: Final = timedelta(days=30)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
_HASHER = PasswordHasher()
# A hash of a random password, verified when the user does not exist so that a failed sign-in
# takes as long for an unknown name as for a wrong password (no user enumeration by timing).
_DUMMY_HASH: Final = _HASHER.hash(secrets.token_urlsafe(16))
_USER_COLUMNS: Final = "u.name, u.role, u.created_at, u.last_sign_in_at"


@dataclass(frozen=True)
class User:
    """An account of the web application."""

    name: str
    role: str
    created_at: datetime | None = None
    last_sign_in_at: datetime | None = None

    def can(self, permission: str) -> bool:
        """Return whether this user's role grants ``permission`` (read, plan, act, admin)."""
        return permission in PERMISSIONS.get(self.role, frozenset())

    def to_dict(self) -> dict[str, Any]:
        """Return the account as JSON-able data (never the password hash)."""
        created = self.created_at.isoformat(timespec="seconds") if self.created_at else None
        return {"name": self.name, "role": self.role, "created_at": created}


@dataclass(frozen=True)
class Session:
    """A browser session, held in the knowledge base (the cookie carries only its id)."""

    user: User
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    address: str | None = None
    user_agent: str | None = None

    def active(self, now: datetime | None = None) -> bool:
        """Whether the session is neither ended nor expired at ``now`` (UTC, default: now)."""
        return self.revoked_at is None and (now or _now()) < self.expires_at


@dataclass(frozen=True)
class Revocation:
    """What a password change, role change, removal or revocation ended."""

    name: str
    sessions: int
    tokens: int


@dataclass(frozen=True)
class Account:
    """A user as administrators see it: role, last sign-in, open sessions and tokens."""

    user: User
    sessions: int
    tokens: int

    def to_dict(self) -> dict[str, Any]:
        """Return the account as JSON-able data."""
        last = self.user.last_sign_in_at
        return {
            **self.user.to_dict(),
            "last_sign_in_at": last.isoformat(timespec="seconds") if last else None,
            "sessions": self.sessions,
            "tokens": self.tokens,
        }


def _now() -> datetime:
    """Now in UTC, naive as the TIMESTAMP columns store it."""
    return datetime.now(UTC).replace(tzinfo=None)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


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


def _row_to_user(row: tuple[Any, ...]) -> User:
    return User(name=row[0], role=row[1], created_at=row[2], last_sign_in_at=row[3])


def generate_password() -> str:
    """Return a random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


# ---------------------------------------------------------------------------- users


def _find(con: duckdb.DuckDBPyConnection, name: str) -> User | None:
    row = con.execute(f"SELECT {_USER_COLUMNS} FROM app_user u WHERE u.name = ?", [name]).fetchone()
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
    rows = con.execute(f"SELECT {_USER_COLUMNS} FROM app_user u ORDER BY u.name").fetchall()
    return [_row_to_user(row) for row in rows]


def list_accounts(con: duckdb.DuckDBPyConnection) -> list[Account]:
    """Return all accounts with their open sessions and API tokens, by name."""
    rows = con.execute(
        f"SELECT {_USER_COLUMNS}, "
        "(SELECT count(*) FROM app_session s WHERE s.user_name = u.name "
        " AND s.revoked_at IS NULL AND s.expires_at > ?), "
        "(SELECT count(*) FROM api_token t WHERE t.user_name = u.name) "
        "FROM app_user u ORDER BY u.name",
        [_now()],
    ).fetchall()
    return [Account(_row_to_user(r), sessions=int(r[4]), tokens=int(r[5])) for r in rows]


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
        At least :data:`MIN_PASSWORD_LENGTH` characters, not a common password, not the name.

    Raises
    ------
    InvalidAccount
        Bad name, role or password.
    UserExists
        An account with this name exists already.
    """
    _check_name(name)
    _check_role(role)
    check_password(password, name=name)
    with transaction(con):
        _add(con, name, role, password)
    return get_user(con, name)


def _add(con: duckdb.DuckDBPyConnection, name: str, role: str, password: str) -> None:
    if _find(con, name) is not None:
        msg = f"user {name!r} already exists: choose another name or 'territoria users passwd'"
        raise UserExists(msg)
    con.execute(
        "INSERT INTO app_user (name, role, password_hash) VALUES (?, ?, ?)",
        [name, role, _HASHER.hash(password)],
    )
    record(con, "user.add", target=name, detail={"role": role})


def _keep_an_admin(con: duckdb.DuckDBPyConnection, user: User, change: str) -> None:
    """Refuse to remove or demote the last administrator."""
    if user.role != "admin":
        return
    row = con.execute(
        "SELECT count(*) FROM app_user WHERE role = 'admin' AND name <> ?", [user.name]
    ).fetchone()
    if row is None or int(row[0]) == 0:
        msg = (
            f"cannot {change} {user.name!r}: it is the last administrator; make another user "
            "admin first ('territoria users role NAME admin')"
        )
        raise LastAdmin(msg)


def _end_access(con: duckdb.DuckDBPyConnection, name: str, *, tokens: bool = True) -> Revocation:
    """End the open sessions (and delete the API tokens) of ``name``, inside a transaction."""
    now = _now()
    row = con.execute(
        "UPDATE app_session SET revoked_at = ? "
        "WHERE user_name = ? AND revoked_at IS NULL AND expires_at > ?",
        [now, name, now],
    ).fetchone()
    sessions = int(row[0]) if row else 0
    count = 0
    if tokens:
        row = con.execute("DELETE FROM api_token WHERE user_name = ?", [name]).fetchone()
        count = int(row[0]) if row else 0
    return Revocation(name=name, sessions=sessions, tokens=count)


def set_password(con: duckdb.DuckDBPyConnection, name: str, password: str) -> Revocation:
    """Change a password; the user's open sessions end and API tokens are revoked.

    Raises
    ------
    UnknownUser, InvalidAccount
    """
    get_user(con, name)
    check_password(password, name=name)
    with transaction(con):
        ended = _set_password(con, name, password)
    return ended


def _set_password(con: duckdb.DuckDBPyConnection, name: str, password: str) -> Revocation:
    con.execute(
        "UPDATE app_user SET password_hash = ?, password_changed_at = current_timestamp "
        "WHERE name = ?",
        [_HASHER.hash(password), name],
    )
    ended = _end_access(con, name)
    record(
        con, "user.passwd", target=name, detail={"sessions": ended.sessions, "tokens": ended.tokens}
    )
    return ended


def set_role(con: duckdb.DuckDBPyConnection, name: str, role: str) -> Revocation:
    """Change a user's role; the user's open sessions end and API tokens are revoked.

    Nothing changes (and nothing ends) when the user has this role already.

    Raises
    ------
    UnknownUser, InvalidAccount
    LastAdmin
        When demoting the last administrator.
    """
    _check_role(role)
    with transaction(con):
        ended = _set_role(con, get_user(con, name), role)
    return ended


def _set_role(con: duckdb.DuckDBPyConnection, user: User, role: str) -> Revocation:
    if user.role == role:
        return Revocation(name=user.name, sessions=0, tokens=0)
    if role != "admin":
        _keep_an_admin(con, user, f"make {role}")
    con.execute(
        "UPDATE app_user SET role = ? WHERE name = ?",
        [role, user.name],
    )
    ended = _end_access(con, user.name)
    detail = {"from": user.role, "to": role, "sessions": ended.sessions, "tokens": ended.tokens}
    record(con, "user.role", target=user.name, detail=detail)
    return ended


def remove_user(con: duckdb.DuckDBPyConnection, name: str) -> Revocation:
    """Delete an account, its sessions and its API tokens.

    Raises
    ------
    UnknownUser
    LastAdmin
        When removing the last administrator.
    """
    with transaction(con):
        user = get_user(con, name)
        _keep_an_admin(con, user, "remove")
        ended = _end_access(con, name)
        con.execute("DELETE FROM app_session WHERE user_name = ?", [name])
        con.execute("DELETE FROM app_user WHERE name = ?", [name])
        detail = {"role": user.role, "sessions": ended.sessions, "tokens": ended.tokens}
        record(con, "user.remove", target=name, detail=detail)
    return ended


def revoke_access(con: duckdb.DuckDBPyConnection, name: str) -> Revocation:
    """End every open session of ``name`` and delete its API tokens (the password stays).

    Raises
    ------
    UnknownUser
    """
    with transaction(con):
        get_user(con, name)
        ended = _end_access(con, name)
        detail = {"sessions": ended.sessions, "tokens": ended.tokens}
        record(con, "user.revoke", target=name, detail=detail)
    return ended


def ensure_demo_admin(con: duckdb.DuckDBPyConnection, name: str = "demo") -> tuple[User, str]:
    """Create the demo administrator, or give it a new random password; return both.

    The password is returned once, to be printed; only its hash is stored.
    """
    password = generate_password()
    with transaction(con):
        user = _find(con, name)
        if user is None:
            _add(con, name, "admin", password)
        else:
            _set_role(con, user, "admin")
            _set_password(con, name, password)
    return get_user(con, name), password


# ---------------------------------------------------------------------------- sign-in


def authenticate(con: duckdb.DuckDBPyConnection, name: str, password: str) -> User:
    """Return the account when ``password`` is right; read-only (a failure writes nothing).

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
    return get_user(con, name)


def open_session(
    con: duckdb.DuckDBPyConnection,
    name: str,
    *,
    hours: float,
    address: str | None = None,
    user_agent: str | None = None,
    password: str | None = None,
) -> tuple[str, Session]:
    """Open a session for ``name`` after a successful :func:`authenticate`.

    Return the session id, to be sent once in the session cookie (only its digest is stored),
    and the session. Sessions ended more than :data:`SESSION_HISTORY` ago are purged.

    Parameters
    ----------
    hours
        Lifetime of the session.
    address, user_agent
        Where the sign-in came from, kept for the administrators.
    password
        The password just checked: when its stored hash uses outdated argon2 parameters, it
        is rehashed.

    Raises
    ------
    UnknownUser
    """
    session_id = secrets.token_urlsafe(32)
    now = _now()
    expires = now + timedelta(hours=hours)
    with transaction(con):
        user = get_user(con, name)
        con.execute(
            "DELETE FROM app_session WHERE coalesce(revoked_at, expires_at) < ?",
            [now - SESSION_HISTORY],
        )
        con.execute(
            "INSERT INTO app_session (id_hash, user_name, created_at, expires_at, address, "
            "user_agent) VALUES (?, ?, ?, ?, ?, ?)",
            [_digest(session_id), name, now, expires, address, (user_agent or "")[:300] or None],
        )
        con.execute("UPDATE app_user SET last_sign_in_at = ? WHERE name = ?", [now, name])
        if password is not None:
            _rehash(con, name, password)
    session = Session(
        user=User(user.name, user.role, user.created_at, now),
        created_at=now,
        expires_at=expires,
        address=address,
        user_agent=user_agent,
    )
    return session_id, session


def _rehash(con: duckdb.DuckDBPyConnection, name: str, password: str) -> None:
    row = con.execute("SELECT password_hash FROM app_user WHERE name = ?", [name]).fetchone()
    if row and _HASHER.check_needs_rehash(row[0]):
        con.execute(
            "UPDATE app_user SET password_hash = ? WHERE name = ?", [_HASHER.hash(password), name]
        )


def session_for(con: duckdb.DuckDBPyConnection, session_id: str) -> Session:
    """Return the session of a session id, ended or not (check :meth:`Session.active`).

    Raises
    ------
    AuthenticationFailed
        Unknown id (never issued, purged, or its user removed).
    """
    row = None
    if _SESSION_ID.match(session_id):
        row = con.execute(
            f"SELECT {_USER_COLUMNS}, s.created_at, s.expires_at, s.revoked_at, s.address, "
            "s.user_agent FROM app_session s JOIN app_user u ON u.name = s.user_name "
            "WHERE s.id_hash = ?",
            [_digest(session_id)],
        ).fetchone()
    if row is None:
        raise AuthenticationFailed("unknown or ended session: sign in again")
    return Session(
        user=_row_to_user(row[:4]),
        created_at=row[4],
        expires_at=row[5],
        revoked_at=row[6],
        address=row[7],
        user_agent=row[8],
    )


def end_session(con: duckdb.DuckDBPyConnection, session_id: str) -> bool:
    """End one session (signing out); return whether it was open."""
    if not _SESSION_ID.match(session_id):
        return False
    with transaction(con):
        row = con.execute(
            "UPDATE app_session SET revoked_at = ? WHERE id_hash = ? AND revoked_at IS NULL",
            [_now(), _digest(session_id)],
        ).fetchone()
    return bool(row and row[0])


# ---------------------------------------------------------------------------- API tokens


def issue_token(con: duckdb.DuckDBPyConnection, name: str, *, label: str | None = None) -> str:
    """Create an API token for ``name`` and return it (it cannot be shown again).

    Scripts send it as ``Authorization: Bearer TOKEN``; it carries the user's role.

    Raises
    ------
    UnknownUser
    """
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(con):
        get_user(con, name)
        con.execute(
            "INSERT INTO api_token (token_hash, user_name, label) VALUES (?, ?, ?)",
            [_digest(token), name, label],
        )
        record(con, "user.token", target=name, detail={"label": label} if label else None)
    return token


def user_for_token(con: duckdb.DuckDBPyConnection, token: str) -> User:
    """Return the account an API token belongs to.

    Raises
    ------
    AuthenticationFailed
        Unknown or revoked token.
    """
    row = con.execute(
        f"SELECT {_USER_COLUMNS} FROM api_token t "
        "JOIN app_user u ON u.name = t.user_name WHERE t.token_hash = ?",
        [_digest(token)],
    ).fetchone()
    if row is None:
        msg = "invalid API token: create one with 'territoria users token NAME'"
        raise AuthenticationFailed(msg)
    return _row_to_user(row)
