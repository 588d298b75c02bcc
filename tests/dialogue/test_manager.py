"""The dialogue manager on the demo bank: flows, answers with context, clarification,
handoff triggers and the summary. (The scenario suite covers many more conversations.)"""

from __future__ import annotations

import pytest

from dialogue.manager import HandoffRequested, TaskCompleted


def test_greeting_then_a_grounded_answer_with_sources(talk) -> None:
    (reply,) = talk("What's your routing number?")
    assert reply.action == "answer"
    assert reply.sources[0] in ("faq-routing-number", "accounts/checking")  # both say it
    assert "routing number is 1 2 3 4 5 6 7 8 0" in reply.text  # read digit by digit
    assert reply.text.endswith("Is there anything else I can help you with?")


def test_the_branch_carries_over_to_a_follow_up(talk) -> None:
    first, follow_up = talk(
        "What's the address of the Elm Street branch?",
        "and what time do they open on Saturday?",
    )
    assert first.sources[0] == "branches/elm-street"
    assert "12 Elm Street" in first.text
    assert follow_up.action == "answer"
    assert follow_up.sources[0] == "branches/elm-street"
    assert "Saturday, 9 am to 1 pm" in follow_up.text


def test_ambiguous_question_is_clarified_and_the_answer_used(talk) -> None:
    ask, answer = talk("is there parking?", "Oak Avenue")
    assert ask.action == "clarify"
    assert all(b in ask.text for b in ("Elm Street", "Harbor Road", "Oak Avenue"))
    assert answer.action == "answer"
    assert answer.sources[0] == "branches/oak-avenue"


def test_nothing_relevant_offers_a_person_and_yes_hands_off(talk) -> None:
    nothing, yes = talk("can you book me a flight to Paris", "yes please")
    assert nothing.action == "fallback"
    assert "person" in nothing.text or "colleague" in nothing.text
    assert not nothing.sources
    assert yes.action == "handoff"
    assert yes.meta["reason"] == "agent_request"


def test_two_failures_in_a_row_hand_off(talk) -> None:
    first, second = talk("what's the weather tomorrow", "who won the football last night")
    assert first.action == "fallback"
    assert second.action == "handoff"
    assert second.meta["reason"] == "repeated_failures"
    assert "who won the football" in " ".join(second.meta["handoff"]["key_quotes"])


def test_transfer_with_verification_correction_and_confirmation(talk) -> None:
    replies = talk(
        "I'd like to move a hundred dollars from checking to savings",
        "my name is Alex Morgan",
        "four eight two one",
        "no, make it two hundred dollars",
        "yes",
    )
    start, name, verified, corrected, done = replies
    assert start.action == "flow" and start.intent == "transfer_money"
    assert start.meta["slots"] == {
        "amount": "100.00", "from_account": "checking", "to_account": "savings"
    }  # fmt: skip
    assert "full name" in start.text
    assert "last four digits" in name.text
    assert "you're verified" in verified.text and "100 dollars" in verified.text
    assert corrected.meta["slots"]["amount"] == "200.00"
    assert "200 dollars" in corrected.text and "Shall I go ahead" in corrected.text
    assert done.text.startswith("Done.")
    assert "2,250 dollars 75" in done.text  # 2,450.75 - 200 left in checking
    assert talk.events and isinstance(talk.events[-1], TaskCompleted)
    assert talk.manager.identity.verified


def test_keypad_pin_verifies_and_a_second_task_does_not_ask_again(talk) -> None:
    start, name, waiting, verified = talk(
        "what's my balance", "Priya Shah", "#246", "#8"
    )  # fmt: skip
    assert waiting is None  # three digits: more to come
    assert "you're verified" in verified.text
    (balance,) = talk("savings")
    assert "5,400 dollars" in balance.text
    (order,) = talk("I need to order checks")
    assert "full name" not in order.text
    assert "Shall I go ahead" in order.text


def test_failed_verification_twice_hands_off(talk) -> None:
    replies = talk(
        "I lost my debit card", "Alex Morgan", "1 1 1 1", "Alex Morgan", "2 2 2 2"
    )  # fmt: skip
    assert "don't match" in replies[2].text
    handoff = replies[-1]
    assert handoff.action == "handoff"
    assert handoff.meta["reason"] == "verification_failed"
    summary = handoff.meta["handoff"]
    assert summary["verified"] is False
    assert summary["intent"] == "replace_card"
    assert any("replacing a card" in item for item in summary["open"])


