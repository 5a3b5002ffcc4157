"""The gate: a written policy that turns a comparison into promote, blocked or cannot
decide, with every rule's threshold, measurement and reason shown, so a blocked canary
says exactly why.

The policy comes from ``[tool.llmtest.gate]`` in pyproject.toml, or from ``--gate FILE``:
a TOML file holding a ``[tool.llmtest.gate]`` table, a ``[gate]`` table, or the keys at
top level. A table changes the default policy's values; the keys it leaves out keep them.

The default is statistical, because models are not deterministic: a one-sided paired test
of the pass-rate drop (blocks when the drop is significant at ``significance`` and at least
``max_pass_rate_drop``), no *confirmed* regression anywhere and none in a ``critical``
case (see llmtest.compare.confirmation), and no errors. ``max_regressions`` counts every
pass→fail flip, so it only means something for a deterministic suite.
"""

from __future__ import annotations

import dataclasses
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
from llmtest.compare.confirmation import (
    DEFAULT_CONFIRM_ATTEMPTS,
    Confirmation,
    assess,
    confirmation_levels,
)
from llmtest.compare.pairing import CasePair
from llmtest.compare.stats import wilson_upper_bound
from llmtest.config.project import load_project_config
from llmtest.errors import ConfigError
from llmtest.reports.format import MISSING, format_rate, format_ratio
from llmtest.results.history import FlakyCase

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
    """A floor the candidate's pass rate must not be *significantly* below (its one-sided
    Wilson upper bound at ``significance``)."""
    max_regressions: int | None = None
    """Every pass→fail flip, confirmed or not: for deterministic suites only."""
    block_on_tags: tuple[str, ...] = ()
    """A confirmed regression in a case with one of these tags blocks."""
    max_latency_p95_ratio: float | None = None
    max_cost_ratio: float | None = None
    max_pass_rate_drop: float | None = None
    """The smallest pass-rate drop that matters (0.02 = 2 points): a drop blocks when it is
    at least this and significant (one-sided paired test at ``significance``)."""
    max_confirmed_regressions: int | None = None
    significance: float = 0.05
    """The false-block rate accepted by each statistical rule (one-sided: only a drop
    blocks)."""
    confirm_attempts: int = DEFAULT_CONFIRM_ATTEMPTS
    """Fresh attempts per side that ``llmtest canary`` spends on each regression (0: none)."""
    max_errors: int = 0
    max_missing: int = 0
    """Baseline cases with no record in the candidate at all (a run that stopped early):
    beyond this the gate cannot decide, since what is missing may be what regressed."""
    explicit: frozenset[str] = field(default=frozenset(), compare=False)
    source: str = "default gate"

    @classmethod
    def default(cls) -> GatePolicy:
        """The policy with nothing configured: right for a nondeterministic model."""
        return cls(
            max_pass_rate_drop=0.02,
            max_confirmed_regressions=0,
            block_on_tags=("critical",),
        )

    @classmethod
    def from_table(
        cls, table: Mapping[str, Any], *, where: str, key_where: Mapping[str, str] | None = None
    ) -> GatePolicy:
        """The default policy with the table's values: an empty table, an unknown key, a
        wrong type or a value out of range is a ConfigError naming the key (``key_where``:
        where each key was written, with its line), never a policy that promotes
        everything."""
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
            elif key in _WHOLE_NUMBERS:
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
        return dataclasses.replace(cls.default(), **values, explicit=frozenset(table), source=where)


