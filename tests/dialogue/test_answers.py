"""The extractive answerer: quotes passages, never invents, and says when it has nothing."""

from __future__ import annotations

import pytest

from dialogue.answers import (
    Answer,
    AnswerGenerator,
    ExtractiveAnswerer,
    cross_references,
    split_sentences,
)
from dialogue.spoken import to_spoken
from knowledge.types import Passage

FEES = (
    "A replacement debit card costs $5. "
    "Express delivery of a card costs $25 and arrives the next business day. "
    "Wire transfers to another bank cost $15 each. "
    "There is no monthly fee on a checking account that holds $1,500."
)
HOURS = (
    "Our phone lines are open 24/7. "
    "Branches are open 9am-5pm Mon-Fri and 10am-2pm Sat. "
    "Branches are closed on public holidays."
)


def _passage(
    text: str, doc: str, n: int = 0, score: float = 0.8, heading_path=(), **metadata
) -> Passage:
    return Passage(
        text=text,
        score=score,
        document_id=doc,
        chunk_id=f"{doc}#{n}",
        title=doc.replace("-", " ").title(),
        source=f"kb/{doc}.md",
        heading_path=heading_path,
        metadata=metadata,
    )


@pytest.fixture
def answerer() -> ExtractiveAnswerer:
    return ExtractiveAnswerer()


def test_picks_the_best_matching_sentences_in_passage_order(answerer) -> None:
    result = answerer.answer("How much does express card delivery cost?", [_passage(FEES, "fees")])
    assert result == Answer(
        text=to_spoken(
            "A replacement debit card costs $5. "
            "Express delivery of a card costs $25 and arrives the next business day."
        ),
        sources=("fees",),
        grounded=True,
    )
    assert result.text == (
        "A replacement debit card costs 5 dollars. "
        "Express delivery of a card costs 25 dollars and arrives the next business day."
    )


def test_single_best_sentence_with_max_sentences_one() -> None:
    result = ExtractiveAnswerer(max_sentences=1).answer(
        "What is the fee for a wire transfer?", [_passage(FEES, "fees")]
    )
    assert result is not None
    assert result.text == "Wire transfers to another bank cost 15 dollars each."


def test_keeps_passage_order_not_score_order(answerer) -> None:
    # "monthly checking" scores highest on the last sentence, "wire" on the third.
    result = answerer.answer("monthly checking fee wire", [_passage(FEES, "fees")])
    assert result is not None
    assert result.text == to_spoken(
        "Wire transfers to another bank cost $15 each. "
        "There is no monthly fee on a checking account that holds $1,500."
    )


def test_uses_only_the_best_passage_of_another_document(answerer) -> None:
    passages = [_passage(HOURS, "opening-hours", score=0.9), _passage(FEES, "fees", score=0.7)]
    result = ExtractiveAnswerer(max_sentences=1).answer(
        "When are branches open on Saturday?", passages
    )
    assert result is not None
    assert result.sources == ("opening-hours",)
    assert result.text == (
        "Branches are open 9 am to 5 pm Monday to Friday and 10 am to 2 pm Saturday."
    )


def test_second_passage_of_the_same_document_can_contribute(answerer) -> None:
    first = _passage("Cards are sent by post. They arrive in 5 days.", "cards", n=0, score=0.62)
    second = _passage("Express delivery costs $25.", "cards", n=1, score=0.6)
    result = answerer.answer("How fast is express card delivery?", [first, second])
    assert result is not None
    assert result.sources == ("cards",)
    # "They arrive in 5 days." goes on about the sentence before it, so it comes along
    assert result.text == to_spoken(
        "Cards are sent by post.\nThey arrive in 5 days.\nExpress delivery costs $25."
    )


def test_a_much_weaker_second_passage_is_left_out(answerer) -> None:
    first = _passage("Cards are sent by post. They arrive in 5 days.", "cards", n=0, score=0.9)
    second = _passage("Express delivery costs $25.", "cards", n=1, score=0.6)
    result = answerer.answer("How fast is express card delivery?", [first, second])
    assert result is not None
    assert "Express" not in result.text


