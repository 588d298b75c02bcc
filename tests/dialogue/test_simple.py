"""The simple FAQ dialogue over the bundled demo FAQ: one ``SimpleDialogue`` per call."""

from __future__ import annotations

import pytest

from dialogue.faq import DEMO_FAQ, FAQIndex, load_faq
from dialogue.simple import ANYTHING_ELSE, DialogueConfig, SimpleDialogue
from dialogue.types import Reply

DIDNT_CATCH = "Sorry, I didn't catch that. Could you say it again?"
NO_ANSWER = "Sorry, I don't have an answer for that. Could you put it another way?"


@pytest.fixture(scope="module")
def faq() -> FAQIndex:
    return FAQIndex(load_faq(DEMO_FAQ))


@pytest.fixture
def dialogue(faq: FAQIndex) -> SimpleDialogue:
    return SimpleDialogue(faq)


def _answer_of(faq: FAQIndex, entry_id: str) -> str:
    return next(e.answer for e in faq.entries if e.id == entry_id)


def test_greeting_names_the_company(faq: FAQIndex) -> None:
    reply = SimpleDialogue(faq, DialogueConfig(company_name="Contoso Credit Union")).greeting()
    assert reply.text.startswith("Thanks for calling Contoso Credit Union")
    assert reply.text.endswith("How can I help you today?")
    assert (reply.action, reply.intent, reply.end_call) == ("greeting", "greeting", False)
    assert "Northwind Bank" in SimpleDialogue(faq).greeting().text


@pytest.mark.parametrize(
    ("said", "source"),
    [
        ("when do you open on saturday", "opening-hours"),
        ("What time do you close today?", "opening-hours"),
        ("my card was stolen", "lost-card"),
        ("I lost my debit card.", "lost-card"),
        ("how do I reset my online banking password", "reset-password"),
        ("I forgot my password and I'm locked out", "reset-password"),
        ("what's the overdraft fee", "overdraft"),
        ("Is there a monthly fee on my checking account?", "account-fees"),
        ("How much does a wire transfer cost?", "wire-transfer"),
        ("What is your routing number?", "routing-number"),
        ("I need to order a new checkbook", "order-checks"),
        ("I'm going abroad, can I use my card overseas?", "travel-notice"),
        ("There's a transaction I don't recognise on my account", "fraud"),
        ("I think someone took money from my account", "fraud"),
        ("Where is the nearest branch?", "branch-locations"),
        ("Can I deposit a check with my phone?", "mobile-deposit"),
    ],
)
def test_answers_from_the_faq_with_its_source(
    dialogue: SimpleDialogue, faq: FAQIndex, said: str, source: str
) -> None:
    reply = dialogue.on_text(said)
    assert reply.action == "answer"
    assert reply.intent == "faq"
    assert reply.sources == (source,)
    assert reply.text == f"{_answer_of(faq, source)} {ANYTHING_ELSE}"
    assert reply.confidence is not None and reply.confidence >= DialogueConfig().min_score
    assert reply.end_call is False


def test_weak_matches_are_not_trusted(faq: FAQIndex) -> None:
    said = "when do you open on saturday"
    score = faq.search(said)[0].score
    strict = SimpleDialogue(faq, DialogueConfig(min_score=score + 0.01))
    assert strict.on_text(said).action == "fallback"
    assert SimpleDialogue(faq, DialogueConfig(min_score=score)).on_text(said).action == "answer"


@pytest.mark.parametrize("said", ["what's the weather", "Tell me a joke.", "who won the football"])
def test_out_of_scope_falls_back(dialogue: SimpleDialogue, said: str) -> None:
    reply = dialogue.on_text(said)
    assert reply == Reply(NO_ANSWER, action="fallback", intent="out_of_scope")


def test_fallback_changes_after_repeated_failures(dialogue: SimpleDialogue) -> None:
    first = dialogue.on_text("what's the weather")
    second = dialogue.on_text("will it rain tomorrow")
    third = dialogue.on_text("tell me a joke")
    assert first.text == NO_ANSWER
    assert second.text != first.text
    assert second.text.startswith("I'm sorry, I can't help with that here.")
    # It lists the first topics and points to the keypad menu.
    assert "opening hours, lost or stolen cards" in second.text
    assert "press pound" in second.text
    assert third.text == second.text
    assert {r.action for r in (first, second, third)} == {"fallback"}


