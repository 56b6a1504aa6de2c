"""``territoria serve`` (the web application) and ``territoria users ...`` (its accounts)."""

from __future__ import annotations

import gc
import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from territoria.cli._common import DbOption, console, context, err_console, handle_errors
from territoria.errors import InvalidAccount

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
    """List the accounts and their roles."""
    from territoria.accounts import list_users

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            users = list_users(con)
        finally:
            con.close()
    table = Table()
    table.add_column("name")
    table.add_column("role")
    table.add_column("created")
    for user in users:
        created = user.created_at.strftime("%Y-%m-%d %H:%M") if user.created_at else ""
        table.add_row(user.name, user.role, created)
    console.print(table)


@users_app.command("passwd")
def users_passwd(
    name: Annotated[str, typer.Argument(help="User name.")],
    password_stdin: PasswordStdin = False,
    db: DbOption = None,
) -> None:
    """Change a password (the user's open sessions end). Empty on a terminal: generate one."""
    from territoria.accounts import set_password

    ctx = context(db)
    with handle_errors():
        password, generated = _read_password(password_stdin, generate=True)
        con = ctx.connect()
        try:
            set_password(con, name, password)
        finally:
            con.close()
    console.print(f"password of [bold]{name}[/] changed", highlight=False)
    if generated:
        console.print(f"new password (shown once): [bold]{password}[/]", highlight=False)


@users_app.command("remove")
def users_remove(
    name: Annotated[str, typer.Argument(help="User name.")], db: DbOption = None
) -> None:
    """Delete an account and its API tokens."""
    from territoria.accounts import remove_user

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            remove_user(con, name)
        finally:
            con.close()
    console.print(f"removed user [bold]{name}[/]", highlight=False)


@users_app.command("token")
def users_token(
    name: Annotated[str, typer.Argument(help="User name.")],
    label: Annotated[str | None, typer.Option(help="What the token is for.")] = None,
    revoke: Annotated[
        bool, typer.Option("--revoke", help="Delete all of the user's tokens instead.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Issue an API token (printed once) for 'Authorization: Bearer TOKEN'."""
    from territoria.accounts import issue_token, revoke_tokens

    ctx = context(db)
    with handle_errors():
        con = ctx.connect()
        try:
            if revoke:
                count = revoke_tokens(con, name)
            else:
                token = issue_token(con, name, label=label)
        finally:
            con.close()
    if revoke:
        console.print(f"revoked {count} token(s) of [bold]{name}[/]", highlight=False)
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
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1)
    finally:
        database.close()


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``users`` to the command-line application."""
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
