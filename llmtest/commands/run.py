"""``llmtest run``: every case under the given paths, without pytest's per-item overhead."""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from llmtest.adapters.layers import build_layers
from llmtest.cases.model import Suite
from llmtest.cases.selection import Selection, discover, split_list
from llmtest.config import options
from llmtest.config.project import ProjectConfig, load_project_config, model_label
from llmtest.engine.engine import Engine, RetryEvent
from llmtest.engine.evaluation import CaseOutcome
from llmtest.engine.plan import Lane, Planner, RunPlan, RunTotals, execute_lanes, load_suites
from llmtest.errors import ConfigError, LLMTestError
from llmtest.reports.summary import Counts, plural, summarize
from llmtest.results.history import History, RunRecorder
from llmtest.results.jsonl import (
    ResultsFile,
    ResultWriter,
    RunHeader,
    git_sha,
    header_model,
    load_results,
    new_run_id,
    write_results,
)

PLAIN_PROGRESS_EVERY_S = 5.0
DEFAULT_HISTORY = ".llmtest/history.sqlite"


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run case files against a model and stream results to a JSONL file",
        description="Run every case file under PATHS (default: the current folder).",
    )
    add_run_arguments(parser, models=("model",))
    parser.add_argument(
        "--out",
        "--results",
        dest="llm_results",
        metavar="PATH",
        help="results file (JSONL), written as each case finishes; an earlier run in it is "
        "replaced (default: runs/<run id>.jsonl)",
    )
    parser.add_argument(
        "--resume",
        metavar="PATH",
        type=Path,
        help="continue an interrupted run: only cases with no record run",
    )
    parser.add_argument(
        "--retry-errors",
        action="store_true",
        help="with --resume: also run again the attempts that ended in an error (after an "
        "outage, say); their error records are replaced",
    )
    parser.set_defaults(func=run)


def add_run_arguments(parser: argparse.ArgumentParser, *, models: tuple[str, ...]) -> None:
    """What every command that runs cases takes: paths, the shared options, selection."""
    parser.add_argument("paths", nargs="*", type=Path, default=[Path(".")], metavar="PATH")
    names = (*models, "concurrency", "timeout", "max-retries", "shard", "cache", "record", "repeat")
    for name in names:
        option = options.OPTIONS_BY_NAME[name]
        parser.add_argument(
            option.cli_flag,
            dest=option.dest,
            type=option.argparse_type,
            default=None,
            metavar=option.metavar,
            help=option.help,
        )
    parser.add_argument(
        "--no-cache",
        dest="llm_cache",
        action="store_const",
        const="off",
        help="always call the model (same as --cache off)",
    )
    parser.add_argument(
        "--tags",
        type=split_list,
        default=frozenset(),
        help="only cases with any of these tags (comma separated)",
    )
    parser.add_argument(
        "--exclude-tags",
        type=split_list,
        default=frozenset(),
        help="leave out cases with any of these tags",
    )
    parser.add_argument(
        "-k",
        "--id",
        dest="ids",
        action="append",
        default=[],
        metavar="GLOB",
        help="only cases whose id (or suite::id) matches the glob; repeatable",
    )
    parser.add_argument(
        "--max-cases", type=_positive, metavar="N", help="run at most N cases (a smoke run)"
    )
    parser.add_argument(
        "--history",
        default=DEFAULT_HISTORY,
        metavar="PATH",
        help=f"SQLite history database (default {DEFAULT_HISTORY})",
    )
    parser.add_argument("--no-history", action="store_true", help="do not record the run")
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "plain", "none"),
        default="auto",
        help="progress display (default: a bar on a terminal, lines otherwise)",
    )


def _positive(text: str) -> int:
    return int(options.OPTIONS_BY_NAME["concurrency"].argparse_type(text))


@dataclass
class Prepared:
    """Loaded suites and what is needed to plan them, or the exit code of bad case files."""

    project: ProjectConfig
    root: Path
    suites: list[Suite]

    def planner(self, args: argparse.Namespace, model: str | None) -> Planner:
        return Planner(
            self.project,
            model_override=model,
            selection=Selection(
                tags=args.tags,
                exclude_tags=args.exclude_tags,
                ids=tuple(args.ids),
                shard=args.llm_shard,
                max_cases=args.max_cases,
            ),
            repeat=args.llm_repeat,
            timeout_s=args.llm_timeout,
            max_retries=args.llm_max_retries,
        )

    def engine(self, args: argparse.Namespace, display: Display) -> Engine:
        return Engine(
            concurrency=args.llm_concurrency or options.OPTIONS_BY_NAME["concurrency"].default,
            on_retry=display.retry,
            wrap_adapter=build_layers(
                cache_mode=args.llm_cache or "auto", record=args.llm_record, root=self.root
            ),
        )