def test_cancel_and_change_of_task_mid_flow(talk) -> None:
    _, cancelled = talk("I want to pay a bill", "never mind")
    assert "Nothing was changed" in cancelled.text
    assert talk.manager.flow is None
    start, switched = talk("transfer some money please", "actually I want to check my balance")
    assert switched.intent == "check_balance"


def test_a_side_question_mid_flow_is_answered_then_the_question_asked_again(talk) -> None:
    _, _, _, side = talk(
        "book an appointment", "Alex Morgan", "4821", "what should I bring to the appointment?"
    )  # fmt: skip
    assert side.action == "answer"
    assert side.sources and side.sources[0] == "appointments/booking"
    assert side.text.endswith("Which branch would you like to visit, Elm Street, Harbor Road "
                              "or Oak Avenue?")  # fmt: skip


def test_bank_refusal_asks_for_the_amount_again(talk) -> None:
    replies = talk(
        "transfer five hundred dollars from savings to checking",
        "Sam Lee", "3 1 4 1", "yes",
    )  # fmt: skip
    refused = replies[-1]
    assert refused.action == "flow"
    assert "How much would you like to transfer" in refused.text
    assert "amount" not in refused.meta["slots"]


def test_agent_request_handoff_carries_a_summary_and_an_event(talk) -> None:
    talk("What's the fee for a wire transfer?")
    (handoff,) = talk("I want to talk to a real person")
    assert handoff.action == "handoff"
    summary = handoff.meta["handoff"]
    assert summary["reason"] == "agent_request"
    assert summary["call_id"] == "test"
    assert summary["done"] and "wire" in summary["done"][0]
    assert 2 <= summary["prose"].count(".") <= 4
    assert isinstance(talk.events[-1], HandoffRequested)
    (after,) = talk("what's the routing number?")  # the call goes on after a handoff
    assert after.action == "answer"


def test_keypad_zero_frustration_fraud_and_dispute_hand_off(talk) -> None:
    (zero,) = talk("#0")
    assert zero.meta["reason"] == "agent_request"
    reasons = [
        r.meta["reason"]
        for r in talk(
            "this is ridiculous, you're useless",
            "someone used my card and I don't recognize these payments",
            "I was charged twice for the same purchase",
        )
    ]
    assert reasons == ["frustration", "fraud", "dispute"]
    (question,) = talk("how long does a card dispute take?")
    assert question.action == "answer"


def test_unintelligible_twice_hands_off_and_silence_ends_politely(talk, services) -> None:
    first, second = talk("[inaudible]", "um")
    assert first.action == "fallback" and "didn't catch" in first.text
    assert second.meta["reason"] == "unintelligible"
    manager = services.conversation()
    assert manager.on_idle(0, 2).action == "fallback"
    bye = manager.on_idle(2, 2)
    assert bye.action == "goodbye" and bye.end_call


def test_goodbye_repeat_and_no_more_questions(talk) -> None:
    answer, again, thanks, no = talk(
        "how do I reset my pin?", "sorry, say that again", "thanks", "no"
    )  # fmt: skip
    assert again.text == answer.text
    assert thanks.text.startswith("You're welcome")
    assert no.action == "goodbye" and no.end_call


def test_a_broken_llm_falls_back_to_the_extractive_answer(services) -> None:
    from dataclasses import replace

    class Down:
        def answer(self, question, passages, *, context=None):
            raise ConnectionError("endpoint down")

    manager = replace(services, answerer=Down()).conversation()
    reply = manager.on_text("What's your routing number?")
    assert reply.action == "answer" and "1 2 3 4 5 6 7 8 0" in reply.text


def test_a_missing_knowledge_base_is_a_polite_fallback(services) -> None:
    from dataclasses import replace

    from dialogue.retrieval import KnowledgeRetriever

    gone = KnowledgeRetriever(services.retriever.store, "no_such_collection")
    reply = replace(services, retriever=gone).conversation().on_text("what are your fees?")
    assert reply.action == "fallback"


