"""``llmtest schema``: print the JSON Schema of case files (for editors and CI checks)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from llmtest.cases.schema import case_file_schema


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schema", help="print the JSON Schema of case files"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(case_file_schema(), indent=2))
    return 0
