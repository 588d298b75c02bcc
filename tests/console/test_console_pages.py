"""The console's HTML pages: what each shows (and hides) for each role, the filters, the
recording, the dashboard's charts and CSV. Who may open which page is in
test_console_routes.py's table."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from console_support import T0
from test_console_api import CARD, record_call

from console import pages

STATIC = Path(pages.__file__).parent / "static"
TEMPLATES = Path(pages.__file__).parent / "templates"


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'data-testid="([^"]+)"', html))


def call_ids(html: str) -> list[str]:
    return re.findall(r'data-testid="call-row" data-call-id="([^"]+)"', html)


# --- landing, sign-in, navigation ----------------------------------------------------------


@pytest.mark.parametrize(
    "role,home",
    [("agent", "/console/desk"), ("supervisor", "/console/calls"), ("admin", "/console/calls")],
)
def test_the_landing_page_sends_each_role_to_its_work(console, role, home):
    response = console.client(role).get("/console", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == home


def test_signing_in_with_the_form_lands_on_the_console(console):
    client = console.client()
    form = client.get("/signin").text
    assert 'data-testid="signin-form"' in form and 'name="next" value="/console"' in form
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    response = client.post(
        "/signin",
        data={"csrf_token": token, "name": "ana", "password": "correct horse battery"},
        follow_redirects=True,
    )
    assert str(response.url).endswith("/console/desk") and "Agent desk" in response.text


@pytest.mark.parametrize(
    "role,shown,hidden",
    [
        ("agent", {"desk", "calls", "softphone"}, {"dashboard"}),
        ("supervisor", {"desk", "calls", "dashboard", "softphone"}, set()),
        ("admin", {"calls", "dashboard", "softphone"}, {"desk"}),
    ],
)
def test_the_navigation_shows_what_the_role_may_open(console, role, shown, hidden):
    client = console.client(role)
    html = client.get("/console/calls").text
    ids = ids_in(html)
    assert {f"nav-{n}" for n in shown} <= ids and not {f"nav-{n}" for n in hidden} & ids
    # the sign-out form carries the session's CSRF token, and works
    token = client.headers["X-CSRF-Token"]
    assert f'name="csrf_token" value="{token}"' in html
    del client.headers["X-CSRF-Token"]
    out = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert client.get("/console/calls", follow_redirects=False).status_code == 303


def test_a_page_refused_or_missing_is_an_html_page(console):
    agent = console.client("agent")
    refused = agent.get("/console/dashboard")
    assert refused.status_code == 403 and "<h1>Not for your role</h1>" in refused.text
    missing = agent.get("/console/calls/nope")
    assert missing.status_code == 404 and 'data-testid="error"' in missing.text
    assert agent.get("/api/calls/nope").json() == {"detail": "no such call"}  # the API: JSON


def test_pages_load_nothing_from_elsewhere():
    """No CDN: every script and stylesheet is one of ours (the pages run offline)."""
    for path in [*STATIC.glob("*.js"), *STATIC.glob("*.css"), *TEMPLATES.glob("*.html")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path.name
        assert "@import" not in text and "cdn" not in text.lower(), path.name


def test_static_files_are_served(console):
    client = console.client()
    for name in ("console.css", "console.js", "desk.js", "handoff.js", "call.js"):
        assert client.get(f"/console/static/{name}").status_code == 200, name


# --- the agent desk ------------------------------------------------------------------------


def test_the_desk_lists_waiting_callers_with_their_summary(console):
    agent = console.client("agent")  # the first client starts the app (and its queue)
    record_call(console)
    console.handoff()
    html = agent.get("/console/desk").text
    assert {"queue", "handoff-card", "handoff-summary", "waiting-time", "take"} <= ids_in(html)
    assert "Dana Lee" in html and "…1111" in html and "Verified" in html and "fraud" in html
    assert "called about card [CARD]" in html and CARD not in html and "15550001111" not in html
    assert '<template id="card-template">' in html and "/console/static/desk.js" in html
    assert 'data-testid="waiting-count">1<' in html


def test_a_taken_call_moves_out_of_the_queue(console):
    ana = console.client("agent")
    record_call(console)
    handoff_id = console.handoff()
    assert ana.post(f"/api/handoffs/{handoff_id}/take").status_code == 200
    html = ana.get("/console/desk").text
    queue, taken = html.split('data-testid="taken-list"')
    assert handoff_id not in queue and handoff_id in taken and "taken by ana" in taken
    assert handoff_id not in console.client("bo").get("/console/desk").text  # not bo's


def test_the_handoff_page_summary_first_then_transcript_copilot_and_wrap_up(console):
    ana = console.client("agent")
    record_call(console)
    handoff_id = console.handoff()
    before = ana.get(f"/console/desk/{handoff_id}").text
    assert 'data-testid="take"' in before and "Take the call to see its transcript" in before
    assert 'data-testid="turn"' not in before and "wrapup-form" not in before

    ana.post(f"/api/handoffs/{handoff_id}/take")
    html = ana.get(f"/console/desk/{handoff_id}").text
    order = [html.index(f'data-testid="{t}"') for t in ("handoff-summary", "transcript")]
    assert order == sorted(order)
    turns = re.findall(r'data-testid="turn" data-seq="(\d+)" data-speaker="(\w+)"', html)
    assert turns == [("0", "bot"), ("1", "caller"), ("2", "bot")]
    assert "my card number is [CARD] and my email is [EMAIL]" in html and CARD not in html
    assert {"copilot", "kb-form", "kb-query", "suggestions"} <= ids_in(html)
    assert "forked media stream" in html and "/console/static/handoff.js" in html
    # the wrap-up form, prefilled with the draft
    assert {"wrapup-form", "wrapup-summary", "wrapup-disposition"} <= ids_in(html)
    draft = ana.get(f"/api/handoffs/{handoff_id}").json()["wrapup_draft"]
    summary = re.search(r'data-testid="wrapup-summary">([^<]*)</textarea>', html).group(1)
    assert summary == draft["summary"].replace("'", "&#39;")
    assert '<option value="follow_up" selected>' in html

    saved = ana.post(
        f"/api/handoffs/{handoff_id}/wrapup",
        json={"summary": "Blocked the card; new one posted.", "disposition": "resolved"},
    )
    assert saved.status_code == 200
    after = ana.get(f"/console/desk/{handoff_id}").text
    assert "Blocked the card; new one posted." in after
    assert '<option value="resolved" selected>' in after and "Saved " in after


def test_another_agent_cannot_open_a_taken_handoff(console):
    ana = console.client("agent")
    record_call(console)
    handoff_id = console.handoff()
    ana.post(f"/api/handoffs/{handoff_id}/take")
    assert console.client("bo").get(f"/console/desk/{handoff_id}").status_code == 404
    sue = console.client("supervisor").get(f"/console/desk/{handoff_id}").text
    assert 'data-testid="turn"' in sue and "wrapup-form" in sue  # supervisors may wrap up


# --- the calls list ------------------------------------------------------------------------


def calls_for_filters(console):
    calls = console.store.calls
    rows = [
        ("C0", 0, "bot", "balance", "positive", None, "what is my balance"),
        ("C1", 1, "handoff", "lost_card", "negative", "ana", "I lost my card"),
        ("C2", 2, "handoff", "balance", "neutral", "bo", "balance please"),
        ("C3", 24, "abandoned", "lost_card", "negative", None, "my card is gone"),
        ("C4", 48, "callback", "transfer", "neutral", "ana", "call me back"),
    ]
    for call_id, hours, outcome, intent, sentiment, agent, text in rows:
        calls.start_call(call_id, started_at=T0 + timedelta(hours=hours))
        calls.add_turn(call_id, "caller", text, started_ms=0)
        calls.set_call_fields(
            call_id, outcome=outcome, intent=intent, sentiment=sentiment, agent=agent
        )


@pytest.mark.parametrize(
    "params,expected",
    [
        ({}, ["C4", "C3", "C2", "C1", "C0"]),
        ({"outcome": "handoff"}, ["C2", "C1"]),
        ({"intent": "lost_card"}, ["C3", "C1"]),
        ({"sentiment": "neutral"}, ["C4", "C2"]),
        ({"agent": "ana"}, ["C4", "C1"]),
        ({"q": "CARD"}, ["C3", "C1"]),
        ({"from": "2025-03-02"}, ["C4", "C3"]),
        ({"to": "2025-03-01"}, ["C2", "C1", "C0"]),
        ({"from": "2025-03-02", "to": "2025-03-02"}, ["C3"]),
        ({"outcome": "handoff", "q": "balance"}, ["C2"]),
        ({"outcome": "", "intent": "", "q": "", "from": ""}, ["C4", "C3", "C2", "C1", "C0"]),
    ],
)
def test_the_calls_list_applies_its_filters(console, params, expected):
    calls_for_filters(console)
    html = console.client("supervisor").get("/console/calls", params=params).text
    assert call_ids(html) == expected
    for name, value in params.items():  # the form shows what was asked
        if name != "outcome" and value:
            assert f'name="{name}"' in html and f'value="{value}"' in html
    if params.get("outcome"):
        assert f'<option value="{params["outcome"]}" selected>' in html


def test_the_calls_list_form_and_table(console):
    calls_for_filters(console)
    html = console.client("supervisor").get("/console/calls").text
    assert {
        "filters",
        "filter-from",
        "filter-to",
        "filter-outcome",
        "filter-intent",
        "filter-sentiment",
        "filter-agent",
        "search",
        "calls-table",
        "call-row",
    } <= ids_in(html)
    assert '<option value="lost_card">' in html and '<option value="bo">' in html  # menus
    assert 'href="/console/calls/C1"' in html


def test_a_bad_filter_is_said_and_left_out(console):
    calls_for_filters(console)
    html = console.client("supervisor").get("/console/calls?from=March&outcome=maybe").text
    assert "not a date" in html and "outcome: one of" in html
    assert len(call_ids(html)) == 5


def test_an_agent_sees_only_their_calls_and_no_agent_filter(console):
    calls_for_filters(console)
    html = console.client("agent").get("/console/calls", params={"agent": "bo"}).text
    assert call_ids(html) == ["C4", "C1"] and "filter-agent" not in html


def test_the_calls_list_pages(console):
    calls = console.store.calls
    for n in range(pages.PAGE_SIZE + 5):
        calls.start_call(f"P{n:02d}", started_at=T0 + timedelta(minutes=n))
        calls.set_call_fields(f"P{n:02d}", outcome="bot")
    client = console.client("supervisor")
    first = client.get("/console/calls", params={"outcome": "bot"}).text
    assert len(call_ids(first)) == pages.PAGE_SIZE and 'data-testid="previous-page"' not in first
    next_url = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "outcome=bot" in next_url and f"offset={pages.PAGE_SIZE}" in next_url
    second = client.get(next_url).text
    assert call_ids(second) == ["P04", "P03", "P02", "P01", "P00"]
    assert 'rel="prev"' in second and 'rel="next"' not in second


# --- a call's page -------------------------------------------------------------------------


def test_a_call_page_transcript_recording_summary_sources_latency(console):
    folder = console.settings.recordings_dir
    folder.mkdir(parents=True, exist_ok=True)
    wav = folder / "CA1.wav"
    wav.write_bytes(b"RIFF0000WAVE")
    ana = console.client("agent")
    record_call(console, outcome="handoff", recording=str(wav))
    handoff_id = console.handoff()
    ana.post(f"/api/handoffs/{handoff_id}/take")
    ana.post(
        f"/api/handoffs/{handoff_id}/wrapup",
        json={"summary": "Card blocked.", "disposition": "resolved"},
    )
    html = console.client("supervisor").get("/console/calls/CA1").text
    assert {"audio-player", "transcript", "turn", "handoff-summary", "wrapup"} <= ids_in(html)
    assert re.search(r'<audio id="player" controls[^>]* src="/api/calls/CA1/recording"', html)
    turns = re.findall(
        r'data-speaker="(\w+)"\s+data-start-ms="(\d+)"(?: data-end-ms="(\d+)")?', html
    )
    assert turns == [("bot", "0", "1500"), ("caller", "2000", "5200"), ("bot", "5600", "")]
    assert html.count('data-action="seek"') == 3 and "<time>0:05</time>" in html
    assert "<code>cards/lost-card</code>" in html  # the sources of the bot's answer
    latency = re.search(r'data-testid="turn-latency">(.*?)</details>', html, re.S).group(1)
    assert "Latency 410 ms" in latency and "stt_ms" in latency and ">180<" in latency
    assert "Card blocked." in html and "resolved" in html
    assert "[CARD]" in html and CARD not in html and "/console/static/call.js" in html


def test_a_call_without_recording_says_so(console):
    record_call(console, agent="ana")
    html = console.client("agent").get("/console/calls/CA1").text
    assert "no-recording" in ids_in(html) and "<audio" not in html
    assert 'data-action="seek"' not in html
    assert console.client("bo").get("/console/calls/CA1").status_code == 404


# --- the dashboard -------------------------------------------------------------------------


def dashboard_calls(console):
    record_call(console, "D1", outcome="bot", intent="balance")
    record_call(console, "D2", outcome="handoff", intent="replace_card")
    console.store.add_handoff("D2", "fraud", {}, created_at=T0)


def test_the_dashboard_shows_its_figures_as_charts(console):
    dashboard_calls(console)
    html = console.client("supervisor").get("/console/dashboard?from=2025-03-01&to=2025-03-01")
    html = html.text
    for chart in ("hours", "outcomes", "reasons", "intents", "latency"):
        assert f'data-testid="chart-{chart}"' in html, chart
    assert html.count("<svg") == 5 and 'role="img"' in html
    assert "50%" in html and "2:00" in html and "410 ms" in html  # containment, AHT, p50
    assert "<title>09:00 UTC: 2 calls</title>" in html
    assert "<title>fraud: 1</title>" in html and "<title>replace_card: 1</title>" in html
    assert 'href="/console/dashboard.csv?from=2025-03-01&amp;to=2025-03-01"' in html


def test_the_dashboard_range_defaults_to_the_last_week(console):
    dashboard_calls(console)  # March 2025: outside
    html = console.client("admin").get("/console/dashboard").text
    assert re.search(r'name="from" type="date" value="\d{4}-\d\d-\d\d"', html)
    assert "No data in this range." in html and '<span class="big">0</span>' in html


def test_the_dashboard_csv_and_json_hold_the_same_figures(console):
    dashboard_calls(console)
    client = console.client("supervisor")
    response = client.get(
        "/console/dashboard.csv", params={"from": "2025-03-01", "to": "2025-03-01"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert (
        "switchboard-dashboard-2025-03-01-2025-03-01.csv" in response.headers["content-disposition"]
    )
    rows = {(f, label): v for f, label, v in csv.reader(io.StringIO(response.text))}
    assert rows[("calls", "started")] == "2" and rows[("containment_rate", "bot/ended")] == "0.5000"
    assert rows[("handoff_reason", "fraud")] == "1" and rows[("intent", "balance")] == "1"
    assert rows[("latency_p95_ms", "total_ms")] == "410.5"
    data = client.get(
        "/api/dashboard", params={"since": "2025-03-01T00:00:00Z", "until": "2025-03-02T00:00:00Z"}
    ).json()
    assert data["calls"] == 2 and data["containment_rate"] == 0.5
    assert data["handoff_reasons"] == [{"label": "fraud", "count": 1}]
    assert client.get("/console/dashboard.csv?from=soon").status_code == 422
