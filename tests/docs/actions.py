"""Just enough of GitHub Actions to run a docs workflow's shell steps on this machine.

Jobs run in ``needs`` order, each matrix combination in turn, all in the example's folder:
what one job uploads as an artifact is therefore already there for the job that downloads
it. ``uses:`` steps of the actions below are GitHub's plumbing (checkout, Python, caches,
artifacts) and are skipped; ``pip install`` lines are skipped too, because llmtest is
already installed here and a test must not reach a package index. ``${{ }}`` expressions
may name ``matrix.*``, ``secrets.*`` (a made-up value), ``env.*``, ``github.*`` and
``strategy.job-index`` / ``strategy.job-total``; ``if:`` may be ``always()``,
``success()`` or ``failure()``. Anything else fails the example, so a workflow in the docs
never relies on something this file silently ignores.
"""

from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.llm_server import FakeLLMServer

SKIPPED_ACTIONS = (
    "actions/checkout",
    "actions/setup-python",
    "actions/cache",
    "actions/upload-artifact",
    "actions/download-artifact",
)
SECRET_PREFIX = "docs-test-secret-"
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_PIP_INSTALL = re.compile(r"^\s*(?:python3? -m )?pip install\b")
_PROVIDER_KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


class UnsupportedWorkflow(Exception):
    """The workflow uses something this emulator does not run."""


@dataclass
class WorkflowRun:
    log: list[str] = field(default_factory=list)
    failed_jobs: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return not self.failed_jobs


def run_workflow(path: Path, cwd: Path, provider: FakeLLMServer) -> WorkflowRun:
    text = path.read_text(encoding="utf-8")
    workflow = yaml.safe_load(text)
    run = WorkflowRun()
    finished: dict[str, bool] = {}
    # A workflow that passes a provider key from its secrets must really send it: the
    # provider then refuses requests without that key.
    keys = {
        _expand(f"${{{{ secrets.{name} }}}}", {})
        for name in _PROVIDER_KEYS
        if f"secrets.{name}" in text
    }
    saved_key, provider.api_key = provider.api_key, keys.pop() if len(keys) == 1 else None
    try:
        for name in _job_order(workflow["jobs"]):
            job = workflow["jobs"][name]
            needs = _as_list(job.get("needs"))
            if not all(finished[n] for n in needs) and not _condition(job.get("if"), False):
                run.log.append(f"job {name}: skipped (a job it needs failed)")
                finished[name] = False
                continue
            ok = True
            for matrix in _matrix(job):
                shown = {k: v for k, v in matrix.items() if not k.startswith("__")}
                label = name + (f" {shown}" if shown else "")
                if not _run_job(workflow, job, matrix, label, cwd, provider, run):
                    ok = False
                    run.failed_jobs.append(label)
            finished[name] = ok
    except UnsupportedWorkflow as exc:
        run.log.append(f"unsupported in a docs workflow: {exc}")
        run.failed_jobs.append("(unsupported)")
    finally:
        provider.api_key = saved_key
    return run


def _run_job(
    workflow: Mapping[str, Any],
    job: Mapping[str, Any],
    matrix: Mapping[str, Any],
    label: str,
    cwd: Path,
    provider: FakeLLMServer,
    run: WorkflowRun,
) -> bool:
    context = {"matrix": dict(matrix), "env": {}, "cwd": cwd, "job": job}
    summary = cwd / ".github-step-summary.md"
    env = {k: v for k, v in os.environ.items() if k not in _PROVIDER_KEYS}
    env.update(
        {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(cwd),
            "GITHUB_STEP_SUMMARY": str(summary),
            # The runner's "internet": the fake provider (a bare openai:/anthropic: spec).
            "OPENAI_BASE_URL": provider.openai_base_url,
            "ANTHROPIC_BASE_URL": provider.anthropic_base_url,
        }
    )
    for scope in (workflow.get("env"), job.get("env")):
        env.update({k: _expand(str(v), context) for k, v in (scope or {}).items()})
    context["env"] = env
    failed = False
    for index, step in enumerate(job.get("steps", []), start=1):
        name = _expand(str(step.get("name") or step.get("uses") or f"step {index}"), context)
        if not _condition(step.get("if"), not failed):
            run.log.append(f"[{label}] {name}: skipped")
            continue
        if "uses" in step:
            action = str(step["uses"]).partition("@")[0]
            if action not in SKIPPED_ACTIONS:
                raise UnsupportedWorkflow(f"step {name!r} uses {action}")
            run.log.append(f"[{label}] {name}: {action} (GitHub's own, skipped)")
            continue
        script = "\n".join(
            line
            for line in _expand(step["run"], context).splitlines()
            if not _PIP_INSTALL.match(line)
        )
        step_env = {**env, **{k: _expand(str(v), context) for k, v in step.get("env", {}).items()}}
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=cwd / step.get("working-directory", "."),
            env=step_env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        run.log.append(f"[{label}] {name}: exit {result.returncode}")
        run.log += (result.stdout + result.stderr).splitlines()
        if result.returncode != 0 and not step.get("continue-on-error"):
            failed = True
    return not failed


def _job_order(jobs: Mapping[str, Any]) -> list[str]:
    order: list[str] = []
    pending = list(jobs)
    while pending:
        ready = [n for n in pending if all(d in order for d in _as_list(jobs[n].get("needs")))]
        if not ready:
            raise UnsupportedWorkflow(f"jobs {pending} need each other or an unknown job")
        order += ready
        pending = [n for n in pending if n not in ready]
    return order


def _matrix(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    matrix = (job.get("strategy") or {}).get("matrix")
    if not matrix:
        return [{}]
    if not isinstance(matrix, dict) or {"include", "exclude"} & set(matrix):
        raise UnsupportedWorkflow("only a matrix of plain lists runs here")
    names = list(matrix)
    combos = [
        dict(zip(names, values, strict=True)) for values in itertools.product(*matrix.values())
    ]
    for index, combo in enumerate(combos):
        combo["__index__"], combo["__total__"] = index, len(combos)
    return combos


def _condition(expression: Any, success: bool) -> bool:
    if expression is None:
        return success
    text = _EXPRESSION.sub(r"\1", str(expression)).strip()
    if text == "always()":
        return True
    if text == "success()":
        return success
    if text == "failure()":
        return not success
    raise UnsupportedWorkflow(f"if: {expression}")


def _expand(text: str, context: Mapping[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        scope, _, name = match.group(1).partition(".")
        if scope == "matrix" and name in context["matrix"]:
            return str(context["matrix"][name])
        if scope == "secrets" and name:
            return SECRET_PREFIX + name.lower().replace("_", "-")
        if scope == "env" and name in context["env"]:
            return str(context["env"][name])
        if scope == "github":
            known = {
                "workspace": str(context["cwd"]),
                "sha": "0" * 40,
                "run_id": "1",
                "event_name": "pull_request",
                "ref": "refs/pull/1/merge",
            }
            if name in known:
                return known[name]
        if scope == "strategy" and name in ("job-index", "job-total"):
            key = "__index__" if name == "job-index" else "__total__"
            return str(context["matrix"].get(key, 0 if key == "__index__" else 1))
        raise UnsupportedWorkflow(f"${{{{ {match.group(1)} }}}}")

    return _EXPRESSION.sub(value, text)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
