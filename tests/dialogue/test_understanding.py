from __future__ import annotations

import pytest

from dialogue.understanding import (
    about_me,
    drops_task,
    is_agent_request,
    is_cancel,
    is_frustrated,
    is_goodbye,
    is_greeting,
    is_hold_on,
    is_repeat_request,
    is_thanks,
    is_unintelligible,
    needs_person,
    normalise,
    sentiment,
    starts_over,
    the_request,
    two_requests,
    yes_or_no,
)


def test_normalise_drops_punctuation_and_straightens_apostrophes() -> None:
    assert normalise("No, thank you.") == "no thank you"
    assert normalise("That\u2019s all!") == "that's all"


@pytest.mark.parametrize(
    "text",
    [
        "I want to speak to a person",
        "can I talk to a human please",
        "agent",
        "representative",
        "get me a real person",
        "put me through to customer service",
        "Operator!",
        "transfer me to someone",
        "I'd like to speak with somebody",
        "connect me to an advisor",
        "is there any way I can get put through to an actual banker",
        "look I'd really prefer to sort this out with a teller on the line",
        "you know what I'd sooner have one of your people deal with this for me",
        "is there a flesh and blood person around",
        "can you pass me along to somebody sitting at a desk",
    ],
)
def test_requests_for_a_person(text: str) -> None:
    assert is_agent_request(normalise(text))


@pytest.mark.parametrize(
    "text",
    [
        "can I open an account in person",
        "what's the fee per person",
        "what is the routing number",
        "I want to transfer money to savings",
        "can a teller at the branch cash my check",
    ],
)
def test_not_requests_for_a_person(text: str) -> None:
    assert not is_agent_request(normalise(text))


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("someone used my card without permission", "fraud"),
        ("there are charges on my account I don't recognize", "fraud"),
        ("I think I've been scammed", "fraud"),
        ("I was charged twice for the same thing", "dispute"),
        ("I want to dispute a charge", "dispute"),
        ("the item never arrived and I want a refund", "dispute"),
        ("someone took money from my account, how do I get it back", "fraud"),
        (
            "the gym kept taking money off my card after I cancelled and won't give it back",
            "dispute",
        ),
        ("the airline cancelled my flight and they still haven't refunded the ticket", "dispute"),
        ("they already took this month's bill out twice and I want the second one back", "dispute"),
        ("I was charged twice by the gym, should I dispute it", "dispute"),
        ("there's a bunch of online orders from a website overseas that I never placed", "fraud"),
        (
            "they charged me for a scratch that was already there and I want that charge reversed",
            "dispute",
        ),
        ("they sent the wrong model and now they won't take it back", "dispute"),
        ("twenty dollars keeps going to some company I've never heard of", "fraud"),
        ("I clicked the link in a text and now six hundred dollars is gone", "fraud"),
        ("somebody take money from my account two times, I don't do this", "fraud"),
        ("a man said he was from your bank and I gave him my card number", "fraud"),
        ("my grandson says there's money missing from my account", "fraud"),
        ("somebody changed the phone number and email on my account, I didn't do that", "fraud"),
        ("a credit card I never applied for, somebody opened it in my name", "fraud"),
        ("the ATM took $200 out of my account but it didn't give me the cash", "dispute"),
    ],
)
def test_reports_that_need_a_person(text: str, kind: str) -> None:
    assert needs_person(normalise(text)) == kind


