"""The supervisor's dashboard: figures over the calls of a date range, as pure functions.

:func:`load` reads the few columns the figures need from the call store (calls that started
in the range, their bot turns' latencies, the handoffs queued in the range); :func:`figures`
turns them into a :class:`Figures` (call volume by hour of day, outcomes and the containment
rate, handoff reasons, top intents, average handle time, latency percentiles);
:func:`to_csv` writes the same figures as CSV; :func:`bar_chart` and :func:`column_chart`
lay out the bars the page draws as inline SVG (no chart library, nothing from a CDN).

Percentiles are nearest-rank (as ``views.CallDetailOut.latency_p50_ms``): always a value
that was measured. Hours are UTC, like every time the console stores.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pydantic import BaseModel, Field

from switchboard.records import OUTCOMES, CallStore, calls, handoffs, turns

TOP = 10
"""How many reasons and intents the figures list."""
STAGE_ORDER = ("total_ms", "stt_ms", "dialogue_ms", "tts_ms")
"""Latency stages listed first, in this order; any other stage follows by name."""


@dataclass(frozen=True)
class CallFacts:
    started_at: datetime
    ended_at: datetime | None
    outcome: str | None
    intent: str | None


@dataclass(frozen=True)
class DashboardData:
    """What the figures are computed from (see :func:`load`)."""

    calls: list[CallFacts]
    latencies: list[dict[str, float]]
    """The ``latency`` of every bot turn of those calls that has one."""
    handoff_reasons: list[str]


class Count(BaseModel):
    label: str
    count: int


class LatencyStat(BaseModel):
    stage: str
    turns: int
    p50_ms: float
    p95_ms: float


class Figures(BaseModel):
    since: datetime | None
    until: datetime | None
    calls: int = Field(description="Calls that started in the range.")
    ended: int = Field(description="Of those, the calls that have ended.")
    volume_by_hour: list[int] = Field(description="Calls started in each hour of the day, UTC.")
    outcomes: list[Count] = Field(description="Ended calls by outcome ('none': not set).")
    containment_rate: float | None = Field(description="Ended calls the bot handled alone.")
    handoff_reasons: list[Count]
    top_intents: list[Count]
    average_handle_secs: float | None = Field(description="Mean of ended_at - started_at.")
    latency: list[LatencyStat] = Field(description="Per stage, over the bot turns.")


def load(store: CallStore, since: datetime | None, until: datetime | None) -> DashboardData:
    """The calls that started in ``[since, until)``, their bot turns' latencies and the
    handoffs queued in that range."""

    def in_range(column: sa.Column) -> list[sa.ColumnElement[bool]]:
        where = []
        if since is not None:
            where.append(column >= since)
        if until is not None:
            where.append(column < until)
        return where

    call_query = sa.select(
        calls.c.started_at, calls.c.ended_at, calls.c.outcome, calls.c.intent
    ).where(*in_range(calls.c.started_at))
    latency_query = (
        sa.select(turns.c.latency)
        .join(calls, calls.c.call_id == turns.c.call_id)
        .where(turns.c.speaker == "bot", turns.c.latency.is_not(None))
        .where(*in_range(calls.c.started_at))
    )
    reason_query = sa.select(handoffs.c.reason).where(*in_range(handoffs.c.created_at))
    with store.transaction(write=False) as conn:
        call_rows = conn.execute(call_query).all()
        latencies = [row.latency for row in conn.execute(latency_query)]
        reasons = list(conn.execute(reason_query).scalars())
    return DashboardData(
        calls=[CallFacts(*row) for row in call_rows],
        latencies=[value for value in latencies if isinstance(value, dict)],
        handoff_reasons=reasons,
    )


def filter_choices(store: CallStore, limit: int = 200) -> dict[str, list[str]]:
    """The intents, sentiments and agents the stored calls have, for the filters' menus."""
    choices: dict[str, list[str]] = {}
    with store.transaction(write=False) as conn:
        for name in ("intent", "sentiment", "agent"):
            column = calls.c[name]
            query = sa.select(column).where(column.is_not(None)).distinct().order_by(column)
            choices[name] = list(conn.execute(query.limit(limit)).scalars())
    return choices


def figures(
    data: DashboardData, since: datetime | None = None, until: datetime | None = None
) -> Figures:
    ended = [c for c in data.calls if c.ended_at is not None]
    return Figures(
        since=since,
        until=until,
        calls=len(data.calls),
        ended=len(ended),
        volume_by_hour=volume_by_hour(c.started_at for c in data.calls),
        outcomes=outcome_counts(ended),
        containment_rate=containment_rate(ended),
        handoff_reasons=top_counts(data.handoff_reasons),
        top_intents=top_counts(c.intent for c in data.calls),
        average_handle_secs=average_handle_secs(ended),
        latency=latency_percentiles(data.latencies),
    )


def volume_by_hour(starts: Iterable[datetime]) -> list[int]:
    """How many calls started in each hour of the day (0-23)."""
    hours = [0] * 24
    for started in starts:
        hours[started.hour] += 1
    return hours


