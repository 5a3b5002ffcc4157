"""The gate: a written policy that turns a comparison into promote, blocked or cannot
decide, with every rule's threshold, measurement and reason shown, so a blocked canary
says exactly why.

The policy comes from ``[tool.llmtest.gate]`` in pyproject.toml, or from ``--gate FILE``:
a TOML file holding a ``[tool.llmtest.gate]`` table, a ``[gate]`` table, or the keys at
top level. With no policy anywhere, the default gate is ``max_regressions = 0`` (and
``max_errors = 0``).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any, Literal

from llmtest._text import plural
from llmtest.compare.comparison import Comparison
from llmtest.compare.pairing import CasePair
from llmtest.config.project import load_project_config
from llmtest.errors import ConfigError
from llmtest.reports.format import MISSING, format_rate, format_ratio
from llmtest.results.figures import meets_pass_rate

RuleState = Literal["held", "failed", "not measured"]


class Verdict(Enum):
    PROMOTE = "promote"
    BLOCKED = "blocked"
    CANNOT_DECIDE = "cannot decide"

    @property
    def exit_code(self) -> int:
        return {"promote": 0, "blocked": 1, "cannot decide": 2}[self.value]


@dataclass(frozen=True)
class GatePolicy:
    """Thresholds; a rule left at None is off. ``explicit`` names the keys the user wrote:
    a rule the user asked for that cannot be measured stops the gate from deciding."""

    min_pass_rate: float | None = None
    max_regressions: int | None = None
    block_on_tags: tuple[str, ...] = ()
    max_latency_p95_ratio: float | None = None
    max_cost_ratio: float | None = None
    max_pass_rate_drop: float | None = None
    significance: float = 0.05
    max_errors: int = 0
    max_missing: int = 0
    """Baseline cases with no record in the candidate at all (a run that stopped early):
    beyond this the gate cannot decide, since what is missing may be what regressed."""
    explicit: frozenset[str] = field(default=frozenset(), compare=False)
    source: str = "default gate"

    @classmethod
    def default(cls) -> GatePolicy:
        return cls(max_regressions=0)

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], *, where: str, key_where: Mapping[str, str] | None = None
    ) -> GatePolicy:
        """Checked construction: an empty table, an unknown key, a wrong type or a value out
        of range is a ConfigError naming the key (``key_where``: where each key was written,
        with its line): never a policy with no rules that promotes everything."""
        if not table:
            raise ConfigError(
                f"{where}: the gate table is empty, so no rule could ever block; set rules "
                "(see docs/comparison.md) or remove the table to use the default gate"
            )
        known = {f.name for f in fields(cls)} - {"explicit", "source"}

        def bad(key: str, problem: str) -> ConfigError:
            return ConfigError(f"{(key_where or {}).get(key, where)}: {problem}")

        for key in table:
            if key not in known:
                raise bad(key, f"unknown gate key {key!r} (known: {', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        for key, value in table.items():
            if key == "block_on_tags":
                if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                    raise bad(key, f"'block_on_tags' must be a list of tag names, got {value!r}")
                values[key] = tuple(value)
            elif key in ("max_regressions", "max_errors", "max_missing"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise bad(key, f"{key!r} must be a whole number >= 0, got {value!r}")
                values[key] = value
            else:
                finite = isinstance(value, int | float) and math.isfinite(value)
                if isinstance(value, bool) or not finite or value < 0:
                    raise bad(key, f"{key!r} must be a number >= 0, got {value!r}")
                if key in ("min_pass_rate", "max_pass_rate_drop") and value > 1:
                    raise bad(
                        key,
                        f"{key!r} is a fraction between 0 and 1 (0.95 for 95%), got {value!r}",
                    )
                if key == "significance" and not 0 < value < 1:
                    raise bad(
                        key,
                        "'significance' is the false-block rate you accept, a probability "
                        f"strictly between 0 and 1 (0.05 for 5%), got {value!r}",
                    )
                values[key] = float(value)
        return cls(**values, explicit=frozenset(table), source=where)


def _key_lines(text: str, table: str | None) -> dict[str, int]:
    """The line of each key of ``table`` (None: the keys before any table) in TOML text,
    for messages: tomllib keeps no positions."""
    found: dict[str, int] = {}
    current: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        header = re.fullmatch(r"\[\s*([^\]]+?)\s*\]", stripped)
        if header:
            current = header.group(1).replace(" ", "")
            continue
        key = re.match(r"([A-Za-z0-9_-]+)\s*=", stripped)
        if key and current == table:
            found.setdefault(key.group(1), number)
    return found


def _gate_table(data: Mapping[str, Any], path: Path) -> tuple[Mapping[str, Any], str, str | None]:
    """The gate's keys in a TOML document, where they are, and the TOML table holding them
    (None: bare keys at the top)."""
    tool = data.get("tool")
    if isinstance(tool, Mapping) and isinstance(tool.get("llmtest"), Mapping):
        table, name = tool["llmtest"].get("gate", {}), "tool.llmtest.gate"
    elif isinstance(data.get("gate"), Mapping):
        table, name = data["gate"], "gate"
    else:
        table, name = data, None
    where = f"{path}: [{name}]" if name else str(path)
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where}: expected a table of gate settings")
    return table, where, name


def _policy_from(path: Path, text: str, data: Mapping[str, Any]) -> GatePolicy:
    table, where, name = _gate_table(data, path)
    key_where = {
        key: f"{path}:{line}: [{name}]" if name else f"{path}:{line}"
        for key, line in _key_lines(text, name).items()
    }
    return GatePolicy.from_table(table, where=where, key_where=key_where)


def load_gate(path: Path | None = None, *, start: Path | None = None) -> GatePolicy:
    """The policy from ``path`` (--gate), else ``[tool.llmtest.gate]`` of the nearest
    pyproject.toml at or above ``start``, else the default gate."""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except OSError as exc:
            raise ConfigError(f"cannot read gate file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not a TOML gate file (not UTF-8 text)") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        return _policy_from(path, text, data)
    project = load_project_config(start or Path.cwd())
    found = project.raw.get("gate")
    if found is None or project.path is None:
        return GatePolicy.default()
    text = project.path.read_text(encoding="utf-8")
    return _policy_from(project.path, text, {"tool": {"llmtest": {"gate": found}}})


@dataclass(frozen=True)
class RuleResult:
    name: str
    threshold: str
    measured: str
    state: RuleState
    reason: str
    explicit: bool = True
    cases: tuple[str, ...] = ()
    """The case ids behind a failure (block_on_tags), for the verdict line."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "measured": self.measured,
            "state": self.state,
            "reason": self.reason,
            "explicit": self.explicit,
            "cases": list(self.cases),
        }