def test_an_answer_resets_the_failure_count(dialogue: SimpleDialogue) -> None:
    dialogue.on_text("what's the weather")
    assert dialogue.on_text("my card was stolen").action == "answer"
    assert dialogue.on_text("what's the weather").text == NO_ANSWER


def test_max_failures_is_configurable(faq: FAQIndex) -> None:
    dialogue = SimpleDialogue(faq, DialogueConfig(max_failures=3))
    texts = [dialogue.on_text("what's the weather").text for _ in range(3)]
    assert texts[:2] == [NO_ANSWER, NO_ANSWER]
    assert texts[2].startswith("I'm sorry, I can't help with that here.")


@pytest.mark.parametrize("said", ["", "   ", "...", " ? "])
def test_nothing_said(dialogue: SimpleDialogue, said: str) -> None:
    reply = dialogue.on_text(said)
    assert reply.text == DIDNT_CATCH
    assert reply.action == "fallback"


def test_not_catching_counts_as_a_failure(dialogue: SimpleDialogue) -> None:
    dialogue.on_text("")
    assert dialogue.on_text("what's the weather").text.startswith("I'm sorry, I can't help")


@pytest.mark.parametrize(
    "said",
    [
        "Goodbye.",
        "bye",
        "Good bye!",
        "Thanks, bye!",
        "No thanks.",
        "No, thanks.",
        "No, thank you.",
        "That's all.",
        "That’s all, thanks.",
        "That is all, thank you",
        "Nothing else.",
        "You can hang up now",
        "I'm done.",
        "Have a good day!",
    ],
)
def test_goodbye_ends_the_call(dialogue: SimpleDialogue, said: str) -> None:
    dialogue.greeting()
    reply = dialogue.on_text(said)
    assert reply.action == "goodbye"
    assert reply.intent == "goodbye"
    assert reply.end_call is True
    assert reply.text == "Thank you for calling Northwind Bank. Goodbye!"


def test_goodbye_method(dialogue: SimpleDialogue) -> None:
    assert dialogue.goodbye().end_call is True


@pytest.mark.parametrize(
    "said", ["Say that again?", "Can you repeat that?", "pardon", "Come again?"]
)
def test_repeat_gives_the_last_reply_again(
    dialogue: SimpleDialogue, faq: FAQIndex, said: str
) -> None:
    answer = dialogue.on_text("my card was stolen")
    again = dialogue.on_text(said)
    assert again.text == answer.text
    assert again.action == "answer"
    assert again.sources == ("lost-card",)
    assert again.intent == "repeat"
    # Repeating twice still repeats the answer, not the repeat.
    assert dialogue.on_text(said).text == answer.text


def test_repeat_after_greeting_and_fallback(dialogue: SimpleDialogue) -> None:
    greeting = dialogue.greeting()
    assert dialogue.on_text("say that again").text == greeting.text
    fallback = dialogue.on_text("what's the weather")
    assert dialogue.on_text("say that again").text == fallback.text


def test_repeat_with_nothing_said_yet_is_not_understood(dialogue: SimpleDialogue) -> None:
    assert dialogue.on_text("say that again").action == "fallback"


@pytest.mark.parametrize(
    "said",
    [
        "I want to speak to an agent",
        "Can I talk to a human?",
        "Representative.",
        "Put me through to a real person please",
        "operator",
    ],
)
def test_agent_request(dialogue: SimpleDialogue, said: str) -> None:
    reply = dialogue.on_text(said)
    assert reply.action == "fallback"
    assert reply.intent == "agent_request"
    assert "aren't available" in reply.text
    assert reply.text.endswith(ANYTHING_ELSE)
    assert reply.end_call is False


