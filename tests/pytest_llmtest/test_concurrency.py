"""Model calls run concurrently, bounded by --llm-concurrency; items only evaluate.

Proved without timing: every call waits at a barrier that only opens when all of them are
in flight at once.
"""

from __future__ import annotations

import textwrap

import pytest

BARRIER_APP = """
    import threading
    _barrier = threading.Barrier({parties}, timeout=5)
    def answer(prompt):
        _barrier.wait()
        return "ok"
"""


def suite(pytester: pytest.Pytester, cases: int, parties: int) -> None:
    pytester.makepyfile(app=textwrap.dedent(BARRIER_APP.format(parties=parties)))
    lines = "\n".join(
        f"  - {{id: c{i}, prompt: p{i}, assert: [{{equals: ok}}]}}" for i in range(cases)
    )
    pytester.makefile(".llm.yaml", test_a=f"model: 'callable:app:answer'\ncases:\n{lines}\n")


def test_all_selected_calls_are_in_flight_together(pytester: pytest.Pytester) -> None:
    suite(pytester, cases=8, parties=8)
    pytester.runpytest("--llm-concurrency", "8").assert_outcomes(passed=8)


def test_concurrency_bounds_the_calls_in_flight(pytester: pytest.Pytester) -> None:
    suite(pytester, cases=2, parties=2)
    result = pytester.runpytest("--llm-concurrency", "1", "--llm-max-retries", "0")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*BrokenBarrierError*"])


def test_concurrency_ini_option(pytester: pytest.Pytester) -> None:
    suite(pytester, cases=4, parties=4)
    pytester.makeini("[pytest]\nllmtest_concurrency = 4\n")
    pytester.runpytest().assert_outcomes(passed=4)


def test_bad_concurrency_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nllmtest_concurrency = lots\n")
    pytester.makefile(".llm.yaml", test_a="cases: [{id: a, prompt: hi}]")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*llmtest_concurrency: expected a whole number, got 'lots'*"])


def test_async_callables_run_on_the_engine_loop(pytester: pytest.Pytester) -> None:
    cases_that_wait_for_each_other(pytester, 3)
    pytester.runpytest().assert_outcomes(passed=3)


def test_xdist_workers_each_call_only_their_own_items(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        app=textwrap.dedent("""
        import os
        def answer(prompt):
            with open(f"calls-{os.getpid()}.log", "a") as fh:
                fh.write(prompt + "\\n")
            return prompt
    """)
    )
    lines = "\n".join(f"  - {{id: c{i}, prompt: p{i}}}" for i in range(20))
    pytester.makefile(".llm.yaml", test_a=f"model: 'callable:app:answer'\ncases:\n{lines}\n")
    result = pytester.runpytest_subprocess("-n", "2")
    result.assert_outcomes(passed=20)
    calls = [line for log in pytester.path.glob("calls-*.log") for line in log.read_text().split()]
    assert sorted(calls) == sorted(f"p{i}" for i in range(20))
    result.stdout.fnmatch_lines(["*20 cases on callable:app:answer · 20 passed*"])


@pytest.mark.parametrize("dist", ["loadfile", "loadscope"])
def test_an_xdist_worker_starts_every_case_of_a_file_it_is_sent(
    pytester: pytest.Pytester, dist: str
) -> None:
    """Under the dist modes that keep a file on one worker, the cases of a file are all in
    flight at once (each answer here waits until all four calls have arrived)."""
    cases_that_wait_for_each_other(pytester, 4)
    result = pytester.runpytest_subprocess("-n", "2", "--dist", dist)
    result.assert_outcomes(passed=4)


def cases_that_wait_for_each_other(pytester: pytest.Pytester, count: int) -> None:
    """A case file of ``count`` cases on an async app whose every answer waits until all
    ``count`` calls have arrived: they pass only if they are in flight together."""
    pytester.makepyfile(
        app=textwrap.dedent(f"""
        import asyncio
        _arrived = []
        _all_here = None
        async def answer(prompt):
            global _all_here
            if _all_here is None:
                _all_here = asyncio.Event()
            _arrived.append(prompt)
            if len(_arrived) == {count}:
                _all_here.set()
            await asyncio.wait_for(_all_here.wait(), 10)
            return "ok"
    """)
    )
    lines = "\n".join(
        f"  - {{id: c{i}, prompt: p{i}, assert: [{{equals: ok}}]}}" for i in range(count)
    )
    pytester.makefile(".llm.yaml", test_a=f"model: 'callable:app:answer'\ncases:\n{lines}\n")
