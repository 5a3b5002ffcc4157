"""``llmtest canary``: the same cases on the baseline and the candidate model in one run,
interleaved, then the comparison and the gate's verdict as the exit code."""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.console import Console

from llmtest._text import plural
from llmtest.commands.run import Display, add_run_arguments, prepare
from llmtest.compare.comparison import Comparison, compare_results
from llmtest.compare.confirmation import Side, confirm_regressions, confirmation_levels
from llmtest.compare.gate import GatePolicy, evaluate_gate, load_gate
from llmtest.compare.history import known_flaky
from llmtest.compare.output import emit_reports
from llmtest.compare.pairing import CasePair
from llmtest.engine.engine import Job
from llmtest.engine.evaluation import evaluate
from llmtest.engine.plan import PlannedCase
from llmtest.engine.session import Lane, RunSession, execute_lanes
from llmtest.engine.settings import ModelChoice
from llmtest.results.jsonl import load_results
from llmtest.results.record import CaseResult

SUMMARY = "run the cases on a baseline and a candidate model and gate the promotion"
DESCRIPTION = (
    "Run every case on both models in one interleaved run (a slow minute at the provider "
    "hurts both alike), write both results files, compare them and apply the gate. Exit 0 = "
    "promote, 1 = blocked, 2 = cannot decide."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, models=())
    parser.add_argument(
        "--baseline",
        required=True,
        metavar="SPEC",
        help="the model in production (an alias or a spec)",
    )
    parser.add_argument(
        "--candidate", required=True, metavar="SPEC", help="the model that would replace it"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs"),
        metavar="DIR",
        help="folder for baseline.jsonl and candidate.jsonl (default runs/)",
    )
    parser.add_argument(
        "--gate", type=Path, metavar="FILE", help="TOML gate policy (default: [tool.llmtest.gate])"
    )
    for flag, what in (
        ("--markdown", "Markdown"),
        ("--json", "JSON"),
        ("--html", "HTML"),
        ("--junit", "JUnit XML"),
    ):
        parser.add_argument(flag, metavar="PATH", help=f"write the {what} comparison report")


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True, soft_wrap=True, emoji=False)
    policy = load_gate(args.gate)
    prepared = prepare(args, console)
    if isinstance(prepared, int):
        return prepared
    display = Display(console, 0, args.progress)
    session = RunSession(prepared.settings(args), prepared.project, on_retry=display.retry)
    lanes: list[Lane] = []
    suites = {s.path: s.hash for s in prepared.suites}
    plans = {}
    for side, spec in (("baseline", args.baseline), ("candidate", args.candidate)):
        # Both models are checked before either file is opened: a typo in --candidate
        # is named as such and leaves no half-written folder behind.
        chosen = dataclasses.replace(session.settings, model=spec, model_flag=f"--{side}")
        plans[side] = prepared.planner(args, ModelChoice(prepared.project, chosen)).plan(
            prepared.suites
        )
    for side, plan in plans.items():
        output = session.add_output(args.out / f"{side}.jsonl")
        header = session.header(plan.models, suites, run_id=output.run_id, canary=side)
        output.open(header, stream_history=True)
        lanes.append(Lane(plan, output))
    if any(lane.output.replaced for lane in lanes):
        console.print(f"replacing the earlier canary run in {args.out}/", markup=False)
    display.total = sum(len(lane.plan.cases) for lane in lanes)
    display.skipped = sum(len(lane.plan.skipped) for lane in lanes)
    started = time.perf_counter()
    try:
        with display:
            execute_lanes(session, lanes, on_outcome=display.update)
        console.print(
            f"ran {sum(lane.totals.cases for lane in lanes)} cases on two models in "
            f"{time.perf_counter() - started:.1f} s; results in {args.out}/",
            markup=False,
            highlight=False,
        )
        for lane in lanes:
            warning = lane.output.store_history()
            if warning:
                console.print(f"warning: {warning}", markup=False)
        comparison = _compare(args.out)
        if comparison.regressions and policy.confirm_attempts:
            run_calls = sum(lane.totals.calls for lane in lanes)
            calls = _confirm(session, dict(zip(plans, lanes, strict=True)), comparison, policy)
            console.print(
                f"re-ran {plural(len(comparison.regressions), 'regression')} on both models "
                f"to confirm them: {plural(calls, 'extra call')} "
                f"({calls / max(1, run_calls) * 100:.1f}% of the run's {run_calls})",
                markup=False,
                highlight=False,
            )
            comparison = _compare(args.out)
    except KeyboardInterrupt:
        console.print("interrupted: the comparison needs both runs complete", markup=False)
        return 130
    finally:
        session.close()
    history = session.settings.history
    flaky = known_flaky(session.settings.path(history) if history else None, comparison)
    gate = evaluate_gate(comparison, policy, known_flaky=flaky)
    emit_reports(comparison, gate, args)
    return gate.exit_code


def _compare(folder: Path) -> Comparison:
    return compare_results(
        load_results(folder / "baseline.jsonl"), load_results(folder / "candidate.jsonl")
    )


def _confirm(
    session: RunSession, lanes: Mapping[str, Lane], comparison: Comparison, policy: GatePolicy
) -> int:
    """Re-run the regressions on both models; the attempts go into the results files as
    ``confirmation`` records, where the comparison (and a later ``llmtest compare``) finds
    them."""
    planned: dict[tuple[str, tuple[str, str, str]], PlannedCase] = {
        (side, p.case.key): p for side, lane in lanes.items() for p in lane.plan.cases
    }

    def run(requests: Sequence[tuple[CasePair, Side, int]]) -> list[CaseResult]:
        jobs, outputs = [], []
        for pair, side, attempt in requests:
            case = planned[(side, pair.key)]
            jobs.append(Job(case.case, case.model, (attempt,)))
            outputs.append(lanes[side].output)
        results: list[CaseResult] = []
        futures = dict(zip(session.submit(jobs), outputs, strict=True))
        for future in concurrent.futures.as_completed(futures):
            output = futures[future]
            for result in evaluate(future.result(), output.run_id).results:
                output.confirm(result)
                results.append(result)
        return results

    levels = confirmation_levels(comparison.regressions, policy.significance, policy.block_on_tags)
    return confirm_regressions(comparison.regressions, levels, policy.confirm_attempts, run)
