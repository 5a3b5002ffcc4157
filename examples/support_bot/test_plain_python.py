"""Plain pytest tests use the same model as the cases through the ``llm`` fixture: here
the whole bot (retrieval and model), as the ``support-bot`` alias names it."""

from llmtest import assert_contains, assert_similar


def test_the_return_answer_comes_from_the_policy(llm):
    response = llm.complete("How long do I have to return an item?")
    assert_contains(response, ["30 days"])
    assert_similar(response, "30 days from the date of delivery", min=0.8)
