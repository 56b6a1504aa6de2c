"""Sign-in, sessions, API tokens, CSRF and sign-in throttling.

- A session lives in the knowledge base (:func:`territoria.accounts.open_session`); its cookie
  holds only the session's random id (256 bits), HttpOnly and SameSite=Lax, Secure when
  ``TERRITORIA_SECURE_COOKIES`` is on. Signing out, a password or role change, a removal or a
  revocation ends the session at once.
- Scripts authenticate with ``Authorization: Bearer TOKEN`` (``territoria users token NAME``);
  such requests carry no ambient credential and need no CSRF token.
- Every state-changing request authenticated by the session cookie must present the session's
  CSRF token (an HMAC of the session id), in the ``csrf_token`` form field or the
  ``X-CSRF-Token`` header.
- The sign-in form has its own CSRF token in a short-lived signed cookie.
- Failed sign-ins are counted in memory per address and user name, and per address: they
  write nothing to the knowledge base and cannot lock a user out from another address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Final

from itsdangerous import BadSignature, URLSafeTimedSerializer

from territoria.errors import AuthenticationFailed, TooManyAttempts

__all__ = [
    "CSRF_HEADER",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "LoginThrottle",
    "SessionCodec",
    "client_address",
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
    """Sign sign-in form tokens and derive each session's CSRF token.

    Sessions themselves live in the knowledge base (:func:`territoria.accounts.open_session`):
    the session cookie holds only the session's random id.

    Parameters
    ----------
    secret
        The application's signing key.
    max_age
        Seconds a session stays valid (the session cookie's lifetime).
    """

    def __init__(self, secret: str, *, max_age: int) -> None:
        self.max_age = max_age
        self._csrf_key = hmac.new(
            secret.encode("utf-8"), b"territoria.csrf", hashlib.sha256
        ).digest()
        self._login = URLSafeTimedSerializer(secret, salt="territoria.login")

    def csrf_token(self, session_id: str) -> str:
        """Return the CSRF token of a session (an HMAC of its id: nothing to store)."""
        mac = hmac.new(self._csrf_key, session_id.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")

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


def client_address(
    peer: str | None,
    forwarded_for: str | None,
    trusted: Sequence[IPv4Network | IPv6Network],
) -> str:
    """Return the address a request comes from.

    ``X-Forwarded-For`` is believed only when the direct peer is a trusted proxy
    (``TERRITORIA_TRUSTED_PROXIES``): then the client is the rightmost address of the header
    that is not itself a trusted proxy. Anyone else could write any address in it.
    """
    address = peer or "unknown"
    if not trusted or not forwarded_for or not _is_trusted(address, trusted):
        return address
    for hop in reversed(forwarded_for.split(",")):
        try:
            ip = ip_address(hop.strip())
        except ValueError:  # garbled or forged: the last proxy we trust is all we know
            break
        address = str(ip)
        if not any(ip in network for network in trusted):
            break
    return address


def _is_trusted(address: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def _too_many(wait: float) -> TooManyAttempts:
    seconds = max(1, math.ceil(wait))
    exc = TooManyAttempts(f"too many failed sign-ins: wait {seconds} s and try again")
    exc.retry_after = seconds  # type: ignore[attr-defined]
    return exc


class LoginThrottle:
    """Slow password guessing down without letting anyone lock a real user out.

    Two counts, kept in memory only (a failed sign-in writes nothing to the knowledge base):

    - per address and user name: the first ``attempts`` failures are free, then each further
      attempt must wait twice as long as the one before (1 s, 2 s, 4 s ... up to ``window``);
      the count is forgotten ``window`` seconds after the last failure, or at a sign-in;
    - per address, whatever the user names (a password spray): at most ``address_attempts``
      failures within ``window`` seconds.

    A user name alone is never blocked: failures from one address do not stop the user from
    signing in from another.

    Parameters
    ----------
    attempts
        Failures allowed per address and user name before the backoff starts.
    window
        Seconds after which failures are forgotten; the longest wait.
    address_attempts
        Failures allowed per address within ``window`` (default: ten times ``attempts``).
    clock
        Monotonic clock in seconds (tests pass a fake one).
    """

    #: Pairs (address, user name) remembered at most; the oldest are forgotten first.
    MAX_KEYS: Final = 100_000

    def __init__(
        self,
        *,
        attempts: int,
        window: float,
        address_attempts: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.address_attempts = address_attempts or 10 * attempts
        self._clock = clock
        self._pairs: dict[tuple[str, str], tuple[int, float]] = {}
        self._addresses: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _delay(self, failures: int) -> float:
        if failures < self.attempts:
            return 0.0
        return float(min(2.0 ** (failures - self.attempts), self.window))

    def _recent(self, address: str, now: float) -> deque[float]:
        times = self._addresses.setdefault(address, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def check(self, address: str, name: str) -> None:
        """Raise when this address (for this user name) must wait before trying again.

        Raises
        ------
        TooManyAttempts
            With the number of seconds to wait in ``retry_after``.
        """
        now = self._clock()
        key = (address, name.lower())
        with self._lock:
            failures, last = self._pairs.get(key, (0, now))
            if failures and now - last < self.window:
                wait = last + self._delay(failures) - now
                if wait > 0:
                    raise _too_many(wait)
            times = self._recent(address, now)
            if len(times) >= self.address_attempts:
                raise _too_many(times[0] + self.window - now)

    def failure(self, address: str, name: str) -> None:
        """Record a failed sign-in."""
        now = self._clock()
        key = (address, name.lower())
        with self._lock:
            failures, last = self._pairs.get(key, (0, now))
            if now - last >= self.window:
                failures = 0
            self._pairs[key] = (failures + 1, now)
            self._recent(address, now).append(now)
            if len(self._pairs) > self.MAX_KEYS:
                self._forget(now)

    def _forget(self, now: float) -> None:
        """Keep memory bounded under a spray of user names and addresses."""
        self._pairs = {k: v for k, v in self._pairs.items() if now - v[1] < self.window}
        if len(self._pairs) > self.MAX_KEYS // 2:
            newest = sorted(self._pairs.items(), key=lambda item: item[1][1])
            self._pairs = dict(newest[-(self.MAX_KEYS // 2) :])
        self._addresses = {a: t for a, t in self._addresses.items() if self._recent(a, now)}

    def success(self, address: str, name: str) -> None:
        """Forget the failures of a user who signed in from this address."""
        with self._lock:
            self._pairs.pop((address, name.lower()), None)
