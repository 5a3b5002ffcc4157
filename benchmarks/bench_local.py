"""The ``local`` adapter under pytest: 50 cases on the built-in model, concurrent vs serial.

Target (acceptance of the local-adapter issue): 50 cases run through pytest with
``--llm-concurrency 16`` against the packaged Gemma 3 270M model without a crash, no slower
than serially (``--llm-concurrency 1``), and, at temperature 0, with the same answers.

What it does: writes a temp project (pyproject.toml with a ``tiny`` alias for the local
adapter, temperature 0, max_tokens 32) and one ``test_local.llm.yaml`` of 50 varied cases
(short facts, answers found in the prompt or in a system prompt, JSON requests with
max_tokens 48, a little arithmetic and translation). The model file is the built-in one in
the shared per-user cache (``LLMTEST_CACHE_DIR`` or platformdirs' user cache folder, see
docs/adapters.md), assembled there first when it is not yet.
After one untimed warm-up (bytecode cache, page cache of the model file), it times
``pytest -q --llm-concurrency 1`` and ``--llm-concurrency 16`` alternately (--runs each,
so drift on a shared machine hits both alike), each writing its records with
``--llm-results`` (the response cache is off, so every case really runs the model). It
checks exit codes (0, or 1 when a model answer fails an assertion), that no case errored,
that every run answered all 50 cases, and that every run gave exactly the same outputs.
It also prints the llama.cpp time of each run (the sum of the per-call latencies in the
results file) and the run-by-run differences, to tell a real difference from drift.

The machine is shared, and llama.cpp's threads slow down many times over when another
process takes a core (see llmtest/adapters/local.py), so before each timed run it waits (up to
--max-wait s) until other processes leave the CPUs idle, measures the CPU seconds they used
during the run, and runs it again (up to --reruns times) when that exceeds --noisy.
``--side-by-side`` also times two concurrent runs at once (two suites, or pytest-xdist
workers, on one machine), with the adapter's short OpenMP spin and with libgomp's default.

Run from the repository root::

    .venv/bin/python benchmarks/bench_local.py                   # ~2 min
    .venv/bin/python benchmarks/bench_local.py --side-by-side    # ~4 min
    .venv/bin/python benchmarks/bench_local.py --option n_threads=1
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    ENV_OVERRIDES,
    Timed,
    machine,
    median,
    pytest_cmd,
    run_timed,
    summary_counts,
    use_bytecode_cache,
    verdict,
)

FACTS = [
    ("capital-france", "What is the capital of France?", "Paris"),
    ("capital-japan", "What is the capital of Japan?", "Tokyo"),
    ("capital-germany", "What is the capital of Germany?", "Berlin"),
    ("capital-spain", "What is the capital of Spain?", "Madrid"),
    ("capital-egypt", "What is the capital of Egypt?", None),
    ("capital-canada", "What is the capital of Canada?", None),
    ("author-romeo", "Who wrote Romeo and Juliet?", None),
    ("author-1984", "Who wrote the novel 1984?", None),
    ("planet-largest", "What is the largest planet in the solar system?", None),
    ("planet-red", "Which planet is known as the Red Planet?", None),
    ("gold-symbol", "What is the chemical symbol for gold?", None),
    ("water-boils", "At what temperature in Celsius does water boil?", None),
    ("week-days", "How many days are there in a week?", None),
    ("ocean-largest", "What is the largest ocean on Earth?", None),
    ("mona-lisa", "Who painted the Mona Lisa?", None),
    ("speed-light", "What is the speed of light in a vacuum?", None),
    ("continent-egypt", "On which continent is Egypt?", None),
    ("language-brazil", "What language is spoken in Brazil?", None),
    ("year-moon", "In which year did humans first land on the Moon?", None),
    ("gas-plants", "Which gas do plants absorb from the air?", None),
]

IN_PROMPT = [
    ("shop-opens", "Our shop opens at 8 am and closes at 6 pm. When does the shop close?"),
    ("returns", "Items can be returned within 30 days of purchase. How long do I have?"),
    ("shipping", "Standard shipping takes 3 to 5 business days. How long does shipping take?"),
    ("refund", "Refunds are paid to the original card within 10 days. Where does a refund go?"),
    ("meeting", "The meeting moved from Tuesday to Thursday at 3 pm. When is the meeting?"),
    ("password", "Passwords must have at least 12 characters. How long must a password be?"),
    ("warranty", "The kettle has a two-year warranty. How long is the warranty?"),
    ("support-hours", "Support answers calls from 9 to 5 on weekdays. When can I call support?"),
    ("parking", "Parking costs 2 euros per hour, at most 10 euros a day. What is the daily cap?"),
    ("train", "The train to Lyon leaves from platform 7 at 14:05. Which platform is it?"),
]

WITH_SYSTEM = [
    ("sys-returns", "Items can be returned within 30 days.", "How long do I have to return?"),
    ("sys-hours", "The library is open from 10 am to 7 pm.", "When does the library open?"),
    ("sys-price", "A monthly plan costs 9 dollars; a yearly one 90.", "How much is a year?"),
    ("sys-pets", "Dogs are allowed in the hotel, cats are not.", "Can I bring my cat?"),
    ("sys-wifi", "The wifi password is sunflower42.", "What is the wifi password?"),
]

PEOPLE = [
    ("Ann", 30),
    ("Bob", 41),
    ("Chen", 27),
    ("Dana", 55),
    ("Eli", 19),
    ("Fatima", 33),
    ("Goran", 62),
    ("Hana", 24),
]

OTHER = [
    ("add-small", "What is 7 plus 5?"),
    ("add-tens", "What is 20 plus 30?"),
    ("translate-thanks", "Translate 'thank you' into French."),
    ("translate-hello", "Translate 'hello' into Spanish."),
    ("colour-sky", "Name a colour of the sky."),
    ("opposite-hot", "What is the opposite of hot?"),
    ("plural-mouse", "What is the plural of mouse?"),
]


def suite_yaml() -> str:
    """The 50 cases. Assertions are cheap and lenient: the target is speed, no crash and
    the same answers, not the quality of a 270M base model (a failing case is allowed)."""
    lines = [
        "# Written by benchmarks/bench_local.py.",
        "defaults:",
        "  assert:",
        '    - not_contains: ["As an AI language model"]',
        "cases:",
    ]

    def case(case_id: str, prompt: str, extra: list[str]) -> None:
        lines.append(f"  - id: {case_id}")
        lines.append(f"    prompt: {json.dumps(prompt)}")
        lines.extend(f"    {line}" for line in extra)

    for case_id, prompt, expected in FACTS:
        check = [f"assert: [{{contains: [{json.dumps(expected)}]}}]"] if expected else []
        case(case_id, prompt, check)
    for case_id, prompt in IN_PROMPT:
        case(case_id, prompt, [])
    for case_id, system, prompt in WITH_SYSTEM:
        case(case_id, prompt, [f"system: {json.dumps(system)}"])
    for name, age in PEOPLE:
        prompt = f'Return a JSON object with the fields name "{name}" and age {age}.'
        case(f"json-{name.lower()}", prompt, ["params: {max_tokens: 48}"])
    for case_id, prompt in OTHER:
        case(case_id, prompt, [])
    text = "\n".join(lines) + "\n"
    assert text.count("  - id: ") == 50
    return text


def write_project(project: Path, model_path: Path, options: dict[str, Any]) -> None:
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in options.items())
    (project / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n\n"
        "[tool.llmtest.models.tiny]\n"
        'adapter = "local"\n'
        f"model_path = {json.dumps(str(model_path))}\n"
        "temperature = 0\n"
        "max_tokens = 32\n" + extra
    )
    (project / "test_local.llm.yaml").write_text(suite_yaml())


def model_file() -> tuple[Path, str]:
    """The built-in model in the shared cache, as ``local:`` finds it (assembled if missing)."""
    from llmtest.adapters.local import default_model_path, model_cache_dir

    folder = model_cache_dir()
    started = time.perf_counter()
    path = default_model_path(folder)
    return path, f"shared cache {folder}, ready in {time.perf_counter() - started:.1f} s"


def _cpu_jiffies() -> tuple[int, int]:
    """Busy and total jiffies of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_busy(seconds: float = 1.0) -> float:
    """Cores' worth of CPU used over ``seconds`` (by other work: we sleep meanwhile)."""
    busy0, total0 = _cpu_jiffies()
    time.sleep(seconds)
    busy1, total1 = _cpu_jiffies()
    return (os.cpu_count() or 1) * (busy1 - busy0) / max(total1 - total0, 1)