@pytest.mark.parametrize(
    "text",
    [
        "how long does a dispute take",
        "what is your fraud policy",
        "how do chargebacks work",
        "what should I do if my card is stolen",
        "after you send off the chargeback how long does the store have to answer it",
        "I keep getting scam texts pretending to be you, where do I forward them",
        "I've never heard of Northwind Pay, what is it",
        "I set up a low balance alert and I never got anything on my phone, why not",
        "does that mean I can never get the overdraft fee now",
        "I disputed a charge from a hotel last week, how long until it's all sorted out",
        "I put the wrong amount on the bill pay check, is there any way to stop it",
        "the hotel put a hold on my card when I checked in and it's still pending, do I need to"
        " dispute that",
    ],
)
def test_questions_about_fraud_and_disputes_are_not_reports(text: str) -> None:
    assert needs_person(normalise(text)) is None


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("yes", True),
        ("yeah go ahead", True),
        ("that's right", True),
        ("sure, please do", True),
        ("no", False),
        ("nope", False),
        ("no that's wrong", False),
        ("hmm let me think", None),
        ("", None),
    ],
)
def test_yes_or_no(text: str, answer: bool | None) -> None:
    assert yes_or_no(normalise(text)) is answer


@pytest.mark.parametrize(
    "text",
    [
        "this is useless",
        "I already told you that!",
        "you're not listening",
        "ridiculous",
        "I'm losing my patience here, this is way too complicated",
        "no no no you keep getting everything wrong this is driving me up the wall",
        "I swear talking to this robot is like talking to a brick wall",
        "honestly I've had it up to here with this automated rubbish",
        "honestly this is doing my head in and I'm getting nowhere",
    ],
)
def test_frustration(text: str) -> None:
    said = normalise(text)
    assert is_frustrated(said)
    assert sentiment(said) == "negative"


def test_sentiment_positive_and_neutral() -> None:
    assert sentiment("thanks that's great") == "positive"
    assert sentiment("what is my balance") == "neutral"


@pytest.mark.parametrize("text", ["", "   ", "[inaudible]", "(music)", "um", "uh, hmm", "s"])
def test_unintelligible(text: str) -> None:
    assert is_unintelligible(text)


@pytest.mark.parametrize("text", ["no", "yes", "I", "4", "balance", "Alex Morgan"])
def test_short_but_meaningful(text: str) -> None:
    assert not is_unintelligible(text)


def test_goodbye_and_cancel() -> None:
    assert is_goodbye("no thanks bye")
    assert is_goodbye("that's all")
    assert not is_goodbye("what are the fees")
    assert is_cancel("never mind")
    assert is_cancel("forget it")
    assert not is_cancel("I want to cancel my card and order a new one please right now")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("awesome thanks a bunch", True),
        ("ok great, thanks a lot", True),
        ("thanks, but what about my savings", False),
    ],
)
def test_thanks_said_casually(text: str, expected: bool) -> None:
    assert is_thanks(normalise(text)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hey there, how's it going?", True),
        ("hello how are you", True),
        ("hey can you help", False),
    ],
)
def test_greetings_with_small_talk(text: str, expected: bool) -> None:
    assert is_greeting(normalise(text)) is expected


def test_talking_to_somebody_in_person_is_a_request_for_a_person() -> None:
    assert is_agent_request(normalise("hang on, can I just talk to somebody in person about this"))
    assert not is_agent_request(normalise("can I open an account in person"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'll have another look in the car first so let's just forget the whole thing", True),
        ("cancel", True),
        ("hmm you know what never mind I'll hold off for now", True),
        ("hmm no you know what scrap that I'll leave it where it is", True),
        ("I was going to cancel a payment and then I wondered about the fee for it", False),
    ],
)
def test_calling_a_task_off(text: str, expected: bool) -> None:
    assert is_cancel(normalise(text)) is expected


def test_a_repeat_request_at_the_end_of_a_longer_turn() -> None:
    assert is_repeat_request(normalise("sorry the line cut out for a second, can you repeat that"))
    assert not is_repeat_request(
        normalise("can you repeat the part about fees because I want to write it down for my son")
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no that covers it take care", True),
        ("ok that's everything have a good day", True),
        ("perfect that's all I needed thanks a bunch", True),
        ("I'm done way after you close, is there like a night drop for my cash", False),
    ],
)
def test_a_goodbye_ends_the_turn(text: str, expected: bool) -> None:
    assert is_goodbye(normalise(text)) is expected


