"""The console's web pages: server-rendered HTML (Jinja2 templates in ``templates/``) with a
little vanilla JavaScript (``static/``), nothing from a CDN.

Pages are thin: each calls the JSON API's own route function (``api_calls.get_call``,
``api_handoffs.list_handoffs``, ...) so that a page shows exactly what its API returns, with
the same role checks and the same redaction, and the roles a page needs are its
``require_role`` dependency like any API route's (tests/console/test_console_routes.py).

* ``/console``: sends agents to the desk, supervisors and admins to the calls.
* ``/console/desk``: the live queue (``/api/handoffs/stream``); ``/console/desk/{id}``: a
  handoff taken, its transcript, the copilot and the wrap-up form.
* ``/console/calls``: the calls list with filters; ``/console/calls/{id}``: one call with
  its recording following the transcript.
* ``/console/dashboard`` (and ``.csv``): the figures of ``console.dashboard``.
* ``/console/admin``: user accounts and the knowledge base (``console.api_admin``), admins only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from loguru import logger

from console import api_admin, api_calls, api_dashboard, api_handoffs, dashboard
from console.auth import (
    DESK,
    REVIEWERS,
    ROLES,
    Admin,
    AnyUser,
    CurrentUser,
    DeskUser,
    Reviewer,
)
from console.auth import get_console as _console
from console.security import CSRF_FIELD
from console.views import DISPOSITIONS
from switchboard.records import OUTCOMES

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PAGE_SIZE = 25
DASHBOARD_DAYS = 7
"""The dashboard's range when none is given: the last seven days, today included."""

NAV: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Desk", "/console/desk", DESK),
    ("Calls", "/console/calls", ROLES),
    ("Dashboard", "/console/dashboard", REVIEWERS),
    ("Softphone", "/console/softphone", ROLES),
    ("Admin", "/console/admin", ("admin",)),
)
"""The navigation: label, path, the roles that may open it (a link a role cannot use is
not shown). The softphone page is served by its own module."""

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.trim_blocks = templates.env.lstrip_blocks = True


def _clock(ms: float | None) -> str:
    """Milliseconds as m:ss (h:mm:ss from an hour)."""
    if ms is None:
        return ""
    secs = int(ms // 1000)
    hours, rest = divmod(secs, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else ""


templates.env.filters["clock"] = _clock
templates.env.filters["when"] = _when


def render(request: Request, user: CurrentUser, name: str, **context: Any) -> Response:
    nav = [(label, path) for label, path, roles in NAV if user.role in roles]
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "nav": nav, "csrf_field": CSRF_FIELD, "path": request.url.path, **context},
    )


@router.get("/console")
async def home(user: AnyUser) -> RedirectResponse:
    """Where signing in lands: agents take calls, supervisors and admins review them."""
    return RedirectResponse("/console/desk" if user.role == "agent" else "/console/calls", 303)


# --- the agent desk --------------------------------------------------------------------


@router.get("/console/desk")
async def desk(request: Request, user: DeskUser) -> Response:
    page = await api_handoffs.list_handoffs(request, user, status=None, limit=500, offset=0)
    return render(
        request,
        user,
        "desk.html",
        waiting=[h for h in page.items if h.status == "waiting"],
        taken=[h for h in page.items if h.status == "taken"],
    )


@router.get("/console/desk/{handoff_id}")
async def desk_handoff(request: Request, user: DeskUser, handoff_id: str) -> Response:
    handoff = await api_handoffs.get_handoff(request, user, handoff_id)
    call = None
    if handoff.call_id:
        try:
            call = await api_calls.get_call(request, user, handoff.call_id)
        except HTTPException:
            call = None  # not this user's call (yet): taking it shows the transcript
    mine = handoff.agent == user.name or (handoff.agent is not None and user.sees_all_calls)
    draft = handoff.wrapup or handoff.wrapup_draft
    dispositions = list(DISPOSITIONS)
    if draft.disposition not in dispositions:
        dispositions.append(draft.disposition)
    return render(
        request,
        user,
        "handoff.html",
        h=handoff,
        call=call,
        may_wrap_up=mine and handoff.status in ("taken", "completed"),
        live=call is not None and call.ended_at is None and handoff.status == "taken",
        draft=draft,
        dispositions=dispositions,
    )


# --- the supervisor's review -----------------------------------------------------------


def _day(text: str | None, field: str, errors: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(f"{field}: not a date (YYYY-MM-DD): {text[:20]!r}")
        return None


def day_range(
    start: str | None, end: str | None, errors: list[str]
) -> tuple[datetime | None, datetime | None]:
    """The UTC datetimes of the days ``start`` to ``end`` inclusive (``YYYY-MM-DD``), as
    ``[since, until)``; a bad date is left out and said in ``errors``."""
    first, last = _day(start, "from", errors), _day(end, "to", errors)
    since = datetime.combine(first, time(), UTC) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), UTC) if last else None
    return since, until


