"""``llmtest``: the command-line front end. Each sub-command lives in llmtest/commands/."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from llmtest import __version__
from llmtest._text import shown
from llmtest.errors import LLMTestError

COMMANDS = ("run", "canary", "compare", "report", "history", "merge", "schema")
EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmtest", description="Regression tests for LLM applications."
    )
    parser.add_argument("--version", action="version", version=f"llmtest {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        # A command module declares SUMMARY (for llmtest --help), DESCRIPTION (for its own
        # --help), add_arguments(parser) and run(args) -> exit code.
        module = importlib.import_module(f"llmtest.commands.{name}")
        command = subparsers.add_parser(
            name, help=module.SUMMARY, description=getattr(module, "DESCRIPTION", None)
        )
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except LLMTestError as exc:
        print(f"llmtest {args.command}: {shown(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"llmtest {args.command}: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