@dataclass(frozen=True)
class GateResult:
    verdict: Verdict
    rules: tuple[RuleResult, ...]
    reasons: tuple[str, ...]
    policy: GatePolicy

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.state == "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "reasons": list(self.reasons),
            "policy_source": self.policy.source,
            "rules": [r.to_dict() for r in self.rules],
        }


def _rule(
    policy: GatePolicy,
    name: str,
    threshold: str,
    measured: str,
    state: RuleState,
    reason: str,
    cases: Sequence[CasePair] = (),
) -> RuleResult:
    """A rule's result; ``name`` is the policy key that sets it."""
    names = tuple(p.case_id for p in cases)
    return RuleResult(name, threshold, measured, state, reason, name in policy.explicit, names)


def _held(ok: bool) -> RuleState:
    return "held" if ok else "failed"


def _max_errors(comparison: Comparison, policy: GatePolicy) -> RuleResult:
    undecided = comparison.undecided
    return _rule(
        policy,
        "max_errors",
        f"≤ {policy.max_errors}",
        str(len(undecided)),
        _held(len(undecided) <= policy.max_errors),
        f"{plural(len(undecided), 'paired case')} errored on a side "
        "(undecided: neither regression nor fix)",
        undecided,
    )


def _max_missing(comparison: Comparison, policy: GatePolicy) -> RuleResult:
    missing = tuple(case.case_id for case in comparison.pairing.baseline_only)
    total = len(comparison.pairs) + len(comparison.pairing.changed) + len(missing)
    return RuleResult(
        "max_missing",
        f"≤ {policy.max_missing}",
        str(len(missing)),
        _held(len(missing) <= policy.max_missing),
        f"{len(missing)} of the baseline's {plural(total, 'case')} "
        f"{'has' if len(missing) == 1 else 'have'} no record in the candidate",
        "max_missing" in policy.explicit,
        missing,
    )


