"""The dashboard's figures: the pure functions, the CSV, the chart layout, and reading them
from the store on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from console_support import T0

from console import dashboard
from console.dashboard import CallFacts, DashboardData, LatencyStat
from console.store import ConsoleStore
from switchboard.records import CallStore


def facts(minutes: float | None, outcome: str | None = None, intent: str | None = None, hour=9):
    started = T0.replace(hour=hour)
    ended = started + timedelta(minutes=minutes) if minutes is not None else None
    return CallFacts(started, ended, outcome, intent)


def test_volume_by_hour_counts_each_hour_of_the_day():
    hours = dashboard.volume_by_hour([T0.replace(hour=h) for h in (0, 9, 9, 23)])
    assert len(hours) == 24 and hours[0] == 1 and hours[9] == 2 and hours[23] == 1
    assert sum(hours) == 4


def test_containment_is_the_bot_share_of_ended_calls():
    ended = [facts(1, "bot"), facts(2, "bot"), facts(3, "handoff"), facts(4, None)]
    assert dashboard.containment_rate(ended) == 0.5
    assert dashboard.containment_rate([]) is None


def test_outcomes_list_every_outcome_and_calls_without_one():
    rows = dashboard.outcome_counts([facts(1, "bot"), facts(1, "callback"), facts(1, None)])
    assert [(r.label, r.count) for r in rows] == [
        ("bot", 1),
        ("handoff", 0),
        ("abandoned", 0),
        ("callback", 1),
        ("none", 1),
    ]
    assert "none" not in [r.label for r in dashboard.outcome_counts([facts(1, "bot")])]


def test_top_counts_rank_by_count_then_name_and_skip_missing():
    rows = dashboard.top_counts(["b", "a", "b", None, "", "c", "a", "b"], n=2)
    assert [(r.label, r.count) for r in rows] == [("b", 3), ("a", 2)]


def test_average_handle_time_over_ended_calls():
    assert dashboard.average_handle_secs([facts(1), facts(3)]) == 120.0
    assert dashboard.average_handle_secs([]) is None


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(10, 0, -1)]  # any order
    assert dashboard.percentile(values, 0.5) == 5.0
    assert dashboard.percentile(values, 0.95) == 10.0
    assert dashboard.percentile([7.0], 0.95) == 7.0
    assert dashboard.percentile([], 0.5) is None


def test_latency_percentiles_per_stage_total_first():
    latencies = [{"stt_ms": 100.0, "total_ms": float(t), "zz_ms": 1} for t in range(1, 21)]
    latencies.append({"total_ms": "n/a", "tts_ms": float("nan")})  # not measurements
    stats = dashboard.latency_percentiles(latencies)
    assert [s.stage for s in stats] == ["total_ms", "stt_ms", "zz_ms"]
    assert stats[0] == LatencyStat(stage="total_ms", turns=20, p50_ms=10.0, p95_ms=19.0)


def test_figures_and_csv():
    data = DashboardData(
        calls=[
            facts(2, "bot", "balance", hour=9),
            facts(4, "handoff", "lost_card", hour=9),
            facts(None, None, "balance", hour=14),  # still going
        ],
        latencies=[{"total_ms": 400.0}, {"total_ms": 800.0}],
        handoff_reasons=["fraud", "fraud", "asked_for_agent"],
    )
    fig = dashboard.figures(data, T0, T0 + timedelta(days=1))
    assert (fig.calls, fig.ended, fig.containment_rate) == (3, 2, 0.5)
    assert fig.volume_by_hour[9] == 2 and fig.volume_by_hour[14] == 1
    assert [(r.label, r.count) for r in fig.handoff_reasons] == [
        ("fraud", 2),
        ("asked_for_agent", 1),
    ]
    assert [(r.label, r.count) for r in fig.top_intents] == [("balance", 2), ("lost_card", 1)]
    assert fig.average_handle_secs == 180.0
    assert fig.latency[0].p50_ms == 400.0 and fig.latency[0].p95_ms == 800.0

    rows = list(csv.reader(io.StringIO(dashboard.to_csv(fig))))
    assert rows[0] == ["figure", "label", "value"]
    table = {(figure, label): value for figure, label, value in rows[1:]}
    assert table[("range", "since")] == T0.isoformat()
    assert table[("calls", "started")] == "3" and table[("calls", "ended")] == "2"
    assert table[("volume_by_hour", "09:00")] == "2" and table[("volume_by_hour", "00:00")] == "0"
    assert table[("outcome", "bot")] == "1" and table[("outcome", "handoff")] == "1"
    assert table[("containment_rate", "bot/ended")] == "0.5000"
    assert table[("handoff_reason", "fraud")] == "2"
    assert table[("intent", "balance")] == "2"
    assert table[("average_handle_secs", "ended calls")] == "180.0"
    assert table[("latency_p50_ms", "total_ms")] == "400.0"
    assert table[("latency_p95_ms", "total_ms")] == "800.0"


def test_figures_of_nothing():
    fig = dashboard.figures(DashboardData([], [], []))
    assert fig.calls == 0 and fig.containment_rate is None and fig.average_handle_secs is None
    assert fig.latency == [] and sum(fig.volume_by_hour) == 0
    assert "containment_rate,bot/ended,\n" in dashboard.to_csv(fig)


def test_bar_chart_scales_to_the_largest_value():
    chart = dashboard.bar_chart([("a", 10), ("b", 5), ("c", 0)], " ms")
    assert [b.width for b in chart.bars] == [dashboard.BAR_AREA, dashboard.BAR_AREA / 2, 0]
    assert chart.bars[1].text == "5 ms" and chart.bars[1].y > chart.bars[0].y
    assert chart.height == 3 * dashboard.ROW
    assert dashboard.bar_chart([]).bars == []


def test_column_chart_has_a_column_per_value():
    chart = dashboard.column_chart([0, 4, 2], ["00", "01", "02"])
    assert [b.height for b in chart.bars] == [0, dashboard.COLUMN_AREA, dashboard.COLUMN_AREA / 2]
    assert chart.bars[1].y + chart.bars[1].height == chart.bars[0].y + chart.bars[0].height
    assert chart.bars[2].x > chart.bars[1].x > chart.bars[0].x
    assert all(b.height == 0 for b in dashboard.column_chart([0] * 24, ["x"] * 24).bars)


@pytest.fixture
def store(db_url):
    with CallStore(db_url) as calls:
        yield calls


def add_call(calls: CallStore, call_id: str, started, minutes=None, **fields):
    calls.start_call(call_id, started_at=started)
    calls.add_turn(call_id, "caller", "hello", started_ms=0, latency={"total_ms": 9999.0})
    calls.add_turn(call_id, "bot", "hi", started_ms=900, latency={"total_ms": 300.0})
    calls.add_turn(call_id, "bot", "more", started_ms=2000)  # nothing measured
    calls.add_turn(call_id, "bot", "again", started_ms=3000, latency={"total_ms": 700.0})
    if minutes is not None:
        calls.end_call(call_id, reason="hangup", ended_at=started + timedelta(minutes=minutes))
    if fields:
        calls.set_call_fields(call_id, **fields)


def test_load_reads_the_range_from_the_store(store):
    add_call(store, "before", T0 - timedelta(days=1), 1, outcome="bot", intent="balance")
    add_call(store, "A", T0, 2, outcome="bot", intent="balance", agent="ana")
    add_call(store, "B", T0 + timedelta(hours=5), 4, outcome="handoff", intent="lost_card")
    add_call(store, "C", T0 + timedelta(hours=6))  # not ended
    add_call(store, "after", T0 + timedelta(days=1), 1, outcome="handoff")
    console = ConsoleStore(store)
    console.add_handoff("B", "fraud", {}, created_at=T0 + timedelta(hours=5))
    console.add_handoff(None, "asked_for_agent", {}, created_at=T0 + timedelta(hours=7))
    console.add_handoff("after", "fraud", {}, created_at=T0 + timedelta(days=1))

    since, until = T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1)
    data = dashboard.load(store, since, until)
    assert sorted(c.intent or "" for c in data.calls) == ["", "balance", "lost_card"]
    assert sorted(d["total_ms"] for d in data.latencies) == [300.0] * 3 + [700.0] * 3
    assert sorted(data.handoff_reasons) == ["asked_for_agent", "fraud"]

    fig = dashboard.figures(data, since, until)
    assert (fig.calls, fig.ended, fig.containment_rate) == (3, 2, 0.5)
    assert fig.volume_by_hour[9] == 1 and fig.volume_by_hour[14] == 1
    assert fig.volume_by_hour[15] == 1
    assert fig.average_handle_secs == 180.0
    assert (fig.latency[0].p50_ms, fig.latency[0].p95_ms) == (300.0, 700.0)

    everything = dashboard.load(store, None, None)
    assert len(everything.calls) == 5 and len(everything.handoff_reasons) == 3


def test_filter_choices_are_the_stored_values(store):
    add_call(store, "A", T0, 1, intent="balance", sentiment="neutral", agent="bo")
    add_call(store, "B", T0, 1, intent="balance", agent="ana")
    add_call(store, "C", T0, 1, intent="lost_card")
    assert dashboard.filter_choices(store) == {
        "intent": ["balance", "lost_card"],
        "sentiment": ["neutral"],
        "agent": ["ana", "bo"],
    }