def test_greeting_and_thanks_small_talk(dialogue: SimpleDialogue) -> None:
    hello = dialogue.on_text("Hello.")
    assert (hello.action, hello.intent) == ("prompt", "greeting")
    assert dialogue.on_text("Good morning!").intent == "greeting"
    thanks = dialogue.on_text("Thank you.")
    assert (thanks.action, thanks.intent) == ("prompt", "affirm")
    assert thanks.text == f"You're welcome. {ANYTHING_ELSE}"
    assert dialogue.on_text("great").intent == "affirm"


@pytest.mark.parametrize(
    ("digit", "source"),
    [
        ("1", "opening-hours"),
        ("2", "lost-card"),
        ("3", "reset-password"),
        ("4", "account-fees"),
        ("5", "overdraft"),
        ("6", "wire-transfer"),
        ("7", "routing-number"),
        ("8", "order-checks"),
        ("9", "travel-notice"),
    ],
)
def test_dtmf_digit_picks_a_topic(
    dialogue: SimpleDialogue, faq: FAQIndex, digit: str, source: str
) -> None:
    reply = dialogue.on_dtmf(digit)
    assert reply.action == "answer"
    assert reply.sources == (source,)
    assert reply.text == f"{_answer_of(faq, source)} {ANYTHING_ELSE}"
    assert reply.meta == {"dtmf": digit}


def test_dtmf_zero_asks_for_an_agent(dialogue: SimpleDialogue) -> None:
    assert dialogue.on_dtmf("0").intent == "agent_request"


def test_dtmf_pound_reads_the_menu(dialogue: SimpleDialogue) -> None:
    reply = dialogue.on_dtmf("#")
    assert (reply.action, reply.intent) == ("prompt", "menu")
    assert reply.text.startswith("You can press 1 for opening hours, 2 for lost or stolen cards")
    assert "9 for travel notices." in reply.text
    assert "10 for" not in reply.text


def test_dtmf_star_repeats(dialogue: SimpleDialogue) -> None:
    answer = dialogue.on_dtmf("2")
    assert dialogue.on_dtmf("*") == answer
    dialogue.on_text("what's the weather")
    assert dialogue.on_dtmf("*").text == NO_ANSWER


@pytest.mark.parametrize("digits", ["*", "10", "A", "", "12#"])
def test_dtmf_invalid_key(dialogue: SimpleDialogue, digits: str) -> None:
    reply = dialogue.on_dtmf(digits)  # "*" with nothing said yet has nothing to repeat
    assert reply.action == "fallback"
    assert reply.text.startswith("Sorry, that key doesn't do anything. You can press 1 for")
    assert reply.meta == {"dtmf": digits}


def test_dtmf_answer_resets_failures(dialogue: SimpleDialogue) -> None:
    dialogue.on_text("what's the weather")
    dialogue.on_dtmf("1")
    assert dialogue.on_text("what's the weather").text == NO_ANSWER


def test_on_idle_prompts_then_hangs_up(dialogue: SimpleDialogue) -> None:
    max_prompts = 2
    for given in range(max_prompts):
        reply = dialogue.on_idle(given, max_prompts)
        assert (reply.action, reply.intent, reply.end_call) == ("prompt", "silence", False)
        assert reply.text == "Are you still there? How can I help you?"
    last = dialogue.on_idle(max_prompts, max_prompts)
    assert (last.action, last.intent, last.end_call) == ("goodbye", "silence", True)
    assert "end the call" in last.text
    assert dialogue.on_idle(0, 0).end_call is True


def test_idle_prompt_is_not_what_repeat_repeats(dialogue: SimpleDialogue) -> None:
    answer = dialogue.on_text("what's the overdraft fee")
    dialogue.on_idle(0, 2)
    assert dialogue.on_text("say that again").text == answer.text


def test_dialogues_do_not_share_state(faq: FAQIndex) -> None:
    first, second = SimpleDialogue(faq), SimpleDialogue(faq)
    first.on_text("what's the weather")
    assert second.on_text("what's the weather").text == NO_ANSWER
    first.on_text("my card was stolen")
    assert second.on_text("say that again").text != first.on_text("say that again").text
