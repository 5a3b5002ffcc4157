"""Case files: format, validation and loading."""

from llmtest.cases.loader import load_suite
from llmtest.cases.model import AssertionSpec, Case, Suite

__all__ = ["AssertionSpec", "Case", "Suite", "load_suite"]
