"""Per-model request and token budgets, so a large suite stays inside a provider's limits
instead of collecting 429s."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """A token bucket for requests per minute and one for tokens per minute.

    Requests are counted before each call. Tokens are unknown until the answer arrives, so
    they are debited afterwards; while the token bucket is in debt, new calls wait.
    """

    def __init__(
        self, requests_per_minute: float | None = None, tokens_per_minute: float | None = None
    ) -> None:
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        now = time.monotonic()
        self._requests = float(requests_per_minute or 0)
        self._tokens = float(tokens_per_minute or 0)
        self._updated = now
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        return bool(self.rpm or self.tpm)

    def _refill(self) -> None:
        now = time.monotonic()
        elapsed = now - self._updated
        self._updated = now
        if self.rpm:
            self._requests = min(self.rpm, self._requests + elapsed * self.rpm / 60)
        if self.tpm:
            self._tokens = min(self.tpm, self._tokens + elapsed * self.tpm / 60)

    async def acquire(self) -> float:
        """Wait until a request may go out; returns how long we waited, in seconds."""
        if not self.active:
            return 0.0
        waited = 0.0
        async with self._lock:
            while True:
                self._refill()
                delays = []
                if self.rpm and self._requests < 1:
                    delays.append((1 - self._requests) * 60 / self.rpm)
                if self.tpm and self._tokens <= 0:
                    delays.append(-self._tokens * 60 / self.tpm + 0.001)
                if not delays:
                    break
                delay = max(delays)
                waited += delay
                await asyncio.sleep(delay)
            if self.rpm:
                self._requests -= 1
        return waited

    def record_tokens(self, tokens: int) -> None:
        if self.tpm:
            self._refill()
            self._tokens -= tokens