def _max_regressions(comparison: Comparison, policy: GatePolicy) -> RuleResult | None:
    if policy.max_regressions is None:
        return None
    regressions = comparison.regressions
    ok = len(regressions) <= policy.max_regressions
    return _rule(
        policy,
        "max_regressions",
        f"≤ {policy.max_regressions}",
        str(len(regressions)),
        _held(ok),
        f"{plural(len(regressions), 'case')} went from pass to fail",
        () if ok else regressions,
    )


def _block_on_tags(comparison: Comparison, policy: GatePolicy) -> RuleResult | None:
    if not policy.block_on_tags:
        return None
    wanted = set(policy.block_on_tags)
    hit = tuple(p for p in comparison.regressions if wanted & set(p.tags))
    tags = ", ".join(policy.block_on_tags)
    return _rule(
        policy,
        "block_on_tags",
        f"no regression tagged {tags}",
        str(len(hit)),
        _held(not hit),
        (
            f"regressed in a blocking tag: {', '.join(p.case_id for p in hit)}"
            if hit
            else f"no regression tagged {tags}"
        ),
        hit,
    )


def _min_pass_rate(comparison: Comparison, policy: GatePolicy) -> RuleResult | None:
    if policy.min_pass_rate is None:
        return None
    overall = comparison.candidate.overall
    threshold = f"≥ {format_rate(policy.min_pass_rate)}"
    if overall.rate is None:
        return _rule(
            policy, "min_pass_rate", threshold, MISSING, "not measured", "no paired case ran"
        )
    return _rule(
        policy,
        "min_pass_rate",
        threshold,
        format_rate(overall.rate),
        _held(meets_pass_rate(overall.counts.passed, overall.decided, policy.min_pass_rate)),
        f"candidate passed {overall.counts.passed} of {plural(overall.decided, 'paired case')} "
        "(errors count as not passed)",
    )


def _max_pass_rate_drop(comparison: Comparison, policy: GatePolicy) -> RuleResult | None:
    """A drop in pass rate blocks only when it is also significant (McNemar's test)."""
    limit = policy.max_pass_rate_drop
    if limit is None:
        return None
    drop, p = comparison.pass_rate_drop, comparison.mcnemar_p
    threshold = f"≤ {format_rate(limit)} (or p ≥ {policy.significance:g})"
    if drop is None:
        return _rule(
            policy, "max_pass_rate_drop", threshold, MISSING, "not measured", "no paired case ran"
        )
    too_big, significant = drop > limit, p < policy.significance
    if not too_big:
        why = f"pass rate changed by {-drop * 100:+.1f} points"
    elif significant:
        why = f"pass rate dropped {drop * 100:.1f} points, significant (McNemar p = {p:.3g})"
    else:
        why = (
            f"pass rate dropped {drop * 100:.1f} points but not significantly "
            f"(McNemar p = {p:.3g} ≥ {policy.significance:g})"
        )
    return _rule(
        policy,
        "max_pass_rate_drop",
        threshold,
        f"{drop * 100:.1f} points (p = {p:.3g})",
        _held(not (too_big and significant)),
        why,
    )


