"""CLI commands run by the process that serves the knowledge base (see kb/_service.py).

Client side, :func:`forward_if_served` parses the command line exactly as the command would
(so a usage error is reported here, as usual), makes its paths absolute, and, when a process
serves the knowledge base the command names, sends it the parsed command and prints what
comes back. Server side, :func:`run_forwarded` runs the same command function with a
per-thread standard output, error and input, and a command context whose ``connect()``
returns cursors of the served connection.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import os
import shutil
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from territoria.kb._service import (
    STDERR,
    STDOUT,
    CommandSession,
    any_served,
    forward,
    socket_path,
)

__all__ = ["current_session", "forward_if_served", "run_forwarded"]

#: Commands that are never forwarded (serving itself).
_LOCAL = {("serve",)}

_SESSION: contextvars.ContextVar[CommandSession | None] = contextvars.ContextVar(
    "territoria_cli_session", default=None
)


def current_session() -> CommandSession | None:
    """Return the served knowledge base when this command runs inside the serving process."""
    return _SESSION.get()


# ---------------------------------------------------------------------------- client side


def _parse(app: Any, argv: list[str]) -> tuple[list[str], Any, dict[str, Any]] | None:
    """Return (command path, command, parameters) of ``argv``, or None to run it locally."""
    import typer.main

    root = typer.main.get_command(app)
    path: list[str] = []
    try:
        ctx = root.make_context("territoria", list(argv), resilient_parsing=False)
        command, rest = root, ctx._protected_args + ctx.args
        while hasattr(command, "resolve_command"):
            if not rest:
                return None
            name, sub, rest = command.resolve_command(ctx, rest)
            if sub is None or name is None:
                return None
            path.append(name)
            ctx = sub.make_context(name, list(rest), parent=ctx)
            command = sub
            if hasattr(command, "resolve_command"):
                rest = ctx._protected_args + ctx.args
    except BaseException:  # --help, a usage error ...: the usual run prints them
        return None
    if tuple(path) in _LOCAL or "db" not in ctx.params:
        return None
    return path, command, dict(ctx.params)


def _db_hint(argv: list[str]) -> str:
    """The knowledge base the command line names, read without parsing it (checked after)."""
    for i, arg in enumerate(argv):
        if arg == "--db" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--db="):
            return arg[len("--db=") :]
    return os.environ.get("TERRITORIA_DB", "territoria.duckdb")


def _absolute(value: Any) -> Any:
    if isinstance(value, Path):
        return value if value.is_absolute() or str(value) == "-" else Path.cwd() / value
    if isinstance(value, list | tuple):
        return type(value)(_absolute(v) for v in value)
    return value


def forward_if_served(app: Any, argv: list[str]) -> int | None:
    """Run the command in the process serving its knowledge base; None if none serves it."""
    if not any_served() or not socket_path(_db_hint(argv)).exists():
        return None  # the common case costs a directory listing, no parsing
    parsed = _parse(app, argv)
    if parsed is None:
        return None
    path, _command, params = parsed
    from territoria.settings import Settings

    db = params.get("db") or Settings().db
    if not socket_path(db).exists():
        return None  # another knowledge base is served, not this one
    stdin = None
    if params.get("password_stdin"):
        stdin = sys.stdin.readline()
    request = {
        "path": path,
        "params": {k: _absolute(v) for k, v in params.items()},
        "stdin": stdin,
        "tty": sys.stdout.isatty(),
        "width": shutil.get_terminal_size().columns,
    }
    out, err = sys.stdout.buffer, sys.stderr.buffer

    def write(kind: bytes, payload: bytes) -> None:
        stream = err if kind == STDERR else out
        stream.write(payload)
        stream.flush()

    code = forward(Path(db), request, write)
    if code is None and stdin is not None:
        sys.stdin = io.StringIO(stdin)  # run locally after all: give the line back
    return code


# ---------------------------------------------------------------------------- server side


class _ThreadStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr``/``sys.stdin`` that a thread can point elsewhere."""

    def __init__(self, default: TextIO) -> None:
        self._default = default
        self._local = threading.local()

    @property
    def current(self) -> TextIO:
        return getattr(self._local, "stream", None) or self._default

    @contextlib.contextmanager
    def redirect(self, stream: TextIO) -> Iterator[None]:
        self._local.stream = stream
        try:
            yield
        finally:
            self._local.stream = None

    def write(self, text: str) -> int:
        return self.current.write(text)

    def flush(self) -> None:
        self.current.flush()

    def isatty(self) -> bool:
        return self.current.isatty()

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        return self.current.readline(-1 if size is None else size)

    def read(self, size: int | None = -1) -> str:
        return self.current.read(-1 if size is None else size)

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.current, "encoding", "utf-8") or "utf-8"

    def fileno(self) -> int:
        return self.current.fileno()