def test_a_section_heading_counts_as_the_sentences_words(answerer) -> None:
    hours = Passage(
        text="Monday to Friday, 9 am to 5 pm. Closed on Sundays.",
        score=0.9,
        document_id="branches/elm",
        chunk_id="branches/elm#2",
        title="Elm Street branch",
        source="elm.md",
        heading_path=("Elm Street branch", "Opening hours"),
    )
    result = answerer.answer("When do you open?", [hours])
    assert result is not None
    assert result.text.startswith("Monday to Friday")


def test_second_passage_not_used_when_disabled() -> None:
    first = _passage("Cards are sent by post. They arrive in 5 days.", "cards", n=0)
    second = _passage("Express delivery costs $25.", "cards", n=1, score=0.6)
    result = ExtractiveAnswerer(use_second_passage=False).answer(
        "How fast is express card delivery?", [first, second]
    )
    assert result is not None
    assert result.text == "Cards are sent by post. They arrive in 5 days."


def test_faq_answer_keeps_its_first_sentence_when_it_scores() -> None:
    faq = _passage(
        "You can order a new card in the app. It costs $5. "
        "Cards are sent by post and arrive in 5 days. "
        "Express post to your new card address is $25.",
        "new-card",
        kind="faq",
    )
    question = "How do I get a new card sent by express post?"
    plain = ExtractiveAnswerer().answer(question, [_passage(faq.text, "new-card")])
    result = ExtractiveAnswerer().answer(question, [faq])
    assert plain is not None and result is not None
    assert plain.text == to_spoken(
        "Cards are sent by post and arrive in 5 days. Express post to your new card address is $25."
    )
    assert result.text == to_spoken(
        "You can order a new card in the app. It costs $5. "
        "Express post to your new card address is $25."
    )


def test_faq_first_sentence_not_forced_when_it_does_not_score() -> None:
    faq = _passage("Thanks for asking. Wire transfers cost $15.", "wires", kind="faq")
    result = ExtractiveAnswerer().answer("What do wire transfers cost?", [faq])
    assert result is not None
    assert result.text == "Wire transfers cost 15 dollars."


def test_unrelated_question_gives_none(answerer) -> None:
    assert answerer.answer("Can I adopt a parrot?", [_passage(FEES, "fees")]) is None


def test_no_passages_gives_none(answerer) -> None:
    assert answerer.answer("What are your fees?", []) is None


def test_low_retrieval_score_gives_none() -> None:
    strict = ExtractiveAnswerer(min_score=0.5)
    assert strict.answer("wire transfer fee", [_passage(FEES, "fees", score=0.3)]) is None
    assert strict.answer("wire transfer fee", [_passage(FEES, "fees", score=0.5)]) is not None


def test_context_helps_a_follow_up_question(answerer) -> None:
    passage = _passage(FEES, "fees")
    assert answerer.answer("And how much is that?", [passage]) is None
    result = answerer.answer(
        "And how much is that?", [passage], context=["I want to send a wire transfer"]
    )
    assert result is not None
    assert result.text == "Wire transfers to another bank cost 15 dollars each."


def test_question_words_outweigh_context(answerer) -> None:
    result = ExtractiveAnswerer(max_sentences=1).answer(
        "What about express delivery?", [_passage(FEES, "fees")], context=["wire transfer"]
    )
    assert result is not None
    assert result.text.startswith("Express delivery")


def test_headings_are_never_quoted(answerer) -> None:
    passage = _passage("## Card fees\nA replacement card costs $5.", "fees")
    result = answerer.answer("card fees", [passage])
    assert result is not None
    assert result.text == "A replacement card costs 5 dollars."


def test_markdown_list_items_are_sentences(answerer) -> None:
    passage = _passage(
        "You can pay a bill:\n- in the app\n- by phone on 1-800-555-0140\n- at a branch", "bills"
    )
    result = ExtractiveAnswerer(max_sentences=1).answer("Which phone number do I call?", [passage])
    assert result is not None
    assert result.text == "by phone on 1 800 555 0140."


