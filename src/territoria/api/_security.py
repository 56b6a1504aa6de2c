"""Sign-in, sessions, API tokens, CSRF and sign-in rate limiting.

- A session is a signed, timestamped cookie (itsdangerous) holding the user name, the user's
  session epoch (a password change ends older sessions) and the session's CSRF token. The cookie
  is HttpOnly and SameSite=Lax, Secure when ``TERRITORIA_SECURE_COOKIES`` is on.
- Scripts authenticate with ``Authorization: Bearer TOKEN`` (``territoria users token NAME``);
  such requests carry no ambient credential and need no CSRF token.
- Every state-changing request authenticated by the session cookie must present the session's
  CSRF token, in the ``csrf_token`` form field or the ``X-CSRF-Token`` header.
- The sign-in form has its own CSRF token in a short-lived signed cookie.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from typing import Any, Final

from itsdangerous import BadSignature, URLSafeTimedSerializer

from territoria.errors import AuthenticationFailed, TooManyAttempts

__all__ = [
    "CSRF_HEADER",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "LoginThrottle",
    "SessionCodec",
    "same_token",
]

SESSION_COOKIE: Final = "territoria_session"
LOGIN_COOKIE: Final = "territoria_login"
LANGUAGE_COOKIE: Final = "territoria_lang"
CSRF_HEADER: Final = "X-CSRF-Token"
CSRF_FIELD: Final = "csrf_token"


def same_token(a: str | None, b: str | None) -> bool:
    """Compare two tokens in constant time (``False`` when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


class SessionCodec:
    """Sign and check session and sign-in cookies.

    Parameters
    ----------
    secret
        The application's signing key.
    max_age
        Seconds a session stays valid.
    """

    def __init__(self, secret: str, *, max_age: int) -> None:
        self.max_age = max_age
        self._session = URLSafeTimedSerializer(secret, salt="territoria.session")
        self._login = URLSafeTimedSerializer(secret, salt="territoria.login")

    def new_session(self, name: str, epoch: int) -> tuple[str, str]:
        """Return the cookie value of a new session and its CSRF token."""
        csrf = secrets.token_urlsafe(24)
        return str(self._session.dumps({"u": name, "e": epoch, "c": csrf})), csrf

    def read_session(self, cookie: str | None) -> dict[str, Any] | None:
        """Return the session held by ``cookie`` (``None`` when absent, forged or expired)."""
        if not cookie:
            return None
        try:
            data = self._session.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not {"u", "e", "c"} <= data.keys():
            return None
        return data

    def new_login_token(self) -> tuple[str, str]:
        """Return the cookie value and the form token of a sign-in form."""
        token = secrets.token_urlsafe(24)
        return str(self._login.dumps(token)), token

    def check_login_token(self, cookie: str | None, form_token: str | None) -> None:
        """Check the sign-in form's CSRF token against its cookie.

        Raises
        ------
        AuthenticationFailed
            When the form is stale or forged.
        """
        expected = None
        if cookie:
            try:
                expected = self._login.loads(cookie, max_age=3600)
            except BadSignature:
                expected = None
        if not same_token(expected, form_token):
            msg = "the sign-in form has expired: reload the page and sign in again"
            raise AuthenticationFailed(msg)


class LoginThrottle:
    """Refuse sign-in attempts after too many failures per address or per user name.

    Parameters
    ----------
    attempts
        Failures allowed within ``window`` seconds.
    window
        Length of the sliding window, in seconds.
    """

    def __init__(self, *, attempts: int, window: float) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, address: str, name: str) -> None:
        """Raise when this address or this user name must wait before trying again.

        Raises
        ------
        TooManyAttempts
            With the number of seconds to wait in ``retry_after``.
        """
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{address}", f"user:{name.lower()}"):
                times = self._recent(key, now)
                if len(times) >= self.attempts:
                    wait = int(times[0] + self.window - now) + 1
                    msg = f"too many failed sign-ins: wait {wait} s and try again"
                    exc = TooManyAttempts(msg)
                    exc.retry_after = wait  # type: ignore[attr-defined]
                    raise exc

    def failure(self, address: str, name: str) -> None:
        """Record a failed sign-in."""
        now = time.monotonic()
        with self._lock:
            for key in (f"ip:{address}", f"user:{name.lower()}"):
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # keep memory bounded under a spray attack
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def success(self, address: str, name: str) -> None:
        """Forget the failures of a user who signed in."""
        with self._lock:
            self._failures.pop(f"user:{name.lower()}", None)
