"""Hostile case-file text the tests of every front end share."""

from __future__ import annotations

import itertools


def laughs(levels: int, width: int = 9) -> str:
    """A "billion laughs" in a case's metadata: ``levels`` anchors, each a list of
    ``width`` aliases of the one before; it expands to about width**levels values."""
    names = [chr(ord("a") + i) for i in range(levels)]
    lines = [f"    {names[0]}: &{names[0]} [{', '.join(['lol'] * width)}]"]
    for before, name in itertools.pairwise(names):
        lines.append(f"    {name}: &{name} [{', '.join([f'*{before}'] * width)}]")
    return "cases:\n- id: laughs\n  prompt: hi\n  metadata:\n" + "\n".join(lines) + "\n"