def test_an_answer_to_a_problem_offers_the_task_and_yes_starts_it(talk) -> None:
    answer, yes = talk("I lost my debit card, what should I do?", "yes please")
    assert answer.action == "answer" and answer.sources
    assert answer.text.endswith("I can help with replacing a card now, if you like. Shall I?")
    assert yes.action == "flow" and yes.intent == "replace_card"
    assert yes.meta["slots"] == {"card_type": "debit", "reason": "lost"}
    assert "full name" in yes.text


def test_a_plain_question_gets_no_offer(talk) -> None:
    (answer,) = talk("how do I order checks?")
    assert answer.action == "answer"
    assert answer.text.endswith("Is there anything else I can help you with?")


class _StreamingLLM:
    """A stand-in for an LLM answerer: sentences one at a time, or a failure."""

    def __init__(self, sentences=(), fail=False):
        self.sentences, self.fail, self.asked = list(sentences), fail, []

    def answer(self, question, passages, *, context=None):
        raise AssertionError("a streaming call must not wait for the whole answer")

    def stream(self, question, passages, context=None):
        self.asked.append((question, [p.document_id for p in passages]))
        if self.fail:
            raise ConnectionError("endpoint down")
        yield from self.sentences


def test_an_llm_answer_streams_and_is_recorded_when_spoken(services) -> None:
    from dataclasses import replace

    llm = _StreamingLLM(["An outgoing domestic wire costs $20.", "Incoming ones are free."])
    manager = replace(services, answerer=llm).conversation(stream_answers=True)
    reply = manager.on_text("How much does a domestic wire transfer cost?")
    assert reply.action == "answer" and reply.text == "" and reply.stream is not None
    assert reply.sources[0] == "transfers/wire"
    assert manager.history[-1][0] == "caller"  # nothing said yet
    spoken = list(reply.stream)
    assert spoken == [
        "An outgoing domestic wire costs 20 dollars.",
        "Incoming ones are free.",
        "Is there anything else I can help you with?",
    ]
    assert manager.history[-1] == ("assistant", " ".join(spoken))
    assert llm.asked[0][1][0] == "transfers/wire"
    again = manager.on_text("sorry, say that again")
    assert again.text == " ".join(spoken)


def test_an_llm_gets_the_callers_own_words_and_their_earlier_turns(services) -> None:
    """The search query of a follow-up is rewritten ("Elm Street branch: and ..."); a model
    is given what the caller said, with the earlier turns as context."""
    from dataclasses import replace

    class Recording:
        def __init__(self):
            self.asked = []

        def answer(self, question, passages, *, context=None):
            self.asked.append((question, list(context or []), passages[0].entity))
            from dialogue.answers import Answer

            return Answer("We open at 9 am on Saturdays.", (passages[0].document_id,), True)

    llm = Recording()
    manager = replace(services, answerer=llm).conversation()
    manager.on_text("what time does the Elm Street branch open?")
    reply = manager.on_text("and on Saturday?")
    assert reply.action == "answer"
    question, context, entity = llm.asked[-1]
    assert question == "and on Saturday?"
    assert context == ["what time does the Elm Street branch open?"]
    assert entity == "Elm Street branch"


def test_a_failing_llm_stream_falls_back_to_the_passage(services) -> None:
    from dataclasses import replace

    manager = replace(services, answerer=_StreamingLLM(fail=True)).conversation(stream_answers=True)
    reply = manager.on_text("How much does a domestic wire transfer cost?")
    spoken = list(reply.stream)
    assert "20 dollars" in " ".join(spoken)


def test_an_llm_refusal_is_a_polite_no_answer(services) -> None:
    from dataclasses import replace

    manager = replace(services, answerer=_StreamingLLM([])).conversation(stream_answers=True)
    spoken = list(manager.on_text("How much does a domestic wire transfer cost?").stream)
    assert "don't have information" in spoken[-1]


def test_a_follow_up_does_not_get_the_same_answer_again(talk) -> None:
    fee, avoid = talk("what's the overdraft fee?", "and how do I avoid it?")
    assert fee.sources[0] == "accounts/overdraft"
    assert avoid.action == "answer"
    assert avoid.text != fee.text