_WHOLE_NUMBERS = frozenset(
    {
        "max_regressions",
        "max_confirmed_regressions",
        "max_errors",
        "max_missing",
        "confirm_attempts",
    }
)


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
    p_value: float | None = None
    interval: tuple[float, float] | None = None
    """The confidence interval or bound the rule was judged on, where it has one."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "threshold": self.threshold,
            "measured": self.measured,
            "state": self.state,
            "reason": self.reason,
            "explicit": self.explicit,
            "cases": list(self.cases),
            "p_value": self.p_value,
            "interval": None if self.interval is None else list(self.interval),
        }


@dataclass(frozen=True)
class GateResult:
    verdict: Verdict
    rules: tuple[RuleResult, ...]
    reasons: tuple[str, ...]
    policy: GatePolicy
    confirmations: tuple[Confirmation, ...] = ()
    """Every regression with what is known about it: confirmed, flaky, or not known."""

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if r.state == "failed")

    def confirmation_of(self, pair: CasePair) -> Confirmation | None:
        return next((c for c in self.confirmations if c.pair is pair), None)

    def by_state(self, state: str) -> tuple[Confirmation, ...]:
        return tuple(c for c in self.confirmations if c.state == state)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "reasons": list(self.reasons),
            "policy_source": self.policy.source,
            "rules": [r.to_dict() for r in self.rules],
            "confirmations": [c.to_dict() for c in self.confirmations],
        }


@dataclass(frozen=True)
class _Inputs:
    """What every rule may look at."""

    comparison: Comparison
    policy: GatePolicy
    confirmations: tuple[Confirmation, ...]


def _rule(
    policy: GatePolicy,
    name: str,
    threshold: str,
    measured: str,
    state: RuleState,
    reason: str,
    cases: Sequence[CasePair] = (),
    **figures: Any,
) -> RuleResult:
    """A rule's result; ``name`` is the policy key that sets it."""
    names = tuple(p.case_id for p in cases)
    explicit = name in policy.explicit
    return RuleResult(name, threshold, measured, state, reason, explicit, names, **figures)


def _held(ok: bool) -> RuleState:
    return "held" if ok else "failed"


def _max_errors(inputs: _Inputs) -> RuleResult:
    policy, undecided = inputs.policy, inputs.comparison.undecided
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


def _max_missing(inputs: _Inputs) -> RuleResult:
    comparison, policy = inputs.comparison, inputs.policy
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


def _max_pass_rate_drop(inputs: _Inputs) -> RuleResult | None:
    """A drop blocks when it is at least the smallest drop that matters and significant
    (one-sided paired test)."""
    policy, limit = inputs.policy, inputs.policy.max_pass_rate_drop
    if limit is None:
        return None
    test = inputs.comparison.paired_test
    alpha = policy.significance
    threshold = f"drop < {limit * 100:g} points or p ≥ {alpha:g}"
    if test.drop is None:
        return _rule(
            policy, "max_pass_rate_drop", threshold, MISSING, "not measured", "no judged pair"
        )
    drop, p = test.drop, test.p_value
    big, significant = drop >= limit and drop > 0, p < alpha
    change = (
        f"pass rate dropped {drop * 100:.1f} points"
        if drop > 0
        else f"pass rate changed by {-drop * 100:+.1f} points"
    )
    if big and significant:
        why = f"{change}, at least {limit * 100:g} and significant ({test.method}, p = {p:.3g})"
    elif big:
        why = f"{change}, not significantly ({test.method}, p = {p:.3g} ≥ {alpha:g})"
    else:
        why = f"{change}: under the {limit * 100:g}-point drop that matters (p = {p:.3g})"
    return _rule(
        policy,
        "max_pass_rate_drop",
        threshold,
        f"{drop * 100:.1f} points, p = {p:.3g}",
        _held(not (big and significant)),
        why,
        p_value=p,
    )


def _confirmation_note(inputs: _Inputs) -> str:
    """How the regressions were (or could not be) confirmed, for the rules' reasons."""
    found = inputs.confirmations
    if not found:
        return "no regression"
    sources = {c.source for c in found}
    if sources == {None}:
        return (
            f"{plural(len(found), 'regression')} could not be confirmed: no model to re-run "
            "(llmtest canary re-runs them) and one attempt a side"
        )
    calls = inputs.comparison.confirmation_calls
    how = (
        f"re-run with {plural(calls, 'extra attempt')}" if calls else "judged on recorded attempts"
    )
    return f"{plural(len(found), 'regression')} {how}"


