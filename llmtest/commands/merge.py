"""``llmtest merge``: combine the results files of shards (or resumed pieces) into one."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from llmtest.errors import LLMTestError
from llmtest.results.jsonl import ResultsFile, load_results, new_run_id, write_results
from llmtest.results.record import CaseResult, RunHeader

SUMMARY = "combine results files of shards into one"
DESCRIPTION = (
    "Combine results files (e.g. one per CI shard) into one file. Runs of different models "
    "or of different versions of a suite are refused unless --force."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="RESULTS")
    parser.add_argument("--out", required=True, type=Path, metavar="PATH")
    parser.add_argument(
        "--force",
        action="store_true",
        help="merge even across models or suite versions, or a file that ends in a torn line",
    )


def run(args: argparse.Namespace) -> int:
    header, cases = merge([load_results(path) for path in args.files], force=args.force)
    write_results(args.out, header, cases)
    print(f"merged {len(args.files)} files, {len(cases)} case records -> {args.out}")
    return 0


def merge(files: list[ResultsFile], *, force: bool = False) -> tuple[RunHeader, list[CaseResult]]:
    """The merged header and records; raises LLMTestError when the runs do not belong
    together (different model, a suite at two versions, the same attempt twice)."""
    if not files:
        raise LLMTestError("nothing to merge")
    for results in files:
        if results.skipped_lines and not force:
            # The merged file would look whole: a gate reading it could not tell.
            raise LLMTestError(
                f"refusing to merge: {results.path} ends in a torn line (its run did not "
                "finish); resume that run first, or pass --force to merge its whole lines"
            )
    headers = [_header(results) for results in files]
    models = {header.model_name or "?" for header in headers}
    if len(models) > 1 and not force:
        raise LLMTestError(
            f"refusing to merge runs of different models ({', '.join(sorted(models))}); "
            "pass --force to merge anyway"
        )
    suites: dict[str, str] = {}
    for header in headers:
        for suite, digest in header.suites.items():
            if suites.setdefault(suite, digest) != digest and not force:
                raise LLMTestError(
                    f"refusing to merge: {suite} differs between the runs (edited between "
                    "shards?); pass --force to merge anyway"
                )
    seen: dict[tuple[str, str, str, int], Path] = {}
    cases: list[CaseResult] = []
    for results in files:
        for record in results.cases:
            key = (record.suite, record.case_id, record.case_hash, record.attempt)
            if key in seen:
                if force:
                    continue
                raise LLMTestError(
                    f"case {key[1]!r} of {key[0]} (attempt {key[3]}) is in both {seen[key]} "
                    f"and {results.path}; do the shards overlap? pass --force to keep the first"
                )
            seen[key] = results.path
            cases.append(record)
    merged = replace(
        headers[0],
        run_id=new_run_id(),
        suites=suites,
        started_at=min(header.started_at for header in headers),
        extra={**headers[0].extra, "merged_from": [header.run_id for header in headers]},
    )
    return merged, cases


def _header(results: ResultsFile) -> RunHeader:
    if results.header is None:
        raise LLMTestError(f"{results.path}: no run header; is this a results file?")
    return results.header