def wait_for_quiet(limit: float, max_wait: float) -> str:
    """Wait until other work uses less than ``limit`` cores; describe the machine's load."""
    waited = 0.0
    busy = cpu_busy()
    while busy > limit and waited < max_wait:
        time.sleep(5)
        waited += 6
        busy = cpu_busy()
    load = Path("/proc/loadavg").read_text().split()[0]
    note = f"before: others {busy:.2f} cores, loadavg {load}"
    if waited:
        note += f", waited {waited:.0f} s"
    return note + (" (BUSY)" if busy > limit else "")


@dataclass
class Measured:
    timed: Timed
    others_cpu: float
    """CPU seconds that other processes used while the run went on (the machine is shared:
    llama.cpp's spinning threads slow down many times over when a core is taken away)."""
    note: str


def measured_run(
    project: Path, concurrency: int, results: Path, args: argparse.Namespace
) -> Measured:
    """One timed run, on a quiet machine; run again (up to --reruns times) when other
    processes took more than --noisy CPU seconds during it."""
    for attempt in range(args.reruns + 1):
        note = wait_for_quiet(args.quiet_cores, args.max_wait)
        results.unlink(missing_ok=True)
        busy0, _ = _cpu_jiffies()
        child0 = _children_cpu()
        timed = run_suite(project, concurrency, results)
        busy1, _ = _cpu_jiffies()
        others = (busy1 - busy0) / os.sysconf("SC_CLK_TCK") - (_children_cpu() - child0)
        run = Measured(timed, max(others, 0.0), note)
        if run.others_cpu <= args.noisy or attempt == args.reruns:
            return run
        print(
            f"    (discarded a --llm-concurrency {concurrency} run of {timed.seconds:.2f} s: "
            f"other processes used {run.others_cpu:.1f} CPU s during it; running it again)"
        )
    raise AssertionError("unreachable")