def prepare(args: argparse.Namespace, console: Console) -> Prepared | int:
    """Find and load the case files; print every bad one and return 2 if any."""
    project = load_project_config(Path.cwd())
    root = project.path.parent if project.path else Path.cwd()
    files = discover(args.paths)
    if not files:
        raise LLMTestError(f"no case files under {', '.join(map(str, args.paths))}")
    suites, problems = load_suites(files, root)
    if problems:
        for problem in problems:
            console.print(str(problem), markup=False, highlight=False)
        return 2
    return Prepared(project, root, suites)


def run(args: argparse.Namespace) -> int:
    # soft_wrap: a message is one line however narrow the terminal (grep-able in CI logs).
    console = Console(stderr=True, soft_wrap=True)
    out = Console(soft_wrap=True)
    prepared = prepare(args, console)
    if isinstance(prepared, int):
        return prepared
    root, suites = prepared.root, prepared.suites
    if args.retry_errors and not args.resume:
        raise ConfigError("--retry-errors goes with --resume FILE: the run whose errors to retry")
    resume, rewrite = _load_resume(args, suites) if args.resume else (None, False)
    model = args.llm_model
    if model is None and resume is not None:
        model = _resumed_model(resume.header)
    planner = prepared.planner(args, model)
    if model is not None:
        try:
            planner.model(model)
        except ConfigError as exc:
            flag = "--model" if args.llm_model else f"the model of {args.resume}"
            raise ConfigError(f"{flag}: {exc}") from None
    plan = planner.plan(suites, resume)
    if _nothing_selected(plan, args):  # before any file or history is touched
        out.print("verdict: no case matched the selection (exit 2)", markup=False)
        return 2
    if resume is not None:
        _check_resume_model(resume.header, plan, given=args.llm_model)
        if rewrite:
            write_results(args.resume, resume.header, resume.cases)
        run_id = str(resume.header.get("run_id") or new_run_id())
        results_path = args.resume
    else:
        run_id = new_run_id()
        results_path = Path(args.llm_results or f"runs/{run_id}.jsonl")

    recorder: RunRecorder | None = None
    if resume is None:
        header = _header(run_id, plan, suites, root)
        if not args.no_history:
            recorder = History(args.history).recorder(header.to_record())
        writer = ResultWriter(results_path, on_record=recorder.add if recorder else None)
        writer.write_header(header)
    else:
        writer = ResultWriter(results_path)
    display = Display(console, len(plan.cases), args.progress)
    engine = prepared.engine(args, display)
    started = time.perf_counter()
    lane = Lane(plan, run_id, writer)
    totals = lane.totals
    try:
        with display:
            execute_lanes([lane], engine, on_outcome=display.update)
    except KeyboardInterrupt:
        totals.interrupted = True
        console.print(
            f"interrupted: every finished case is in {results_path}; "
            f"continue with: llmtest run {' '.join(map(str, args.paths))} --resume {results_path}",
            markup=False,
            highlight=False,
        )
    finally:
        engine.close()
        writer.close()
    elapsed = time.perf_counter() - started
    if not args.no_history:
        _record_history(args.history, results_path, console, recorder)
    # A resumed run's verdict is the whole file's, not only this session's share.
    whole = summarize(load_results(results_path)).counts if resume is not None else None
    verdict = _verdict(totals, whole)
    _print_summary(
        out, plan, totals, elapsed, results_path, verdict, whole, replaced_earlier=writer.replaced
    )
    return verdict[0]


def _one_line(outcome: CaseOutcome) -> str:
    """The reason a case did not pass, in one line: its first error or broken assertion
    (after the pass rate, for a repeated case). ``explain()`` indents assertion lines."""
    lines = outcome.explain().splitlines()
    if not lines:
        return ""
    reasons = [
        line.split("error: ", 1)[1] if "error: " in line else line
        for line in lines
        if "error: " in line or (line.startswith("  ") and not line.startswith("  output:"))
    ]
    first = reasons[0].strip() if reasons else lines[0]
    if outcome.execution.case.repeat > 1:
        return f"{lines[0]}; {first}"
    return first


