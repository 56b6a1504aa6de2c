"""``territoria serve`` (the web application) and ``territoria users ...`` (its accounts)."""

from __future__ import annotations

import gc
import getpass
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from territoria.cli._common import DbOption, console, context, err_console, handle_errors
from territoria.errors import InvalidAccount

if TYPE_CHECKING:
    from territoria.accounts import Revocation

users_app = typer.Typer(
    help="Accounts of the web application (roles: admin, analyst, viewer).",
    no_args_is_help=True,
)

RoleOption = Annotated[
    str,
    typer.Option(
        "--role",
        help="admin (everything, accounts too), analyst (plans and actions) or viewer (read-only).",
    ),
]
PasswordStdin = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from the first line of standard input (for scripts).",
    ),
]


def _read_password(from_stdin: bool, *, generate: bool) -> tuple[str, bool]:
    """Return a password and whether it was generated (and so must be shown once)."""
    from territoria.accounts import generate_password

    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise InvalidAccount("no password on standard input")
        return line, False
    if sys.stdin.isatty():
        first = getpass.getpass("Password (empty: generate one): ")
        if first:
            if getpass.getpass("Repeat: ") != first:
                raise InvalidAccount("the two passwords differ")
            return first, False
    if not generate:
        raise InvalidAccount("give the new password on a terminal or with --password-stdin")
    return generate_password(), True


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: RoleOption = "viewer",
    password_stdin: PasswordStdin = False,
    db: DbOption = None,
) -> None:
    """Create an account. Without a password, one is generated and printed once."""
    from territoria.accounts import add_user

    ctx = context(db)
    with handle_errors():
        password, generated = _read_password(password_stdin, generate=True)
        con = ctx.connect()
        try:
            user = add_user(con, name, role=role, password=password)
        finally:
            con.close()
    console.print(f"created user [bold]{user.name}[/] ({user.role})", highlight=False)
    if generated:
        console.print(f"password (shown once): [bold]{password}[/]", highlight=False)


@users_app.command("list")
def users_list(db: DbOption = None) -> None:
    """List the accounts: role, last sign-in, open sessions and API tokens."""
    from territoria.accounts import list_accounts

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            accounts = list_accounts(con)
        finally:
            con.close()
    table = Table()
    for column in ("name", "role", "created", "last sign-in (UTC)", "sessions", "tokens"):
        table.add_column(column)
    for account in accounts:
        user = account.user
        created = user.created_at.strftime("%Y-%m-%d %H:%M") if user.created_at else ""
        last = user.last_sign_in_at.strftime("%Y-%m-%d %H:%M") if user.last_sign_in_at else "never"
        table.add_row(
            user.name, user.role, created, last, str(account.sessions), str(account.tokens)
        )
    console.print(table)


def _print_ended(ended: Revocation) -> None:
    console.print(
        f"ended {ended.sessions} session(s) and revoked {ended.tokens} API token(s) of "
        f"[bold]{ended.name}[/]",
        highlight=False,
    )


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: PasswordStdin = False,
    db: DbOption = None,
) -> None:
    """Change a password: the user's sessions end and API tokens are revoked at once.

    Empty on a terminal: generate one. At least 12 characters, not a common password.
    """
    from territoria.accounts import set_password

    ctx = context(db)
    with handle_errors():
        password, generated = _read_password(password_stdin, generate=True)
        con = ctx.connect()
        try:
            ended = set_password(con, name, password)
        finally:
            con.close()
    console.print(f"password of [bold]{name}[/] changed", highlight=False)
    _print_ended(ended)
    if generated:
        console.print(f"new password (shown once): [bold]{password}[/]", highlight=False)


@users_app.command("role")
def users_role(
    name: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[str, typer.Argument(help="admin, analyst or viewer.")],
    db: DbOption = None,
) -> None:
    """Change a role: the user's sessions end and API tokens are revoked at once.

    The last administrator cannot be demoted (exit code 2).
    """
    from territoria.accounts import set_role

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            ended = set_role(con, name, role)
        finally:
            con.close()
    console.print(f"[bold]{name}[/] is now {role}", highlight=False)
    _print_ended(ended)


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="User name.")], db: DbOption = None
) -> None:
    """Delete an account, its sessions and its API tokens (never the last administrator)."""
    from territoria.accounts import remove_user

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            ended = remove_user(con, name)
        finally:
            con.close()
    console.print(f"removed user [bold]{name}[/]", highlight=False)
    _print_ended(ended)


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="User name.")],
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    revoke: Annotated[
        bool,
        typer.Option(
            "--revoke", help="Instead, revoke all of the user's tokens and end its sessions."
        ),
    ] = False,
    db: DbOption = None,
) -> None:
    """Issue an API token (printed once) for 'Authorization: Bearer TOKEN'."""
    from territoria.accounts import issue_token, revoke_access

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            if revoke:
                ended = revoke_access(con, name)
            else:
                token = issue_token(con, name, label=label)
        finally:
            con.close()
    if revoke:
        _print_ended(ended)
    else:
        # only the token on stdout, so that scripts can capture it
        sys.stdout.write(token + "\n")


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Demo mode: random secret key; creates the admin 'demo' with a random "
            "password printed once.",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    db: DbOption = None,
) -> None:
    """Serve the web application and its REST API (one process: the knowledge base's writer).

    Every other territoria command started while it serves runs in this process, on its
    connection (same output and exit code; writes are seen by the web application at once).
    Outside demo mode, TERRITORIA_SECRET_KEY must be set (at least 32 random characters).
    """
    import uvicorn

    from territoria.accounts import ensure_demo_admin
    from territoria.api import Database, WebSettings, create_app

    settings = WebSettings()
    updates: dict[str, object] = {"demo": demo or settings.demo}
    if db is not None:
        updates["db"] = db
    settings = settings.model_copy(update=updates)
    with handle_errors():
        settings.signing_key()  # refuse a missing key before opening anything
        database = Database.open(
            Path(settings.db), threads=settings.threads, memory_limit=settings.memory_limit
        )
        password = None
        if settings.demo:
            with database.writer() as cur:
                user, password = ensure_demo_admin(cur)
        app = create_app(settings, database=database)
    address = f"http://{host}:{port}"
    console.print(
        f"Territoria on [bold]{address}[/]  (knowledge base {settings.db})", highlight=False
    )
    if password is not None:
        console.print(
            f"demo account: user [bold]{user.name}[/]  password [bold]{password}[/]  (shown once)",
            highlight=False,
        )
    err_console.print("stop with Ctrl+C", style="dim")
    # Requests leave short-lived cycles; collecting them young keeps them out of full
    # collections, which walk every long-lived object and pause all requests (~100-200 ms).
    gc.set_threshold(50_000, 20, 20)
    from territoria.cli._remote import run_forwarded
    from territoria.kb._service import serving

    # uvicorn re-raises SIGTERM once it has shut down: make that an exit that runs the
    # clean-up below (checkpoint, socket removed) instead of killing the process there.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        # CLI commands started meanwhile run here, on this process's connection
        with serving(database, run_forwarded):
            # uvicorn believes X-Forwarded-For from 127.0.0.1 by default: the application
            # does it only for TERRITORIA_TRUSTED_PROXIES (api._security.client_address)
            uvicorn.run(
                app, host=host, port=port, log_level=log_level, workers=1, proxy_headers=False
            )
    except KeyboardInterrupt:
        pass
    finally:
        database.close()  # checkpoints: the .duckdb file alone holds every committed write


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``users`` to the command-line application."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
