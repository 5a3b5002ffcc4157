"""Build assertions the way a case file does: by name, through the plugin registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmtest.adapters.base import Response
from llmtest.assertions.base import AssertionResult, BuildContext, Check
from llmtest.errors import AssertionSpecError
from llmtest.plugins.registry import assertion_types


def build(name: str, args: Any, base_dir: Path = Path(".")) -> Check:
    return assertion_types()[name].build(args, BuildContext(base_dir))


def run(
    name: str, args: Any, output: str | Response, base_dir: Path = Path(".")
) -> AssertionResult:
    response = output if isinstance(output, Response) else Response(text=output)
    return build(name, args, base_dir)(response)


def spec_error(name: str, args: Any, base_dir: Path = Path(".")) -> str:
    with pytest.raises(AssertionSpecError) as excinfo:
        build(name, args, base_dir)
    return str(excinfo.value)
