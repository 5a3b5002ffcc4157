"""The gate: rules, their measurements, and the three verdicts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from llmtest.compare import (
    GatePolicy,
    RuleResult,
    Verdict,
    compare_results,
    evaluate_gate,
    load_gate,
)
from llmtest.compare.gate import GateResult
from llmtest.errors import ConfigError
from llmtest.results import load_results
from tests.compare.helpers import gate, pair_files
from tests.reports.builders import case, repeated


def rule(result: GateResult, name: str) -> RuleResult:
    return next(r for r in result.rules if r.name == name)


def test_a_regression_tagged_critical_blocks_and_is_named(tmp_path: Path) -> None:
    policy = GatePolicy(block_on_tags=("critical",), max_regressions=5)
    _, result = gate(
        tmp_path,
        [case("refunds", tags=["critical"]), case("tone"), case("greeting")],
        [case("refunds", "fail", tags=["critical"]), case("tone", "fail"), case("greeting")],
        policy,
    )
    assert result.verdict is Verdict.BLOCKED and result.exit_code == 1
    tags_rule = rule(result, "block_on_tags")
    assert tags_rule.state == "failed" and tags_rule.cases == ("refunds",)
    assert rule(result, "max_regressions").state == "held"
    assert any("refunds" in reason and "block_on_tags" in reason for reason in result.reasons)


def test_only_fixes_promote(tmp_path: Path) -> None:
    comparison, result = gate(
        tmp_path,
        [case("a", "fail", tags=["critical"]), case("b")],
        [case("a", tags=["critical"]), case("b")],
        GatePolicy(max_regressions=0, block_on_tags=("critical",), min_pass_rate=0.9),
    )
    assert [p.case_id for p in comparison.fixes] == ["a"]
    assert result.verdict is Verdict.PROMOTE and result.exit_code == 0
    assert result.failed == ()


def test_errors_beyond_max_errors_cannot_decide(tmp_path: Path) -> None:
    _, result = gate(tmp_path, [case("a"), case("b")], [case("a", "error"), case("b")])
    assert result.verdict is Verdict.CANNOT_DECIDE and result.exit_code == 2
    assert rule(result, "max_errors").measured == "1"
    _, allowed = gate(
        tmp_path, [case("a"), case("b")], [case("a", "error"), case("b")], GatePolicy(max_errors=1)
    )
    assert allowed.verdict is Verdict.PROMOTE


def test_a_candidate_missing_baseline_cases_cannot_promote(tmp_path: Path) -> None:
    """A run that stopped early is no evidence about the cases it never ran."""
    baseline = [case(f"c{i}") for i in range(40)]
    _, result = gate(tmp_path, baseline, baseline[:5])
    assert result.verdict is Verdict.CANNOT_DECIDE and result.exit_code == 2
    assert result.reasons == (
        "max_missing: 35 of the baseline's 40 cases have no record in the candidate, "
        "more than the 0 allowed",
    )
    _, allowed = gate(tmp_path, baseline, baseline[:5], GatePolicy(max_missing=35))
    assert allowed.verdict is Verdict.PROMOTE


def test_a_torn_results_file_cannot_promote(tmp_path: Path) -> None:
    baseline, candidate = pair_files(tmp_path, [case("a")], [case("a")])
    with candidate.path.open("a") as fh:
        fh.write('{"type": "case", "case_id": "tor')  # the process died mid-write
    result = evaluate_gate(
        compare_results(baseline, load_results(candidate.path)), GatePolicy.default()
    )
    assert result.verdict is Verdict.CANNOT_DECIDE
    assert "the candidate's results file ends in a torn line: its run did not finish" in (
        result.reasons
    )


def test_no_paired_case_cannot_decide(tmp_path: Path) -> None:
    _, result = gate(tmp_path, [case("a")], [case("b")])
    assert result.verdict is Verdict.CANNOT_DECIDE
    assert "no case is in both runs" in result.reasons[0]


def test_every_rule_reports_its_measured_value(tmp_path: Path) -> None:
    policy = GatePolicy(
        min_pass_rate=0.9,
        max_regressions=0,
        block_on_tags=("critical",),
        max_latency_p95_ratio=1.5,
        max_cost_ratio=1.5,
        max_pass_rate_drop=0.02,
        explicit=frozenset({"min_pass_rate", "max_cost_ratio"}),
    )
    _, result = gate(
        tmp_path,
        [case(f"c{i}", latency_ms=100.0, cost_usd=0.001) for i in range(4)],
        [case("c0", "fail", latency_ms=300.0, cost_usd=0.003)]
        + [case(f"c{i}", latency_ms=300.0, cost_usd=0.003) for i in range(1, 4)],
        policy,
    )
    measured = {r.name: (r.measured, r.state) for r in result.rules}
    assert measured == {
        "max_errors": ("0", "held"),
        "max_missing": ("0", "held"),
        "max_regressions": ("1", "failed"),
        "block_on_tags": ("0", "held"),
        "min_pass_rate": ("75.0% (95% upper bound 94.2%)", "held"),
        "max_pass_rate_drop": ("25.0 points, p = 0.5", "held"),
        "max_latency_p95_ratio": ("3.00x", "failed"),
        "max_cost_ratio": ("3.00x", "failed"),
    }
    assert result.verdict is Verdict.BLOCKED
    drop = next(r for r in result.rules if r.name == "max_pass_rate_drop")
    assert "pass rate dropped 25.0 points, not significantly (one-sided exact McNemar" in (
        drop.reason
    )
    assert drop.p_value == 0.5


def test_the_gates_min_pass_rate_takes_a_rounded_two_thirds_as_two_of_three(tmp_path: Path) -> None:
    cases = [case("a"), case("b"), case("c", "fail")]
    _, result = gate(tmp_path, cases, cases, GatePolicy(min_pass_rate=0.6667))
    assert rule(result, "min_pass_rate").state == "held"  # 2 of 3, as 0.6667 means


def test_a_significant_pass_rate_drop_blocks(tmp_path: Path) -> None:
    _, result = gate(
        tmp_path,
        [case(f"c{i}") for i in range(10)],
        [case(f"c{i}", "fail") for i in range(6)] + [case(f"c{i}") for i in range(6, 10)],
        GatePolicy(max_pass_rate_drop=0.02),
    )
    drop = next(r for r in result.rules if r.name == "max_pass_rate_drop")
    assert drop.state == "failed" and "p = 0.0156" in drop.measured  # one-sided: 1 / 2^6
    assert result.verdict is Verdict.BLOCKED


def test_missing_cost_is_not_measured_and_cannot_decide_only_when_the_user_set_it(
    tmp_path: Path,
) -> None:
    base = [case("a", cost_usd=None)]
    cand = [case("a", cost_usd=0.01)]
    _, unset = gate(tmp_path, base, cand, GatePolicy(max_cost_ratio=2.0))
    assert rule(unset, "max_cost_ratio").state == "not measured"
    assert unset.verdict is Verdict.PROMOTE
    policy = GatePolicy.from_table({"max_cost_ratio": 2.0}, where="pyproject.toml")
    _, explicit = gate(tmp_path, base, cand, policy)
    assert explicit.verdict is Verdict.CANNOT_DECIDE
    assert "max_cost_ratio: not measured" in explicit.reasons[0]


def test_an_unknown_gate_key_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("[gate]\nmax_regresions = 0\n")
    with pytest.raises(
        ConfigError, match=r"gate.toml:2: \[gate\]: unknown gate key 'max_regresions'"
    ):
        load_gate(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[gate]\n", "gate.toml: [gate]: the gate table is empty, so no rule could ever block"),
        ("", "gate.toml: the gate table is empty, so no rule could ever block"),
        (
            "[gate]\nmax_errors = 0\nsignificance = 5\n",
            "gate.toml:3: [gate]: 'significance' is the false-block rate you accept, a "
            "probability strictly between 0 and 1 (0.05 for 5%), got 5",
        ),
        (
            "significance = 0\n",
            "gate.toml:1: 'significance' is the false-block rate you accept",
        ),
        (
            "[tool.llmtest.gate]\nmax_pass_rate_drop = nan\n",
            "gate.toml:2: [tool.llmtest.gate]: 'max_pass_rate_drop' must be a number >= 0, got nan",
        ),
        ("[gate]\nmax_regressions = '2'\n", "gate.toml:2: [gate]: 'max_regressions' must be"),
    ],
)
def test_a_bad_policy_is_one_line_naming_the_file_line_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as excinfo:
        load_gate(path)
    assert str(excinfo.value).startswith(f"{tmp_path}/{message}")


def test_an_empty_gate_table_in_pyproject_is_an_error_not_a_gate_that_never_blocks(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.llmtest]\n\n[tool.llmtest.gate]\n")
    with pytest.raises(ConfigError, match=r"pyproject.toml: \[tool.llmtest.gate\]: the gate "):
        load_gate(start=tmp_path)


def test_wrong_types_are_errors_naming_the_key() -> None:
    with pytest.raises(ConfigError, match="'block_on_tags' must be a list"):
        GatePolicy.from_table({"block_on_tags": "critical"}, where="x")
    with pytest.raises(ConfigError, match="'min_pass_rate' is a fraction"):
        GatePolicy.from_table({"min_pass_rate": 95}, where="x")
    with pytest.raises(ConfigError, match="'max_errors' must be a whole number"):
        GatePolicy.from_table({"max_errors": 1.5}, where="x")


@pytest.mark.parametrize(
    "text",
    [
        "[tool.llmtest.gate]\nmax_cost_ratio = 1.5\nblock_on_tags = ['critical']\n",
        "[gate]\nmax_cost_ratio = 1.5\nblock_on_tags = ['critical']\n",
        "max_cost_ratio = 1.5\nblock_on_tags = ['critical']\n",
    ],
)
def test_a_gate_file_may_hold_the_tool_table_a_gate_table_or_bare_keys(
    tmp_path: Path, text: str
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(text)
    policy = load_gate(path)
    assert policy.max_cost_ratio == 1.5 and policy.block_on_tags == ("critical",)
    assert policy.explicit == {"max_cost_ratio", "block_on_tags"}


def test_the_gate_comes_from_pyproject_else_the_default(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent("""
        [tool.llmtest.gate]
        min_pass_rate = 0.95
        max_regressions = 0
        block_on_tags = ["critical", "adversarial"]
        max_latency_p95_ratio = 1.25
        max_cost_ratio = 1.5
        """)
    )
    policy = load_gate(start=tmp_path)
    assert policy.min_pass_rate == 0.95 and policy.max_latency_p95_ratio == 1.25
    assert policy.block_on_tags == ("critical", "adversarial")
    assert "[tool.llmtest.gate]" in policy.source
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert load_gate(start=empty) == GatePolicy.default()


def test_the_default_gate_is_statistical() -> None:
    policy = GatePolicy.default()
    assert policy.max_pass_rate_drop == 0.02 and policy.significance == 0.05
    assert policy.max_confirmed_regressions == 0 and policy.block_on_tags == ("critical",)
    assert policy.max_errors == 0 and policy.confirm_attempts == 4
    assert policy.max_regressions is None  # every flip of a flaky model would block


def test_a_table_changes_the_defaults_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "gate.toml"
    path.write_text("max_latency_p95_ratio = 1.5\nblock_on_tags = ['safety']\n")
    policy = load_gate(path)
    assert policy.max_latency_p95_ratio == 1.5 and policy.block_on_tags == ("safety",)
    assert policy.max_pass_rate_drop == 0.02 and policy.max_confirmed_regressions == 0
    assert policy.explicit == {"max_latency_p95_ratio", "block_on_tags"}


def test_with_no_gate_single_flips_of_a_flaky_suite_promote(tmp_path: Path) -> None:
    """No model to re-run and one attempt a side: the paired test alone decides."""
    baseline = [case(f"c{i}") for i in range(40)] + [case(f"f{i}", "fail") for i in range(3)]
    candidate = (
        [case(f"c{i}", "fail") for i in range(3)]
        + [case(f"c{i}") for i in range(3, 40)]
        + [case(f"f{i}") for i in range(3)]
    )
    _, result = gate(tmp_path, baseline, candidate)
    assert result.verdict is Verdict.PROMOTE
    confirmed = rule(result, "max_confirmed_regressions")
    assert confirmed.state == "not measured"
    assert "3 regressions could not be confirmed: no model to re-run" in confirmed.reason
    drop = rule(result, "max_pass_rate_drop")
    assert drop.state == "held" and drop.p_value == 0.65625  # 3 vs 3: P(X >= 3 | 6)


def test_with_repeats_the_paired_test_uses_each_cases_pass_rate(tmp_path: Path) -> None:
    """Ten cases each passing 5 of 5 on the baseline and 3 of 5 on the candidate: no case's
    verdict at min_pass_rate 0.6 changes, but the drop is plain."""
    baseline = [r for i in range(10) for r in repeated(f"c{i}", ["pass"] * 5, min_pass_rate=0.6)]
    candidate = [
        r
        for i in range(10)
        for r in repeated(f"c{i}", ["pass", "pass", "pass", "fail", "fail"], min_pass_rate=0.6)
    ]
    comparison, result = gate(tmp_path, baseline, candidate)
    assert comparison.regressions == ()
    test = comparison.paired_test
    assert test.repeated and test.exact and test.drop == pytest.approx(0.4)
    assert test.p_value == pytest.approx(1 / 1024)  # all ten differences positive
    assert result.verdict is Verdict.BLOCKED
    assert (
        "paired sign-flip test on per-case pass rates" in rule(result, "max_pass_rate_drop").reason
    )


def test_min_pass_rate_fails_only_a_rate_significantly_below_the_floor(tmp_path: Path) -> None:
    def candidate_passing(passed: int) -> RuleResult:
        cases = [case(f"c{i}") for i in range(passed)]
        cases += [case(f"c{i}", "fail") for i in range(passed, 500)]
        _, result = gate(tmp_path, cases, cases, GatePolicy(min_pass_rate=0.9))
        return rule(result, "min_pass_rate")

    assert candidate_passing(442).state == "held"  # 88.4%: within the noise of a true 90%
    below = candidate_passing(425)  # 85%
    assert below.state == "failed" and below.interval is not None
    assert below.measured == "85.0% (95% upper bound 87.4%)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("confirm_attempts = -1\n", "gate.toml:1: 'confirm_attempts' must be a whole number >= 0"),
        (
            "max_confirmed_regressions = 0.5\n",
            "gate.toml:1: 'max_confirmed_regressions' must be a whole number >= 0, got 0.5",
        ),
        ("max_pass_rate_drop = 2\n", "gate.toml:1: 'max_pass_rate_drop' is a fraction"),
        ("block_on_tags = []\nmin_pass_rate = true\n", "gate.toml:2: 'min_pass_rate' must be a"),
    ],
)
def test_a_bad_statistical_setting_names_its_file_line_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "gate.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as excinfo:
        load_gate(path)
    assert str(excinfo.value).startswith(f"{tmp_path}/{message}")