def outcome_counts(ended: Sequence[CallFacts]) -> list[Count]:
    """Ended calls per outcome, every outcome listed (bot, handoff, abandoned, callback),
    then 'none' for calls whose outcome was never set, if there are any."""
    counts = Counter(c.outcome or "none" for c in ended)
    order = ["bot", "handoff", *sorted(OUTCOMES - {"bot", "handoff"})]
    rows = [Count(label=name, count=counts.get(name, 0)) for name in order]
    if counts.get("none"):
        rows.append(Count(label="none", count=counts["none"]))
    return rows


def containment_rate(ended: Sequence[CallFacts]) -> float | None:
    """The share of ended calls whose outcome is 'bot'; ``None`` with no ended call."""
    if not ended:
        return None
    return sum(c.outcome == "bot" for c in ended) / len(ended)


def top_counts(values: Iterable[str | None], n: int = TOP) -> list[Count]:
    """The ``n`` most frequent values (ties by name), leaving out ``None`` and ''."""
    counts = Counter(v for v in values if v)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [Count(label=label, count=count) for label, count in ranked[:n]]


def average_handle_secs(ended: Sequence[CallFacts]) -> float | None:
    durations = [(c.ended_at - c.started_at).total_seconds() for c in ended if c.ended_at]
    return sum(durations) / len(durations) if durations else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 1) of ``values`` (any order)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def latency_percentiles(latencies: Iterable[dict[str, float]]) -> list[LatencyStat]:
    """p50 and p95 of each latency stage over the turns that measured it."""
    stages: dict[str, list[float]] = {}
    for latency in latencies:
        for stage, value in latency.items():
            if isinstance(value, int | float) and math.isfinite(value):
                stages.setdefault(stage, []).append(float(value))

    def order(stage: str) -> tuple[int, str]:
        return (STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER), stage)

    return [
        LatencyStat(
            stage=stage,
            turns=len(values),
            p50_ms=percentile(values, 0.5),
            p95_ms=percentile(values, 0.95),
        )
        for stage, values in sorted(stages.items(), key=lambda item: order(item[0]))
    ]


def to_csv(fig: Figures) -> str:
    """The figures as one CSV table: ``figure,label,value``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["figure", "label", "value"])
    writer.writerow(["range", "since", fig.since.isoformat() if fig.since else ""])
    writer.writerow(["range", "until", fig.until.isoformat() if fig.until else ""])
    writer.writerow(["calls", "started", fig.calls])
    writer.writerow(["calls", "ended", fig.ended])
    for hour, count in enumerate(fig.volume_by_hour):
        writer.writerow(["volume_by_hour", f"{hour:02d}:00", count])
    for row in fig.outcomes:
        writer.writerow(["outcome", row.label, row.count])
    writer.writerow(["containment_rate", "bot/ended", _number(fig.containment_rate, 4)])
    for row in fig.handoff_reasons:
        writer.writerow(["handoff_reason", row.label, row.count])
    for row in fig.top_intents:
        writer.writerow(["intent", row.label, row.count])
    writer.writerow(["average_handle_secs", "ended calls", _number(fig.average_handle_secs, 1)])
    for stat in fig.latency:
        writer.writerow(["latency_p50_ms", stat.stage, _number(stat.p50_ms, 1)])
        writer.writerow(["latency_p95_ms", stat.stage, _number(stat.p95_ms, 1)])
    return out.getvalue()


def _number(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


# --- chart layout (the page draws these as SVG) --------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    maximum: float


LABEL_WIDTH = 150
BAR_AREA = 300
ROW = 24


def bar_chart(items: Sequence[tuple[str, float]], unit: str = "") -> Chart:
    """Horizontal bars, one row per item: label on the left, value after the bar."""
    maximum = max((value for _, value in items), default=0) or 1
    bars = [
        Bar(
            label=label,
            value=value,
            text=f"{value:g}{unit}",
            x=LABEL_WIDTH,
            y=i * ROW + 4,
            width=round(value / maximum * BAR_AREA, 1),
            height=ROW - 8,
        )
        for i, (label, value) in enumerate(items)
    ]
    return Chart(LABEL_WIDTH + BAR_AREA + 70, max(1, len(items)) * ROW, bars, maximum)


COLUMN = 20
COLUMN_AREA = 120
AXIS = 30


def column_chart(values: Sequence[float], labels: Sequence[str]) -> Chart:
    """Vertical columns (one per value) over a baseline, labels below."""
    maximum = max(values, default=0) or 1
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = round(value / maximum * COLUMN_AREA, 1)
        bars.append(
            Bar(
                label=label,
                value=value,
                text=f"{value:g}",
                x=AXIS + i * COLUMN,
                y=10 + COLUMN_AREA - height,
                width=COLUMN - 4,
                height=height,
            )
        )
    return Chart(AXIS + len(values) * COLUMN + 10, COLUMN_AREA + 40, bars, maximum)