@pytest.mark.parametrize(
    "said", ["uh yeah Sam Lee", "okay sam lee", "Sam Lee here", "sam lee is my name"]
)
def test_a_name_said_with_fillers_around_it_verifies(talk, said: str) -> None:
    *_, reply = talk("what's my checking balance", said, "#3141")
    assert "you're verified" in reply.text
    assert "312 dollars 18" in reply.text


def test_a_pin_keyed_before_the_name_is_kept_for_after_it(talk) -> None:
    start, keyed, name = talk("what's my checking balance", "#3141", "it's Sam Lee")
    assert keyed.action == "flow"
    assert "your name first" in keyed.text
    assert "you're verified" in name.text
    assert "312 dollars 18" in name.text


def test_a_bare_correction_at_the_read_back_changes_the_amount(talk) -> None:
    replies = talk(
        "I want to move four hundred dollars from checking to savings",
        "Maria Garcia",
        "#5678",
        "oh sorry I meant three hundred",
        "yes",
    )
    assert "move 300 dollars from your checking account" in replies[3].text
    assert "moved 300 dollars to your savings account" in replies[4].text


def test_a_new_amount_asked_for_instead_at_the_read_back_changes_it(talk) -> None:
    *_, changed, done = talk(
        "I need to move three grand from my savings into checking",
        "Maria Garcia",
        "#5678",
        "actually can we do thirty five hundred instead",
        "yes",
    )
    assert changed.action == "flow"
    assert "move 3,500 dollars from your savings account" in changed.text
    assert "moved 3,500 dollars to your checking account" in done.text


def test_a_question_with_a_number_at_the_read_back_is_not_a_new_amount(talk) -> None:
    *_, side = talk(
        "I need to move three grand from my savings into checking",
        "Maria Garcia",
        "#5678",
        "is there a limit on how much I can move in a day, like five thousand?",
    )
    assert "move 3,000 dollars" in side.text


def test_the_name_again_after_a_mistyped_pin_with_an_apology_before_it(talk) -> None:
    *_, again, name, done = talk(
        "could I get a couple more checkbooks sent to me",
        "maria garcia",
        "#5768",
        "oops sorry maria garcia",
        "#5678",
    )
    assert "try once more" in again.text
    assert name.action == "flow"
    assert "PIN" in name.text
    assert "you're verified" in done.text


def test_can_i_reorder_is_the_task_not_a_question(talk) -> None:
    (reply,) = talk("my checkbook's down to the last two checks can I reorder")
    assert reply.action == "flow"
    assert reply.intent == "order_checks"


def test_a_first_question_about_it_asks_what_it_is_then_answers(talk) -> None:
    ask, answer = talk(
        "hi um how do I turn it on",
        "the overdraft protection thing where my savings covers my checking",
    )
    assert ask.action == "clarify"
    assert "what is it" in ask.text.lower()
    assert answer.action == "answer"
    assert answer.sources[0] == "accounts/overdraft"
    assert "To turn it on" in answer.text


def test_a_question_about_it_after_an_answer_is_a_follow_up_not_a_clarification(talk) -> None:
    _, follow_up = talk("what is overdraft protection", "how do I turn it on")
    assert follow_up.action == "answer"
    assert follow_up.sources[0] == "accounts/overdraft"


def test_when_does_it_close_is_about_the_bank_not_an_unknown_it(talk) -> None:
    (reply,) = talk("when does it close")
    assert reply.action == "answer"
    assert reply.sources[0].startswith("branches/")


def test_a_person_asked_for_in_person_mid_task_hands_off(talk) -> None:
    *_, reply = talk(
        "I'd like to pay Metro Water", "Alex Morgan", "#1234", "can I talk to somebody in person"
    )
    assert reply.action == "handoff"
    assert reply.meta["reason"] == "agent_request"


def test_calling_the_whole_thing_off_at_length_cancels_the_task(talk) -> None:
    *_, declined, off = talk(
        "I lost my credit card",
        "John Smith",
        "#9012",
        "no not yet",
        "I'll have another look in the car first so let's just forget the whole thing",
    )
    assert "change" in declined.text
    assert off.action == "flow"
    assert "Nothing was changed" in off.text or "stopped" in off.text


