"""The console in a browser, as its users meet it: signing in, a handoff arriving live in the
agent's queue and handled there (transcript, copilot, wrap-up), a call's transcript with its
recording playing, the calls list filtered and searched, the dashboard. Each page is
photographed for docs/console.md."""

from __future__ import annotations

import re

import pytest
from browser_support import sign_in
from console_support import PASSWORD, serve
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_sign_in(page, console_url, shoot):
    """A page asked for before signing in sends to the form and, signed in, back to it."""
    page.goto(f"{console_url}/console/calls")
    page.wait_for_url(re.compile(r"/signin\?next="))
    expect(page.get_by_test_id("signin-form")).to_be_visible()
    shoot(page, "signin")

    page.fill("#name", "sue")
    page.fill("#password", "not the password")
    page.click("button[type=submit]")
    expect(page.get_by_role("alert")).to_contain_text("wrong name or password")

    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{console_url}/console/calls")
    expect(page.get_by_test_id("user")).to_contain_text("sue")
    expect(page.get_by_test_id("nav-dashboard")).to_be_visible()

    page.get_by_test_id("signout").click()
    page.wait_for_url(re.compile(r"/signin"))
    page.goto(f"{console_url}/console/calls")
    page.wait_for_url(re.compile(r"/signin\?next="))


def test_a_handoff_arrives_live_and_the_agent_handles_it(page, kb_console_app, shoot):
    """Published through the telephony listener while the desk is open, the handoff appears
    in the queue with its summary (redacted); taken, it shows the transcript, the copilot's
    passages for what the caller said and for the agent's search, then the wrap-up."""
    console = kb_console_app
    with serve(console.app) as base:
        sign_in(page, base, "ana", then="/console/desk")
        expect(page.get_by_test_id("live-status")).to_have_text("Live.")
        expect(page.get_by_test_id("waiting-count")).to_have_text("0")

        handoff_id = console.handoff(call_id="CA-card")
        card = page.get_by_test_id("handoff-card").filter(has_text="Dana Lee")
        expect(card).to_be_visible()
        expect(page.get_by_test_id("waiting-count")).to_have_text("1")
        summary = card.get_by_test_id("handoff-summary")
        expect(summary).to_contain_text("Dana Lee (verified) called about card")
        expect(summary).not_to_contain_text("4532")  # the card number is redacted
        expect(card.get_by_test_id("handoff-reason")).to_have_text("fraud")
        expect(card.get_by_test_id("verification")).to_have_text("Verified")
        expect(card.get_by_test_id("caller-number")).to_have_text("…1111")
        expect(card.get_by_test_id("waiting-time")).to_have_text(re.compile(r"\d+:\d\d"))
        shoot(page, "desk-queue")

        card.get_by_test_id("take").click()
        page.wait_for_url(f"{base}/console/desk/{handoff_id}")
        expect(page.get_by_test_id("handoff-status")).to_contain_text("taken (ana)")
        turns = page.get_by_test_id("turn-text")
        expect(turns).to_have_count(3)
        expect(turns.nth(1)).to_have_text("I lost my debit card and I see a payment I didn't make.")
        # The copilot searches for the caller's last words, and for what the agent types.
        suggestion = page.get_by_test_id("suggestion").first
        expect(suggestion.get_by_test_id("kb-passage").first).to_be_visible(timeout=20_000)
        page.get_by_test_id("kb-query").fill("replacement card fee")
        page.get_by_test_id("kb-query").press("Enter")
        results = page.get_by_test_id("kb-results").get_by_test_id("kb-passage")
        expect(results.first).to_be_visible(timeout=20_000)
        shoot(page, "desk-call-copilot")

        form = page.get_by_test_id("wrapup-form")
        draft = page.get_by_test_id("wrapup-summary")
        expect(draft).not_to_have_value("")
        draft.fill("Card blocked and a replacement ordered; the disputed payment is with fraud.")
        page.get_by_test_id("wrapup-disposition").select_option("resolved")
        form.scroll_into_view_if_needed()
        page.get_by_test_id("wrapup-save").click()
        expect(page.get_by_test_id("wrapup-status")).to_contain_text("Saved")
        shoot(page, "desk-wrap-up")
    saved = console.store.get_wrapup(handoff_id)
    assert saved is not None and saved.disposition == "resolved" and saved.agent == "ana"


