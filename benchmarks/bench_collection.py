"""Collection speed: a 10,000-case JSONL library under ``pytest --collect-only -q``.

Target: collecting a 10,000-case JSONL library (``pytest --collect-only -q``) takes under
3 s on this machine (wall clock, interpreter start-up included).

What it does: writes a temp project with one ``test_library.llm.jsonl`` of N cases, a
realistic mix of the seed dictionary style (``input``, ``expected_contains``,
``expected_not_contains``, ``schema``, ``expected_format``) and the ``assert`` style
(``contains``, ``not_contains``, ``regex``, ``similarity``, inline ``json_schema``,
templated ``vars``, ``tags``), after a ``{"suite": ...}`` settings line. It times
``pytest --collect-only -q -p no:cacheprovider`` (median and min of --runs) and breaks the
figure down into: bare interpreter start-up, ``pytest --version``, collecting an empty
project (start-up + plugin import + session), and ``llmtest.cases.load_suite`` alone in a
fresh interpreter; the rest is pytest's per-item work (nodes, markers, keywords).

Run from the repo root with the project's virtualenv::

    .venv/bin/python benchmarks/bench_collection.py
    .venv/bin/python benchmarks/bench_collection.py --cases 20000 --runs 5 --importtime
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PYTHON,
    REPO,
    gc_probe,
    machine,
    median,
    pytest_cmd,
    run_timed,
    summary_counts,
    use_bytecode_cache,
    verdict,
    write_pyproject,
)

TARGET_S = 3.0

TOPICS = [
    "refunds",
    "shipping",
    "warranty",
    "billing",
    "accounts",
    "privacy",
    "returns",
    "orders",
    "discounts",
    "loyalty",
    "security",
    "outage",
    "pricing",
    "delivery",
]
TAGS = [
    "smoke",
    "regression",
    "critical",
    "policy",
    "injection",
    "pii",
    "jailbreak",
    "format",
    "tone",
    "safety",
    "billing",
    "multilingual",
    "rag",
    "long-context",
]
CITIES = ["Paris", "Berlin", "Madrid", "Rome", "Lisbon", "Vienna", "Prague", "Oslo"]
SCHEMA = {
    "type": "object",
    "required": ["order_id", "items"],
    "properties": {
        "order_id": {"type": "string", "pattern": "^[A-Z]{2}-\\d+$"},
        "items": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["sku", "qty"],
                "properties": {"sku": {"type": "string"}, "qty": {"type": "integer", "minimum": 1}},
            },
        },
        "note": {"type": ["string", "null"]},
    },
    "additionalProperties": False,
}


def make_case(i: int, rng: random.Random) -> dict[str, object]:
    topic = rng.choice(TOPICS)
    kind = i % 10
    if kind < 4:  # seed dictionary style, no id: generated from the prompt
        case: dict[str, object] = {
            "input": f"Customer #{i} asks about {topic}: what is the policy for order {i}?",
            "expected_contains": [topic, str(i)][: rng.randint(1, 2)],
        }
        if rng.random() < 0.5:
            case["expected_not_contains"] = ["As an AI language model", "system prompt"]
        if kind == 3:
            case["expected_format"] = "json"
            if rng.random() < 0.5:
                case["schema"] = {
                    "type": "object",
                    "required": ["answer"],
                    "properties": {"answer": {"type": "string"}},
                }
        return case
    assertions: list[dict[str, object]] = [{"contains": [topic]}]
    if rng.random() < 0.6:
        assertions.append(
            {"not_contains": {"values": ["I cannot help", "as an AI"], "ignore_case": True}}
        )
    if rng.random() < 0.4:
        assertions.append({"regex": {"pattern": rf"\b{i}\b|order\s+#?\d+", "ignore_case": True}})
    if rng.random() < 0.3:
        assertions.append(
            {
                "similarity": {
                    "reference": f"The {topic} policy for order {i} is 30 days from delivery.",
                    "min": 0.6,
                    "method": rng.choice(["ratio", "token_set_ratio"]),
                }
            }
        )
    if kind == 9:
        assertions.append({"json_schema": SCHEMA})
    case = {
        "id": f"{topic}-{i:05d}",
        "prompt": f"[{topic}] Customer from {{{{city}}}} asks (ticket {i}): how do I handle this?",
        "vars": {"city": rng.choice(CITIES)},
        "tags": rng.sample(TAGS, rng.randint(0, 3)),
        "assert": assertions,
    }
    if rng.random() < 0.1:
        case["description"] = f"Regression for ticket {i} ({topic})"
    if rng.random() < 0.05:
        case["params"] = {"temperature": 0, "max_tokens": 200}
    return case


def write_library(project: Path, cases: int, seed: int = 0) -> Path:
    rng = random.Random(seed)
    path = project / "test_library.llm.jsonl"
    with path.open("w") as out:
        out.write(
            json.dumps(
                {
                    "suite": {
                        "description": "bench library",
                        "tags": ["library"],
                        "system": "You are Acme's support agent.",
                    }
                }
            )
            + "\n"
        )
        for i in range(cases):
            out.write(json.dumps(make_case(i, rng)) + "\n")
    return path


LOAD_SNIPPET = r"""
import cProfile, json, pstats, sys, time
t0 = time.perf_counter()
from llmtest.cases import load_suite
from llmtest.plugins.registry import assertion_types
t1 = time.perf_counter()
assertion_types()
t2 = time.perf_counter()
suite = load_suite(sys.argv[1], "test_library.llm.jsonl")
t3 = time.perf_counter()
prof = cProfile.Profile()
prof.enable()
load_suite(sys.argv[1], "test_library.llm.jsonl")
prof.disable()
stats = pstats.Stats(prof).stats
total = max(ct for (_, _, _), (_, _, _, ct, _) in stats.items())
shares = {}
for (filename, _, func), (_, _, _, ct, _) in stats.items():
    name = f"{filename.rsplit('/', 1)[-1]}:{func}"
    if func in sys.argv[2].split(",") and filename.find("/llmtest/") >= 0:
        shares[name] = shares.get(name, 0.0) + ct / total