def _nothing_selected(plan: RunPlan, args: argparse.Namespace) -> bool:
    """No case matched the selection: a mistyped -k must not pass a gate. (An empty
    shard is fine: its cases went to the others.)"""
    empty = not plan.cases and not plan.skipped and not plan.already_done
    return empty and args.llm_shard is None


def _verdict(totals: RunTotals, whole: Counts | None) -> tuple[int, str]:
    """The exit code and the line that says it."""
    if totals.interrupted:
        return 130, "interrupted before the end"
    errors, failed = (whole.errors, whole.failed) if whole else (totals.errors, totals.failed)
    if errors:
        return 2, "errors prevented a verdict"
    if failed:
        return 1, "some cases failed"
    return 0, "all cases passed"


def _load_resume(args: argparse.Namespace, suites: list[Suite]) -> tuple[ResultsFile, bool]:
    """The file to resume as it must be before the run appends to it, and whether the
    file must be rewritten so: without a line torn by a crash, without records of cases
    edited since (they run again; a report must not count the old answer beside the new),
    nor, with --retry-errors, records of attempts that got no answer; its header naming
    the suites as they are now (shards resumed after an edit still merge)."""
    if args.llm_results and Path(args.llm_results).resolve() != Path(args.resume).resolve():
        raise ConfigError(
            f"--out {args.llm_results} and --resume {args.resume} name different files; "
            "a resumed run continues in its own file"
        )
    original = load_results(args.resume)
    if not original.headers:
        raise ConfigError(f"{args.resume} has no run header: it is not a results file to resume")
    current: dict[tuple[Any, Any], str] = {
        (case.suite, case.id): case.hash for suite in suites for case in suite.cases
    }
    kept = [
        c
        for c in original.cases
        if current.get((c.get("suite"), c.get("case_id")), c.get("case_hash")) == c.get("case_hash")
        and not (args.retry_errors and c.get("status") == "error")
    ]
    header = dict(original.header)
    suites_then = header.get("suites")
    recorded: dict[str, Any] = dict(suites_then) if isinstance(suites_then, Mapping) else {}
    header["suites"] = {**recorded, **{suite.path: suite.hash for suite in suites}}
    rewrite = (
        len(kept) < len(original.cases)
        or original.skipped_lines > 0
        or header["suites"] != recorded
    )
    return ResultsFile(original.path, [header], kept), rewrite


def _resumed_model(header: Mapping[str, Any]) -> str | None:
    """The model a resumed run used, when the command line names none."""
    model = header.get("model")
    name = model.get("name") if isinstance(model, Mapping) else model
    return str(name) if name and name != "mixed" else None


def _check_resume_model(header: dict[str, Any], plan: RunPlan, *, given: str | None) -> None:
    """The rest of a run must go to the model(s) it started with."""
    model = header.get("model", {})
    recorded = model.get("name")
    if recorded == "mixed" and given:
        raise ConfigError(
            f"the resumed run's suites name different models; resume it without --model {given} "
            "so that each case keeps its own"
        )
    if recorded == "mixed":  # suites named different models: each case keeps its own
        used = {m.get("name") for m in model.get("models", []) if isinstance(m, Mapping)}
    else:
        used = {recorded}
    models = {m.name for m in plan.models}
    if recorded and models and not models <= used:
        hint = "" if recorded == "mixed" else f"; pass --model {recorded}"
        raise ConfigError(
            f"the resumed run used {', '.join(sorted(map(str, used)))}, this one would use "
            f"{', '.join(sorted(models))}{hint}"
        )


def _header(run_id: str, plan: RunPlan, suites: list[Any], root: Path) -> RunHeader:
    return RunHeader(
        run_id=run_id,
        model=header_model(plan.models),
        suites={s.path: s.hash for s in suites},
        git_sha=git_sha(root),
    )


def _record_history(
    path: str, results_path: Path, console: Console, recorder: RunRecorder | None
) -> None:
    """Store the run; a resumed run is read back whole from its results file."""
    try:
        if recorder is not None:
            recorder.store(source=results_path)
        else:
            History(path).import_file(results_path)
    except (LLMTestError, OSError, sqlite3.Error) as exc:
        console.print(f"warning: could not record the run in {path}: {exc}", markup=False)


def _progress_mode(choice: str, console: Console) -> str:
    if choice != "auto":
        return choice
    return "bar" if console.is_terminal else "plain"


