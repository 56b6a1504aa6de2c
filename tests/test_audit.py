"""The audit log: filters and paging, ``territoria audit``, confirmation of ``actions remove``,
``GET /api/v1/audit`` and the admin page ``/journal``."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from territoria.cli import app as cli
from territoria.influence.actions import add_action, delete_action
from territoria.kb import connect, transaction
from territoria.kb.audit import acting_as, list_audit, record
from test_api_helpers import login, make_app, make_kb

runner = CliRunner()


@pytest.fixture
def kb(mini_db_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "kb.duckdb"
    shutil.copyfile(mini_db_path, path)
    return path


def test_list_audit_filters_and_pages(kb: Path) -> None:
    con = connect(kb)
    try:
        before_test = [e.id for e in list_audit(con, limit=1)]  # the fixture's own import
        with acting_as("web:alice"):
            first = add_action(
                con, when=date(2026, 3, 1), type="call", subject="a", actors=["cr-53"]
            )
            add_action(con, when=date(2026, 3, 2), type="call", subject="b", actors=["cr-53"])
        with acting_as("cli:root"):
            delete_action(con, first, user="cli:root", admin=True)
            for n in range(3):
                with transaction(con):  # another kind of write, as an importer records it
                    record(con, "import.france", target=f"source-{n}")
        everything = list_audit(con, limit=6)
        assert everything[-1].id > max(before_test, default=0)
        assert [e.event for e in everything] == [
            "import.france",
            "import.france",
            "import.france",
            "action.delete",
            "action.create",
            "action.create",
        ]
        assert [e.event for e in list_audit(con, actor="web:alice")] == ["action.create"] * 2
        assert [e.target for e in list_audit(con, event="action.delete")] == [str(first)]
        assert [e.event for e in list_audit(con, target=str(first))] == [
            "action.delete",
            "action.create",
        ]
        page = list_audit(con, limit=4)
        rest = list_audit(con, limit=2, before=page[-1].id)
        assert [e.id for e in page + rest] == [e.id for e in everything]
        created = list_audit(con, event="action.create")[-1]
        assert created.detail == {
            "subject": "a",
            "date": "2026-03-01",
            "type": "meeting",  # a call is recorded as the register's closest type
            "actors": ["cr-53"],
            "created_by": "web:alice",
        }
    finally:
        con.close()


def test_cli_asks_before_deleting_then_undoes_and_audits(kb: Path) -> None:
    db = ["--db", str(kb)]
    added = runner.invoke(
        cli, ["actions", "add", "--subject", "Ligne Rennes–Redon", "--actor", "cr-53", *db]
    )
    assert added.exit_code == 0, added.output
    action_id = int(added.output.split()[1])
    refused = runner.invoke(cli, ["actions", "remove", str(action_id), *db], input="n\n")
    assert refused.exit_code == 1
    assert f"Delete action {action_id} of" in refused.output and "nothing deleted" in (
        refused.output
    )
    listed = runner.invoke(cli, ["actions", "list", "--json", *db])
    assert [a["id"] for a in json.loads(listed.output)] == [action_id]
    confirmed = runner.invoke(cli, ["actions", "remove", str(action_id), *db], input="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert f"'territoria actions undo {action_id}' restores it" in confirmed.output
    assert json.loads(runner.invoke(cli, ["actions", "list", "--json", *db]).output) == []
    binned = json.loads(runner.invoke(cli, ["actions", "list", "--deleted", "--json", *db]).output)
    assert [a["subject"] for a in binned] == ["Ligne Rennes–Redon"]
    undone = runner.invoke(cli, ["actions", "undo", str(action_id), *db])
    assert undone.exit_code == 0 and "restored" in undone.output
    again = runner.invoke(cli, ["actions", "undo", str(action_id), *db])
    assert again.exit_code == 2 and "not deleted" in again.output
    missing = runner.invoke(cli, ["actions", "remove", "424242", "--yes", *db])
    assert missing.exit_code == 2 and "no action with id 424242" in missing.output
    audit = json.loads(runner.invoke(cli, ["audit", "--event", "action.", "--json", *db]).output)
    assert [(e["event"], e["target"]) for e in audit] == [
        ("action.restore", str(action_id)),
        ("action.delete", str(action_id)),
        ("action.create", str(action_id)),
    ]
    # the author recorded with the action is who the audit names
    assert audit[2]["detail"]["created_by"] == audit[2]["actor"]
    table = runner.invoke(cli, ["audit", "--limit", "2", *db])
    assert table.exit_code == 0
    assert "action.restore" in table.output and "action.create" not in table.output
    assert f"--before {audit[1]['id']}" in table.output


def test_cli_remove_yes_skips_the_question(kb: Path) -> None:
    db = ["--db", str(kb)]
    added = runner.invoke(cli, ["actions", "add", "--subject", "x", "--actor", "cr-53", *db])
    action_id = added.output.split()[1]
    removed = runner.invoke(cli, ["actions", "remove", action_id, "--yes", "--quiet", *db])
    assert removed.exit_code == 0 and removed.output == ""
    assert json.loads(runner.invoke(cli, ["actions", "list", "--json", *db]).output) == []


@pytest.fixture(scope="module")
def web_kb(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kb(mini_db_path, tmp_path_factory.mktemp("audit"))


@pytest.fixture(scope="module")
def web(web_kb: Path) -> Iterator[TestClient]:
    app = make_app(web_kb)
    with TestClient(app) as client:
        yield client
    app.state.territoria.db.close()


def test_audit_api_and_page_are_for_admins_only(web: TestClient) -> None:
    headers = {"X-CSRF-Token": login(web, "analyst")}
    created = web.post(
        "/api/v1/actions",
        json={
            "date": "2026-02-02",
            "type": "letter",
            "subject": "Contrat de plan",
            "actors": ["cr-53"],
        },
        headers=headers,
    )
    assert created.status_code == 201
    assert web.delete(f"/api/v1/actions/{created.json()['id']}", headers=headers).status_code == 204
    denied = web.get("/api/v1/audit")
    assert denied.status_code == 403 and "'admin' is needed" in denied.json()["error"]["message"]
    assert web.get("/journal").status_code == 403
    login(web, "admin")
    entries = web.get("/api/v1/audit", params={"actor": "web:analyst"}).json()
    assert [(e["event"], e["detail"]["subject"]) for e in entries] == [
        ("action.delete", "Contrat de plan"),
        ("action.create", "Contrat de plan"),
    ]
    assert web.get("/api/v1/audit", params={"limit": "9" * 30}).status_code == 422
    page = web.get("/journal", params={"actor": "web:analyst"})
    assert page.status_code == 200
    rows = page.text.split('id="audit-table"')[1]
    assert "Action supprimée" in rows and "Action consignée" in rows
    assert "analyst" in rows and "(site web)" in rows and "objet : Contrat de plan" in rows
    assert 'href="/journal"' in page.text
    english = web.get("/journal", params={"actor": "web:analyst", "lang": "en"}).text
    assert "Audit log" in english and "Action deleted" in english and "(website)" in english
    older = web.get("/journal", params={"limit": 1}).text
    assert 'id="audit-older"' in older
    schema = web.get("/openapi.json").json()
    assert "AuditEntryOut" in schema["components"]["schemas"]