@pytest.mark.parametrize(
    ("question", "best"),
    [
        ("How much does a replacement card cost?", "fees"),
        ("wire transfer to another bank", "fees"),
        ("monthly fee checking account", "fees"),
        ("express delivery next business day", "fees"),
        ("What are the branch opening hours on Saturday?", "opening-hours"),
        ("Are the phone lines open at night?", "opening-hours"),
    ],
)
def test_output_is_always_spoken_passage_sentences(answerer, question, best) -> None:
    passages = [_passage(FEES, "fees"), _passage(HOURS, "opening-hours", score=0.5)]
    if best != "fees":
        passages.reverse()
    result = answerer.answer(question, passages)
    assert result is not None
    assert result.sources == (best,)
    chosen = [s for s in split_sentences(passages[0].text) if to_spoken(s) in result.text]
    assert 1 <= len(chosen) <= 2
    assert result.text == to_spoken("\n".join(chosen))
    assert result.grounded


def test_stream_yields_the_answer_sentences(answerer) -> None:
    passages = [_passage(FEES, "fees")]
    question = "How much does express card delivery cost?"
    sentences = list(answerer.stream(question, passages))
    assert sentences == [
        "A replacement debit card costs 5 dollars.",
        "Express delivery of a card costs 25 dollars and arrives the next business day.",
    ]
    assert " ".join(sentences) == answerer.answer(question, passages).text
    assert list(answerer.stream("Can I adopt a parrot?", passages)) == []


def test_is_an_answer_generator() -> None:
    generator: AnswerGenerator = ExtractiveAnswerer()
    assert isinstance(generator, AnswerGenerator)


def test_max_sentences_must_be_positive() -> None:
    with pytest.raises(ValueError):
        ExtractiveAnswerer(max_sentences=0)


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("One. Two! Three?", ["One.", "Two!", "Three?"]),
        ("Use a card, e.g. debit. Then pay.", ["Use a card, e.g. debit.", "Then pay."]),
        (
            "Open 9 a.m. Monday to Friday. Closed Sunday.",
            ["Open 9 a.m. Monday to Friday.", "Closed Sunday."],
        ),
        ("We open at 9 a.m. Call then.", ["We open at 9 a.m.", "Call then."]),
        ("Visit 12 Main St. for help.", ["Visit 12 Main St. for help."]),
        ("Costs $12.50 each. Pay now.", ["Costs $12.50 each.", "Pay now."]),
        ("Cards arrive\nwithin 5 days.\nCall us.", ["Cards arrive within 5 days.", "Call us."]),
        ("# Fees\nLow fees.\n- one\n- two", ["# Fees", "Low fees.", "- one", "- two"]),
        ('He said "Yes." Then left.', ['He said "Yes."', "Then left."]),
        ("", []),
    ],
)
def test_split_sentences(text, sentences) -> None:
    assert split_sentences(text) == sentences


def test_cross_references_name_what_they_point_at() -> None:
    text = (
        "We confirm your dispute by message. For how long each step takes, see the document "
        "on the chargeback timeline. Keep your receipts."
    )
    assert cross_references(text) == [
        (
            "For how long each step takes, see the document on the chargeback timeline.",
            "the chargeback timeline",
        )
    ]
    assert cross_references("Keep your receipts. See you soon.") == []


def test_a_question_of_two_kinds_gets_one_sentence_of_each(answerer) -> None:
    faq = _passage(
        "Call phone banking on 1-800-555-0140. It is open 24 hours a day, every day. "
        "From abroad, call plus 1, 555-010-0140.",
        "faq-phone-number",
        kind="faq",
    )
    result = answerer.answer("what number do I call at 2 in the morning", [faq])
    assert result is not None
    assert "0140" in result.text and "24 hours a day" in result.text
    assert "From abroad" not in result.text


def test_the_kind_of_answer_needs_the_topic(answerer) -> None:
    """A sentence that only holds an amount does not answer "how much" about something else."""
    passage = _passage(FEES, "fees")
    result = answerer.answer("how much is express delivery", [passage])
    assert result is not None
    assert result.text.startswith("Express delivery of a card costs 25 dollars")
    assert "Wire" not in result.text


CASHIERS = (
    "A cashier's check is a check guaranteed by the bank. It is often needed for buying a car "
    "or paying a deposit on a home. You can get one at any branch for $8. You can also order "
    "one in the app."
)


