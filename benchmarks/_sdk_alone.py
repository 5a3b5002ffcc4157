"""The openai SDK on its own, set up as llmtest's adapter sets it up: the floor for any
framework that calls models through it (run as its own process by bench_run.py).

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
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with slots:
            body = {"model": "bench-model", "messages": [{"role": "user", "content": f"q {i}"}]}
            answer = await client.post("/chat/completions", body=body, cast_to=dict[str, object])
            assert "choices" in answer

    await asyncio.gather(*(one(i) for i in range(cases)))
    await client.close()


if __name__ == "__main__":
    port, cases, concurrency = (int(arg) for arg in sys.argv[1:4])
    asyncio.run(main(port, cases, concurrency))