def test_a_calls_transcript_and_its_recording_play(page, console_url, shoot):
    """The call's page shows who said what and when, the sources and latency of answers; a
    turn's time plays the recording from there and the turn playing is highlighted."""
    sign_in(page, console_url, "sue", then="/console/calls/CA-hours")
    turns = page.get_by_test_id("turn")
    expect(turns).to_have_count(5)
    expect(turns.nth(1)).to_have_attribute("data-speaker", "caller")
    expect(turns.nth(1).get_by_test_id("turn-text")).to_have_text(
        "What time does the Elm Street branch open on Saturday?"
    )
    expect(turns.nth(2).get_by_test_id("turn-sources")).to_contain_text("branches/elm-street")
    expect(turns.nth(2).get_by_test_id("turn-latency")).to_contain_text("710 ms")
    expect(page.get_by_test_id("call-outcome")).to_have_text("bot")

    player = page.get_by_test_id("audio-player")
    expect(player).to_have_attribute("src", "/api/calls/CA-hours/recording")
    page.wait_for_function(
        "() => document.getElementById('player').readyState >= 1"  # metadata loaded
    )
    assert page.evaluate("() => document.getElementById('player').duration") == pytest.approx(
        10.0, abs=0.05
    )
    turns.nth(1).locator("[data-action=seek]").click()
    page.wait_for_function(
        """() => {
            const p = document.getElementById('player');
            return !p.paused && p.played.length > 0 && p.currentTime > 2.3;
        }""",
        timeout=10_000,
    )
    expect(turns.nth(1)).to_have_class(re.compile(r"\bplaying\b"))
    page.evaluate("() => document.getElementById('player').pause()")
    shoot(page, "call")


def test_the_calls_list_filtered_and_searched(page, console_url, shoot):
    """Outcome, sentiment and intent filters, full-text search, and together; an agent sees
    only the calls they handled."""

    def shown() -> list[str]:
        expect(page.get_by_test_id("filters")).to_be_visible()
        rows = page.get_by_test_id("call-row")
        return [rows.nth(i).get_attribute("data-call-id") for i in range(rows.count())]

    def apply(**fields: str) -> list[str]:
        page.goto(f"{console_url}/console/calls")
        for name, value in fields.items():
            field = page.get_by_test_id(name)
            if name == "filter-outcome":
                field.select_option(value)
            else:
                field.fill(value)
        page.get_by_test_id("apply-filters").click()
        page.wait_for_load_state()
        return shown()

    sign_in(page, console_url, "sue", then="/console/calls")
    assert shown() == ["CA-hours", "CA-card", "CA-balance", "CA-dispute", "CA-loan"]
    shoot(page, "calls")

    assert apply(**{"filter-outcome": "handoff"}) == ["CA-card"]
    expect(page).to_have_url(re.compile(r"outcome=handoff"))
    assert apply(**{"filter-sentiment": "negative"}) == ["CA-card", "CA-dispute"]
    assert apply(**{"filter-intent": "balance"}) == ["CA-balance"]
    assert apply(search="mortgage") == ["CA-loan"]
    assert apply(search="Elm Street") == ["CA-hours"]
    assert apply(**{"filter-outcome": "abandoned", "filter-sentiment": "negative"}) == [
        "CA-dispute"
    ]
    assert apply(**{"filter-outcome": "bot", "search": "hotel"}) == []
    expect(page.get_by_test_id("no-calls")).to_be_visible()

    page.get_by_test_id("signout").click()
    sign_in(page, console_url, "ana", then="/console/calls")
    assert shown() == ["CA-card"]
    expect(page.get_by_test_id("filter-agent")).to_have_count(0)


def test_the_dashboard(page, console_url, shoot):
    sign_in(page, console_url, "sue", then="/console/dashboard")
    expect(page.get_by_test_id("figure-calls")).to_contain_text("5 calls")
    expect(page.get_by_test_id("figure-containment")).to_contain_text("40%")
    expect(page.get_by_test_id("figure-latency")).to_contain_text("ms")
    shoot(page, "dashboard")
