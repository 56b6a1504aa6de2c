"""Accounts: users, roles, password policy, argon2 hashes, API tokens, server-side sessions,
revocation, the last administrator and the audit of every change."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from territoria.accounts import (
    MIN_PASSWORD_LENGTH,
    add_user,
    authenticate,
    end_session,
    ensure_demo_admin,
    get_user,
    issue_token,
    list_accounts,
    list_users,
    open_session,
    remove_user,
    revoke_access,
    session_for,
    set_password,
    set_role,
    user_for_token,
)
from territoria.cli import app
from territoria.errors import (
    AuthenticationFailed,
    InvalidAccount,
    LastAdmin,
    UnknownUser,
    UserExists,
)
from territoria.kb import connect
from territoria.kb.audit import list_audit


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
        ("alice", "viewer", "password12", "password too short"),
        ("alice", "viewer", "Password1234", "password too common"),
        ("alice", "viewer", "QWERTY123456", "password too common"),
        ("alice.dupont.35", "viewer", "Alice.Dupont.35", "must not be the user name"),
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


def test_password_policy_uses_the_shipped_list_of_common_passwords() -> None:
    from territoria._passwords import common_passwords

    listed = common_passwords()
    assert len(listed) > 19_000
    assert {"password", "azertyuiop", "motdepasse", "password1234"} <= listed
    assert MIN_PASSWORD_LENGTH == 12


def _signed_in(con: duckdb.DuckDBPyConnection, name: str) -> str:
    session_id, session = open_session(con, name, hours=12, address="192.0.2.7")
    assert session.active() and session.user.name == name
    return session_id


def test_sessions_live_in_the_knowledge_base(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "alice", role="viewer", password="correct horse battery")
    session_id = _signed_in(con, "alice")
    stored = con.execute("SELECT id_hash, address FROM app_session").fetchall()
    assert len(stored) == 1 and session_id not in stored[0][0]
    assert stored[0][1] == "192.0.2.7"
    session = session_for(con, session_id)
    assert session.active() and session.user.role == "viewer"
    assert get_user(con, "alice").last_sign_in_at == session.created_at
    # expiry ends it without any write
    assert not session.active(session.expires_at + timedelta(seconds=1))
    # signing out ends it at once
    assert end_session(con, session_id) is True
    assert not session_for(con, session_id).active()
    assert end_session(con, session_id) is False
    with pytest.raises(AuthenticationFailed):
        session_for(con, "not-a-session-id")


def test_tokens(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "bot", role="analyst", password="correct horse battery")
    token = issue_token(con, "bot", label="nightly export")
    assert token.startswith("trt_") and len(token) > 40
    assert user_for_token(con, token).name == "bot"
    stored = con.execute("SELECT token_hash FROM api_token").fetchone()
    assert stored is not None and token not in stored[0]
    with pytest.raises(AuthenticationFailed, match="invalid API token"):
        user_for_token(con, token + "x")


def test_password_change_ends_sessions_and_tokens(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "alice", role="viewer", password="correct horse battery")
    session_id = _signed_in(con, "alice")
    token = issue_token(con, "alice")
    ended = set_password(con, "alice", "a brand new password")
    assert (ended.sessions, ended.tokens) == (1, 1)
    assert not session_for(con, session_id).active()
    with pytest.raises(AuthenticationFailed):
        user_for_token(con, token)
    with pytest.raises(AuthenticationFailed):
        authenticate(con, "alice", "correct horse battery")
    assert authenticate(con, "alice", "a brand new password").name == "alice"


def test_role_change_ends_sessions_and_tokens(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "root", role="admin", password="correct horse battery")
    add_user(con, "alice", role="analyst", password="correct horse battery")
    session_id = _signed_in(con, "alice")
    token = issue_token(con, "alice")
    ended = set_role(con, "alice", "viewer")
    assert (ended.sessions, ended.tokens) == (1, 1)
    assert get_user(con, "alice").role == "viewer"
    assert not session_for(con, session_id).active()
    with pytest.raises(AuthenticationFailed):
        user_for_token(con, token)
    # the same role again changes nothing
    again = _signed_in(con, "alice")
    assert set_role(con, "alice", "viewer").sessions == 0
    assert session_for(con, again).active()


def test_revoke_access_keeps_the_password(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "bot", role="analyst", password="correct horse battery")
    token = issue_token(con, "bot", label="nightly export")
    session_id = _signed_in(con, "bot")
    assert [(a.sessions, a.tokens) for a in list_accounts(con)] == [(1, 1)]
    ended = revoke_access(con, "bot")
    assert (ended.sessions, ended.tokens) == (1, 1)
    assert [(a.sessions, a.tokens) for a in list_accounts(con)] == [(0, 0)]
    assert not session_for(con, session_id).active()
    with pytest.raises(AuthenticationFailed):
        user_for_token(con, token)
    assert authenticate(con, "bot", "correct horse battery").name == "bot"


def test_the_last_admin_cannot_be_removed_or_demoted(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "root", role="admin", password="correct horse battery")
    add_user(con, "alice", role="viewer", password="correct horse battery")
    with pytest.raises(LastAdmin, match="'root': it is the last administrator"):
        remove_user(con, "root")
    with pytest.raises(LastAdmin, match="last administrator"):
        set_role(con, "root", "analyst")
    assert get_user(con, "root").role == "admin"
    set_role(con, "alice", "admin")
    set_role(con, "root", "viewer")  # another admin remains
    with pytest.raises(LastAdmin):
        remove_user(con, "alice")
    remove_user(con, "root")
    assert [u.name for u in list_users(con)] == ["alice"]


def test_every_account_change_is_audited(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "root", role="admin", password="correct horse battery")
    add_user(con, "alice", role="viewer", password="correct horse battery")
    issue_token(con, "alice", label="export")
    set_password(con, "alice", "a brand new password")
    set_role(con, "alice", "analyst")
    revoke_access(con, "alice")
    remove_user(con, "alice")
    with pytest.raises(AuthenticationFailed):
        authenticate(con, "root", "wrong password!")  # a failed sign-in writes nothing
    entries = list(reversed(list_audit(con, event="user.")))
    assert [(e.event, e.target) for e in entries] == [
        ("user.add", "root"),
        ("user.add", "alice"),
        ("user.token", "alice"),
        ("user.passwd", "alice"),
        ("user.role", "alice"),
        ("user.revoke", "alice"),
        ("user.remove", "alice"),
    ]
    assert entries[3].detail == {"sessions": 0, "tokens": 1}
    assert entries[4].detail == {"from": "viewer", "to": "analyst", "sessions": 0, "tokens": 0}
    assert "password" not in str([e.detail for e in entries])
    assert len(list_audit(con)) == len(entries)


def test_remove_user_removes_tokens_and_sessions(con: duckdb.DuckDBPyConnection) -> None:
    add_user(con, "bot", role="viewer", password="correct horse battery")
    token = issue_token(con, "bot")
    session_id = _signed_in(con, "bot")
    remove_user(con, "bot")
    with pytest.raises(UnknownUser, match="no user 'bot'"):
        get_user(con, "bot")
    with pytest.raises(AuthenticationFailed):
        user_for_token(con, token)
    with pytest.raises(AuthenticationFailed):
        session_for(con, session_id)
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
    token = runner.invoke(app, ["users", "token", "alice", "--db", db])
    assert token.exit_code == 0 and token.output.strip().startswith("trt_")
    con = connect(db)
    assert user_for_token(con, token.output.strip()).name == "alice"
    open_session(con, "alice", hours=1)
    con.close()
    listed = runner.invoke(app, ["users", "list", "--db", db])
    rows = {line.split()[1]: line for line in listed.output.splitlines() if "│" in line}
    assert "analyst" in rows["alice"] and "viewer" in rows["bob"] and "never" in rows["bob"]
    changed = runner.invoke(
        app,
        ["users", "passwd", "alice", "--password-stdin", "--db", db],
        input="another long password\n",
    )
    assert changed.exit_code == 0, changed.output
    assert "ended 1 session(s) and revoked 1 API token(s) of alice" in changed.output
    con = connect(db)
    assert authenticate(con, "alice", "another long password").name == "alice"
    with pytest.raises(AuthenticationFailed):
        user_for_token(con, token.output.strip())
    con.close()
    duplicate = runner.invoke(
        app,
        ["users", "add", "alice", "--password-stdin", "--db", db],
        input="correct horse battery\n",
    )
    assert duplicate.exit_code == 2 and "already exists" in duplicate.output
    for weak, why in (
        ("short\n", "too short"),
        ("password12\n", "too short"),
        ("qwerty123456\n", "too common"),
    ):
        refused = runner.invoke(
            app, ["users", "add", "carol", "--password-stdin", "--db", db], input=weak
        )
        assert refused.exit_code == 2 and why in refused.output, refused.output
    # the last administrator stays
    promoted = runner.invoke(app, ["users", "role", "alice", "admin", "--db", db])
    assert promoted.exit_code == 0 and "alice is now admin" in promoted.output
    demoted = runner.invoke(app, ["users", "role", "alice", "viewer", "--db", db])
    assert demoted.exit_code == 2 and "last administrator" in demoted.output
    last = runner.invoke(app, ["users", "remove", "alice", "--db", db])
    assert last.exit_code == 2 and "last administrator" in last.output
    unknown_role = runner.invoke(app, ["users", "role", "bob", "boss", "--db", db])
    assert unknown_role.exit_code == 2 and "unknown role 'boss'" in unknown_role.output
    fresh = runner.invoke(app, ["users", "token", "bob", "--db", db]).output.strip()
    revoked = runner.invoke(app, ["users", "token", "bob", "--revoke", "--db", db])
    assert revoked.exit_code == 0
    assert "revoked 1 API token(s) of bob" in revoked.output
    con = connect(db)
    with pytest.raises(AuthenticationFailed):
        user_for_token(con, fresh)
    con.close()
    removed = runner.invoke(app, ["users", "remove", "bob", "--db", db])
    assert removed.exit_code == 0
    assert "bob" not in runner.invoke(app, ["users", "list", "--db", db]).output


def test_serve_refuses_an_unset_secret_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TERRITORIA_SECRET_KEY", raising=False)
    monkeypatch.delenv("TERRITORIA_DEMO", raising=False)
    result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "kb.duckdb")])
    assert result.exit_code == 2
    assert "TERRITORIA_SECRET_KEY is not set" in result.output
