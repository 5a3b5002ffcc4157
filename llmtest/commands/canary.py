"""``llmtest canary``: the same cases on the baseline and the candidate model in one run,
interleaved, then the comparison and the gate's verdict as the exit code."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from llmtest.commands.run import Display, add_run_arguments, prepare
from llmtest.compare.comparison import compare_results
from llmtest.compare.gate import evaluate_gate, load_gate
from llmtest.compare.output import emit_reports
from llmtest.engine.plan import Lane, execute_lanes
from llmtest.errors import LLMTestError
from llmtest.results.history import History
from llmtest.results.jsonl import (
    ResultWriter,
    RunHeader,
    git_sha,
    header_model,
    load_results,
    new_run_id,
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "canary",
        help="run the cases on a baseline and a candidate model and gate the promotion",
        description="Run every case on both models in one interleaved run (a slow minute at "
        "the provider hurts both alike), write both results files, compare them and apply "
        "the gate. Exit 0 = promote, 1 = blocked, 2 = cannot decide.",
    )
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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    console = Console(stderr=True, soft_wrap=True)
    policy = load_gate(args.gate)
    prepared = prepare(args, console)
    if isinstance(prepared, int):
        return prepared
    lanes: list[Lane] = []
    for side, spec in (("baseline", args.baseline), ("candidate", args.candidate)):
        plan = prepared.planner(args, spec).plan(prepared.suites)
        run_id = new_run_id()
        writer = ResultWriter(args.out / f"{side}.jsonl")
        if writer.path.stat().st_size:
            writer.close()
            raise LLMTestError(f"{writer.path} already holds a run; choose another --out folder")
        writer.write_header(
            RunHeader(
                run_id=run_id,
                model=header_model(plan.models),
                suites={s.path: s.hash for s in prepared.suites},
                git_sha=git_sha(prepared.root),
                extra={"canary": side},
            )
        )
        lanes.append(Lane(plan, run_id, writer))
    display = Display(console, sum(len(lane.plan.cases) for lane in lanes), args.progress)
    engine = prepared.engine(args, display)
    started = time.perf_counter()
    try:
        with display:
            execute_lanes(lanes, engine, on_outcome=display.update)
    except KeyboardInterrupt:
        console.print("interrupted: the comparison needs both runs complete", markup=False)
        return 130
    finally:
        engine.close()
        for lane in lanes:
            if lane.writer is not None:
                lane.writer.close()
    console.print(
        f"ran {sum(lane.totals.cases for lane in lanes)} cases on two models in "
        f"{time.perf_counter() - started:.1f} s; results in {args.out}/",
        markup=False,
        highlight=False,
    )
    paths = [args.out / "baseline.jsonl", args.out / "candidate.jsonl"]
    if not args.no_history:
        for path in paths:
            History(args.history).import_file(path)
    comparison = compare_results(load_results(paths[0]), load_results(paths[1]))
    gate = evaluate_gate(comparison, policy)
    emit_reports(comparison, gate, args)
    return gate.exit_code
