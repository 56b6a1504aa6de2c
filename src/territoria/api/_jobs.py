"""Compatibility alias: persisted jobs now live in :mod:`territoria.kb.jobs`."""

from __future__ import annotations

from territoria.kb.jobs import Job, JobRunner, error_code, to_jsonable

__all__ = ["Job", "JobRunner", "error_code", "to_jsonable"]