class _Pipe(io.TextIOBase):
    """A text stream that sends what is written to the client, frame by frame."""

    def __init__(self, write: Callable[[bytes, str], None], kind: bytes, *, tty: bool) -> None:
        self._write, self._kind, self._tty = write, kind, tty

    def write(self, text: str) -> int:
        if text:
            self._write(self._kind, text)
        return len(text)

    def isatty(self) -> bool:
        return self._tty

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"


_streams_lock = threading.Lock()


def _thread_streams() -> tuple[_ThreadStream, _ThreadStream, _ThreadStream]:
    """Install (once) per-thread standard streams in this process."""
    with _streams_lock:
        for name in ("stdout", "stderr", "stdin"):
            if not isinstance(getattr(sys, name), _ThreadStream):
                setattr(sys, name, _ThreadStream(getattr(sys, name)))
    return sys.stdout, sys.stderr, sys.stdin  # type: ignore[return-value]


def _command(app: Any, path: list[str]) -> Any:
    import typer.main

    command = typer.main.get_command(app)
    ctx = command.make_context("territoria", [], resilient_parsing=True)
    for name in path:
        command = command.get_command(ctx, name)  # type: ignore[attr-defined]
        if command is None:
            raise LookupError(f"no command {' '.join(path)!r}")
        ctx = command.context_class(command, info_name=name, parent=ctx)
    return command, ctx


def run_forwarded(
    request: dict[str, Any], write: Callable[[bytes, str], None], session: CommandSession
) -> int:
    """Run a forwarded command in this (serving) process; return its exit code."""
    from rich.console import Console

    from territoria.cli import _common, app
    from territoria.kb.audit import acting_as

    out_stream, err_stream, in_stream = _thread_streams()
    tty, width = bool(request.get("tty")), int(request.get("width") or 80)
    out, err = _Pipe(write, STDOUT, tty=tty), _Pipe(write, STDERR, tty=False)
    consoles = (
        Console(file=out, force_terminal=tty, width=width, highlight=False),  # type: ignore[arg-type]
        Console(file=err, force_terminal=False, width=width),  # type: ignore[arg-type]
    )
    stdin = io.StringIO(request.get("stdin") or "")
    token = _SESSION.set(session)
    try:
        with (
            out_stream.redirect(out),  # type: ignore[arg-type]
            err_stream.redirect(err),  # type: ignore[arg-type]
            in_stream.redirect(stdin),
            _common.use_consoles(*consoles),
            acting_as(session.actor),
        ):
            return _invoke(app, request)
    finally:
        _SESSION.reset(token)


def _invoke(app: Any, request: dict[str, Any]) -> int:
    from typer import Exit
    from typer._click.exceptions import ClickException

    try:
        command, ctx = _command(app, list(request["path"]))
        with ctx:
            ctx.invoke(command.callback, **request["params"])
    except Exit as exc:
        return int(exc.exit_code)
    except ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:  # a bug: the client sees it, the server keeps serving
        traceback.print_exception(exc, file=sys.stderr)
        return 1
    return 0
