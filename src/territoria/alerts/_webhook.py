"""Posting one webhook: a JSON body signed with the subscription's secret.

The signature is ``X-Territoria-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body
bytes under the secret; a receiver recomputes it and compares in constant time. The target
obeys the watch's SSRF rule (no loopback, private, link-local … address unless
``watch_allow_private``), checked by the watch's own HTTP client
(:mod:`territoria.watch._http`) for every post, and the connection is pinned to the checked
address. Redirects are not followed (a webhook that moves is a configuration to fix).
"""

from __future__ import annotations

import hashlib
import hmac

import httpx

import territoria
from territoria.errors import DeliveryFailed
from territoria.settings import Settings

__all__ = ["SIGNATURE_HEADER", "post_json", "signature"]

SIGNATURE_HEADER = "X-Territoria-Signature"


def signature(secret: str, body: bytes) -> str:
    """Return the ``sha256=<hex>`` signature of ``body`` under ``secret``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_json(settings: Settings, *, url: str, body: bytes, secret: str | None) -> int:
    """POST ``body`` (JSON) to ``url``; return the HTTP status (2xx).

    Raises
    ------
    DeliveryFailed
        ``permanent`` for a refused address, a redirect and a 4xx other than 429; not for a
        429, a 5xx, a timeout or a connection error (tried again later).
    """
    from territoria.watch._http import Fetcher, HttpPolicy, _Refused

    policy = HttpPolicy.from_settings(settings)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"Territoria/{territoria.__version__} (alerts)",
    }
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    with Fetcher(policy) as checker:
        try:
            # the watch's check: scheme, every resolved address, and the address to pin to
            pinned, host_header, host, _origin = checker._target(url)
        except _Refused as exc:
            raise DeliveryFailed(str(exc), permanent=exc.status == "refused") from None
    timeout = httpx.Timeout(settings.alerts_webhook_timeout)
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            request = client.build_request(
                "POST",
                pinned,
                content=body,
                headers={**headers, "Host": host_header},
                extensions={"sni_hostname": host},
            )
            response = client.send(request)
    except httpx.TimeoutException as exc:
        msg = f"le webhook {url} n'a pas répondu à temps : {exc or 'aucune réponse'}"
        raise DeliveryFailed(msg, permanent=False) from None
    except httpx.HTTPError as exc:
        msg = f"le webhook {url} est injoignable : {type(exc).__name__} : {exc}"
        raise DeliveryFailed(msg, permanent=False) from None
    code = response.status_code
    if 200 <= code < 300:
        return code
    reply = f"le webhook {url} a répondu HTTP {code} {response.reason_phrase}".strip()
    detail = response.text[:200].strip()
    if detail:
        reply += f" : {detail}"
    raise DeliveryFailed(reply, permanent=code != 429 and code < 500, status=code)