class Display:
    """A progress bar on a terminal; a line every few seconds in CI logs."""

    def __init__(self, console: Console, total: int, mode: str) -> None:
        self.console = console
        self.mode = _progress_mode(mode, console)
        self.total = total
        self.retrying = 0
        self._last_line = 0.0
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if mode == "bar":
            self._progress = Progress(
                TextColumn("[bold]llmtest"),
                BarColumn(),
                TextColumn("{task.completed}/{task.total}"),
                TextColumn("{task.fields[counts]}"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
            )
            self._task = self._progress.add_task("run", total=self.total, counts="")

    def __enter__(self) -> Display:
        if self._progress is not None:
            self._progress.start()
        elif self.mode == "plain":
            self.console.print(f"llmtest: running {plural(self.total, 'case')}", markup=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def retry(self, event: RetryEvent) -> None:
        self.retrying += 1
        if self.mode == "plain":
            self.console.print(
                f"retrying {event.case_id} in {event.delay_s:.1f}s "
                f"(retry {event.retry}): {event.reason}",
                markup=False,
                highlight=False,
            )

    def update(self, outcome: CaseOutcome, totals: RunTotals) -> None:
        counts = (
            f"[green]{totals.passed} passed[/] [red]{totals.failed} failed[/] "
            f"[yellow]{totals.errors} errors[/] {totals.retries} retries"
        )
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=totals.cases, counts=counts)
        elif self.mode == "plain":
            now = time.monotonic()
            if now - self._last_line >= PLAIN_PROGRESS_EVERY_S or totals.cases == self.total:
                self._last_line = now
                self.console.print(
                    f"[{totals.cases}/{self.total}] {totals.passed} passed, {totals.failed} "
                    f"failed, {totals.errors} errors, {totals.retries} retries",
                    markup=False,
                    highlight=False,
                )


MAX_PROBLEMS_SHOWN = 20


def _print_summary(
    out: Console,
    plan: RunPlan,
    totals: RunTotals,
    elapsed: float,
    path: Path,
    verdict: tuple[int, str],
    whole: Counts | None = None,
    *,
    replaced_earlier: bool = False,
) -> None:
    """A few short lines that read well in a terminal and in a CI log alike."""
    latencies = sorted(totals.latencies)
    models = ", ".join(model_label(m.name) for m in plan.models) or "-"
    out.print(
        f"[bold]llmtest run[/] · {plural(totals.cases + totals.skipped, 'case')} on {models} · "
        f"{elapsed:.1f} s",
        highlight=False,
    )
    out.print(
        f"  [green]{totals.passed} passed[/] · [red]{totals.failed} failed[/] · "
        f"[yellow]{totals.errors} errors[/] · {totals.skipped} skipped · "
        f"{totals.retries} retries",
        highlight=False,
    )
    figures = []
    if latencies:
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        figures.append(f"latency p50 {latencies[len(latencies) // 2]:.0f} ms, p95 {p95:.0f} ms")
    figures.append(f"{totals.tokens} tokens" if totals.usage_reported else "tokens not reported")
    if totals.cost_reported:
        figures.append(f"cost ${totals.cost_usd:.4f}")
    out.print("  " + " · ".join(figures), highlight=False)
    for outcome in totals.problems[:MAX_PROBLEMS_SHOWN]:
        case = outcome.execution.case
        label = "ERROR" if outcome.status == "error" else "FAILED"
        out.print(
            f"{label} {case.suite}::{case.id} - {_one_line(outcome)[:200]}",
            markup=False,
            highlight=False,
        )
    if len(totals.problems) > MAX_PROBLEMS_SHOWN:
        out.print(f"… and {len(totals.problems) - MAX_PROBLEMS_SHOWN} more", markup=False)
    if plan.already_done:
        out.print(f"{plural(plan.already_done, 'case')} already in the resumed file", markup=False)
    if whole is not None:
        out.print(
            f"the whole run: {plural(whole.cases, 'case')} · {whole.passed} passed · "
            f"{whole.failed} failed · {whole.errors} errors · {whole.skipped} skipped",
            markup=False,
        )
    replaced = " (it held an earlier run: replaced)" if replaced_earlier else ""
    out.print(f"results: {path}{replaced}", markup=False, highlight=False)
    code, why = verdict
    out.print(f"verdict: {why} (exit {code})", markup=False)
    sys.stdout.flush()
