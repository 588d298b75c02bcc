"""How replies are cut for speaking, and the mark names that carry their text."""

from __future__ import annotations

from telephony.speech import is_reply_end_mark, mark_name, parse_mark, speakable_pieces


def test_long_first_sentence_is_cut_at_a_comma():
    pieces = speakable_pieces(
        "Our branches are open Monday to Friday from 9 am to 5 pm, and Saturday from 9 am "
        "to 1 pm. They are closed on Sundays."
    )
    assert pieces == [
        "Our branches are open Monday to Friday from 9 am to 5 pm,",
        "and Saturday from 9 am to 1 pm.",
        "They are closed on Sundays.",
    ]


def test_short_sentences_stay_whole():
    assert speakable_pieces("Hello! How can I help, today?") == ["Hello!", "How can I help, today?"]
    assert speakable_pieces("") == []


def test_mark_names_round_trip():
    assert parse_mark(mark_name(3, 1, "Yes: at 9 am.")) == (3, 1, "Yes: at 9 am.")
    assert parse_mark(mark_name(3, None)) == (3, None, "")
    assert is_reply_end_mark("bot:3:end")
    for other in ("greeting", "bot:x:end", "bot:3:nope", "", "bot:3"):
        assert parse_mark(other) is None
        assert not is_reply_end_mark(other)
