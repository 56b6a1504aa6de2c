"""Shared pieces of the command-line interface: options, errors, progress."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, overload

import typer
from rich.console import Console

from territoria.errors import InvalidQuery, TerritoriaError, ValidationError

if TYPE_CHECKING:
    import duckdb

    from territoria.settings import Settings
    from territoria.sources._framework import Progress


class _ConsoleProxy:
    """A rich console that a forwarded command (cli/_remote.py) points at its client."""

    def __init__(self, default: Console) -> None:
        self._default = default
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(getattr(self._local, "console", None) or self._default, name)


console: Console = _ConsoleProxy(Console())  # type: ignore[assignment]
err_console: Console = _ConsoleProxy(Console(stderr=True))  # type: ignore[assignment]


@contextlib.contextmanager
def use_consoles(out: Console, err: Console) -> Iterator[None]:
    """Print this thread's output on ``out`` and ``err`` for the block."""
    proxies = (console, err_console)
    for proxy, target in zip(proxies, (out, err), strict=True):
        proxy._local.console = target  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for proxy in proxies:
            proxy._local.console = None  # type: ignore[attr-defined]


DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Knowledge base file (default: $TERRITORIA_DB or ./territoria.duckdb).",
        show_default=False,
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bars or decoration (for scripts).")
]


@dataclass
class Context:
    """What every command needs: settings and the knowledge base path."""

    settings: Settings
    db: Path
    quiet: bool

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Open the knowledge base (a cursor of the serving process's connection when the
        command was forwarded to it: see cli/_remote.py)."""
        from territoria.cli._remote import current_session
        from territoria.kb import connect

        session = current_session()
        if session is not None:
            return session.connect(read_only=read_only)
        return connect(
            self.db,
            read_only=read_only,
            threads=self.settings.threads,
            memory_limit=self.settings.memory_limit,
        )


def context(db: Path | None, quiet: bool = False) -> Context:
    """Build the command context from options and the environment."""
    from territoria.settings import Settings  # pydantic: loaded when a command runs

    settings = Settings()
    return Context(settings=settings, db=db or settings.db, quiet=quiet or settings.quiet)


def fail(exc: BaseException) -> NoReturn:
    """Print a clear error (no traceback) and exit with the error's code."""
    message = str(exc) or exc.__class__.__name__
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    if isinstance(exc, ValidationError) and exc.problems:
        for line in exc.problems[:20]:
            err_console.print(f"  {line}", highlight=False, soft_wrap=True)
        if exc.count > 20:
            err_console.print(f"  ... and {exc.count - 20} more", highlight=False)
    code = getattr(exc, "exit_code", 1)
    raise typer.Exit(code=code if isinstance(code, int) else 1)


@contextlib.contextmanager
def handle_errors() -> Iterator[None]:
    """Turn library errors into a message and a non-zero exit code."""
    import duckdb  # loaded when a command runs, not for --help

    try:
        yield
    except TerritoriaError as exc:
        fail(exc)
    except duckdb.Error as exc:
        from territoria.sources._framework import translate_error

        fail(translate_error(exc))
    except KeyboardInterrupt:
        err_console.print("[bold red]interrupted[/]: nothing was written")
        raise typer.Exit(code=130) from None
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(code=1) from None


@contextlib.contextmanager
def step_progress(quiet: bool) -> Iterator[Progress]:
    """Yield a :class:`~territoria.sources._framework.Progress` callback that shows the
    current step of a long task (and how far it is, when told) under a spinner."""
    from territoria.sources._framework import no_progress

    if quiet or not sys.stderr.isatty():
        yield no_progress
        return
    from rich.progress import Progress as RichProgress
    from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

    with RichProgress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=None)

        def update(step: str, done: int | None = None, total: int | None = None) -> None:
            if done is not None and total:
                step = f"{step} {done:,}/{total:,}"
            elif done is not None:
                step = f"{step} {done:,}"
            progress.update(task, description=step)

        yield update


def chosen_level(con: duckdb.DuckDBPyConnection, code: str, level: str | None) -> str | None:
    """Return the level at which a command resolves ``code``: ``level`` when given, else the
    first level holding this code; when several levels hold it, say on stderr which one was
    chosen and how to pick another (``53`` is the département Mayenne and the région
    Bretagne).

    A code that no territory has is left to the command, which reports it.
    """
    if level is not None:
        return level
    from territoria.analysis.profile import resolve_territory
    from territoria.kb.territories import find_territory

    try:
        row = resolve_territory(con, code)
    except TerritoriaError:
        return None
    others = row["same_code"]
    if others:
        chosen = str(row["level_label"])
        labels = []
        for other in others:
            try:
                label = find_territory(con, other["code"], level=other["level"]).level_label.fr
            except TerritoriaError:
                label = other["level"]
            labels.append((other["level"], label, other["name"]))
        both = "both " if len(others) == 1 else ""
        names = [f"the {chosen} {row['name']}", *(f"the {lb} {name}" for _, lb, name in labels)]
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        hints = ", ".join(f"--level {key} for the {lb}" for key, lb, _ in labels)
        err_console.print(
            f"{row['code']} is {both}{listed}: showing the {chosen}; use {hints}",
            highlight=False,
            soft_wrap=True,
        )
    return str(row["level"])


@overload
def parse_date_option(value: str, option: str) -> date: ...


@overload
def parse_date_option(value: None, option: str) -> None: ...


@overload
def parse_date_option(value: str | None, option: str) -> date | None: ...


def parse_date_option(value: str | None, option: str) -> date | None:
    """Parse a ``YYYY-MM-DD`` command-line option (``None`` stays ``None``)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"{option} {value!r} is not a date: expected YYYY-MM-DD"
        raise InvalidQuery(msg) from None


def print_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (UTF-8, no colour)."""
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


@contextlib.contextmanager
def open_kb(
    db: Path | None, quiet: bool = False, *, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The knowledge base for one command, opened once and closed after it, its errors
    reported without a traceback (the pattern each command module had a copy of)."""
    ctx = context(db, quiet)
    with handle_errors():
        con = ctx.connect(read_only=read_only)
        try:
            yield con
        finally:
            con.close()