def test_asking_how_to_get_something_skips_what_it_is(answerer) -> None:
    passage = _passage(
        CASHIERS, "checks/ordering", 3, 0.9, heading_path=("Ordering checks", "Cashier's checks")
    )
    how = answerer.answer("I need a cashier's check for buying a car, how do I get one", [passage])
    assert how is not None
    assert how.text.startswith("You can get one at any branch for 8 dollars.")
    assert "guaranteed" not in how.text
    # a sentence that leans on the one before ("It is often needed ...") is not said alone
    assert "It is often needed" not in how.text
    what = answerer.answer("what is a cashier's check", [passage])
    assert what is not None and what.text.startswith("A cashier's check is a check guaranteed")


@pytest.mark.parametrize(
    ("title", "answered"),
    [("Travelling abroad: do you need to tell us?", True), ("Card fees", False)],
)
def test_a_document_titled_with_the_question_answers_it_without_a_shared_word(title, answered):
    from knowledge.embeddings import get_embedder

    passage = Passage(
        text="You don't need to tell us before you travel. Our fraud checks notice it.",
        score=0.37,  # below min_passage_score: the passage alone is not close enough
        document_id="travel/travel-notices",
        chunk_id="travel/travel-notices#0",
        title=title,
        source="kb/travel/travel-notices.md",
        heading_path=(title, "No travel notice needed"),
    )
    answerer = ExtractiveAnswerer(embedder=get_embedder())
    answer = answerer.answer("I'm going to Italy next month, do I need to let you know", [passage])
    if answered:
        assert answer is not None and "don't need to tell us" in answer.text
    else:
        assert answer is None


@pytest.mark.parametrize(("score", "says_yes"), [(0.9, True), (0.64, False)])
def test_a_bare_yes_is_said_only_for_a_close_match(score, says_yes) -> None:
    from knowledge.embeddings import get_embedder

    answerer = ExtractiveAnswerer(embedder=get_embedder())
    faq = _passage(
        "Yes. You can order foreign currency at the Elm Street branch. "
        "It is ready to collect within 2 working days.",
        "faq-foreign-currency",
        score=score,
        kind="faq",
    )
    answer = answerer.answer("can I buy foreign currency", [faq])
    assert answer is not None and "foreign currency at the Elm Street branch" in answer.text
    assert answer.text.startswith("Yes.") is says_yes


def test_a_sentence_that_goes_on_about_a_chosen_one_comes_along(answerer) -> None:
    text = (
        "We send you a statement every month. "
        "You must pay at least the minimum payment. "
        "That is 25 dollars, or 1 percent of the balance, whichever is more. "
        "You can pay in the app."
    )
    answer = answerer.answer(
        "what's the minimum payment I have to make every month", [_passage(text, "credit-card")]
    )
    assert answer is not None
    assert "minimum payment. That is 25 dollars" in answer.text
    assert len(split_sentences(answer.text)) <= 3


def test_short_plurals_in_es_meet_their_singular() -> None:
    from dialogue.answers import tokens

    assert tokens("buses boxes taxes branches") == ["bus", "box", "tax", "branch"]
    assert tokens("which bus") == ["bus"]


def test_a_how_do_i_question_prefers_the_sentence_that_says_what_to_do() -> None:
    payments = (
        "Some companies take payments from your account themselves, for example a gym. "
        "These are not in Bill Pay. "
        "To stop one, contact the company first. "
        "If the company keeps taking payments, call us and we can block them."
    )
    result = ExtractiveAnswerer().answer(
        "the gym takes the membership from my account, how do I make them stop taking it",
        [_passage(payments, "scheduled-payments")],
    )
    assert result is not None
    assert "contact the company first" in result.text


def test_a_how_long_question_takes_a_few_minutes_as_a_duration() -> None:
    card = (
        "The Rewards credit card gives you cash back on every purchase. "
        "You can send an application in the app or at a branch. "
        "We usually decide on an application within a few minutes."
    )
    result = ExtractiveAnswerer(max_sentences=1).answer(
        "how long until I hear back on my application", [_passage(card, "card")]
    )
    assert result is not None
    assert "a few minutes" in result.text
