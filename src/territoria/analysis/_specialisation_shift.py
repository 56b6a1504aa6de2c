"""Internals of :mod:`territoria.analysis.specialisation`: the shift-share decomposition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import duckdb
import numpy as np

from territoria.analysis._specialisation_sql import (
    PAST_EMPLOYMENT_CAVEAT,
    code_sql,
    sector_label,
    stock_sql,
)


def cells(
    con: duckdb.DuckDBPyConnection,
    *,
    level: str,
    code: str,
    sector_level: str,
    measure: str,
    date: dt.date | None,
    naf: str = "rev2",
) -> tuple[dict[str, float], dict[str, float]]:
    """Territory values and national values by sector at ``date``."""
    value = "s.employment" if measure == "employment" else "1.0"
    join_t, code_t = code_sql(level, "mt")
    rows = con.execute(
        f"""
        SELECT s.sector, sum({value}) FILTER ({code_t} = $code) AS local, sum({value}) AS nation
        FROM ({stock_sql(con, sector_level=sector_level, date=date, naf=naf)}) s
        {join_t.replace("JOIN", "LEFT JOIN", 1)}
        GROUP BY s.sector
        """,
        {"code": code},
    ).fetchall()
    local = {str(r[0]): float(r[1] or 0.0) for r in rows}
    nation = {str(r[0]): float(r[2] or 0.0) for r in rows}
    return local, nation


def decompose(
    sectors: list[str],
    e0: np.ndarray,
    e1: np.ndarray,
    n0: np.ndarray,
    n1: np.ndarray,
    *,
    territory: dict[str, Any],
    start: dt.date,
    end: dt.date | None,
    measure: str,
    naf: str = "rev2",
    naf25: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Shift-share components by sector and in total from start (``e0``, ``n0``) and end
    (``e1``, ``n1``) values of the territory and of the nation."""
    total0 = float(n0.sum())
    growth = float(n1.sum() / total0 - 1.0) if total0 > 0 else 0.0
    sector_growth = np.divide(n1 - n0, n0, out=np.zeros_like(n0), where=n0 > 0)
    change = e1 - e0
    national = e0 * growth
    mix = e0 * (sector_growth - growth)
    # The regional shift is what the two other components leave of the change, so that the
    # three add up to it exactly, also where a sector is new (e0 = 0).
    regional = change - national - mix
    rows: list[dict[str, Any]] = [
        {
            "sector": s,
            "label": sector_label(s, naf, naf25),
            "start": float(e0[i]),
            "end": float(e1[i]),
            "change": float(change[i]),
            "national": float(national[i]),
            "industry_mix": float(mix[i]),
            "regional": float(regional[i]),
            "sector_growth": float(sector_growth[i]) if n0[i] > 0 else None,
        }
        for i, s in enumerate(sectors)
        if e0[i] or e1[i]
    ]
    rows.sort(key=lambda r: -abs(r["regional"]))
    totals = {
        "start": float(e0.sum()),
        "end": float(e1.sum()),
        "change": float(change.sum()),
        "national": float(national.sum()),
        "industry_mix": float(mix.sum()),
        "regional": float(regional.sum()),
    }
    return {
        "territory": {k: territory[k] for k in ("level", "code", "name")},
        "measure": measure,
        "start": start.isoformat(),
        "end": end.isoformat() if end else "snapshot",
        "national_growth": growth,
        "caveat": PAST_EMPLOYMENT_CAVEAT if measure == "employment" else None,
        "totals": totals,
        "sectors": rows,
    }
