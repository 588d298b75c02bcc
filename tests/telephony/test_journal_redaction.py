"""The call journal keeps no personal data: turns are redacted before they are kept."""

from __future__ import annotations

from telephony.journal import CallJournal


def test_turns_are_redacted_before_they_are_kept_or_stored(tmp_path):
    from switchboard.records import CallStore

    with CallStore(tmp_path / "calls.db") as store:
        store.start_call("CAone")
        journal = CallJournal(store, "CAone", None)
        journal._spawn = lambda work: work.close()  # write synchronously below instead
        journal.add_turn(
            "caller",
            "my card number is four five five six seven three two one one two three four "
            "five six seven eight",
            meta={"slots": {"pin": "1234"}, "intent": "replace_card"},
        )
        journal.add_turn("caller", "I'd like to pay a hundred and twenty dollars")
        for turn in journal.turns:
            journal._write_turn(turn)
        kept = store.get_call("CAone").turns
    assert kept[0].text == "my card number is [CARD]"
    assert kept[0].meta == {"slots": {"pin": "[PIN]"}, "intent": "replace_card"}
    assert kept[1].text == "I'd like to pay a hundred and twenty dollars"
    assert journal.turns[0]["text"] == "my card number is [CARD]"
