"""The watch's HTTP client: polite, bounded and safe against server-side request forgery.

Every request of the watch goes through :class:`Fetcher`:

- a real User-Agent (``Territoria/<version> (+address)``), a timeout per operation and an
  overall deadline, a body size limit enforced while streaming (``too_large``);
- redirects followed by hand, at most ``max_redirects``, each hop checked again (scheme,
  address, robots.txt);
- robots.txt honoured (protego), cached per host; an unreachable robots.txt (5xx) means
  "disallow everything" (RFC 9309 § 2.3.1.4), a missing one (4xx) "allow everything";
- a minimum delay between two requests to one host, shared by every fetcher of the process
  (longer when robots.txt asks it with ``Crawl-delay``, up to 30 s);
- conditional GET (``If-None-Match`` / ``If-Modified-Since``; 304 gives ``not_modified``);
- 429 and 5xx retried with exponential backoff (``Retry-After`` honoured up to a bound).

SSRF: the host is resolved once per hop, and *every* address it resolves to must be public
(not loopback, RFC 1918 or ULA private, link-local, multicast, reserved, unspecified, shared
CGNAT, nor such an address in IPv4-mapped, 6to4 or Teredo form), unless
``settings.watch_allow_private``. The connection is then **pinned** to the checked address:
the request goes to that IP literal with the original ``Host`` header and, for https, the
original name as TLS SNI and certificate name (httpcore's ``sni_hostname``), so a DNS answer
that changes between the check and the connection (DNS rebinding) is never used. Environment
proxies are ignored (a proxy would make its own resolution).
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from protego import Protego

import territoria
from territoria._formats import number
from territoria.settings import Settings

__all__ = [
    "FETCH_STATUSES",
    "Attempt",
    "Fetcher",
    "HttpPolicy",
    "HttpResult",
    "RobotsCache",
    "charset_of",
    "decode_text",
    "refusal",
]

#: Statuses of a fetch attempt, as ``watch_fetch.status`` records them.
FETCH_STATUSES = (
    "ok",
    "not_modified",
    "error",
    "refused",
    "robots",
    "timeout",
    "too_large",
    "malformed",
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRIED = frozenset({429, 500, 502, 503, 504})
#: Longest wait a ``Retry-After`` header may ask of one fetch (seconds).
_MAX_RETRY_AFTER = 30.0
#: Longest delay between two requests a robots.txt ``Crawl-delay`` may ask (seconds).
_MAX_CRAWL_DELAY = 30.0
_PROJECT = "https://github.com/territoria/territoria"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class HttpPolicy:
    """How the watch requests: the ``watch_*`` settings."""

    allow_private: bool = False
    user_agent: str = ""
    timeout: float = 20.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    host_delay: float = 1.0
    retries: int = 2
    backoff: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpPolicy:
        """The policy the settings describe."""
        return cls(
            allow_private=settings.watch_allow_private,
            user_agent=settings.watch_user_agent,
            timeout=settings.watch_timeout,
            max_bytes=settings.watch_max_bytes,
            max_redirects=settings.watch_max_redirects,
            host_delay=settings.watch_host_delay,
            retries=settings.watch_retries,
            backoff=settings.watch_backoff,
        )

    @property
    def agent(self) -> str:
        """The User-Agent sent."""
        return self.user_agent or f"Territoria/{territoria.__version__} (+{_PROJECT})"


@dataclass
class HttpResult:
    """What one fetch (its retries and redirects included) gave."""

    status: str  # one of FETCH_STATUSES
    url: str  # the address finally fetched (after redirects)
    http_status: int | None = None
    body: bytes = b""
    content_type: str | None = None
    charset: str | None = None  # from the Content-Type header
    etag: str | None = None
    last_modified: str | None = None
    attempts: int = 1
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: Every attempt, the last one included (retries of 429/5xx before it).
    tries: list[Attempt] = field(default_factory=list)


@dataclass(frozen=True)
class Attempt:
    """One attempt of a fetch, as the fetch log records it (times in naive UTC)."""

    started_at: datetime
    finished_at: datetime
    status: str
    http_status: int | None
    error: str | None
    bytes: int | None


def _utc_now() -> datetime:
    return datetime.now(tz=UTC).replace(tzinfo=None)


class _Refused(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def refusal(address: IPAddress) -> str | None:
    """Why ``address`` may not be fetched without ``watch_allow_private``, in French (the
    fetch log shows it; None: a public address)."""
    candidates: list[IPAddress] = []
    if isinstance(address, ipaddress.IPv6Address):  # the IPv4 address inside, named first
        for embedded in (address.ipv4_mapped, address.sixtofour):
            if embedded is not None:
                candidates.append(embedded)
        if address.teredo is not None:
            candidates.extend(address.teredo)
    candidates.append(address)
    for ip in candidates:
        for test, what in (
            ("is_unspecified", "non spécifiée"),
            ("is_loopback", "de bouclage"),
            ("is_link_local", "lien-local"),
            ("is_multicast", "de multidiffusion"),
            ("is_private", "privée"),
            ("is_reserved", "réservée"),
        ):
            if getattr(ip, test):
                return f"adresse {what} {ip}"
        if not ip.is_global:  # shared address space (100.64.0.0/10) and the like
            return f"adresse non publique {ip}"
    return None


def _resolve(host: str, port: int, allow_private: bool) -> IPAddress:
    """Resolve ``host`` and return the address to connect to, every answer checked."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        answers: list[IPAddress] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise _Refused("error", f"nom d'hôte {host!r} introuvable ({exc})") from None
        answers = []
        for info in infos:
            # an IPv6 answer may carry a zone ("fe80::1%eth0"): link-local, refused below
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if ip not in answers:
                answers.append(ip)
        if not answers:
            raise _Refused("error", f"{host!r} ne correspond à aucune adresse")
    if not allow_private:
        for ip in answers:
            why = refusal(ip)
            if why is not None:
                msg = (
                    f"{host!r} désigne une {why} : refusée (TERRITORIA_WATCH_ALLOW_PRIVATE=true "
                    "permet à la veille de lire les adresses privées)"
                )
                raise _Refused("refused", msg)
    # IPv4 first: a dual-stack host's IPv6 route is the one more often broken
    return sorted(answers, key=lambda ip: ip.version)[0]


