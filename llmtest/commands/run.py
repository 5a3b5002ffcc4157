"""``llmtest run``: every case under the given paths, without pytest's per-item overhead."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from llmtest._text import plural, shown
from llmtest.cases.files import discover
from llmtest.cases.model import Suite
from llmtest.cases.selection import Selection, split_list
from llmtest.config import options
from llmtest.config.project import ProjectConfig, load_project_config, model_label
from llmtest.engine.engine import RetryEvent
from llmtest.engine.evaluation import CaseOutcome
from llmtest.engine.plan import Planner, RunPlan, load_suites
from llmtest.engine.resume import Resumed, check_resume_model, load_resume
from llmtest.engine.session import Lane, RunSession, RunTotals, execute_lanes
from llmtest.engine.settings import ModelChoice, RunSettings
from llmtest.errors import ConfigError, LLMTestError
from llmtest.reports.terminal import latency_line
from llmtest.results.jsonl import load_results, new_run_id, write_results
from llmtest.results.summary import Counts, summarize

PLAIN_PROGRESS_EVERY_S = 5.0


SUMMARY = "run case files against a model and stream results to a JSONL file"
DESCRIPTION = "Run every case file under PATHS (default: the current folder)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
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


def add_run_arguments(parser: argparse.ArgumentParser, *, models: tuple[str, ...]) -> None:
    """What every command that runs cases takes: paths, the shared options, selection."""
    parser.add_argument("paths", nargs="*", type=Path, default=[Path(".")], metavar="PATH")
    names = (
        *models,
        "concurrency",
        "timeout",
        "max-retries",
        "shard",
        "cache",
        "record",
        "repeat",
        "history",
    )
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
    _add_selection_arguments(parser)
    parser.add_argument("--no-history", action="store_true", help="do not record the run")
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "plain", "none"),
        default="auto",
        help="progress display (default: a bar on a terminal, lines otherwise)",
    )


def _add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """Which cases of the paths run."""
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
        "--max-cases",
        type=options.argparse_type(options.positive_int),
        metavar="N",
        help="run at most N cases (a smoke run)",
    )


@dataclass
class Prepared:
    """Loaded suites and what is needed to plan them, or the exit code of bad case files."""

    project: ProjectConfig
    root: Path
    suites: list[Suite]

    def settings(self, args: argparse.Namespace, **fixed: Any) -> RunSettings:
        """The run's settings from the shared options (paths as given: from the current
        folder)."""

        def value(name: str) -> Any:
            option = options.OPTIONS_BY_NAME[name]
            given = getattr(args, option.dest, None)
            return given if given is not None else option.default

        settings = RunSettings.from_options(self.root, value, **fixed)
        return dataclasses.replace(settings, history=None) if args.no_history else settings

    def planner(self, args: argparse.Namespace, models: ModelChoice) -> Planner:
        return Planner(
            models,
            selection=Selection(
                tags=args.tags,
                exclude_tags=args.exclude_tags,
                ids=tuple(args.ids),
                shard=args.llm_shard,
                max_cases=args.max_cases,
            ),
            repeat=args.llm_repeat,
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
            console.print(shown(str(problem)), markup=False, highlight=False)
        return 2
    return Prepared(project, root, suites)


def run(args: argparse.Namespace) -> int:
    # soft_wrap: a message is one line however narrow the terminal (grep-able in CI logs).
    console = Console(stderr=True, soft_wrap=True, emoji=False)
    out = Console(soft_wrap=True, emoji=False)
    prepared = prepare(args, console)
    if isinstance(prepared, int):
        return prepared
    if args.retry_errors and not args.resume:
        raise ConfigError("--retry-errors goes with --resume FILE: the run whose errors to retry")
    resumed = _resume(args, prepared.suites) if args.resume else None
    display = Display(console, 0, args.progress)
    session = _session(args, prepared, resumed, display)
    plan = prepared.planner(args, session.models).plan(
        prepared.suites, resumed.file if resumed else None
    )
    for suite in prepared.suites:
        if not suite.cases:
            console.print(shown(f"{suite.path}: the file has no cases"), markup=False)
    if _nothing_selected(plan, args):  # before any file or history is touched
        found = sum(len(suite.cases) for suite in prepared.suites)
        why = "no case matched the selection" if found else "the case files hold no cases"
        out.print(f"verdict: {why} (exit 2)", markup=False)
        return 2
    if resumed is not None:
        check_resume_model(resumed.header, plan, given=args.llm_model)
        session.output.open(None)  # claimed before it is rewritten
        if resumed.rewrite:
            write_results(args.resume, resumed.header, resumed.file.cases)
    else:
        header = session.header(plan.models, {s.path: s.hash for s in prepared.suites})
        session.output.open(header, stream_history=True)
    display.total, display.skipped = len(plan.cases), len(plan.skipped)
    started = time.perf_counter()
    totals = _execute(args, session, plan, display)
    elapsed = time.perf_counter() - started
    for warning in [*session.warnings(), session.output.store_history()]:
        if warning:
            console.print(f"warning: {warning}", markup=False, highlight=False)
    results_path = Path(session.settings.results or "")
    # A resumed run's verdict is the whole file's, not only this session's share.
    whole = summarize(load_results(results_path)).counts if resumed is not None else None
    verdict = _verdict(totals, whole)
    _print_summary(
        out,
        plan,
        totals,
        elapsed,
        results_path,
        verdict,
        whole,
        replaced_earlier=session.output.replaced,
    )
    return verdict[0]


def _session(
    args: argparse.Namespace, prepared: Prepared, resumed: Resumed | None, display: Display
) -> RunSession:
    """The run's session: a resumed run keeps its run id, its file and (when the command
    line names none) its model."""
    model = args.llm_model or (resumed.model if resumed else None)
    run_id = resumed.header.run_id if resumed and resumed.header.run_id else new_run_id()
    results = Path(args.resume or args.llm_results or f"runs/{run_id}.jsonl")
    settings = prepared.settings(args, model=model, results=results)
    session = RunSession(settings, prepared.project, run_id=run_id, on_retry=display.retry)
    if model is not None:
        try:
            session.models.resolve(model)
        except ConfigError as exc:
            flag = "--model" if args.llm_model else f"the model of {args.resume}"
            raise ConfigError(f"{flag}: {exc}") from None
    return session


def _execute(
    args: argparse.Namespace, session: RunSession, plan: RunPlan, display: Display
) -> RunTotals:
    """Run the plan; Ctrl-C keeps what finished and says how to continue."""
    lane = Lane(plan, session.output)
    try:
        with display:
            execute_lanes(session, [lane], on_outcome=display.update)
    except KeyboardInterrupt:
        lane.totals.interrupted = True
        path = session.settings.results
        display.console.print(
            f"interrupted: every finished case is in {path}; "
            f"continue with: llmtest run {' '.join(map(str, args.paths))} --resume {path}",
            markup=False,
            highlight=False,
        )
    finally:
        session.close()
    return lane.totals


def _resume(args: argparse.Namespace, suites: list[Suite]) -> Resumed:
    if args.llm_results and Path(args.llm_results).resolve() != Path(args.resume).resolve():
        raise ConfigError(
            f"--out {args.llm_results} and --resume {args.resume} name different files; "
            "a resumed run continues in its own file"
        )
    return load_resume(args.resume, suites, retry_errors=args.retry_errors)


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
        self.skipped = 0
        """Cases the case files skip: not run, but counted in the run's summary."""
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
            skipped = f" ({self.skipped} skipped)" if self.skipped else ""
            self.console.print(
                f"llmtest: running {plural(self.total, 'case')}{skipped}", markup=False
            )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def retry(self, event: RetryEvent) -> None:
        self.retrying += 1
        if self.mode == "plain":
            self.console.print(
                shown(
                    f"retrying {event.case_id} in {event.delay_s:.1f}s "
                    f"(retry {event.retry}): {event.reason}"
                ),
                markup=False,
                highlight=False,
            )

    def update(self, outcome: CaseOutcome, totals: RunTotals) -> None:
        counts = (
            f"[green]{totals.passed} passed[/] [red]{totals.failed} failed[/] "
            f"[yellow]{plural(totals.errors, 'error')}[/] "
            f"{plural(totals.retries, 'retry', 'retries')}"
        )
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=totals.cases, counts=counts)
        elif self.mode == "plain":
            now = time.monotonic()
            if now - self._last_line >= PLAIN_PROGRESS_EVERY_S or totals.cases == self.total:
                self._last_line = now
                self.console.print(
                    f"[{totals.cases}/{self.total}] {totals.passed} passed, {totals.failed} "
                    f"failed, {plural(totals.errors, 'error')}, "
                    f"{plural(totals.retries, 'retry', 'retries')}",
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
    models = ", ".join(model_label(m.name) for m in plan.models) or "-"
    out.print(
        f"[bold]llmtest run[/] · {plural(totals.cases + totals.skipped, 'case')} on {models} · "
        f"{elapsed:.1f} s",
        highlight=False,
    )
    out.print(
        f"  [green]{totals.passed} passed[/] · [red]{totals.failed} failed[/] · "
        f"[yellow]{plural(totals.errors, 'error')}[/] · {totals.skipped} skipped · "
        f"{plural(totals.retries, 'retry', 'retries')}",
        highlight=False,
    )
    figures = []
    if totals.latencies:
        figures.append(latency_line(totals.latencies))
    figures.append(f"{totals.tokens} tokens" if totals.usage_reported else "tokens not reported")
    if totals.cost_reported:
        figures.append(f"cost ${totals.cost_usd:.4f}")
    out.print("  " + " · ".join(figures), highlight=False)
    for outcome in totals.problems[:MAX_PROBLEMS_SHOWN]:
        case = outcome.execution.case
        label = "ERROR" if outcome.status == "error" else "FAILED"
        out.print(
            shown(f"{label} {case.suite}::{case.id} - {outcome.headline()}")[:300],
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
            f"{whole.failed} failed · {plural(whole.errors, 'error')} · {whole.skipped} skipped",
            markup=False,
        )
    replaced = " (it held an earlier run: replaced)" if replaced_earlier else ""
    out.print(f"results: {path}{replaced}", markup=False, highlight=False)
    code, why = verdict
    out.print(f"verdict: {why} (exit {code})", markup=False)
    sys.stdout.flush()
