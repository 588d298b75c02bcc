"""``GET /api/dashboard``: the dashboard's figures as JSON (supervisors and admins), the
same as ``/console/dashboard`` shows and ``/console/dashboard.csv`` exports."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from console import dashboard
from console.auth import Reviewer, get_console

router = APIRouter(tags=["dashboard"])


@router.get("/api/dashboard", response_model=dashboard.Figures)
async def get_dashboard(
    request: Request,
    user: Reviewer,
    since: Annotated[datetime | None, Query(description="started at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="started before (ISO 8601)")] = None,
) -> dashboard.Figures:
    """Call volume by hour (UTC), outcomes and containment rate, handoff reasons, top
    intents, average handle time and latency percentiles of the calls started in range."""
    store = get_console(request).store.calls
    data = await asyncio.to_thread(dashboard.load, store, since, until)
    return dashboard.figures(data, since, until)