def run_suite(project: Path, concurrency: int, results: Path) -> Timed:
    args = [
        "-q",
        "-p",
        "no:cacheprovider",
        "--llm-model",
        "tiny",
        "--llm-cache",
        "off",
        "--llm-concurrency",
        str(concurrency),
        "--llm-results",
        str(results.relative_to(project)),
        "test_local.llm.yaml",
    ]
    return run_timed(pytest_cmd(*args), project, timeout=600)


def outputs(results: Path) -> tuple[dict[str, tuple[Any, ...]], float]:
    """Per case: status, output, error, output tokens, from the results file; and the sum
    of the model's own latencies (llama.cpp's time per call, without queueing), in s."""
    found: dict[str, tuple[Any, ...]] = {}
    model_ms = 0.0
    if not results.is_file():
        return found, 0.0
    for line in results.read_text().splitlines():
        record = json.loads(line)
        if record.get("type") == "case":
            usage = record.get("usage") or {}
            found[record["case_id"]] = (
                record["status"],
                record["output"],
                record["error"],
                usage.get("output_tokens"),
            )
            model_ms += record.get("latency_ms") or 0.0
    return found, model_ms / 1000


def check_run(timed: Timed, answers: dict[str, tuple[Any, ...]]) -> tuple[bool, str]:
    counts = summary_counts(timed.stdout)
    errored = sorted(k for k, v in answers.items() if v[2] is not None or v[0] == "error")
    ok = (
        timed.returncode in (0, 1)
        and not counts.get("errors")
        and counts.get("passed", 0) + counts.get("failed", 0) == 50
        and len(answers) == 50
        and not errored
    )
    detail = f"exit {timed.returncode}, " + ", ".join(f"{v} {k}" for k, v in counts.items())
    if errored:
        detail += f"; errored: {', '.join(errored[:5])}"
    return ok, detail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each concurrency")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--model-path", type=Path, default=None, help="a GGUF file to use")
    parser.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="an extra option of the tiny alias, e.g. n_threads=1 (repeatable)",
    )
    parser.add_argument(
        "--quiet-cores",
        type=float,
        default=0.35,
        help="before each timed run, wait until other processes use fewer cores than this",
    )
    parser.add_argument("--max-wait", type=float, default=120, help="seconds to wait for that")
    parser.add_argument(
        "--noisy",
        type=float,
        default=1.0,
        help="a run during which other processes used more CPU seconds than this is redone",
    )
    parser.add_argument("--reruns", type=int, default=2, help="how often a noisy run is redone")
    parser.add_argument(
        "--side-by-side",
        action="store_true",
        help="also time two concurrent runs at once, with the adapter's OpenMP spin and with "
        "libgomp's default (as before the adapter set it)",
    )
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="keep this sandbox's PYTHONDONTWRITEBYTECODE=1 (cold imports)",
    )
    args = parser.parse_args()
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)}

    print(f"bench_local  ({machine()}; {time.strftime('%Y-%m-%d %H:%M')})")
    with tempfile.TemporaryDirectory(prefix="llmtest-bench-local-") as tmp:
        cache_note = use_bytecode_cache(not args.no_bytecode_cache, Path(tmp) / "pycache")
        if args.model_path is not None:
            path, how = args.model_path.resolve(), "given"
        else:
            path, how = model_file()
        print(f"  {cache_note}")
        print(f"  model: {path} ({how})")
        extra = ", ".join(f"{k} = {v!r}" for k, v in options.items())
        print(
            f"  50 cases, temperature 0, max_tokens 32 (JSON cases 48), {args.runs} runs each "
            f"of --llm-concurrency 1 and {args.concurrency}, alternating"
            + (f"; alias options: {extra}" if extra else "")
        )
        project = Path(tmp) / "project"
        project.mkdir()
        write_project(project, path, options)
        code = _measure(args, project)
        if code == 0 and args.side_by_side:
            print()
            side_by_side(project, args)
        return code


