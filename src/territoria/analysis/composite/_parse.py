"""Parsing of the indicator and weight lists the CLI and the web form take."""

from __future__ import annotations

from territoria.errors import CompositeInputError

__all__ = ["parse_indicators", "parse_pillars", "parse_weights"]


def parse_indicators(text: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """``'A:+,B:-'`` → codes and polarities (+1: higher is better, −1: lower is better).

    A code without a polarity is positive.
    """
    codes: list[str] = []
    signs: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        code, _, sign = part.partition(":")
        sign = sign.strip() or "+"
        if sign not in ("+", "-", "−"):
            msg = f"polarity {sign!r} of {code!r} must be + or -: write --indicators A:+,B:-"
            raise CompositeInputError(msg)
        codes.append(code.strip())
        signs.append(1 if sign == "+" else -1)
    if not codes:
        raise CompositeInputError("no indicator given: write --indicators A:+,B:-")
    return tuple(codes), tuple(signs)


def parse_weights(text: str) -> dict[str, float]:
    """``'A:0.5,B:0.5'`` → {code: weight}."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        code, sep, value = part.partition(":")
        try:
            weight = float(value)
        except ValueError:
            weight = float("nan")
        if not sep or weight != weight:
            msg = f"weight {part!r} is not CODE:NUMBER: write --weights A:0.5,B:0.5"
            raise CompositeInputError(msg)
        if code.strip() in out:
            raise CompositeInputError(f"indicator {code.strip()!r} is weighted twice")
        out[code.strip()] = weight
    return out


def parse_pillars(text: str) -> dict[str, list[str]]:
    """``'Jeunesse=A,B;Logement=C'`` → {pillar: [indicator codes]}."""
    out: dict[str, list[str]] = {}
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        name, sep, codes = part.partition("=")
        listed = [c.strip() for c in codes.split(",") if c.strip()]
        if not sep or not name.strip() or not listed or name.strip() in out:
            msg = (
                f"pillar {part!r} is not NAME=A,B (each name once): write"
                " --pillars 'Jeunesse=A,B;Logement=C'"
            )
            raise CompositeInputError(msg)
        out[name.strip()] = listed
    return out
