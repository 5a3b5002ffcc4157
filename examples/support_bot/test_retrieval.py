"""The bot's retrieval step on its own: plain pytest, no model involved, milliseconds."""

from support_bot import index


def test_a_question_finds_its_policy_passage():
    assert index().search("How long do I have to return an item?")[0].title == "Returns"


def test_other_word_forms_match_through_the_stemmer():
    assert index().search("I returned the parcel yesterday")[0].title == "Returns"


def test_search_syntax_in_a_question_is_taken_as_words():
    titles = [p.title for p in index().search('shipping AND "express" NEAR(*)')]
    assert titles == ["Shipping"]


def test_a_question_with_no_policy_words_retrieves_nothing():
    assert index().search("What is the escalation code?") == []