def _measure(args: argparse.Namespace, project: Path) -> int:
    warm = project / "warmup.jsonl"
    timed = run_suite(project, args.concurrency, warm)
    ok, detail = check_run(timed, outputs(warm)[0])
    print(
        f"  warm-up (untimed, --llm-concurrency {args.concurrency}): "
        f"{timed.seconds:.2f} s ({detail})"
    )
    if not ok:
        print("    " + timed.tail().replace("\n", "\n    "))
        return 1

    times: dict[int, list[float]] = {1: [], args.concurrency: []}
    model: dict[int, list[float]] = {1: [], args.concurrency: []}
    answers: dict[tuple[int, int], dict[str, tuple[Any, ...]]] = {}
    all_ok = True
    disturbed = 0
    for n in range(args.runs):
        for concurrency in (1, args.concurrency):
            results = project / f"results-c{concurrency}-{n}.jsonl"
            run = measured_run(project, concurrency, results, args)
            timed = run.timed
            answers[concurrency, n], model_s = outputs(results)
            model[concurrency].append(model_s)
            ok, detail = check_run(timed, answers[concurrency, n])
            all_ok &= ok
            times[concurrency].append(timed.seconds)
            disturbed += run.others_cpu > args.noisy
            print(
                f"  run {n + 1}, --llm-concurrency {concurrency:>2}: {timed.seconds:6.2f} s wall "
                f"({detail}; model time {model_s:.2f} s) [{run.note}; during: others "
                f"{run.others_cpu:.2f} CPU s{' (NOISY)' if run.others_cpu > args.noisy else ''}]"
            )
            if not ok:
                print("    " + timed.tail().replace("\n", "\n    "))

    reference = answers[1, 0]
    differing: set[str] = set()
    for found in answers.values():
        differing |= {
            k for k in reference.keys() | found.keys() if reference.get(k) != found.get(k)
        }
    identical = not differing and len(reference) == 50
    serial, concurrent = median(times[1]), median(times[args.concurrency])
    args.alone = concurrent
    print()
    print(
        f"  serial     (--llm-concurrency 1):  median {serial:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times[1])})"
    )
    print(
        f"  concurrent (--llm-concurrency {args.concurrency}): median {concurrent:.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times[args.concurrency])}); "
        f"{concurrent / serial:.2f} x serial"
    )
    pairs = [c - s for s, c in zip(times[1], times[args.concurrency], strict=True)]
    model_pairs = [c - s for s, c in zip(model[1], model[args.concurrency], strict=True)]
    print(
        f"  run by run, concurrent minus serial: wall {_signed(pairs)} s; "
        f"llama.cpp time {_signed(model_pairs)} s"
    )
    print(
        f"  llama.cpp time, median: serial {median(model[1]):.2f} s, concurrent "
        f"{median(model[args.concurrency]):.2f} s; spread of the serial runs "
        f"{max(times[1]) - min(times[1]):.2f} s, of the concurrent runs "
        f"{max(times[args.concurrency]) - min(times[args.concurrency]):.2f} s"
    )
    overhead = {c: [t - m for t, m in zip(times[c], model[c], strict=True)] for c in times}
    print(
        "  wall minus llama.cpp time (start-up, model load, collection, pytest, the engine): "
        f"serial {', '.join(f'{v:.2f}' for v in overhead[1])} s, concurrent "
        f"{', '.join(f'{v:.2f}' for v in overhead[args.concurrency])} s"
    )
    print(
        f"  outputs identical in all {len(answers)} runs (serial and concurrent): "
        + ("yes" if identical else f"NO, {len(differing)} cases differ: {sorted(differing)[:8]}")
    )
    print(f"  {verdict(all_ok)}: every run answered all 50 cases, exit 0/1, no case errored")
    if disturbed:
        print(
            f"  NOTE: {disturbed} of the runs above were slowed by other processes even after "
            f"{args.reruns} reruns; the timing verdict below is not reliable"
        )
    print(
        f"  {verdict(concurrent <= serial and all_ok and identical)}: target concurrent <= serial: "
        f"median {concurrent:.2f} s vs {serial:.2f} s, same outputs: {'yes' if identical else 'no'}"
    )
    return 0


