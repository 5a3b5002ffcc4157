"""Write one docs example into a temporary project and run it as the page says a reader would.

Models are always local and deterministic: the ``answers`` table (through a ``callable:``
the harness writes, ``doc_model:answer``), ``echo:``, the built-in local model, or the fake
OpenAI/Anthropic server of tests/support/llm_server.py, at which every provider alias and
the SDKs' base-URL variables are pointed. Nothing reaches past the loopback interface.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import sys
import textwrap
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from llmtest.commands import main as cli
from tests.docs import actions
from tests.docs.examples import Example, steps_of
from tests.support.llm_server import FakeLLMServer

PROVIDERS = ("openai", "anthropic")
OUTCOMES = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed", "deselected")
ANSWERS_MODULE = "doc_model"
SMOKE_SUITE = "test_doc_models.llm.yaml"
BIN = Path(sys.executable).parent

_ALIAS_HEADER = re.compile(r'^\[tool\.llmtest\.models\.(?:"([^"]+)"|([\w-]+))\]\s*$')
_TABLE_HEADER = re.compile(r"^\s*\[")
_BASE_URL = re.compile(r"^\s*base_url\s*=")
_LOCAL_MODEL = re.compile(r'adapter\s*=\s*"local"|\blocal:')


@dataclass
class Step:
    command: str
    """As the directive writes it (what ``output_of`` names)."""
    run: str
    """As it is run: with the ``model`` setting added."""
    expect: dict[str, Any]
    output: list[str]


@dataclass
class Outcome:
    command: str
    exit: int
    lines: list[str]
    pytest_result: pytest.RunResult | None = None

    def show(self) -> str:
        return f"$ {self.command}  (exit {self.exit})\n" + "\n".join(self.lines)


class DocProject:
    """One example's folder (pytester's), its files, its model and its commands."""

    def __init__(
        self,
        example: Example,
        pytester: pytest.Pytester,
        provider: FakeLLMServer,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        self.example = example
        self.pytester = pytester
        self.root = pytester.path
        self.provider = provider
        self.monkeypatch = monkeypatch
        self.files: dict[str, str] = {}
        self.paths: dict[int, str] = {}
        """Where each block was written, by ``id(block)``."""
        self.plugin_dirs: list[Path] = []
        self.smoke_aliases: list[str] = []

    def fail(self, message: str) -> NoReturn:
        pytest.fail(f"{self.example.id}: {message}", pytrace=False)

    def run(self) -> list[Outcome]:
        if self.example.problems:
            self.fail("\n".join(self.example.problems))
        self.collect_files()
        self.configure_models()
        self.write()
        outcomes = []
        for step in self.steps():
            outcome = self.execute(step.run)
            self.check(outcome, step.expect, step.output)
            outcomes.append(outcome)
        return outcomes

    def collect_files(self) -> None:
        for number, block in enumerate(self.example.context + self.example.blocks, start=1):
            if block.kind == "text" and "file" not in (block.directive or {}):
                continue
            path = block.path(number)
            if path is None:
                self.fail(
                    f"{block.where}: no way to run this ```{block.lang} block: it is no case file "
                    "(cases:), workflow (jobs:), test, module or pyproject.toml; say where it "
                    "goes ('file') and what runs it ('run') in a doc-test directive"
                )
            self.add(path, block.text, block.where)
            self.paths[id(block)] = path
        for path, text in (self.example.settings.get("files") or {}).items():
            self.add(path, textwrap.dedent(text), "files")

    def add(self, path: str, text: str, where: str) -> None:
        if path in self.files:
            if Path(path).name != "pyproject.toml":
                self.fail(f"{where}: a second block is written to {path}")
            text = self.files[path].rstrip("\n") + "\n\n" + text
        self.files[path] = text if text.endswith("\n") else text + "\n"

    def configure_models(self) -> None:
        """The answers model, the aliases of ``models``, and every provider alias pointed at
        the fake server."""
        answers = {
            str(k): v if isinstance(v, dict) else str(v)
            for k, v in (self.example.settings.get("answers") or {}).items()
        }
        self.provider.replies = {}
        self.provider.reply = lambda model, messages: answer_from(
            answers,
            model,
            next((m["content"] for m in reversed(messages) if m["role"] == "user"), ""),
        )
        self.files[f"{ANSWERS_MODULE}.py"] = (
            f"ANSWERS = {json.dumps(answers, indent=4)}\n\n\n"
            "def answer(prompt: str) -> str:\n"
            "    for needle, reply in ANSWERS.items():\n"
            "        if isinstance(reply, dict):\n"
            '            reply = reply.get("*")\n'
            "        if needle in prompt and reply is not None:\n"
            "            return reply\n"
            "    return prompt\n"
        )
        models = self.example.settings.get("models") or {}
        if models:
            tables = []
            for alias, spec in models.items():
                adapter, _, model = (
                    ("callable", "", f"{ANSWERS_MODULE}:answer")
                    if spec == "answers"
                    else str(spec).partition(":")
                )
                tables.append(
                    f'[tool.llmtest.models."{alias}"]\nadapter = "{adapter}"\nmodel = "{model}"\n'
                )
            self.add("pyproject.toml", "\n".join(tables), "models")
        for path, text in list(self.files.items()):
            if Path(path).name == "pyproject.toml":
                self.files[path] = self.point_providers_at_fake_server(path, text)
        for name in PROVIDERS:
            base = self.provider.base_url_for(name)
            self.monkeypatch.setenv(f"{name.upper()}_BASE_URL", base)
        for name, value in (self.example.settings.get("env") or {}).items():
            self.monkeypatch.setenv(name, str(value))

    def point_providers_at_fake_server(self, path: str, text: str) -> str:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            self.fail(f"{path} is not valid TOML: {exc}")
        models = data.get("tool", {}).get("llmtest", {}).get("models", {})
        provider_of = {
            alias: table.get("adapter") or str(table.get("model", "")).partition(":")[0]
            for alias, table in models.items()
        }
        if Path(path).parent == Path(".") and "project" not in data:
            added = self.example.settings.get("models") or {}
            self.smoke_aliases = [alias for alias in models if alias not in added]
        lines: list[str] = []
        current: str | None = None
        for line in text.splitlines():
            header = _ALIAS_HEADER.match(line)
            if header or _TABLE_HEADER.match(line):
                current = (header.group(1) or header.group(2)) if header else None
            if current in models and provider_of[current] in PROVIDERS:
                if _BASE_URL.match(line):
                    continue
                if header:
                    base = self.provider.base_url_for(provider_of[current])
                    lines += [line, f'base_url = "{base}"  # the docs test\'s fake server']
                    continue
            lines.append(line)
        return "\n".join(lines) + "\n"

    def write(self) -> None:
        for path, text in self.files.items():
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            if target.name == "pyproject.toml" and target.parent != self.root:
                self.install_plugin(target)
        if self.plugin_dirs:
            paths = [str(p) for p in self.plugin_dirs]
            self.monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))

    def install_plugin(self, pyproject: Path) -> None:
        """What ``pip install -e`` leaves for a package: metadata with its entry points, and
        its folder on the import path."""
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project")
        if not project:
            return
        name, version = project["name"], project.get("version", "0")
        info = pyproject.parent / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        groups = project.get("entry-points", {})
        (info / "entry_points.txt").write_text(
            "".join(
                f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items()) + "\n"
                for group, points in groups.items()
            )
        )
        self.plugin_dirs.append(pyproject.parent)

    def steps(self) -> list[Step]:
        settings = self.example.settings
        if "run" not in settings:
            settings = {**settings, "run": self.default_run()}
        steps = [Step(c, self.with_model(c), e, o) for c, e, o in steps_of(settings)]
        for block in self.example.blocks:
            wanted = (block.directive or {}).get("output_of")
            if wanted is None:
                continue
            matching = [step for step in steps if step.command == wanted]
            if len(matching) != 1:
                names = [step.command for step in steps]
                self.fail(f"{block.where}: output_of {wanted!r} names none of {names}")
            matching[0].output += [line for line in block.text.splitlines() if line.strip()]
        return steps

    def with_model(self, command: str) -> str:
        """The ``model`` setting as ``--llm-model`` of pytest and ``--model`` of llmtest run."""
        spec = self.example.settings.get("model")
        if spec is None:
            return command
        spec = f"callable:{ANSWERS_MODULE}:answer" if spec == "answers" else str(spec)
        if command.split()[0] == "pytest":
            return f"{command} --llm-model {shlex.quote(spec)}"
        if command.split()[:2] == ["llmtest", "run"]:
            return f"{command} --model {shlex.quote(spec)}"
        return command

    def default_run(self) -> str | list[str]:
        paths = list(self.files)
        workflows = [p for p in paths if p.startswith(".github/workflows/")]
        if workflows:
            return [f"github-actions {p}" for p in workflows]
        if any(_is_test_file(p) for p in paths):
            return "pytest"
        scripts = [self.paths[id(b)] for b in self.example.blocks if b.kind == "python"]
        if len(scripts) == 1:
            return f"python {scripts[0]}"
        if self.smoke_aliases:
            cases = [
                {
                    "id": alias,
                    "model": alias,
                    "prompt": "Say hello.",
                    "assert": [{"length": {"min": 1}}],
                }
                for alias in self.smoke_aliases
            ]
            (self.root / SMOKE_SUITE).write_text(json.dumps({"cases": cases}))
            # Bounded: a model that hangs fails this example in one timeout, not three.
            step = {"cmd": "pytest --llm-max-retries 0", "expect": {"passed": len(cases)}}
            return [step]  # type: ignore[list-item]
        kinds = ", ".join(sorted({b.kind for b in self.example.blocks}))
        self.fail(
            f"no way to run this example ({kinds}): give it a case file, a test, a workflow, "
            "model aliases, or a 'run' in a doc-test directive (see tests/test_docs.py)"
        )

    def execute(self, command: str) -> Outcome:
        argv = shlex.split(command)
        program, args = argv[0], argv[1:]
        isolated = bool(self.plugin_dirs)
        if program == "pytest":
            if isolated:
                result = self.pytester.runpytest_subprocess(*args, timeout=120)
            else:
                # llmtest is already imported in this process, so the inner pytest cannot
                # assert-rewrite it and says so: noise that a reader's run does not show.
                quiet = ("-W", "ignore::pytest.PytestAssertRewriteWarning")
                result = self.pytester.runpytest_inprocess(*quiet, *args)
            return Outcome(command, int(result.ret), result.outlines + result.errlines, result)
        if program == "llmtest" and not isolated:
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(args)
            return Outcome(command, code, (out.getvalue() + err.getvalue()).splitlines())
        if program in ("llmtest", "python"):
            executable = str(BIN / "llmtest") if program == "llmtest" else sys.executable
            result = self.pytester.run(executable, *args, timeout=120)
            return Outcome(command, int(result.ret), result.outlines + result.errlines)
        if program == "github-actions" and len(args) == 1:
            run = actions.run_workflow(self.root / args[0], self.root, self.provider)
            return Outcome(command, 0 if run.succeeded else 1, run.log)
        self.fail(f"unknown command {command!r}: use pytest, llmtest, python or github-actions")

    def check(self, outcome: Outcome, expect: dict[str, Any], output: Sequence[str]) -> None:
        counts = {k: int(v) for k, v in expect.items() if k in OUTCOMES}
        unknown = set(expect) - set(OUTCOMES) - {"exit"}
        if unknown:
            self.fail(f"unknown expect keys {sorted(unknown)} (known: exit, {', '.join(OUTCOMES)})")
        if counts:
            if outcome.pytest_result is None:
                self.fail(f"{outcome.command!r} is not pytest: expect only 'exit' of it")
            parsed = outcome.pytest_result.parseoutcomes()
            found = {k: parsed.get(k, 0) for k in OUTCOMES}
            wanted = {k: counts.get(k, 0) for k in OUTCOMES}
            if found != wanted:
                self.fail(f"expected {_nonzero(wanted)}, got {_nonzero(found)}\n{outcome.show()}")
        default_exit = None if counts else 0
        exit_code = expect.get("exit", default_exit)
        if exit_code is not None and outcome.exit != exit_code:
            self.fail(f"expected exit {exit_code}, got {outcome.exit}\n{outcome.show()}")
        ran_nothing = outcome.pytest_result is not None and not (
            outcome.pytest_result.parseoutcomes().get("passed")
        )
        if ran_nothing and not counts and "exit" not in expect:
            self.fail(f"no test passed\n{outcome.show()}")
        missing = unmatched(output, outcome.lines)
        if missing is not None:
            self.fail(
                f"the output has no line like {missing!r} (after the ones before it)\n"
                f"{outcome.show()}"
            )


def answer_from(answers: dict[str, Any], model: str, prompt: str) -> str:
    """The ``answers`` table as the fake provider serves it: a reply may depend on the model
    (``{MODEL: REPLY}``, ``"*"`` for any other); no matching entry echoes the prompt."""
    for needle, reply in answers.items():
        if isinstance(reply, dict):
            reply = reply.get(model, reply.get("*"))
        if needle in prompt and reply is not None:
            return str(reply)
    return prompt


def unmatched(patterns: Sequence[str], lines: Sequence[str]) -> str | None:
    """The first pattern with no matching line after the previous pattern's line, or None.

    A pattern is a literal line in which ``...`` stands for any text; runs of spaces count
    as one, so columns may be aligned differently.
    """
    position = 0
    flat = [" ".join(line.split()) for line in lines]
    for pattern in patterns:
        parts = [" ".join(part.split()) for part in pattern.split("...")]
        regex = re.compile(" ?.* ?".join(re.escape(part) for part in parts))
        for index in range(position, len(flat)):
            if regex.fullmatch(flat[index]):
                position = index + 1
                break
        else:
            return pattern
    return None


def _nonzero(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


def _is_test_file(path: str) -> bool:
    name = Path(path).name
    return name.startswith("test_") and (".llm." in name or name.endswith(".py"))


def uses_local_model(example: Example) -> bool:
    """Whether an example runs the real local model (it is marked ``local_model``).

    Nothing is copied for it: tests/conftest.py points ``LLMTEST_CACHE_DIR`` at one folder
    for the whole test session, where the built-in model is assembled once."""
    texts = [block.text for block in example.context + example.blocks]
    texts += [str(text) for text in (example.settings.get("files") or {}).values()]
    texts += [str(spec) for spec in (example.settings.get("models") or {}).values()]
    texts.append(str(example.settings.get("model") or ""))
    return any(_LOCAL_MODEL.search(text) for text in texts)