def _max_confirmed_regressions(inputs: _Inputs) -> RuleResult | None:
    policy, limit = inputs.policy, inputs.policy.max_confirmed_regressions
    if limit is None:
        return None
    confirmed = [c for c in inputs.confirmations if c.confirmed]
    unknown = [c for c in inputs.confirmations if c.state == "not confirmable"]
    note = _confirmation_note(inputs)
    if unknown and len(unknown) == len(inputs.confirmations):
        return _rule(
            policy, "max_confirmed_regressions", f"≤ {limit}", MISSING, "not measured", note
        )
    ok = len(confirmed) <= limit
    flaky = sum(1 for c in inputs.confirmations if c.state == "not confirmed")
    return _rule(
        policy,
        "max_confirmed_regressions",
        f"≤ {limit}",
        str(len(confirmed)),
        _held(ok),
        f"{note}: {len(confirmed)} confirmed (candidate significantly worse), {flaky} not (noise)",
        () if ok else [c.pair for c in confirmed],
    )


def _blocks_in_tag(confirmation: Confirmation) -> bool:
    """A regression in a blocking tag blocks when confirmed; one that no model could
    re-run blocks too, unless the history knows the case to be flaky: a single flip is
    then all there is to go on."""
    if confirmation.state == "not confirmable":
        return confirmation.known_flaky is None
    return confirmation.confirmed


def _block_on_tags(inputs: _Inputs) -> RuleResult | None:
    policy = inputs.policy
    if not policy.block_on_tags:
        return None
    wanted = set(policy.block_on_tags)
    tagged = [c for c in inputs.confirmations if wanted & set(c.pair.tags)]
    hit = [c for c in tagged if _blocks_in_tag(c)]
    tags = ", ".join(policy.block_on_tags)
    if hit:
        why = "; ".join(f"{c.pair.case_id}: {c.describe()}" for c in hit)
        reason = f"confirmed regression tagged {tags}: {why}"
        if any(c.state == "not confirmable" for c in hit):
            reason = f"regression tagged {tags}: {why}"
    elif tagged:
        why = "; ".join(f"{c.pair.case_id}: {c.describe()}" for c in tagged)
        reason = f"regressions tagged {tags} are noise, not confirmed: {why}"
    else:
        reason = f"no regression tagged {tags}"
    return _rule(
        policy,
        "block_on_tags",
        f"no confirmed regression tagged {tags}",
        str(len(hit)),
        _held(not hit),
        reason,
        [c.pair for c in hit],
    )


def _max_regressions(inputs: _Inputs) -> RuleResult | None:
    policy = inputs.policy
    if policy.max_regressions is None:
        return None
    regressions = inputs.comparison.regressions
    ok = len(regressions) <= policy.max_regressions
    return _rule(
        policy,
        "max_regressions",
        f"≤ {policy.max_regressions}",
        str(len(regressions)),
        _held(ok),
        f"{plural(len(regressions), 'case')} went from pass to fail, confirmed or not "
        "(a rule for deterministic suites)",
        () if ok else regressions,
    )