print(json.dumps({"import": t1 - t0, "registry": t2 - t1, "load": t3 - t2,
                  "cases": len(suite.cases), "shares": shares}))
"""

# Functions of llmtest whose cumulative share of load_suite is reported (when they exist;
# names that disappear in a refactor are simply not shown).
BREAKDOWN = (
    "read_suite",
    "first_problem",
    "compile_schema",
    "build_regex",
    "render_value",
    "render",
    "_case_hash",
    "build_similarity",
    "build_contains",
    "build_not_contains",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--importtime",
        action="store_true",
        help="also list the slowest imports of an empty collection",
    )
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="keep this sandbox's PYTHONDONTWRITEBYTECODE=1 (cold imports)",
    )
    args = parser.parse_args()

    print(f"bench_collection  ({machine()}; {time.strftime('%Y-%m-%d %H:%M')})")
    with tempfile.TemporaryDirectory(prefix="llmtest-bench-") as tmp:
        root = Path(tmp)
        print(f"  {use_bytecode_cache(not args.no_bytecode_cache, root / 'pycache')}")
        project, empty = root / "project", root / "empty"
        project.mkdir()
        empty.mkdir()
        write_pyproject(project, None)
        write_pyproject(empty, None)
        library = write_library(project, args.cases)
        size = library.stat().st_size
        print(f"  {args.cases} cases, {size / 1e6:.1f} MB JSONL, {args.runs} runs")

        collect_cmd = pytest_cmd("--collect-only", "-q", "-p", "no:cacheprovider")
        warm = root / "warm"  # untimed warm-up of the bytecode cache: every import path
        warm.mkdir()
        write_pyproject(warm, None)
        write_library(warm, 50)
        run_timed(collect_cmd, warm)
        times = []
        for _ in range(args.runs):
            timed = run_timed(collect_cmd, project)
            counts = summary_counts(timed.stdout)
            if timed.returncode != 0 or counts.get("collected") != args.cases:
                print(f"  collection failed or incomplete (exit {timed.returncode}, {counts}):")
                print("    " + timed.tail().replace("\n", "\n    "))
                return 0
            times.append(timed.seconds)
        total, best = median(times), min(times)

        startup = median([run_timed([PYTHON, "-c", "pass"], REPO).seconds for _ in range(3)])
        version = median([run_timed(pytest_cmd("--version"), empty).seconds for _ in range(3)])
        empty_runs = [run_timed(collect_cmd, empty) for _ in range(3)]
        empty_s = median([t.seconds for t in empty_runs])
        load = run_timed([PYTHON, "-c", LOAD_SNIPPET, str(library), ",".join(BREAKDOWN)], project)
        try:
            parts = json.loads(load.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            print("  load_suite in-process failed:\n    " + load.tail().replace("\n", "\n    "))
            parts = {
                "import": float("nan"),
                "registry": float("nan"),
                "load": float("nan"),
                "shares": {},
            }

        rest = total - empty_s - parts["load"]
        print(
            f"  pytest --collect-only -q (wall): median {total:.2f} s, min {best:.2f} s "
            f"(runs: {', '.join(f'{t:.2f}' for t in times)})"
        )
        print("  breakdown:")
        print(f"    python -c pass                                  {startup:6.2f} s")
        print(f"    pytest --version                                {version:6.2f} s")
        print(f"    empty project --collect-only (startup+plugins)  {empty_s:6.2f} s")
        print(
            f"    load_suite alone, fresh interpreter             {parts['load']:6.2f} s "
            f"({parts['load'] / args.cases * 1e6:.0f} us/case)"
        )
        for name, share in sorted(parts["shares"].items(), key=lambda kv: -kv[1]):
            print(
                f"      {name:44s}  ~{share * parts['load']:5.2f} s ({share:4.0%} of load_suite, "
                "cumulative, from cProfile)"
            )
        print(
            f"      (import llmtest.cases {parts['import']:.2f} s and the assertion registry "
            f"{parts['registry']:.2f} s are not in this figure)"
        )
        print(
            f"    rest: pytest items, markers, GC, shutdown       {rest:6.2f} s "
            f"({rest / args.cases * 1e6:.0f} us/case)"
        )
        probe = gc_probe(project, collect_cmd)
        if probe is not None:
            print(
                f"    of the whole run (one instrumented run, {probe['wall']:.2f} s): cyclic GC "
                f"{probe['gc']:.2f} s ({probe['gc2_count']} full collections: "
                f"{probe['gc2']:.2f} s); interpreter shutdown after atexit "
                f"{probe['shutdown']:.2f} s"
            )
        print(f"  target: < {TARGET_S:.1f} s")
        print(
            f"  {verdict(total < TARGET_S)}: collect {args.cases} cases, median {total:.2f} s "
            f"vs < {TARGET_S:.1f} s"
        )

        if args.importtime:
            timed = run_timed(
                [
                    PYTHON,
                    "-X",
                    "importtime",
                    "-m",
                    "pytest",
                    "--collect-only",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                ],
                empty,
            )
            rows = []
            for line in timed.stderr.splitlines():
                if not line.startswith("import time:") or "cumulative" in line:
                    continue
                self_us, cum_us, name = line.split(":", 1)[1].split("|", 2)
                rows.append((int(cum_us), int(self_us), name.rstrip()))
            print("  slowest imports of an empty collection (cumulative ms, self ms):")
            for cum, self_t, name in sorted(rows, reverse=True)[:20]:
                print(f"    {cum / 1000:7.1f} {self_t / 1000:7.1f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