class HostThrottle:
    """The minimum delay between two requests to one host, across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, host: str, delay: float, sleep: Callable[[float], None]) -> None:
        """Block until a request to ``host`` is allowed, and book the following slot."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next.get(host, 0.0))
            self._next[host] = start + delay
        if start > now:
            sleep(start - now)


class RobotsCache:
    """robots.txt files by scheme, host and port, kept ``ttl`` seconds."""

    def __init__(self, ttl: float = 3600.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._rules: dict[str, tuple[float, Protego | None, bool]] = {}

    def get(self, key: str) -> tuple[Protego | None, bool] | None:
        """``(rules, disallow_all)`` for ``key`` when still fresh."""
        with self._lock:
            found = self._rules.get(key)
        if found is None or time.monotonic() - found[0] > self.ttl:
            return None
        return found[1], found[2]

    def put(self, key: str, rules: Protego | None, disallow_all: bool) -> None:
        """Keep the rules of ``key``."""
        with self._lock:
            self._rules[key] = (time.monotonic(), rules, disallow_all)


#: Shared by every fetcher of the process: politeness holds across jobs.
_THROTTLE = HostThrottle()
_ROBOTS = RobotsCache()


class Fetcher:
    """Fetch addresses under an :class:`HttpPolicy` (see the module's docstring).

    Parameters
    ----------
    policy
        Limits and safety settings.
    robots, throttle
        The robots.txt cache and the per-host delay (default: the process's own).
    sleep
        How to wait (tests may record the waits).
    verify
        TLS verification: True (the system's authorities), or an ``ssl.SSLContext`` trusting
        another authority (an intranet's, a test's).
    """

    def __init__(
        self,
        policy: HttpPolicy,
        *,
        robots: RobotsCache | None = None,
        throttle: HostThrottle | None = None,
        sleep: Callable[[float], None] = time.sleep,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.policy = policy
        self._robots = robots if robots is not None else _ROBOTS
        self._throttle = throttle if throttle is not None else _THROTTLE
        self._sleep = sleep
        timeout = httpx.Timeout(policy.timeout)
        # no environment proxies: a proxy would resolve the host itself (no pinning)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, http2=False, verify=verify
        )

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ public

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        robots: bool = True,
    ) -> HttpResult:
        """Fetch ``url`` (redirects, retries, conditional GET); never raises for the network.

        Returns
        -------
        HttpResult
            ``status`` says what happened: ok, not_modified, error, refused, robots, timeout,
            too_large.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        result = HttpResult(status="error", url=url)
        tries: list[Attempt] = []
        for attempt in range(self.policy.retries + 1):
            started = _utc_now()
            result = self._follow(url, headers, robots=robots)
            tries.append(
                Attempt(
                    started_at=started,
                    finished_at=_utc_now(),
                    status=result.status,
                    http_status=result.http_status,
                    error=result.error,
                    bytes=len(result.body) if result.status == "ok" else None,
                )
            )
            result.attempts, result.tries = attempt + 1, tries
            if result.status != "error" or result.http_status not in _RETRIED:
                break
            if attempt < self.policy.retries:
                self._sleep(self._retry_wait(result, attempt))
        return result

    # ------------------------------------------------------------------ internals

    def _retry_wait(self, result: HttpResult, attempt: int) -> float:
        wait = self.policy.backoff * 2.0**attempt
        after = result.headers.get("retry-after", "")
        if after.strip().isdigit():
            wait = max(wait, min(float(after), _MAX_RETRY_AFTER))
        return wait

    def _follow(self, url: str, headers: dict[str, str], *, robots: bool) -> HttpResult:
        current = url
        for _hop in range(self.policy.max_redirects + 1):
            try:
                result = self._one(current, headers, robots=robots)
            except _Refused as exc:
                return HttpResult(status=exc.status, url=current, error=str(exc))
            if result.http_status in _REDIRECTS and result.headers.get("location"):
                current = urljoin(current, result.headers["location"])
                continue
            return result
        msg = (
            f"plus de {self.policy.max_redirects} redirections depuis {url!r} "
            f"(dernière : {current!r})"
        )
        return HttpResult(status="error", url=current, error=msg)

    def _target(self, url: str) -> tuple[str, str, str, str]:
        """Check ``url`` and return (pinned URL, Host header, host name, origin)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise _Refused("refused", f"{url!r} : seules les adresses http et https sont lues")
        host = parts.hostname
        if not host:
            raise _Refused("error", f"{url!r} n'a pas de nom d'hôte")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError:
            raise _Refused("error", f"{url!r} : port invalide") from None
        ip = _resolve(host, port, self.policy.allow_private)
        literal = f"[{ip}]" if ip.version == 6 else str(ip)
        default = port == (443 if scheme == "https" else 80)
        host_header = (f"[{host}]" if ":" in host else host) + ("" if default else f":{port}")
        pinned = urlunsplit((scheme, f"{literal}:{port}", parts.path or "/", parts.query, ""))
        return pinned, host_header, host, f"{scheme}://{host_header}"

    def _one(self, url: str, headers: dict[str, str], *, robots: bool) -> HttpResult:
        pinned, host_header, host, origin = self._target(url)
        delay = self.policy.host_delay
        if robots:
            rules = self._rules(origin)
            if not _allowed(rules, url, self.policy.agent):
                msg = f"le robots.txt de {origin} interdit {url!r} à {self.policy.agent!r}"
                raise _Refused("robots", msg)
            crawl_delay = rules[0].crawl_delay(self.policy.agent) if rules[0] else None
            if crawl_delay:  # the site's own pace, within a bound
                delay = max(delay, min(float(crawl_delay), _MAX_CRAWL_DELAY))
        self._throttle.wait(host_header, delay, self._sleep)
        request = self._client.build_request(
            "GET",
            pinned,
            headers={**headers, "Host": host_header, "User-Agent": self.policy.agent},
            extensions={"sni_hostname": host},
        )
        try:
            return self._read(request, url)
        except httpx.TimeoutException as exc:
            error = f"délai dépassé ({exc or 'pas de réponse'})"
            return HttpResult(status="timeout", url=url, error=error)
        except httpx.HTTPError as exc:
            error = f"erreur réseau ({type(exc).__name__} : {exc})"
            return HttpResult(status="error", url=url, error=error)

    def _read(self, request: httpx.Request, url: str) -> HttpResult:
        deadline = time.monotonic() + self.policy.timeout * 2
        limit = self.policy.max_bytes
        response = self._client.send(request, stream=True)
        try:
            head = {k.lower(): v for k, v in response.headers.items()}
            result = HttpResult(
                status="ok",
                url=url,
                http_status=response.status_code,
                content_type=head.get("content-type", "").split(";")[0].strip() or None,
                charset=response.charset_encoding,
                etag=head.get("etag"),
                last_modified=head.get("last-modified"),
                headers=head,
            )
            code = response.status_code
            if code == 304:
                result.status = "not_modified"
                return result
            if code in _REDIRECTS:
                return result
            if code >= 400:
                result.status = "error"
                result.error = f"le serveur a répondu HTTP {code}"
                return result
            declared = head.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                return _too_large(result, int(declared), limit)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > limit:
                    return _too_large(result, size, limit)
                if time.monotonic() > deadline:
                    result.status = "timeout"
                    result.error = f"la réponse a pris plus de {self.policy.timeout * 2:g} s"
                    return result
                chunks.append(chunk)
            result.body = b"".join(chunks)
            return result
        finally:
            response.close()

    def _rules(self, origin: str) -> tuple[Protego | None, bool]:
        found = self._robots.get(origin)
        return found if found is not None else self._load_robots(origin)

    def _load_robots(self, origin: str) -> tuple[Protego | None, bool]:
        result = self._follow(origin + "/robots.txt", {}, robots=False)
        rules: Protego | None = None
        disallow_all = False
        if result.status == "ok" and result.http_status == 200:
            text = decode_text(result.body, result.charset)
            with contextlib.suppress(Exception):  # a garbled robots.txt: no rule read
                rules = Protego.parse(text)
        elif result.http_status is not None and result.http_status >= 500:
            disallow_all = True
        # a 4xx, a refusal or a network error: no rule (the page's own fetch will say why)
        self._robots.put(origin, rules, disallow_all)
        return rules, disallow_all


