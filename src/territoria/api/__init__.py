"""Web application: REST API under ``/api/v1`` and HTML pages, over the library.

Typical use::

    from territoria.api import WebSettings, create_app

    app = create_app(WebSettings(db="territoria.duckdb", secret_key="..."))

or from the command line: ``territoria serve --host 127.0.0.1 --port 8000``.
"""

from __future__ import annotations

from territoria.api._app import create_app
from territoria.api._settings import WebSettings
from territoria.kb._database import Database

__all__ = ["Database", "WebSettings", "create_app"]
