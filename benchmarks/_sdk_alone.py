"""The openai SDK on its own, set up as llmtest's adapter sets it up: the floor for any
framework that calls models through it (run as its own process by the benchmarks).

``CONCURRENCY`` worker tasks take the requests in turn, so nothing but the SDK's own work
(and the interpreter's start-up and import of the SDK) stands between the requests.

Usage: python benchmarks/_sdk_alone.py PORT CASES CONCURRENCY
"""

from __future__ import annotations

import asyncio
import sys


async def main(port: int, cases: int, concurrency: int) -> None:
    import openai

    client = openai.AsyncOpenAI(
        api_key="unused",
        base_url=f"http://127.0.0.1:{port}/v1",
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(),
    )
    numbers = iter(range(cases))

    async def worker() -> None:
        for i in numbers:
            body = {"model": "bench-model", "messages": [{"role": "user", "content": f"q {i}"}]}
            answer = await client.post("/chat/completions", body=body, cast_to=dict[str, object])
            assert "choices" in answer

    await asyncio.gather(*(worker() for _ in range(min(concurrency, cases))))
    await client.close()


if __name__ == "__main__":
    port, cases, concurrency = (int(arg) for arg in sys.argv[1:4])
    asyncio.run(main(port, cases, concurrency))
