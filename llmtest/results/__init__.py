"""Result records: what a run produced, in the format other tools read."""

from llmtest.results.jsonl import ResultsFile, ResultWriter, RunHeader, load_results
from llmtest.results.record import CaseResult, Status

__all__ = ["CaseResult", "ResultWriter", "ResultsFile", "RunHeader", "Status", "load_results"]
