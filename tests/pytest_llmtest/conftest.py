from __future__ import annotations

import textwrap

import pytest

SUPPORT_SUITE = """
    model: "echo:"
    system: "You are Acme's support agent."
    cases:
      - id: refund-window
        prompt: "Items can be returned within 30 days."
        tags: [policy, critical]
        assert:
          - contains: ["30 days"]
      - id: shipping
        prompt: "We ship worldwide."
        tags: [policy]
        assert:
          - contains: ["2 business days"]
      - id: greeting
        prompt: "Hello there"
        assert:
          - starts_with: "Hello"
"""


@pytest.fixture
def support_suite(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with one suite: two passing cases and one that fails on its merits."""
    pytester.makefile(".llm.yaml", test_support=textwrap.dedent(SUPPORT_SUITE))
    return pytester
