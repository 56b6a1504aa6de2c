"""Crisis alerts: the alert list of an incident and its dispatch by e-mail and webhook.

The alert list (:func:`alert_list`) holds the officials of every affected territory with an
e-mail address at their town hall or seat (the impact's ``officials``) and the recipients a
user adds. :func:`dispatch` sends one message to each through the shared core: each
recipient is an ``immediate`` subscription of subject ``crisis`` (filters: the incident),
found again when it already exists; each message is queued with the key
``incident:<id>:<digest of the message>`` (the same message is sent once, an updated one
again) and :func:`territoria.alerts.delivery.deliver_pending` sends it with retries and the
delivery log. An exercise says « EXERCICE » in the subject and the body.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from typing import Any

import duckdb
import jinja2

from territoria._formats import long_date, number
from territoria.alerts.delivery import (
    Delivery,
    DeliveryReport,
    Message,
    Writer,
    deliver_pending,
    list_deliveries,
    queue_messages,
)
from territoria.alerts.subscriptions import (
    Subscription,
    add_subscription,
    check_target,
    list_subscriptions,
)
from territoria.errors import InvalidSubscription
from territoria.kb._transaction import transaction
from territoria.settings import Settings

__all__ = [
    "CrisisDispatch",
    "Recipient",
    "alert_list",
    "crisis_deliveries",
    "crisis_message",
    "dispatch",
    "parse_recipient",
]

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class Recipient:
    """One entry of an alert list."""

    name: str
    channel: str  # 'email' or 'webhook'
    target: str
    function: str = ""
    territory: str = ""
    person_id: str | None = None
    origin: str = "official"  # 'official' (from the impact) or 'user' (added by hand)


@dataclass
class CrisisDispatch:
    """What :func:`dispatch` did: the list, the messages queued and what delivery did."""

    incident_id: int
    exercise: bool
    subject: str
    recipients: list[Recipient]
    without_address: list[str] = field(default_factory=list)  # officials with no e-mail
    queued: int = 0
    dry_run: bool = False
    delivery: DeliveryReport | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "incident_id": self.incident_id,
            "exercise": self.exercise,
            "subject": self.subject,
            "dry_run": self.dry_run,
            "recipients": [asdict(r) for r in self.recipients],
            "without_address": list(self.without_address),
            "queued": self.queued,
            "delivery": self.delivery.to_dict() if self.delivery else None,
        }


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _email_of(contact: Any) -> str | None:
    """The first e-mail address of a contact (text, or a mapping with ``email``)."""
    text = _get(contact, "email") if isinstance(contact, Mapping) else contact
    found = _EMAIL.search(str(text or ""))
    return found.group(0) if found else None


def _checked_email(contact: Any) -> str | None:
    address = _email_of(contact)
    if address is None:
        return None
    try:
        return check_target("email", address)
    except InvalidSubscription:
        return None


def parse_recipient(value: str, *, name: str | None = None) -> Recipient:
    """Read a recipient a user adds: an e-mail address or an http(s) webhook URL.

    Raises
    ------
    InvalidSubscription
        Neither a valid e-mail address nor a webhook URL.
    """
    value = value.strip()
    channel = "webhook" if value.lower().startswith(("http://", "https://")) else "email"
    target = check_target(channel, value)
    return Recipient(name or target, channel, target, origin="user")


def alert_list(
    impact: Any, *, extra: Iterable[Recipient] = ()
) -> tuple[list[Recipient], list[str]]:
    """Return the alert list of an impact (officials with an e-mail address, then ``extra``;
    one entry per target) and the officials left out for want of an address."""
    seen: set[tuple[str, str]] = set()
    out: list[Recipient] = []
    missing: list[str] = []
    # A person reachable through one of their offices (a mayor's town hall) is alerted there for
    # all of them (the mayor who also presides the EPCI: one message naming both offices).
    reachable: dict[Any, str] = {}
    for o in impact.officials:
        found = _checked_email(_get(o, "contact"))
        if found is not None and _get(o, "person_id") is not None:
            reachable.setdefault(_get(o, "person_id"), found)
    for o in impact.officials:
        address = _checked_email(_get(o, "contact")) or reachable.get(_get(o, "person_id"))
        label = f"{_get(o, 'name')} ({_get(o, 'function')}, {_get(o, 'territory')})"
        if address is None:
            missing.append(label)
            continue
        rec = Recipient(
            str(_get(o, "name")), "email", address, str(_get(o, "function") or ""),
            str(_get(o, "territory") or ""), _get(o, "person_id"),
        )  # fmt: skip
        same = next((k for k, r in enumerate(out) if r.target.lower() == address.lower()), None)
        if same is None:
            seen.add((rec.channel, rec.target.lower()))
            out.append(rec)
        elif out[same].person_id == rec.person_id:  # one person, two offices: one message
            first = out[same]
            out[same] = replace(first, function=f"{first.function}, {rec.function}",
                                territory=f"{first.territory}, {rec.territory}")  # fmt: skip
    for rec in extra:
        if (rec.channel, rec.target.lower()) not in seen:
            seen.add((rec.channel, rec.target.lower()))
            out.append(rec)
    return out, missing


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("territoria.alerts", "templates"),
        autoescape=jinja2.select_autoescape(("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number_fr"] = lambda v, d=0: number(v, "fr_FR", d)
    env.filters["date_fr"] = lambda v: long_date(v, "fr_FR")
    return env


def crisis_message(impact: Any, *, report_url: str | None = None) -> tuple[str, str, str, str]:
    """Return the alert's subject, text, HTML and webhook JSON for an impact (« EXERCICE » in
    the subject and the body of an exercise)."""
    inc = impact.incident
    exercise = bool(_get(inc, "exercise", False))
    prefix = "[EXERCICE] " if exercise else ""
    subject = f"{prefix}Alerte : {_get(inc, 'title')} (gravité {_get(inc, 'severity')}/5)"
    isolated = [str(_get(c, "name") or c) for c in (_get(impact, "isolated_communes") or ())]
    communes = [t for t in impact.territories if _get(t, "level") == "commune"]
    context = {
        "inc": inc, "i": impact, "get": _get, "exercise": exercise, "subject": subject,
        "communes": communes, "isolated": isolated, "report_url": report_url,
    }  # fmt: skip
    text = _templates().get_template("crisis.txt").render(**context)
    html = _templates().get_template("crisis.html").render(**context)
    payload = {
        "kind": "crisis.alert",
        "exercise": exercise,
        "subject": subject,
        "incident": {k: _get(inc, k) for k in ("id", "title", "type", "severity", "status")},
        "population_affected": _get(impact, "population_affected"),
        "communes": [{"code": _get(t, "code"), "name": _get(t, "name")} for t in communes],
        "isolated_communes": isolated,
        "jobs_estimated": _get(impact, "jobs_estimated"),
        "report_url": report_url,
    }
    return subject, text, html, json.dumps(payload, ensure_ascii=False, default=str)


def _subscription_for(
    con: duckdb.DuckDBPyConnection, rec: Recipient, *, owner: str, incident_id: int,
    existing: Sequence[Subscription],
) -> int:  # fmt: skip
    for sub in existing:
        if (sub.channel, sub.target.lower()) == (rec.channel, rec.target.lower()) and (
            sub.filters.get("incident_id") == incident_id
        ):
            return sub.id
    filters = {"incident_id": incident_id, "person_id": rec.person_id, "origin": rec.origin}
    name = f"incident {incident_id} → {rec.name}"[:200]
    sub = add_subscription(
        con, owner=owner, subject="crisis", channel=rec.channel, target=rec.target,
        filters=filters, name=name,
    )  # fmt: skip
    return sub.id


def dispatch(
    con: duckdb.DuckDBPyConnection,
    impact: Any,
    *,
    user: str,
    settings: Settings,
    extra: Iterable[Recipient] = (),
    dry_run: bool = False,
    report_url: str | None = None,
    writer: Writer | None = None,
) -> CrisisDispatch:
    """Build the incident's alert list and send it (``dry_run``: build it only, nothing
    written or sent); every message is logged with its attempts and status.

    Parameters
    ----------
    con
        The knowledge base (written to unless ``writer`` is given).
    impact
        The incident's impact (:func:`territoria.crisis.impact.impact`).
    user
        Who sends: the subscriptions are theirs and the audit names them.
    settings
        SMTP and webhook settings of the delivery.
    extra
        Recipients added by hand (:func:`parse_recipient`).
    writer
        Opens a cursor to write with (a serving process's ``Database.writer``).
    """
    recipients, missing = alert_list(impact, extra=extra)
    subject, text, html, payload = crisis_message(impact, report_url=report_url)
    incident_id = int(_get(impact.incident, "id"))
    result = CrisisDispatch(
        incident_id, bool(_get(impact.incident, "exercise", False)), subject, recipients,
        missing, dry_run=dry_run,
    )  # fmt: skip
    if dry_run or not recipients:
        return result
    digest = hashlib.sha256(f"{subject}\n{text}".encode()).hexdigest()[:16]
    key = f"incident:{incident_id}:{digest}"
    with _cursor(con, writer) as cur:
        # each new subscription is written (and audited) in its own transaction, as the
        # watch's are; the targets were checked before, so none of them fails
        existing = list_subscriptions(cur, owner=user, subject="crisis")
        ids = [
            _subscription_for(cur, r, owner=user, incident_id=incident_id, existing=existing)
            for r in recipients
        ]
        messages = [Message(i, "alert", key, subject, text, html, payload) for i in ids]
        with transaction(cur):
            result.queued = queue_messages(cur, messages)
    result.delivery = deliver_pending(con, settings=settings, writer=writer)
    return result


def _cursor(con: duckdb.DuckDBPyConnection, writer: Writer | None) -> Any:
    import contextlib

    return writer() if writer is not None else contextlib.nullcontext(con)


def crisis_deliveries(
    con: duckdb.DuckDBPyConnection, incident_id: int, *, limit: int = 500
) -> list[Delivery]:
    """Return the delivery log of an incident's alerts, newest first."""
    return list_deliveries(con, dedup_prefix=f"incident:{incident_id}:", limit=limit)
