"""Ordering rules of the dialogue's retriever that sit on top of the store's scores."""

from __future__ import annotations

from dialogue.retrieval import (
    ConversationContext,
    KnowledgeRetriever,
    _follow_reference,
    _prefer_named,
)
from knowledge.types import Passage


def _passage(doc: str, title: str, score: float, text: str = "Some text.") -> Passage:
    return Passage(
        text=text,
        score=score,
        document_id=doc,
        chunk_id=f"{doc}#0",
        title=title,
        source=f"kb/{doc}.md",
        heading_path=(title, "Section"),
    )


def test_the_document_the_best_passage_points_to_comes_first() -> None:
    disputes = _passage(
        "disputes/card-disputes",
        "Disputing a card payment",
        0.82,
        "We confirm your dispute. For how long each step takes, see the document on the "
        "chargeback timeline.",
    )
    timeline = _passage("disputes/chargeback-timeline", "The chargeback timeline", 0.81)
    other = _passage("cards/pin", "Your card PIN", 0.80)
    ordered = _follow_reference("how long does a dispute take?", [disputes, other, timeline], 0.1)
    assert [p.document_id for p in ordered] == [
        "disputes/chargeback-timeline",
        "disputes/card-disputes",
        "cards/pin",
    ]


def test_a_reference_about_something_else_or_too_far_is_not_followed() -> None:
    disputes = _passage(
        "disputes/card-disputes",
        "Disputing a card payment",
        0.82,
        "For how long each step takes, see the document on the chargeback timeline.",
    )
    timeline = _passage("disputes/chargeback-timeline", "The chargeback timeline", 0.81)
    # the pointing sentence shares nothing with the question but the target's own words
    assert (
        _follow_reference("what is a chargeback timeline", [disputes, timeline], 0.1)[0] is disputes
    )
    far = _passage("disputes/chargeback-timeline", "The chargeback timeline", 0.6)
    assert _follow_reference("how long does it take", [disputes, far], 0.1)[0] is disputes


def test_the_named_one_of_two_of_a_kind_comes_first() -> None:
    checking = _passage("accounts/checking", "Checking accounts", 0.92)
    savings = _passage("accounts/savings", "Savings accounts", 0.85)
    ordered = _prefer_named("does my savings account pay any interest", [checking, savings], 0.1)
    assert ordered[0] is savings
    # titles of different kinds keep the store's order: "Fees and charges" answers this
    fees = _passage("accounts/fees", "Fees and charges", 0.9)
    checking2 = _passage("accounts/checking", "Checking accounts", 0.85)
    assert _prefer_named("monthly fee on a checking account", [fees, checking2], 0.1)[0] is fees
    # nor when the caller named the best one's title too
    assert _prefer_named("checking or savings account", [checking, savings], 0.1)[0] is checking


def test_a_question_about_a_product_the_bank_lacks_finds_nothing(demo_store) -> None:
    retriever = KnowledgeRetriever(demo_store, "demo_bank")
    car_loan = "what's the interest rate on a car loan"
    assert not retriever.retrieve(car_loan, ConversationContext()).relevant
    card = retriever.retrieve("what's the interest rate on your credit card", ConversationContext())
    assert card.passages[0].document_id == "cards/credit-card"
    # without the title check the words "interest rate" would answer it with the card's rate
    unchecked = KnowledgeRetriever(demo_store, "demo_bank", min_title_similarity=0)
    assert unchecked.retrieve(car_loan, ConversationContext()).passages[0].document_id == (
        "cards/credit-card"
    )


def test_a_section_whose_headings_restate_the_question_comes_first(demo_store) -> None:
    question = "what should I do if I see a transaction I don't recognise"
    retriever = KnowledgeRetriever(demo_store, "demo_bank")
    # "Fraud and suspicious activity > If you see a transaction you don't recognise"
    assert retriever.search(question, None)[0].document_id == "security/fraud"
    # by words and meaning alone "Lost or stolen cards > Payments you don't recognise" wins
    plain = KnowledgeRetriever(demo_store, "demo_bank", heading_similarity=0)
    assert plain.search(question, None)[0].document_id == "cards/lost-or-stolen"
    # headings that are only a little closer, or not close to the question, change nothing
    assert retriever.search("how do I reset my online banking password", None) == plain.search(
        "how do I reset my online banking password", None
    )


def test_titles_and_headings_are_embedded_ahead_and_a_failing_embedder_changes_nothing(
    demo_store,
) -> None:
    retriever = KnowledgeRetriever(demo_store, "demo_bank")
    passages = list(demo_store.passages("demo_bank"))
    assert retriever.prepare(passages) > 0
    assert retriever.prepare(passages) == 0  # already there

    class Broken:
        def embed(self, texts):
            raise OSError("embedding service down")

    class Store:
        embedder = Broken()

    lost = _passage("cards/lost-or-stolen", "Lost or stolen cards", 0.70)
    fraud = _passage("security/fraud", "Fraud and suspicious activity", 0.69)
    broken = KnowledgeRetriever(Store(), "demo_bank")  # type: ignore[arg-type]
    assert broken._prefer_heading("a transaction I don't recognise", [lost, fraud]) == [
        lost,
        fraud,
    ]