def test_a_question_a_knowledge_task_answers_mid_booking_is_a_side_question(talk) -> None:
    *_, side, day = talk(
        "I need to book an appointment at Elm Street",
        "Alex Morgan",
        "#1234",
        "what time does the Elm Street branch close on Thursdays?",
        "Thursday",
    )
    assert side.action == "answer"
    assert "What day would suit you" in side.text
    assert day.intent == "schedule_appointment"
    assert "what time" in day.text.lower()


def test_a_call_opening_with_so_is_not_a_follow_up(talk) -> None:
    (reply,) = talk("so what's your interest rate")
    assert reply.action == "clarify"


def test_a_clarification_answered_with_a_detail_that_is_not_an_option(talk) -> None:
    ask, answer = talk("how do I cancel a payment", "it's a bill pay one for my electric bill")
    assert ask.action == "clarify"
    assert "Bill Pay" not in ask.text  # the detail names none of the options offered
    assert answer.action == "answer"
    assert answer.sources[0] == "bill-pay/scheduled-payments"
    assert "8 pm" in answer.text


def test_a_follow_up_about_a_medium_one_keeps_the_topic(talk) -> None:
    *_, reply = talk(
        "do they have safe deposit boxes at the Harbor Road branch", "how much is a medium one"
    )
    assert reply.action == "answer"
    assert "100 dollars" in reply.text


def test_yes_that_one_at_the_read_back_is_a_yes_not_one_dollar(talk) -> None:
    *_, changed, done = talk(
        "move four hundred dollars from checking to savings",
        "Maria Garcia",
        "#5678",
        "sorry I meant three hundred",
        "yes that one",
    )
    assert "move 300 dollars" in changed.text
    assert "moved 300 dollars to your savings account" in done.text


def test_agreeing_with_a_new_time_at_the_read_back_changes_it(talk) -> None:
    *_, read_back, changed = talk(
        "book an appointment at Harbor Road next Tuesday at 2 pm",
        "Alex Morgan",
        "#1234",
        "okay then three in the afternoon",
    )
    assert "at 2 pm" in read_back.text
    assert "at 3 pm" in changed.text
    assert "Shall I book it" in changed.text


def test_and_what_about_my_checking_runs_the_balance_again(talk) -> None:
    *_, savings, checking = talk(
        "what's my savings balance", "Maria Garcia", "8813", "oh okay and what about my checking"
    )
    assert "savings balance is 22,350 dollars 90" in savings.text
    assert checking.action == "flow"
    assert checking.intent == "check_balance"
    assert "checking balance is 4,120 dollars" in checking.text
    assert "full name" not in checking.text  # verified once per call


def test_today_in_a_question_about_opening_hours_is_the_weekday(talk) -> None:
    (reply,) = talk("what time does the Oak Avenue branch close today")  # TODAY is a Friday
    assert reply.sources[0] == "branches/oak-avenue"
    assert "5 pm" in reply.text


def test_one_more_thing_after_an_answer_asks_what_it_is(talk) -> None:
    *_, thanks, more = talk(
        "what's your swift code", "awesome thanks a bunch", "yeah one more thing"
    )
    assert thanks.text.startswith("You're welcome")
    assert more.text == "Sure. What can I help you with?"


def test_a_change_of_mind_inside_one_answer_keeps_the_later_value(talk) -> None:
    *_, read_back = talk(
        "could you send me three books of checks actually no make it four", "Sam Lee", "#3141"
    )
    assert "order 4 books of checks" in read_back.text


def test_at_one_of_your_branches_is_not_one_oclock(talk) -> None:
    *_, day = talk(
        "I'd like to meet with someone at one of your branches",
        "Priya Shah",
        "#2468",
        "Harbor Road",
        "Wednesday December second",
    )
    assert "what time" in day.text.lower()


def test_naming_the_account_it_goes_into_after_a_no_asks_for_it(talk) -> None:
    *_, no, which = talk(
        "move three hundred from checking to savings",
        "Alex Morgan",
        "#1234",
        "no that's not quite right",
        "the account it's going into",
    )
    assert "What would you like to change" in no.text
    assert "which account should it go to" in which.text.lower()


