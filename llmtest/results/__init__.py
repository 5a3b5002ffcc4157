"""Result records: what a run produced, in the format other tools read."""

from llmtest.results.record import CaseResult, Status

__all__ = ["CaseResult", "Status"]
