"""``llmtest compare``: a baseline run against a candidate run, case by case, and a gate
that turns the difference into promote / blocked / cannot decide."""

from llmtest.compare.comparison import Comparison, compare_results
from llmtest.compare.gate import GatePolicy, RuleResult, Verdict, evaluate_gate, load_gate

__all__ = [
    "Comparison",
    "GatePolicy",
    "RuleResult",
    "Verdict",
    "compare_results",
    "evaluate_gate",
    "load_gate",
]
