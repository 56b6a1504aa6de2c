"""The knowledge base's service: other processes' commands run in the process that owns it.

DuckDB lets one process open a database file for writing, and no other process may open it
at all meanwhile. The process that serves the knowledge base (``territoria serve``) therefore
listens on a Unix socket beside its single connection; a CLI command started while it runs
sends its parsed command there instead of opening the file, and the serving process runs it
on its own connection (reads on a reader cursor; writes under :meth:`Database.writer`, so they
are serialised with the web application's and its caches refresh), streaming the command's
output and exit code back.

    CLI process ──(Unix socket, same user only)──▶ serving process
                                                    ├─ Database (the one connection)
                                                    │    ├─ reader cursors
                                                    │    └─ writer lock → DuckDB file
                                                    ├─ JobRunner (persisted jobs)
                                                    └─ web application

The socket lives in a private folder (``$XDG_RUNTIME_DIR/territoria`` or
``/tmp/territoria-<uid>``, mode 0700), is named after the database file's absolute path, and
accepts only connections from the same user (checked with ``SO_PEERCRED``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import pickle
import pwd
import socket
import socketserver
import stat
import struct
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from territoria.errors import DatabaseError

if TYPE_CHECKING:  # the client side (any CLI command) needs neither
    import duckdb

    from territoria.kb._database import Database

__all__ = ["CommandSession", "KBService", "any_served", "forward", "serving", "socket_path"]

log = logging.getLogger("territoria.kb")

#: Frame kinds: request, standard output, standard error, exit code.
REQUEST, STDOUT, STDERR, EXIT = b"q", b"o", b"e", b"x"
_HEADER = struct.Struct(">cI")
_MAX_FRAME = 64 * 1024 * 1024

#: Runs one forwarded request: (request, write(kind, text), session) -> exit code.
Handler = Callable[[dict[str, Any], Callable[[bytes, str], None], "CommandSession"], int]


def _runtime_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR")
    folder = Path(base) / "territoria" if base else Path(f"/tmp/territoria-{os.getuid()}")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        msg = (
            f"the folder {str(folder)!r} of the knowledge base's socket is not private to this "
            "user: remove it (it is recreated) or set XDG_RUNTIME_DIR"
        )
        raise DatabaseError(msg)
    return folder


def socket_path(db: str | os.PathLike[str]) -> Path:
    """Return the socket of the process serving the knowledge base file ``db``."""
    key = hashlib.sha256(str(Path(db).resolve()).encode()).hexdigest()[:24]
    return _runtime_dir() / f"{key}.sock"


def any_served() -> bool:
    """Whether any knowledge base of this user seems served (a socket exists)."""
    try:
        return any(p.suffix == ".sock" for p in _runtime_dir().iterdir())
    except (OSError, DatabaseError):
        return False


def _send(sock: socket.socket, kind: bytes, payload: bytes) -> None:
    sock.sendall(_HEADER.pack(kind, len(payload)) + payload)


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionError("the serving process closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket) -> tuple[bytes, bytes]:
    kind, size = _HEADER.unpack(_recv_exact(sock, _HEADER.size))
    if size > _MAX_FRAME:
        raise ConnectionError(f"frame of {size} bytes refused")
    return kind, _recv_exact(sock, size)


class CommandSession:
    """The knowledge base as one forwarded command sees it: a cursor, writes serialised.

    The first :meth:`connect` for writing takes the database's write lock, held until the
    command ends, so that a whole import is one writer among the web application's writes.
    """

    def __init__(self, database: Database, actor: str) -> None:
        self.database = database
        self.actor = actor
        self._stack = contextlib.ExitStack()
        self._writer: duckdb.DuckDBPyConnection | None = None

    def connect(self, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        """Return a cursor on the served knowledge base (a writing one unless ``read_only``)."""
        if read_only:
            return self._stack.enter_context(self.database.reader())
        if self._writer is None:
            self._writer = self._stack.enter_context(self.database.writer(actor=self.actor))
        return self._writer.cursor()

    def close(self) -> None:
        """Release the cursors and the write lock (caches refresh if something was written)."""
        self._stack.close()


class KBService:
    """Listen on the knowledge base's socket and run forwarded commands.

    Parameters
    ----------
    database
        The served knowledge base.
    handler
        Runs one request (the CLI's command runner).
    """

    def __init__(self, database: Database, handler: Handler) -> None:
        if database.path is None:
            raise DatabaseError("only a knowledge base file can be served to other processes")
        self.database = database
        self.handler = handler
        self.path = socket_path(database.path)
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the socket (replacing a stale one) and serve in a background thread."""
        with contextlib.suppress(FileNotFoundError):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(self.path))
            except ConnectionRefusedError:
                self.path.unlink()  # left by a process that was killed
            else:
                probe.close()
                msg = f"another process already serves {str(self.database.path)!r}"
                raise DatabaseError(msg)
        service = self

        class _Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                service._handle(self.request)

        old = os.umask(0o177)
        try:
            server = socketserver.ThreadingUnixStreamServer(str(self.path), _Handler)
        finally:
            os.umask(old)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="territoria-kb-service", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting commands and remove the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _handle(self, sock: socket.socket) -> None:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != os.getuid():
            log.warning("refused a command from uid %d on %s", uid, self.path)
            return
        try:
            kind, payload = _recv(sock)
            if kind != REQUEST:
                return
            # same user only (checked above): unpickling grants nothing the peer lacks
            request = pickle.loads(payload)
        except (ConnectionError, pickle.UnpicklingError, EOFError):
            return
        lock = threading.Lock()

        def write(frame: bytes, text: str) -> None:
            with lock, contextlib.suppress(OSError):
                _send(sock, frame, text.encode("utf-8", "replace"))

        session = CommandSession(self.database, f"cli:{_user_name(uid)}")
        try:
            code = self.handler(request, write, session)
        finally:
            session.close()
        with contextlib.suppress(OSError):
            _send(sock, EXIT, str(code).encode())


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def forward(
    db: str | os.PathLike[str],
    request: dict[str, Any],
    write: Callable[[bytes, bytes], None],
) -> int | None:
    """Run ``request`` in the process serving ``db``; return its exit code.

    Returns None (nothing was sent) when no process serves the knowledge base.
    """
    try:
        path = socket_path(db)
    except DatabaseError:
        return None
    if not path.exists():
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            sock.connect(str(path))
        except FileNotFoundError:
            return None
        except ConnectionRefusedError:  # a socket left by a killed process: nobody listens
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        _send(sock, REQUEST, pickle.dumps(request))
        while True:
            try:
                kind, payload = _recv(sock)
            except ConnectionError:
                write(STDERR, b"error: the serving process stopped during the command\n")
                return 3
            if kind == EXIT:
                return int(payload.decode() or 1)
            write(kind, payload)
    finally:
        sock.close()


@contextlib.contextmanager
def serving(database: Database, handler: Handler) -> Iterator[KBService]:
    """Serve ``database`` to other processes for the duration of the block."""
    service = KBService(database, handler)
    service.start()
    try:
        yield service
    finally:
        service.stop()
