"""``llmtest merge``: combine the results files of shards (or resumed pieces) into one."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from llmtest.errors import LLMTestError
from llmtest.results.jsonl import ResultsFile, load_results, new_run_id, write_results


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "merge",
        help="combine results files of shards into one",
        description="Combine results files (e.g. one per CI shard) into one file. Runs of "
        "different models or of different versions of a suite are refused unless --force.",
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="RESULTS")
    parser.add_argument("--out", required=True, type=Path, metavar="PATH")
    parser.add_argument(
        "--force", action="store_true", help="merge even across models or suite versions"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    merged = merge([load_results(path) for path in args.files], force=args.force)
    write_results(args.out, merged[0], merged[1])
    print(f"merged {len(args.files)} files, {len(merged[1])} case records -> {args.out}")
    return 0


def merge(
    files: list[ResultsFile], *, force: bool = False
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The merged header and records; raises LLMTestError when the runs do not belong
    together (different model, a suite at two versions, the same attempt twice)."""
    if not files:
        raise LLMTestError("nothing to merge")
    for results in files:
        if not results.headers:
            raise LLMTestError(f"{results.path}: no run header; is this a results file?")
    models = {_model_name(f.header) for f in files}
    if len(models) > 1 and not force:
        raise LLMTestError(
            f"refusing to merge runs of different models ({', '.join(sorted(models))}); "
            "pass --force to merge anyway"
        )
    suites: dict[str, str] = {}
    for results in files:
        for suite, digest in results.header.get("suites", {}).items():
            if suites.setdefault(suite, digest) != digest and not force:
                raise LLMTestError(
                    f"refusing to merge: {suite} differs between the runs (edited between "
                    "shards?); pass --force to merge anyway"
                )
    seen: dict[tuple[str, str, str, int], Path] = {}
    cases: list[dict[str, Any]] = []
    for results in files:
        for record in results.cases:
            key = (
                record["suite"],
                record["case_id"],
                record["case_hash"],
                int(record.get("attempt", 0)),
            )
            if key in seen:
                if force:
                    continue
                raise LLMTestError(
                    f"case {key[1]!r} of {key[0]} (attempt {key[3]}) is in both {seen[key]} "
                    f"and {results.path}; do the shards overlap? pass --force to keep the first"
                )
            seen[key] = results.path
            cases.append(record)
    header = dict(files[0].header)
    header.update(
        run_id=new_run_id(),
        suites=suites,
        merged_from=[f.header.get("run_id") for f in files],
        started_at=min(str(f.header.get("started_at", "")) for f in files),
    )
    return header, cases


def _model_name(header: dict[str, Any]) -> str:
    model = header.get("model", {})
    return str(model.get("name", "?")) if isinstance(model, dict) else str(model)
