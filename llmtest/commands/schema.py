"""``llmtest schema``: print the JSON Schema of case files (for editors and CI checks)."""

from __future__ import annotations

import argparse
import json

from llmtest.cases.schema import case_file_schema

SUMMARY = "print the JSON Schema of case files"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """It takes none."""


def run(args: argparse.Namespace) -> int:
    print(json.dumps(case_file_schema(), indent=2))
    return 0