def test_reports_and_questions_said_at_length() -> None:
    said = normalise("somebody's already made purchases on it that weren't me")
    assert needs_person(said) == "fraud"
    asks = normalise(
        "I opened a dispute two weeks ago, is there somewhere in the app to check on it"
    )
    assert needs_person(asks) is None
    assert is_frustrated(
        normalise("I've been going back and forth with this thing, about to lose it")
    )
    assert is_unintelligible("uhhh") and is_unintelligible("hmmm er")


def test_whats_in_checking_is_the_callers_own_money() -> None:
    from dialogue.understanding import OWN_MONEY

    assert OWN_MONEY.search(normalise("and could you tell me what's in checking right now"))
    assert not OWN_MONEY.search(normalise("what's in a checking account statement"))


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        (
            "hi this is john smith the last four on my checking are one one zero zero and I "
            "just wanted to know what's in my savings",
            "John Smith",
            "hi and I just wanted to know what's in my savings",
        ),
        ("but while I'm here what do I owe on the card", None, "what do I owe on the card"),
        ("my pin is 5678 and I want to move 200 dollars", None, "and I want to move 200 dollars"),
        ("I gotta get the power bill paid", None, "I need to get the power bill paid"),
        ("I want pay Bayside internet", None, "I want to pay Bayside internet"),
        ("I've got to pay city power today", None, "i need to pay city power today"),
        (
            "oh wait forget the balance my debit card's not in my purse",
            None,
            "oh wait my debit card's not in my purse",
        ),
        ("what is the pin for my card", None, "what is the pin for my card"),
    ],
)
def test_the_request_without_what_says_nothing_about_it(text, name, expected) -> None:
    assert the_request(text, name) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oh that's fine then yep fire away", True),
        ("mhm go on then", True),
        ("I was wondering if you could tell me more about the fees, yes or no", None),
    ],
)
def test_a_short_turn_may_lead_up_to_its_yes(text: str, expected: bool | None) -> None:
    assert yes_or_no(normalise(text)) is expected


def test_dropping_one_task_for_another() -> None:
    assert drops_task(normalise("forget the balance I think I lost my card"))
    assert drops_task(normalise("the real reason I'm calling is my password"))
    assert not drops_task(normalise("what's the balance on my savings"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oh. Okay, make it 5,000 then.", "oh okay make it 5000 then"),
        ("What about Elm St.?", "what about elm street"),
        ("the Harbour Road branch", "the harbor road branch"),
    ],
)
def test_normalise_keeps_sums_and_spells_branches_one_way(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Pay my water bill, $62.40, and then tell me what's left in checking.",
            ("Pay my water bill, $62.40", "tell me what's left in checking."),
        ),
        (
            "I need new checks, and I also need to reset my online banking password.",
            ("I need new checks", "reset my online banking password."),
        ),
        ("what happens then", None),
        ("I want to move money and then", None),
    ],
)
def test_two_requests_in_one_turn(text: str, expected) -> None:
    assert two_requests(text) == expected


@pytest.mark.parametrize(
    ("text", "answered"),
    [
        ("hang on who am I actually talking to here", True),
        ("is this call being recorded", True),
        ("why do you need that, is this line even secure", True),
        ("are you open on sunday", False),
        ("is this the right number for card services", False),
    ],
)
def test_questions_about_the_assistant_or_the_call(text: str, answered: bool) -> None:
    assert (about_me(normalise(text)) is not None) is answered


def test_stepping_away_and_starting_over() -> None:
    assert is_hold_on(normalise("sorry can you hold on one second, my kid's shouting"))
    assert not is_hold_on(normalise("hold on a second, I think it's the wrong amount"))
    assert starts_over(normalise("can we just start the whole transfer again from the top"))
    assert not starts_over(normalise("when does the branch start opening on saturdays"))
