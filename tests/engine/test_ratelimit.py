"""Per-model request and token budgets."""

from __future__ import annotations

import asyncio

import pytest

from llmtest.engine.ratelimit import RateLimiter


def acquire_many(limiter: RateLimiter, count: int) -> list[float]:
    async def run() -> list[float]:
        return [await limiter.acquire() for _ in range(count)]

    return asyncio.run(run())


def test_no_limits_never_wait() -> None:
    assert acquire_many(RateLimiter(), 1000) == [0.0] * 1000


def test_a_minute_of_requests_goes_at_once_then_the_next_waits_its_share() -> None:
    waits = acquire_many(RateLimiter(requests_per_minute=600), 601)
    assert waits[:600] == [0.0] * 600
    assert waits[600] == pytest.approx(0.1, abs=0.02)


def test_tokens_in_debt_hold_back_the_next_request() -> None:
    limiter = RateLimiter(tokens_per_minute=6000)

    async def run() -> float:
        await limiter.acquire()
        limiter.record_tokens(6010)
        return await limiter.acquire()

    assert asyncio.run(run()) == pytest.approx(0.1, abs=0.02)
