"""Alerts: e-mail (SMTP) and webhook delivery with a delivery log and retries, shared by the
watch (veille) and crisis management.

The core knows no subject: :mod:`~territoria.alerts.subscriptions` (who is told what, on which
channel, how often) and :mod:`~territoria.alerts.delivery` (the log, deduplicated queueing,
:func:`~territoria.alerts.delivery.deliver_pending` with retries), over ``_smtp`` and
``_webhook``. The watch's own matching and immediate alerts live in
:mod:`~territoria.alerts.watch`, its digests in :mod:`~territoria.alerts.digest`; a crisis
module adds its subject the same way (validate its filters, queue
:class:`~territoria.alerts.delivery.Message` rows, let ``deliver_pending`` send them).

The submodules are imported where used (the command line loads none of them for ``--help``).
"""

from __future__ import annotations

__all__ = ["delivery", "digest", "subscriptions", "watch"]