@router.get("/console/calls")
async def calls_page(
    request: Request,
    user: AnyUser,
    start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
    outcome: Annotated[str | None, Query(max_length=20)] = None,
    intent: Annotated[str | None, Query(max_length=100)] = None,
    sentiment: Annotated[str | None, Query(max_length=50)] = None,
    agent: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """The calls list; an agent's is their own calls (the agent filter is not offered)."""
    errors: list[str] = []
    since, until = day_range(start, end, errors)
    if outcome and outcome not in OUTCOMES:
        errors.append(f"outcome: one of {', '.join(sorted(OUTCOMES))}")
        outcome = None
    if not user.sees_all_calls:
        agent = None
    filters = {
        "from": start or "",
        "to": end or "",
        "outcome": outcome or "",
        "intent": (intent or "").strip(),
        "sentiment": (sentiment or "").strip(),
        "agent": (agent or "").strip(),
        "q": (q or "").strip(),
    }
    page = await api_calls.list_calls(
        request,
        user,
        since=since,
        until=until,
        outcome=outcome or None,
        intent=filters["intent"] or None,
        sentiment=filters["sentiment"] or None,
        agent=filters["agent"] or None,
        q=filters["q"] or None,
        limit=PAGE_SIZE,
        offset=offset,
    )
    kept = {k: v for k, v in filters.items() if v}

    def link(to_offset: int | None) -> str | None:
        if to_offset is None:
            return None
        return "/console/calls?" + urlencode({**kept, "offset": to_offset})

    choices = await asyncio.to_thread(dashboard.filter_choices, _console(request).store.calls)
    return render(
        request,
        user,
        "calls.html",
        page=page,
        filters=filters,
        errors=errors,
        outcomes=["bot", "handoff", "abandoned", "callback"],
        choices=choices,
        previous=link(max(0, offset - PAGE_SIZE) if offset else None),
        next=link(page.next_offset),
        export="/api/calls?" + urlencode(kept) if kept else "/api/calls",
    )


@router.get("/console/calls/{call_id}")
async def call_page(request: Request, user: AnyUser, call_id: str) -> Response:
    call = await api_calls.get_call(request, user, call_id)
    return render(request, user, "call.html", call=call)


# --- the dashboard ---------------------------------------------------------------------


def _dashboard_range(
    start: str | None, end: str | None, errors: list[str]
) -> tuple[str, str, datetime | None, datetime | None]:
    if not start and not end:
        today = datetime.now(UTC).date()
        start = (today - timedelta(days=DASHBOARD_DAYS - 1)).isoformat()
        end = today.isoformat()
    since, until = day_range(start, end, errors)
    return start or "", end or "", since, until


@router.get("/console/dashboard")
async def dashboard_page(
    request: Request,
    user: Reviewer,
    start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
) -> Response:
    errors: list[str] = []
    start, end, since, until = _dashboard_range(start, end, errors)
    fig = await api_dashboard.get_dashboard(request, user, since=since, until=until)
    latency_bars = [
        (f"{stat.stage} p{q}", value)
        for stat in fig.latency
        for q, value in ((50, stat.p50_ms), (95, stat.p95_ms))
    ]
    charts = {
        "hours": dashboard.column_chart(fig.volume_by_hour, [f"{h:02d}" for h in range(24)]),
        "outcomes": dashboard.bar_chart([(r.label, r.count) for r in fig.outcomes]),
        "reasons": dashboard.bar_chart([(r.label, r.count) for r in fig.handoff_reasons]),
        "intents": dashboard.bar_chart([(r.label, r.count) for r in fig.top_intents]),
        "latency": dashboard.bar_chart(latency_bars, " ms"),
    }
    query = urlencode({"from": start, "to": end})
    return render(
        request,
        user,
        "dashboard.html",
        fig=fig,
        charts=charts,
        start=start,
        end=end,
        errors=errors,
        csv_url=f"/console/dashboard.csv?{query}",
        json_url="/api/dashboard?"
        + urlencode({k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}),
    )


@router.get("/console/dashboard.csv")
async def dashboard_csv(
    request: Request,
    user: Reviewer,
    start: Annotated[str | None, Query(alias="from", max_length=20)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=20)] = None,
) -> Response:
    errors: list[str] = []
    start, end, since, until = _dashboard_range(start, end, errors)
    if errors:
        raise HTTPException(422, "; ".join(errors))
    fig = await api_dashboard.get_dashboard(request, user, since=since, until=until)
    name = f"switchboard-dashboard-{start or 'start'}-{end or 'now'}.csv"
    return Response(
        dashboard.to_csv(fig),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- administration ----------------------------------------------------------------------


@router.get("/console/admin")
async def admin_page(request: Request, user: Admin) -> Response:
    """Users and the knowledge base. The forms call ``/api/users`` and ``/api/kb/...``
    (``static/admin.js``); a knowledge store that cannot be opened is said on the page,
    which still manages users."""
    from knowledge.loaders import SUPPORTED_EXTENSIONS

    users = await api_admin.list_users(request, user)
    collections, kb_error = [], None
    try:
        collections = await api_admin.list_collections(request, user)
    except Exception as e:  # noqa: BLE001 - shown on the page, not raised into it
        logger.warning("the admin page could not list the knowledge base: {}", e)
        kb_error = f"The knowledge base could not be read: {e}"
    return render(
        request,
        user,
        "admin.html",
        users=users,
        roles=ROLES,
        collections=collections,
        kb_error=kb_error,
        default_collection=_console(request).settings.knowledge.default_collection,
        extensions=sorted(SUPPORTED_EXTENSIONS),
    )


# --- errors ----------------------------------------------------------------------------


def error_page(request: Request, status: int, detail: str) -> Response:
    """A page for a refused or missing page (403, 404, ...): no navigation, since who is
    asking may not be known."""
    return templates.TemplateResponse(
        request, "error.html", {"status": status, "detail": detail}, status_code=status
    )