def test_the_balances_on_all_my_accounts_needs_no_question_which(talk) -> None:
    *_, reply = talk("can you give me the balances on all of my accounts", "Sam Lee", "4417")
    assert "checking balance is 312 dollars 18" in reply.text
    assert "savings balance is 75 dollars" in reply.text


def test_a_few_words_after_an_answer_say_which_thing_was_meant(talk) -> None:
    # ("how do I get it unlocked" asks first what "it" is)
    first, which = talk("how do I unlock", "the online banking sign in")
    assert first.sources[0] == "cards/pin"
    assert which.action == "answer"  # not the password-reset task
    assert which.sources[0].startswith("online-banking/")


def test_and_what_about_on_saturday_after_branch_hours_is_not_a_booking(talk) -> None:
    hours, saturday = talk(
        "What time does the Elm Street branch open?", "and what about on saturday"
    )
    assert hours.sources[0] == "branches/elm-street"
    assert saturday.action == "answer"
    assert saturday.sources[0] == "branches/elm-street"
    assert "Saturday, 9 am to 1 pm" in saturday.text


def test_an_answer_from_one_branchs_page_says_which_branch(talk) -> None:
    (reply,) = talk("do any of your branches have one of those drive up atms")
    assert reply.sources[0] == "branches/harbor-road"
    assert reply.text.startswith("At the Harbor Road branch: ")


def test_more_books_than_allowed_asks_again_instead_of_ordering_one(talk) -> None:
    *_, asked, four = talk("can I order six books of checks", "Priya Shah", "#2468", "four then")
    assert "How many books of checks would you like" in asked.text
    assert "order 4 books of checks" in four.text


def test_my_water_bill_names_the_payee(talk) -> None:
    *_, read_back = talk("I want to pay my water bill, it's forty dollars", "John Smith", "#9012")
    assert "pay 40 dollars to Metro Water" in read_back.text


def test_asking_about_it_twice_is_not_asked_what_it_is_twice(talk) -> None:
    ask, again = talk("is it free", "is it free")
    assert ask.action == "clarify"
    assert again.action != "clarify"


def test_a_lone_0_at_the_pin_prompt_then_a_pause_asks_for_a_person(talk) -> None:
    *_, waiting = talk("my debit card is worn out and I need a new one", "Maria Garcia", "#0")
    assert waiting is None  # 0 could start a PIN
    reply = talk.manager.on_keypad_pause()
    assert reply is not None
    assert reply.action == "handoff"
    assert reply.meta["reason"] == "agent_request"


def test_a_pin_cut_short_by_a_pause_is_asked_for_again(talk) -> None:
    talk("my debit card is worn out and I need a new one", "Maria Garcia", "#56")
    reply = talk.manager.on_keypad_pause()
    assert reply is not None and reply.action == "flow"
    assert "2 of the four digits" in reply.text
    (done,) = talk("#5678")
    assert "you're verified" in done.text


def test_no_pause_reply_when_no_keys_are_waiting(talk) -> None:
    talk("what's my checking balance")
    assert talk.manager.on_keypad_pause() is None


def test_name_and_digits_said_with_the_request_verify_at_once(talk) -> None:
    (reply,) = talk(
        "hi there yeah this is john smith the last four on my checking are one one zero zero "
        "and I just wanted to know what's sitting in my savings"
    )
    assert reply.action == "flow"
    assert "you're verified" in reply.text
    assert "savings balance is 1,500 dollars" in reply.text


def test_an_amount_said_as_a_number_is_not_a_name_at_the_start(talk) -> None:
    (reply,) = talk("hi I wanna pay my water bill it's forty dollars")
    assert "full name" in reply.text


def test_the_other_one_after_a_balance_is_the_callers_other_account(talk) -> None:
    *_, savings, other = talk(
        "how much is in my savings account",
        "Priya Shah",
        "#2468",
        "okay and how about the other one",
    )
    assert "savings balance" in savings.text
    assert other.action == "flow"
    assert "checking balance is 1,830 dollars 40" in other.text


def test_the_other_one_with_three_accounts_asks_which(talk) -> None:
    *_, other = talk("what's my savings balance", "Alex Morgan", "#1234", "and the other one")
    assert other.action == "flow"
    assert "Which account" in other.text