def side_by_side(project: Path, args: argparse.Namespace) -> None:
    """Two concurrent runs at the same time (two suites, or pytest-xdist workers, on one
    machine): with the adapter's short OpenMP spin, then with libgomp's default spin count
    (300,000, what the adapter got before it set its own)."""
    print(
        f"  side by side: two --llm-concurrency {args.concurrency} runs at once "
        f"(one alone takes about {args.alone:.0f} s)"
    )
    for label, spin in (("adapter default", None), ("GOMP_SPINCOUNT=300000", "300000")):
        wait_for_quiet(args.quiet_cores, args.max_wait)
        for n in (1, 2):
            (project / f"pair-{n}.jsonl").unlink(missing_ok=True)
        ENV_OVERRIDES["GOMP_SPINCOUNT"] = spin
        try:
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                runs = list(
                    pool.map(
                        lambda n: run_suite(project, args.concurrency, project / f"pair-{n}.jsonl"),
                        (1, 2),
                    )
                )
        finally:
            ENV_OVERRIDES.pop("GOMP_SPINCOUNT", None)
        details = [
            check_run(run, outputs(project / f"pair-{n}.jsonl")[0]) for n, run in enumerate(runs, 1)
        ]
        print(
            f"    {label:>22}: {runs[0].seconds:6.2f} s and {runs[1].seconds:6.2f} s "
            f"({'; '.join(detail for _, detail in details)})"
        )


def _signed(values: list[float]) -> str:
    return ", ".join(f"{v:+.2f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
