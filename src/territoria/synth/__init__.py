"""Synthetic data in the formats of real sources, for demos, tests and benchmarks.

Everything generated here is labelled synthetic wherever it is imported or shown.
"""

from __future__ import annotations

from territoria.synth.sirene import synth_sirene

__all__ = ["synth_sirene"]