def test_a_question_later_in_the_turn_mid_task_is_a_side_question(talk) -> None:
    *_, side = talk(
        "I'd like to book a visit at the harbor road branch",
        "John Smith",
        "#9012",
        "thursday the third",
        "hang on where exactly is the harbor road branch I've never been",
    )
    assert side.action == "answer"
    assert side.sources[0] == "branches/harbor-road"
    assert "what time" in side.text.lower()


def test_a_name_at_the_end_of_an_apology_in_lower_case_verifies(talk) -> None:
    *_, name = talk(
        "I'd like a fresh checkbook mailed to me", "sorry I was grabbing a pen it's john smith"
    )
    assert "PIN" in name.text


@pytest.mark.parametrize(
    ("said", "reason"),
    [
        ("my puppy chewed my debit card to bits", "damaged"),
        ("somebody snatched my bag with my credit card in it", "stolen"),
    ],
)
def test_a_chewed_card_is_damaged_and_a_snatched_one_stolen(talk, said, reason) -> None:
    (reply,) = talk(said)
    assert reply.meta["slots"]["reason"] == reason


def test_which_accounts_have_i_got_lists_the_callers_own(talk) -> None:
    *_, listed, done = talk(
        "can you give me a balance please",
        "Maria Garcia",
        "#5678",
        "um which ones have I got with you again",
        "just the savings then",
    )
    assert "checking account" in listed.text and "savings account" in listed.text
    assert "credit card" not in listed.text  # Maria has none
    assert "savings balance is 22,350 dollars 90" in done.text


def test_which_payees_are_set_up_lists_them(talk) -> None:
    *_, listed = talk(
        "I'd like to pay one of my bills", "Maria Garcia", "#5678", "which ones have you got set up"
    )
    for payee in ("City Power", "Metro Water", "Northwind Credit Card"):
        assert payee in listed.text


def test_the_last_four_of_what_is_explained_not_counted_as_a_miss(talk) -> None:
    *_, explained, done = talk(
        "how much is in my savings",
        "Sam Lee",
        "the last four of what though which one do you need",
        "okay the savings account then it's ninety one fifty",
    )
    assert "Any one of them" in explained.text
    assert "you're verified" in done.text


def test_forgetting_the_balance_for_a_lost_card_mid_verification_switches(talk) -> None:
    *_, switched = talk(
        "what's in my checking",
        "Maria Garcia",
        "oh wait hang on forget the balance my debit card's not in my purse, I must have lost it",
    )
    assert switched.intent == "replace_card"
    assert switched.meta["slots"]["card_type"] == "debit"


def test_an_appointment_off_the_hour_is_refused_before_the_read_back(talk) -> None:
    *_, refused = talk(
        "I'd like an appointment at the Oak Avenue branch",
        "John Smith",
        "#9012",
        "wednesday at quarter past two",
    )
    assert "on the hour" in refused.text
    assert "Shall I book it" not in refused.text


def test_a_question_at_the_read_back_hears_the_read_back_again(talk) -> None:
    *_, asked, done = talk(
        "I need a new online banking password",
        "Alex Morgan",
        "#1234",
        "hang on which number are you going to send it to",
        "oh that's fine then yep fire away",
    )
    assert "Sorry" not in asked.text
    assert "mobile number" in asked.text
    assert "I've sent the link" in done.text


def test_a_correction_two_answers_later_changes_the_amount(talk) -> None:
    *_, read_back = talk(
        "I need to shuffle some money between my accounts",
        "John Smith",
        "#9012",
        "four hundred",
        "the savings",
        "into checking oh and hang on I said four hundred that should've been three hundred",
    )
    assert "move 300 dollars from your savings account to your checking account" in read_back.text


@pytest.mark.parametrize(
    "said",
    [
        "my name is Garcia, Maria Garcia",
        "it's Mrs Garcia. Maria Garcia",
        "I am Maria Garcia",
        "this is Mrs Maria Garcia",
    ],
)
def test_a_full_name_after_the_surname_or_a_title_verifies(talk, said: str) -> None:
    *_, reply = talk("how much money do I have in my savings account", said, "#5678")
    assert "you're verified" in reply.text


def test_being_locked_out_is_not_a_name(talk) -> None:
    *_, reply = talk("I need a new online banking password", "I'm locked out")
    assert "don't match" not in reply.text


