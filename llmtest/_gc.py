"""Building many long-lived objects without the cyclic garbage collector rescanning them.

Loading a large case library or importing a provider SDK allocates hundreds of thousands of
objects that live as long as the process. Each allocation burst triggers collections that
scan all of them again (seconds for 10,000 cases); afterwards every full collection would.
Reference counting still frees what dies; only cycles wait.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused(*, freeze: bool = True) -> Iterator[None]:
    """No cyclic collection inside; with ``freeze``, what exists afterwards is moved out of
    the collector's sight for the rest of the process."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
    if freeze:
        gc.freeze()
