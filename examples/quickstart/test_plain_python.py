"""Plain pytest tests use the same model through the ``llm`` fixture, and the same
assertions as functions."""

from llmtest import assert_contains, assert_similar


def test_capital_of_japan(llm):
    response = llm.complete("What is the capital of Japan?")
    assert_contains(response, ["Tokyo"])


def test_answer_from_context_is_close_to_the_policy(llm):
    response = llm.complete(
        "Standard shipping takes 3 to 5 business days. How long does shipping take?"
    )
    assert_similar(response, "3 to 5 business days", min=0.8)