def _min_pass_rate(inputs: _Inputs) -> RuleResult | None:
    """The candidate fails the floor only when its pass rate is significantly below it."""
    policy, floor = inputs.policy, inputs.policy.min_pass_rate
    if floor is None:
        return None
    overall = inputs.comparison.candidate.overall
    threshold = f"not significantly below {format_rate(floor)}"
    upper = wilson_upper_bound(overall.counts.passed, overall.decided, policy.significance)
    if overall.rate is None or upper is None:
        return _rule(
            policy, "min_pass_rate", threshold, MISSING, "not measured", "no paired case ran"
        )
    below = upper < floor
    bound = f"{(1 - policy.significance) * 100:g}% upper bound {format_rate(upper)}"
    return _rule(
        policy,
        "min_pass_rate",
        threshold,
        f"{format_rate(overall.rate)} ({bound})",
        _held(not below),
        f"candidate passed {overall.counts.passed} of {plural(overall.decided, 'paired case')} "
        f"(errors count as not passed); its {bound} is "
        f"{'below' if below else 'not below'} the floor",
        interval=(0.0, upper),
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


def _max_latency_p95_ratio(inputs: _Inputs) -> RuleResult | None:
    policy = inputs.policy
    return _ratio_rule(
        policy,
        "max_latency_p95_ratio",
        policy.max_latency_p95_ratio,
        inputs.comparison.latency_p95_ratio,
        "p95 latency",
    )


def _max_cost_ratio(inputs: _Inputs) -> RuleResult | None:
    policy = inputs.policy
    return _ratio_rule(
        policy, "max_cost_ratio", policy.max_cost_ratio, inputs.comparison.cost.ratio, "cost"
    )


_RULES: tuple[Callable[[_Inputs], RuleResult | None], ...] = (
    _max_errors,
    _max_missing,
    _max_pass_rate_drop,
    _max_confirmed_regressions,
    _block_on_tags,
    _max_regressions,
    _min_pass_rate,
    _max_latency_p95_ratio,
    _max_cost_ratio,
)
"""Every rule, in the order the report lists them; each returns None when the policy
leaves it off."""


_UNDECIDED_RULES = frozenset({"max_errors", "max_missing"})
"""Rules that leave the gate unable to decide rather than blocking: what errored or is
missing cannot be called a regression, nor ruled one out."""

FlakyIndex = Mapping[tuple[str, str, str, str], FlakyCase]
"""Cases the history calls flaky, by (model, suite, case id, case hash)."""


def evaluate_gate(
    comparison: Comparison, policy: GatePolicy, *, known_flaky: FlakyIndex | None = None
) -> GateResult:
    """The verdict. A failed rule blocks (a regression seen is certain even if other cases
    errored); otherwise errors beyond ``max_errors``, baseline cases missing from the
    candidate beyond ``max_missing``, a torn results file, no paired case, or a rule the user
    set that cannot be measured mean "cannot decide"; otherwise promote.

    ``known_flaky``: the history's flaky cases, carried into each regression's account."""
    regressions = comparison.regressions
    levels = confirmation_levels(regressions, policy.significance, policy.block_on_tags)
    confirmations = assess(regressions, levels, known_flaky or {})
    inputs = _Inputs(comparison, policy, confirmations)
    rules = tuple(result for rule in _RULES if (result := rule(inputs)) is not None)
    failed = [r for r in rules if r.state == "failed" and r.name not in _UNDECIDED_RULES]
    if failed:
        reasons = tuple(f"{r.name}: {r.reason}" for r in failed)
        return GateResult(Verdict.BLOCKED, rules, reasons, policy, confirmations)
    reasons_list = []
    if not comparison.pairs:
        reasons_list.append("no case is in both runs at the same version")
    elif not [p for p in comparison.pairs if p.change != "skipped"]:
        reasons_list.append("every paired case was skipped")
    for side, run in (
        ("baseline", comparison.baseline_run),
        ("candidate", comparison.candidate_run),
    ):
        if run.skipped_lines:
            reasons_list.append(
                f"the {side}'s results file ends in a torn line: its run did not finish"
            )
    for rule in rules:
        if rule.name in _UNDECIDED_RULES and rule.state == "failed":
            allowed = getattr(policy, rule.name)
            reasons_list.append(f"{rule.name}: {rule.reason}, more than the {allowed} allowed")
        elif rule.state == "not measured" and rule.explicit:
            reasons_list.append(f"{rule.name}: not measured ({rule.reason})")
    verdict = Verdict.CANNOT_DECIDE if reasons_list else Verdict.PROMOTE
    return GateResult(verdict, rules, tuple(reasons_list), policy, confirmations)