def _ratio_rule(
    policy: GatePolicy, name: str, limit: float | None, measured: float | None, what: str
) -> RuleResult | None:
    if limit is None:
        return None
    threshold = f"≤ {format_ratio(limit)}"
    if measured is None:
        return _rule(
            policy,
            name,
            threshold,
            MISSING,
            "not measured",
            f"{what} is missing on a side (or zero in the baseline)",
        )
    ok = measured <= limit
    return _rule(
        policy,
        name,
        threshold,
        format_ratio(measured),
        _held(ok),
        f"candidate {what} is {format_ratio(measured)} the baseline's "
        f"({'within' if ok else 'above'} {format_ratio(limit)})",
    )


def _max_latency_p95_ratio(comparison: Comparison, policy: GatePolicy) -> RuleResult | None:
    return _ratio_rule(
        policy,
        "max_latency_p95_ratio",
        policy.max_latency_p95_ratio,
        comparison.latency_p95_ratio,
        "p95 latency",
    )


def _max_cost_ratio(comparison: Comparison, policy: GatePolicy) -> RuleResult | None:
    return _ratio_rule(
        policy, "max_cost_ratio", policy.max_cost_ratio, comparison.cost.ratio, "cost"
    )


_RULES: tuple[Callable[[Comparison, GatePolicy], RuleResult | None], ...] = (
    _max_errors,
    _max_missing,
    _max_regressions,
    _block_on_tags,
    _min_pass_rate,
    _max_pass_rate_drop,
    _max_latency_p95_ratio,
    _max_cost_ratio,
)
"""Every rule, in the order the report lists them; each returns None when the policy
leaves it off."""


def _rules(comparison: Comparison, policy: GatePolicy) -> list[RuleResult]:
    return [result for rule in _RULES if (result := rule(comparison, policy)) is not None]


_UNDECIDED_RULES = frozenset({"max_errors", "max_missing"})
"""Rules that leave the gate unable to decide rather than blocking: what errored or is
missing cannot be called a regression, nor ruled one out."""


def evaluate_gate(comparison: Comparison, policy: GatePolicy) -> GateResult:
    """The verdict. A failed rule blocks (a regression seen is certain even if other cases
    errored); otherwise errors beyond ``max_errors``, baseline cases missing from the
    candidate beyond ``max_missing``, a torn results file, no paired case, or a rule the user
    set that cannot be measured mean "cannot decide"; otherwise promote."""
    rules = _rules(comparison, policy)
    failed = [r for r in rules if r.state == "failed" and r.name not in _UNDECIDED_RULES]
    if failed:
        reasons = [f"{r.name}: {r.reason}" for r in failed]
        return GateResult(Verdict.BLOCKED, tuple(rules), tuple(reasons), policy)
    reasons = []
    if not comparison.pairs:
        reasons.append("no case is in both runs at the same version")
    elif not [p for p in comparison.pairs if p.change != "skipped"]:
        reasons.append("every paired case was skipped")
    for side, run in (
        ("baseline", comparison.baseline_run),
        ("candidate", comparison.candidate_run),
    ):
        if run.skipped_lines:
            reasons.append(f"the {side}'s results file ends in a torn line: its run did not finish")
    for rule in rules:
        if rule.name in _UNDECIDED_RULES and rule.state == "failed":
            allowed = getattr(policy, rule.name)
            reasons.append(f"{rule.name}: {rule.reason}, more than the {allowed} allowed")
        elif rule.state == "not measured" and rule.explicit:
            reasons.append(f"{rule.name}: not measured ({rule.reason})")
    if reasons:
        return GateResult(Verdict.CANNOT_DECIDE, tuple(rules), tuple(reasons), policy)
    return GateResult(Verdict.PROMOTE, tuple(rules), (), policy)
