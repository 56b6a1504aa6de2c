"""Password policy: long enough, not a common password, not the user name.

The list of common passwords is package data (``data/passwords/common-passwords.txt``: the
19,640 passwords of Django's ``CommonPasswordValidator``, BSD licence; see ``SOURCE.txt``
beside it). It is read once, on the first check.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Final

from territoria.errors import InvalidAccount

__all__ = ["MIN_PASSWORD_LENGTH", "check_password", "common_passwords"]

#: Shortest password accepted.
MIN_PASSWORD_LENGTH: Final = 12


@cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords, in lower case."""
    path = resources.files("territoria") / "data" / "passwords" / "common-passwords.txt"
    text = path.read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def check_password(password: str, *, name: str | None = None) -> None:
    """Refuse a password that is short, common, the user's name, or badly spaced.

    Raises
    ------
    InvalidAccount
        With what is wrong and how to choose better.
    """
    hint = "or let Territoria generate one (leave the password empty on a terminal)"
    if len(password) < MIN_PASSWORD_LENGTH:
        msg = (
            f"password too short ({len(password)} characters): use at least "
            f"{MIN_PASSWORD_LENGTH}, {hint}"
        )
        raise InvalidAccount(msg)
    if password.strip() != password or "\n" in password or "\r" in password:
        msg = "password must not start or end with spaces nor contain a line break"
        raise InvalidAccount(msg)
    if name is not None and password.casefold() == name.casefold():
        msg = f"password must not be the user name: choose another, {hint}"
        raise InvalidAccount(msg)
    if password.lower() in common_passwords():
        msg = f"password too common (it is in a list of leaked passwords): choose another, {hint}"
        raise InvalidAccount(msg)