def _allowed(rules: tuple[Protego | None, bool], url: str, agent: str) -> bool:
    parsed, disallow_all = rules
    if disallow_all:
        return False
    return parsed is None or bool(parsed.can_fetch(url, agent))


def _too_large(result: HttpResult, size: int, limit: int) -> HttpResult:
    result.status = "too_large"
    result.error = (
        f"la réponse dépasse {number(limit, 'fr')} octets (au moins {number(size, 'fr')} "
        "annoncés ou lus)"
    )
    result.body = b""
    return result


_DECLARED = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)|<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)""",
    re.IGNORECASE,
)


def declared_charset(body: bytes) -> str | None:
    """The charset an HTML ``<meta>`` or an XML declaration states in the first 4 kB."""
    match = _DECLARED.search(body[:4096])
    if match is None:
        return None
    return (match.group(1) or match.group(2)).decode("ascii")


def charset_of(body: bytes, http_charset: str | None = None) -> str:
    """The charset to read ``body`` with: the HTTP charset, then the document's declaration,
    then UTF-8, then windows-1252, then detection (charset-normalizer).

    windows-1252 before detection because it is what browsers assume of an undeclared legacy
    page in a French locale (the WHATWG encoding standard's default for ``fr``), and
    detection on short French text often picks a Central European code page (``è`` read as
    ``č``). Bytes windows-1252 leaves undefined go to detection.
    """
    for charset in (http_charset, declared_charset(body)):
        if charset:
            with contextlib.suppress(LookupError, UnicodeDecodeError):
                body.decode(charset)
                return charset
    for charset in ("utf-8", "cp1252"):
        with contextlib.suppress(UnicodeDecodeError):
            body.decode(charset)
            return charset
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    return best.encoding if best is not None else "utf-8"


def decode_text(body: bytes, http_charset: str | None = None) -> str:
    """Decode ``body`` with :func:`charset_of` (undecodable bytes replaced, never raises)."""
    return body.decode(charset_of(body, http_charset), errors="replace")


@contextlib.contextmanager
def fetcher(settings: Settings) -> Iterator[Fetcher]:
    """A :class:`Fetcher` under the settings' policy, closed afterwards."""
    with Fetcher(HttpPolicy.from_settings(settings)) as client:
        yield client
