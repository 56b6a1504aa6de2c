"""Accounts: users, roles, argon2 password hashes, API tokens."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.accounts import (
    add_user,
    authenticate,
    ensure_demo_admin,
    get_user,
    issue_token,
    list_users,
    remove_user,
    revoke_tokens,
    set_password,
    set_role,
    user_for_token,
)
from territoria.cli import app
from territoria.errors import AuthenticationFailed, InvalidAccount, UnknownUser, UserExists
from territoria.kb import connect


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    """A fresh in-memory knowledge base with the accounts tables."""
    return connect(":memory:")


def test_add_and_authenticate(con: duckdb.DuckDBPyConnection) -> None:
    user = add_user(con, "alice", role="analyst", password="correct horse battery")
    assert (user.name, user.role) == ("alice", "analyst")
    assert authenticate(con, "alice", "correct horse battery").name == "alice"
    stored = con.execute("SELECT password_hash FROM app_user").fetchone()
    assert stored is not None
    assert stored[0].startswith("$argon2id$")
    assert "correct horse" not in stored[0]


def test_wrong_password_and_unknown_user_give_the_same_error(
    con: duckdb.DuckDBPyConnection,
) -> None:
    add_user(con, "alice", role="viewer", password="correct horse battery")
    with pytest.raises(AuthenticationFailed) as wrong:
        authenticate(con, "alice", "wrong password!")
    with pytest.raises(AuthenticationFailed) as unknown:
        authenticate(con, "bob", "wrong password!")
    assert str(wrong.value) == str(unknown.value)


@pytest.mark.parametrize(
    ("name", "role", "password", "fragment"),
    [
        ("bad name", "viewer", "long enough password", "invalid user name"),
        ("", "viewer", "long enough password", "invalid user name"),
        ("alice", "boss", "long enough password", "unknown role 'boss'"),
        ("alice", "viewer", "short", "password too short"),
        ("alice", "viewer", " padded password ", "spaces"),
    ],
)
def test_invalid_accounts_are_refused(
    con: duckdb.DuckDBPyConnection, name: str, role: str, password: str, fragment: str
) -> None:
    with pytest.raises(InvalidAccount, match=fragment):
        add_user(con, name, role=role, password=password)
    assert list_users(con) == []


def test_duplicate_user(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "alice", role="viewer", password="correct horse battery")
    with pytest.raises(UserExists, match="'alice' already exists"):
        add_user(con, "alice", role="admin", password="another password")
    assert get_user(con, "alice").role == "viewer"


def test_roles_grant_permissions(con: duckdb.DuckDBPyConnection) -> None:
    for name, role in (("a", "admin"), ("b", "analyst"), ("c", "viewer")):
        add_user(con, name, role=role, password="correct horse battery")
    users = {u.name: u for u in list_users(con)}
    assert [u.name for u in list_users(con)] == ["a", "b", "c"]
    assert users["a"].can("admin") and users["a"].can("plan")
    assert users["b"].can("plan") and users["b"].can("act") and not users["b"].can("admin")
    assert users["c"].can("read") and not users["c"].can("plan") and not users["c"].can("act")


def test_password_change_ends_sessions(con: duckdb.DuckDBPyConnection) -> None:
    before = add_user(con, "alice", role="viewer", password="correct horse battery")
    after = set_password(con, "alice", "a brand new password")
    assert after.session_epoch == before.session_epoch + 1
    with pytest.raises(AuthenticationFailed):
        authenticate(con, "alice", "correct horse battery")
    assert authenticate(con, "alice", "a brand new password").name == "alice"
    assert set_role(con, "alice", "admin").session_epoch == after.session_epoch + 1


def test_tokens(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "bot", role="analyst", password="correct horse battery")
    token = issue_token(con, "bot", label="nightly export")
    assert token.startswith("trt_") and len(token) > 40
    assert user_for_token(con, token).name == "bot"
    stored = con.execute("SELECT token_hash FROM api_token").fetchone()
    assert stored is not None and token not in stored[0]
    with pytest.raises(AuthenticationFailed, match="invalid API token"):
        user_for_token(con, token + "x")
    assert revoke_tokens(con, "bot") == 1
    with pytest.raises(AuthenticationFailed):
        user_for_token(con, token)


def test_remove_user_removes_tokens(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "bot", role="viewer", password="correct horse battery")
    token = issue_token(con, "bot")
    remove_user(con, "bot")
    with pytest.raises(UnknownUser, match="no user 'bot'"):
        get_user(con, "bot")
    with pytest.raises(AuthenticationFailed):
        user_for_token(con, token)
    with pytest.raises(UnknownUser):
        remove_user(con, "bot")


def test_demo_admin_gets_a_fresh_random_password(con: duckdb.DuckDBPyConnection) -> None:
    user, first = ensure_demo_admin(con)
    assert (user.name, user.role) == ("demo", "admin")
    assert len(first) >= 20
    _, second = ensure_demo_admin(con)
    assert second != first
    assert authenticate(con, "demo", second).role == "admin"
    with pytest.raises(AuthenticationFailed):
        authenticate(con, "demo", first)


def test_users_command_line(tmp_path: Path) -> None:
    db = str(tmp_path / "kb.duckdb")
    runner = CliRunner()
    added = runner.invoke(
        app,
        ["users", "add", "alice", "--role", "analyst", "--password-stdin", "--db", db],
        input="correct horse battery\n",
    )
    assert added.exit_code == 0, added.output
    assert "created user alice (analyst)" in added.output
    generated = runner.invoke(app, ["users", "add", "bob", "--db", db], input="")
    assert generated.exit_code == 0, generated.output
    assert "password (shown once):" in generated.output
    listed = runner.invoke(app, ["users", "list", "--db", db])
    assert "alice" in listed.output and "analyst" in listed.output and "viewer" in listed.output
    token = runner.invoke(app, ["users", "token", "alice", "--db", db])
    assert token.exit_code == 0 and token.output.strip().startswith("trt_")
    con = connect(db)
    assert user_for_token(con, token.output.strip()).name == "alice"
    con.close()
    changed = runner.invoke(
        app,
        ["users", "passwd", "alice", "--password-stdin", "--db", db],
        input="another long password\n",
    )
    assert changed.exit_code == 0, changed.output
    con = connect(db)
    assert authenticate(con, "alice", "another long password").name == "alice"
    con.close()
    duplicate = runner.invoke(
        app,
        ["users", "add", "alice", "--password-stdin", "--db", db],
        input="correct horse battery\n",
    )
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    weak = runner.invoke(
        app, ["users", "add", "carol", "--password-stdin", "--db", db], input="short\n"
    )
    assert weak.exit_code == 2 and "password too short" in weak.output
    removed = runner.invoke(app, ["users", "remove", "bob", "--db", db])
    assert removed.exit_code == 0
    assert "bob" not in runner.invoke(app, ["users", "list", "--db", db]).output


def test_serve_refuses_an_unset_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERRITORIA_SECRET_KEY", raising=False)
    monkeypatch.delenv("TERRITORIA_DEMO", raising=False)
    result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "kb.duckdb")])
    assert result.exit_code == 2
    assert "TERRITORIA_SECRET_KEY is not set" in result.output
