"""What the run history knows about the cases that regressed: which of them were already
flaky with the baseline model, so a single flip of such a case is shown as the noise it
is (rule: :meth:`llmtest.results.history.History.flaky_cases`, as ``llmtest history
--flaky`` shows it)."""

from __future__ import annotations

from pathlib import Path

from llmtest.compare.comparison import Comparison
from llmtest.compare.gate import FlakyIndex
from llmtest.results.history import History


def known_flaky(history: Path | None, comparison: Comparison) -> FlakyIndex:
    """The flaky cases among the regressions' baseline models; none without a history."""
    if history is None or not history.exists() or not comparison.regressions:
        return {}
    store = History(history)
    models = sorted({p.baseline.case.model for p in comparison.regressions})
    return {
        (case.model, case.suite, case.case_id, case.case_hash): case
        for model in models
        for case in store.flaky_cases(model=model)
    }
