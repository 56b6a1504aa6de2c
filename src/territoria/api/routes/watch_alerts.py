"""REST routes of watch alerts: a user's subscriptions and their delivery log
(see :mod:`territoria.alerts`). Users see and remove their own; administrators everyone's."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import duckdb
from fastapi import APIRouter, Depends, Query, status
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from territoria.accounts import User
from territoria.alerts.delivery import Delivery, deliver_pending, due_messages, list_deliveries
from territoria.alerts.digest import build_due_digests, digests_due
from territoria.alerts.subscriptions import (
    Subscription,
    list_subscriptions,
    remove_subscription,
)
from territoria.alerts.watch import WatchFilters, add_watch_subscription
from territoria.api._deps import AppState, Cursor, State, require
from territoria.errors import InvalidSubscription
from territoria.kb.jobs import Progress, Work
from territoria.kb.schedule import Due
from territoria.settings import Settings

router = APIRouter(prefix="/api/v1/watch", tags=["watch"], dependencies=[Depends(require("read"))])

Reader = Annotated[User, Depends(require("read"))]
SubscriptionId = Annotated[int, PathParam(ge=1, le=2**53, description="Id of the subscription.")]


class TerritoryFilter(BaseModel):
    """A territory: items linked to it or to a territory inside it."""

    level: str = Field(min_length=1, max_length=40, description="commune, epci, departement …")
    code: str = Field(min_length=1, max_length=20, pattern=r"^[0-9A-Za-z-]+$")


class AlertIn(BaseModel):
    """A new watch subscription of the signed-in user."""

    channel: Literal["email", "webhook"]
    target: str = Field(min_length=3, max_length=2000, description="Address or http(s) URL.")
    frequency: Literal["immediate", "daily", "weekly"] = "immediate"
    topic_ids: list[int] = Field(default_factory=list, max_length=100)
    territory: TerritoryFilter | None = None
    person_id: str | None = Field(default=None, max_length=40, pattern=r"^p-[0-9a-f]+$")
    scope: Literal["endogenous", "exogenous"] | None = None
    name: str | None = Field(default=None, max_length=200)
    secret: str | None = Field(
        default=None, min_length=16, max_length=200, description="Webhook: default generated."
    )
    language: Literal["fr", "en"] = "fr"


class AlertCreated(Subscription):
    """The new subscription, with its webhook secret (shown this once)."""

    secret: str | None = None


def _owner(user: User, everyone: bool) -> str | None:
    """Whose rows a user reads: their own, or everyone's for an administrator who asks."""
    return None if everyone and user.can("admin") else user.name


@router.get("/alerts", summary="Your watch alert subscriptions", response_model=list[Subscription])
def alerts(
    cur: Cursor,
    user: Reader,
    everyone: Annotated[
        bool, Query(alias="all", description="Administrators: everyone's subscriptions.")
    ] = False,
) -> list[Subscription]:
    """Return your subscriptions (everyone's for an administrator with ``all=true``)."""
    subs = list_subscriptions(cur, owner=_owner(user, everyone), subject="watch")
    return subs


@router.post(
    "/alerts",
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe to watch alerts",
    response_model=AlertCreated,
)
def subscribe(body: AlertIn, state: State, user: Reader) -> AlertCreated:
    """Subscribe to new watch items matching the filters: at once, or as a daily or weekly
    digest, by e-mail or as a signed JSON webhook."""
    territory = (body.territory.level, body.territory.code) if body.territory else None
    filters = WatchFilters(tuple(body.topic_ids), territory, body.person_id, body.scope)
    with state.db.writer(actor=f"web:{user.name}") as cur:
        sub = add_watch_subscription(
            cur,
            owner=user.name,
            channel=body.channel,
            target=body.target,
            frequency=body.frequency,
            filters=filters,
            secret=body.secret,
            language=body.language,
            name=body.name,
        )
    return AlertCreated.model_validate({**sub.model_dump(), "secret": sub.secret})


@router.delete(
    "/alerts/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove a watch alert subscription",
)
def unsubscribe(subscription_id: SubscriptionId, state: State, user: Reader) -> Response:
    """Remove one of your subscriptions (an administrator: anyone's); its unsent messages are
    dropped. 404 for a subscription that is not yours."""
    with state.db.writer(actor=f"web:{user.name}") as cur:
        remove_subscription(cur, subscription_id, user=user.name, admin=user.can("admin"))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/deliveries", summary="The delivery log of your alerts", response_model=list[Delivery])
def deliveries(
    cur: Cursor,
    user: Reader,
    status_filter: Annotated[
        Literal["pending", "retrying", "sent", "failed"] | None,
        Query(alias="status", description="Only the messages with this status."),
    ] = None,
    subscription_id: Annotated[int | None, Query(ge=1, le=2**53)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    everyone: Annotated[
        bool, Query(alias="all", description="Administrators: everyone's messages.")
    ] = False,
) -> list[Delivery]:
    """Return the messages sent or to send for your subscriptions, newest first, with their
    status, attempts, next attempt and last error."""
    return list_deliveries(
        cur,
        owner=_owner(user, everyone),
        status=status_filter,
        subscription_id=subscription_id,
        limit=limit,
    )


#: Who the digest job's writes are attributed to in the audit log.
DIGEST_ACTOR = "system:alerts"


def digest_work(state: AppState) -> Work:
    """Return the work of a "watch-digest" job: build the due digests (params ``frequency``:
    daily, weekly or none for both), then send every message due (immediate alerts
    included). The write lock is held for each short update only, never while sending."""

    def work(params: dict[str, Any], progress: Progress) -> Any:
        frequency = params.get("frequency")
        if frequency not in (None, "daily", "weekly"):
            msg = f"unknown digest frequency {frequency!r}: expected daily or weekly"
            raise InvalidSubscription(msg)
        settings = state.settings
        progress("résumés")
        with state.db.writer(actor=DIGEST_ACTOR, invalidate=False) as cur:
            built = build_due_digests(cur, hour=settings.alerts_digest_hour, frequency=frequency)
        progress("envois")
        with state.db.reader() as cur:
            sent = deliver_pending(
                cur,
                settings=settings,
                writer=lambda: state.db.writer(actor=DIGEST_ACTOR, invalidate=False),
            )
        return {"digests": built.to_dict(), "delivery": sent.to_dict()}

    return work


def digest_due(settings: Settings) -> Due:
    """Return the scheduler's test of the "watch-digest" job: due when a digest is, or a
    message that can be sent (e-mails only once an SMTP server is set)."""
    channels = ("email", "webhook") if settings.smtp_host else ("webhook",)

    def due(cur: duckdb.DuckDBPyConnection, now: dt.datetime) -> list[dict[str, Any]]:
        hour = settings.alerts_digest_hour
        if digests_due(cur, hour=hour, now=now) or due_messages(cur, now=now, channels=channels):
            return [{}]
        return []

    return due
