"""Alerts: e-mail (SMTP) and webhook delivery with a delivery log and retries, shared by the
watch (veille) and crisis management."""

from __future__ import annotations

__all__: list[str] = []