def test_a_day_on_its_own_after_an_hours_answer_is_a_follow_up(talk) -> None:
    _, saturday = talk("elm street hours", "saturday?")
    assert saturday.action == "answer"
    assert saturday.sources[0] == "branches/elm-street"


def test_two_tasks_in_one_turn_are_done_one_after_the_other(talk) -> None:
    *_, done = talk(
        "I want to pay my water bill, $62.40, and then tell me what's left in checking.",
        "Priya Shah",
        "#2468",
        "Yes.",
    )
    assert "62 dollars 40 to Metro Water is paid" in done.text
    assert "checking balance is 1,768 dollars" in done.text


def test_what_is_owed_and_what_is_in_savings_in_one_question(talk) -> None:
    *_, reply = talk(
        "How much do I owe on my credit card, and what's in my saving?", "Sam Leigh.", "60 24."
    )
    assert "owe 1,204 dollars 55 on your credit card" in reply.text
    assert "savings balance is 75 dollars" in reply.text
    assert "checking balance" not in reply.text


def test_a_payee_heard_in_two_words_is_still_the_payee(talk) -> None:
    *_, reply = talk(
        "Hi. I need to pay Bay Side Internet $59.99 on December 3rd.", "Maria Garcia, 33 06."
    )
    assert reply.meta["slots"]["payee"] == "Bayside Internet"  # known once she is verified


def test_what_was_done_comes_first_in_a_streamed_second_reply() -> None:
    from dialogue.manager import _after
    from dialogue.types import Reply

    streamed = Reply("", action="answer", stream=iter(["The fee is 5 dollars."]))
    assert list(_after("Done.", streamed).stream) == ["Done.", "The fee is 5 dollars."]
    assert _after("Done.", Reply("Next.", action="flow")).text == "Done. Next."


def test_a_handoff_drops_the_second_request_of_the_turn(talk) -> None:
    *_, handoff = talk(
        "I want to pay my water bill, $62.40, and then tell me what's left in checking.",
        "Priya Shah",
        "I want to speak to a person",
    )
    assert handoff.action == "handoff"
    assert talk.manager._then is None


def test_am_i_talking_to_a_computer_mid_task_is_answered_and_the_task_goes_on(talk) -> None:
    *_, aside = talk(
        "how much money is in my account",
        "Priya Shah",
        "two four six nine",
        "sorry just wondering am I talking to a computer right now",
    )
    assert aside.action == "flow"
    assert "virtual assistant" in aside.text
    assert "Which account would you like the balance for" in aside.text


def test_are_you_a_real_person_is_a_question_not_a_request_for_one(talk) -> None:
    asked, wanted = talk("are you a real person", "can I talk to a real person please")
    assert asked.action != "handoff"
    assert "virtual assistant" in asked.text
    assert wanted.action == "handoff"


def test_hold_on_a_second_then_what_were_you_saying(talk) -> None:
    *_, hold, again = talk(
        "I need a new online banking password",
        "Alex Morgan",
        "#1234",
        "sorry can you hold on one second my kid's shouting for me",
        "okay sorry about that what were you saying",
    )
    assert hold.text == "Sure, take your time."
    assert "Shall I send it" in again.text
    assert "sent the link" not in again.text


def test_starting_the_task_again_keeps_who_the_caller_is(talk) -> None:
    *_, restarted = talk(
        "I want to move some money from checking to savings",
        "John Smith",
        "two two zero zero",
        "ugh I've muddled this up can we just start the whole transfer again from the top",
    )
    assert restarted.text.startswith("OK, let's start again.")
    assert "How much would you like to transfer" in restarted.text
    assert "full name" not in restarted.text


def test_an_account_said_when_the_name_is_asked_is_kept(talk) -> None:
    *_, done = talk(
        "hey there I need a balance",
        "oh it's the savings account I'm after",
        "John Smith",
        "two two zero zero",
    )
    assert "savings balance is 1,500 dollars" in done.text


def test_a_question_about_the_assistant_said_in_frustration_hands_off(talk) -> None:
    (reply,) = talk("are you a robot? this is useless")
    assert reply.action == "handoff"
    assert reply.meta["reason"] == "frustration"
