"""Two nondeterministic "models" for the canary tests, through the real ``callable:``
adapter: what each answers depends only on the prompt's first word, the side and the
attempt, so every test outcome is fixed however the calls are scheduled.

- ``stable``: both sides always answer PASS.
- ``broken``: the baseline always passes; the candidate always fails (a real regression).
- ``flip``: the candidate fails its first attempt only (noise that looks like a regression).
- ``fixed``: the baseline always fails; the candidate always passes.
"""

from __future__ import annotations

from llmtest.adapters.base import Request


def _passes(kind: str, side: str, attempt: int) -> bool:
    if kind == "broken":
        return side == "baseline"
    if kind == "flip":
        return side == "baseline" or attempt > 0
    if kind == "fixed":
        return side == "candidate"
    return True


def _answer(request: Request, side: str) -> str:
    kind = request.prompt.split()[0]
    attempt = int(request.metadata.get("attempt", 0))
    return "PASS" if _passes(kind, side, attempt) else "FAIL"


def baseline(request: Request) -> str:
    return _answer(request, "baseline")


def candidate(request: Request) -> str:
    return _answer(request, "candidate")
