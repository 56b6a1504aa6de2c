"""CLI commands while a real ``territoria serve`` runs on the same knowledge base.

A server process listens on 127.0.0.1 (a free port) on a copy of the mini knowledge base;
every ``territoria`` command below is a separate process, as a user would type it: it finds
the server's socket, runs there, and prints what it prints without a server. The web side
is checked with httpx against the same server (sign-in form, API), so a CLI write is seen by
the web application without a restart.

Servers are stopped with SIGTERM (the graceful path, which must checkpoint) or killed in the
fixture finalisers; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from territoria.accounts import add_user
from territoria.kb import connect
from test_api_helpers import PASSWORDS, SECRET

DATA = Path(__file__).parent / "data"
INDICATORS = DATA / "indicators" / "indicators_long_rennes.csv"
CLI = [sys.executable, "-m", "territoria"]
START_TIMEOUT = 120.0  # seconds: the machine may be shared and loaded
STOP_TIMEOUT = 30.0
ACTOR = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"
CAROLE = "carole-velo-sous-la-pluie-42"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERRITORIA_")}
    env.update(
        TERRITORIA_SECRET_KEY=SECRET,
        TERRITORIA_WARM_CACHE="false",
        COLUMNS="100",  # the same table width with and without a server
    )
    return env


def cli(
    *args: object, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``territoria ARGS`` in a new process; return its exit code and output."""
    return subprocess.run(
        [*CLI, *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
        check=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Probe:
    """One round of the start-up poll: /healthz then /readyz (None: no answer yet)."""

    health: int | None
    health_body: Any
    ready: int | None
    ready_body: Any
    retry_after: str | None


@dataclass
class Server:
    """A ``territoria serve`` process on 127.0.0.1."""

    db: Path
    log: Path
    env: dict[str, str] = field(default_factory=_env)

    def __post_init__(self) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--log-level", "warning", "--db", str(self.db)]
        self._out = self.log.open("w")
        self.process = subprocess.Popen(
            command, env=self.env, stdout=self._out, stderr=subprocess.STDOUT
        )
        self.probes: list[Probe] = []

    def wait_ready(self, timeout: float = START_TIMEOUT) -> float:
        """Poll /healthz and /readyz until ready; return the seconds it took."""
        start = time.monotonic()
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while time.monotonic() - start < timeout:
                if self.process.poll() is not None:
                    pytest.fail(f"the server stopped at start:\n{self.log.read_text()}")
                probe = Probe(None, None, None, None, None)
                try:
                    health = client.get("/healthz")
                    probe.health, probe.health_body = health.status_code, health.json()
                    ready = client.get("/readyz")
                    probe.ready, probe.ready_body = ready.status_code, ready.json()
                    probe.retry_after = ready.headers.get("retry-after")
                except httpx.TransportError:
                    pass
                self.probes.append(probe)
                if probe.ready == 200:
                    return time.monotonic() - start
                time.sleep(0.02)
        pytest.fail(f"/readyz not 200 after {timeout:.0f} s:\n{self.log.read_text()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> tuple[int, float]:
        """SIGTERM; return the exit code and the seconds the server took to exit."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._out.close()
        return code, time.monotonic() - start

    def kill(self) -> None:
        """Stop the server if it still runs: SIGTERM (which removes its socket), then SIGKILL."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)
        self._out.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Any]:
    """Start servers for one test; every one still running at the end is killed."""
    started: list[Server] = []

    def start(db: Path) -> Server:
        server = Server(db, tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.kill()


def _make_kb(mini_db_path: Path, path: Path) -> Path:
    """Copy the mini knowledge base (no imported indicators) and add three accounts."""
    shutil.copyfile(mini_db_path, path)
    con = connect(path)
    try:
        for role, password in PASSWORDS.items():
            add_user(con, role, role=role, password=password)
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def pristine(mini_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The knowledge base as the served one starts, never served (the CLI runs alone)."""
    return _make_kb(mini_db_path, tmp_path_factory.mktemp("pristine") / "kb.duckdb")


@pytest.fixture(scope="module")
def served(pristine: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module, on a copy of ``pristine``."""
    folder = tmp_path_factory.mktemp("served")
    db = folder / "kb.duckdb"
    shutil.copyfile(pristine, db)
    server = Server(db, folder / "serve.log")
    try:
        server.wait_ready()
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def written() -> list[tuple[str, str]]:
    """(event, target) of every CLI write made by this module's tests, for the audit test."""
    return []


@contextlib.contextmanager
def sign_in(base: str, name: str, password: str) -> Iterator[httpx.Client]:
    """Sign in through the form, as a browser does; yield the client holding the cookie."""
    with httpx.Client(base_url=base, timeout=30) as client:
        yield _signed_in(client, name, password)


def _signed_in(client: httpx.Client, name: str, password: str) -> httpx.Client:
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:300]
    response = client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": found[1], "next": "/"},
    )
    assert response.status_code == 303, response.text[:300]
    return client


def audit(db: Path) -> list[dict[str, Any]]:
    run = cli("audit", "--json", "--limit", "500", "--db", db)
    assert run.returncode == 0, run.stderr
    entries: list[dict[str, Any]] = json.loads(run.stdout)
    return entries


# ------------------------------------------------------------------------------- reads


def test_profile_while_serving_is_the_profile_without_server(
    served: Server, pristine: Path
) -> None:
    run = cli("profile", "35238", "--db", served.db)
    assert run.returncode == 0, run.stderr
    alone = cli("profile", "35238", "--db", pristine)
    assert alone.returncode == 0, alone.stderr
    assert run.stdout == alone.stdout
    con = duckdb.connect(str(pristine), read_only=True)
    (population,) = con.execute(
        "SELECT population FROM territory WHERE level = 'commune' AND code = '35238'"
    ).fetchone() or (None,)
    con.close()
    assert population and population > 200_000
    assert "Rennes" in run.stdout
    assert f"{population:,}".replace(",", "\u202f") in run.stdout  # 216 815, as printed alone


def test_unknown_territory_while_serving_exits_2_on_stderr(served: Server, pristine: Path) -> None:
    run = cli("profile", "99999", "--db", served.db)
    alone = cli("profile", "99999", "--db", pristine)
    assert (run.returncode, alone.returncode) == (2, 2)
    assert run.stdout == "" and "'99999'" in run.stderr and "territoria search" in run.stderr
    assert run.stderr == alone.stderr


# ------------------------------------------------------------------------------ writes


def test_user_added_while_serving_signs_in_on_the_web(
    served: Server, written: list[tuple[str, str]]
) -> None:
    run = cli(
        "users",
        "add",
        "carole",
        "--role",
        "analyst",
        "--password-stdin",
        "--db",
        served.db,
        stdin=CAROLE + "\n",
    )
    assert run.returncode == 0, run.stderr
    assert "created user carole (analyst)" in run.stdout
    assert CAROLE not in run.stdout  # a password given is never printed
    written.append(("user.add", "carole"))
    with sign_in(served.base, "carole", CAROLE) as client:
        me = client.get("/api/v1/me")
        assert me.status_code == 200
        assert (me.json()["name"], me.json()["role"]) == ("carole", "analyst")


def test_indicators_imported_while_serving_are_in_the_api_at_once(
    served: Server, written: list[tuple[str, str]]
) -> None:
    with sign_in(served.base, "viewer", PASSWORDS["viewer"]) as client:
        profile_url = "/api/v1/territories/35238/profile?level=commune"
        before = client.get(profile_url).json()  # now in the server's cache
        codes = {i["code"] for i in client.get("/api/v1/indicators").json()}
        assert "ETAB_ACTIFS" not in codes and before["indicators"] == []

        run = cli(
            "import",
            "indicators",
            INDICATORS,
            "--source-name",
            "serve-test",
            "--publisher",
            "Territoria tests",
            "--licence",
            "CC0",
            "--synthetic",
            "--quiet",
            "--db",
            served.db,
        )
        assert run.returncode == 0, run.stderr
        written.append(("import.indicators", "serve-test"))

        listed = {i["code"]: i for i in client.get("/api/v1/indicators").json()}
        assert listed["ETAB_ACTIFS"]["periods"] == ["2022", "2023"]
        after = client.get(profile_url).json()
        values = {(i["indicator"], i["period"]): i["value"] for i in after["indicators"]}
        assert values[("ETAB_ACTIFS", "2023")] == 32010  # as in the CSV
        assert values[("TX_CHOMAGE", "2023")] == pytest.approx(7.4)  # "7,4" in the CSV
        assert {i["source"] for i in after["indicators"]} == {"serve-test"}


def test_password_changed_while_serving_ends_sessions_and_tokens(
    served: Server, written: list[tuple[str, str]]
) -> None:
    issued = cli("users", "token", "analyst", "--db", served.db)
    assert issued.returncode == 0, issued.stderr
    written.append(("user.token", "analyst"))
    token = issued.stdout.strip()
    bearer = {"Authorization": f"Bearer {token}"}
    with sign_in(served.base, "analyst", PASSWORDS["analyst"]) as session:
        assert session.get("/api/v1/me").json()["name"] == "analyst"
        assert httpx.get(served.base + "/api/v1/me", headers=bearer).status_code == 200

        new = "analyst-nouveau-mot-de-passe"
        run = cli(
            "users", "passwd", "analyst", "--password-stdin", "--db", served.db, stdin=new + "\n"
        )
        assert run.returncode == 0, run.stderr
        written.append(("user.passwd", "analyst"))
        assert re.search(r"ended [1-9]\d* session\(s\) and revoked [1-9]\d* API token", run.stdout)

        assert session.get("/api/v1/me").status_code == 401  # the old cookie
        assert httpx.get(served.base + "/api/v1/me", headers=bearer).status_code == 401
    with sign_in(served.base, "analyst", new) as again:
        assert again.get("/api/v1/me").json()["name"] == "analyst"


def test_every_cli_write_while_serving_is_audited(
    served: Server, written: list[tuple[str, str]]
) -> None:
    run = cli(
        "users",
        "add",
        "erin",
        "--role",
        "viewer",
        "--password-stdin",
        "--db",
        served.db,
        stdin="erin-mot-de-passe-solide\n",
    )
    assert run.returncode == 0, run.stderr
    written.append(("user.add", "erin"))
    entries = audit(served.db)
    for event, target in written:
        found = [e for e in entries if e["event"] == event and e["target"] == target]
        assert found, (event, target, entries[:5])
        assert found[0]["actor"] == ACTOR  # cli:<the user who typed it>


# ------------------------------------------------------------------- readiness, restart


def test_readiness_after_liveness_and_no_data_in_probes(served: Server) -> None:
    answered = [p for p in served.probes if p.ready is not None]
    assert answered, "the server never answered /readyz"
    # /readyz never answers before /healthz does, and /healthz is always 200 'alive'
    assert all(p.health == 200 and p.health_body == {"status": "alive"} for p in answered)
    codes = [p.ready for p in answered]
    assert set(codes) <= {200, 503} and codes[-1] == 200
    for p in answered:
        if p.ready == 503:
            assert p.ready_body == {"status": "warming up"} and p.retry_after == "1"
        else:
            assert p.ready_body == {"status": "ready"} and p.retry_after is None
    # unauthenticated and holding no data
    assert httpx.get(served.base + "/readyz").json() == {"status": "ready"}
    assert httpx.get(served.base + "/api/v1/me").status_code == 401


def test_graceful_stop_checkpoints_and_plans_survive_a_restart(
    pristine: Path, tmp_path: Path, start_server: Any
) -> None:
    db = tmp_path / "kb.duckdb"
    shutil.copyfile(pristine, db)
    first = start_server(db)
    token = cli("users", "token", "analyst", "--db", db).stdout.strip()
    assert token
    bearer = {"Authorization": f"Bearer {token}"}
    run = cli(
        "users",
        "add",
        "carole",
        "--role",
        "analyst",
        "--password-stdin",
        "--db",
        db,
        stdin=CAROLE + "\n",
    )
    assert run.returncode == 0, run.stderr
    run = cli(
        "import",
        "indicators",
        INDICATORS,
        "--source-name",
        "serve-test",
        "--publisher",
        "Territoria tests",
        "--licence",
        "CC0",
        "--quiet",
        "--db",
        db,
    )
    assert run.returncode == 0, run.stderr
    served_profile = cli("profile", "35238", "--db", db)
    body = {"code": "35238", "level": "commune", "theme": "economic-development", "k": 3, "seed": 7}
    submitted = httpx.post(first.base + "/api/v1/influence/plans", json=body, headers=bearer)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()

    code, seconds = first.stop()
    assert code == 0 and seconds < STOP_TIMEOUT
    assert not Path(f"{db}.wal").exists()  # the .duckdb file alone holds every write
    con = duckdb.connect(str(db), read_only=True)
    try:
        users = {r[0] for r in con.execute("SELECT name FROM app_user").fetchall()}
        (values,) = con.execute(
            "SELECT count(*) FROM indicator_value v JOIN source s ON s.id = v.source_id "
            "WHERE s.name = 'serve-test'"
        ).fetchone() or (0,)
        (jobs,) = con.execute("SELECT count(*) FROM job WHERE id = ?", [job["id"]]).fetchone() or (
            0,
        )
    finally:
        con.close()
    assert "carole" in users and values == 8 and jobs == 1  # 8 lines in the CSV
    alone = cli("profile", "35238", "--db", db)  # no server now: the CLI opens the file
    assert alone.returncode == 0 and alone.stdout == served_profile.stdout

    second = start_server(db)
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        again = httpx.get(f"{second.base}/api/v1/influence/plans/{job['id']}", headers=bearer)
        assert again.status_code == 200, again.text
        state = again.json()
        if state["status"] in {"done", "failed", "cancelled"} or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert state["id"] == job["id"] and state["status"] == "done", state
    assert 1 <= len(state["result"]["seeds"]) <= 3
    code, _ = second.stop()
    assert code == 0 and not Path(f"{db}.wal").exists()


@pytest.mark.slow
def test_readyz_is_503_while_the_france_kb_warms_up_then_stays_200(
    full_db_path: Path, tmp_path: Path
) -> None:
    db = tmp_path / "france.duckdb"
    shutil.copyfile(full_db_path, db)
    server = Server(db, tmp_path / "serve.log")
    try:
        seconds = server.wait_ready()
        answered = [p.ready for p in server.probes if p.ready is not None]
        assert 503 in answered and answered[-1] == 200, answered
        print(f"France knowledge base ready {seconds:.1f} s after start")
        # an import reloads the profile lookups (seconds on France): the server still serves
        # (profiles from queries meanwhile) and must stay in a load balancer's rotation
        run = cli(
            "import",
            "indicators",
            INDICATORS,
            "--source-name",
            "serve-test",
            "--publisher",
            "Territoria tests",
            "--licence",
            "CC0",
            "--quiet",
            "--db",
            db,
        )
        assert run.returncode == 0, run.stderr
        codes = []
        for _ in range(10):
            codes.append(httpx.get(server.base + "/readyz").status_code)
            time.sleep(0.2)
        assert codes == [200] * 10
    finally:
        server.kill()
