"""Plain pytest tests use the same model through the ``llm`` fixture."""

from llmtest import assert_contains, assert_similar


def test_refund_answer_mentions_the_window(llm):
    response = llm.complete("Can I return my shoes?")
    assert_contains(response, ["30 days"])


def test_hours_answer_is_close_to_the_policy(llm):
    response = llm.complete("What are your opening hours?")
    assert_similar(response, "Support is open Monday to Friday, 9 to 17 CET.", min=0.7)
