"""Every route under /api/ and every page tried as nobody and as each role. The tables below
(``ACCESS`` for the API, ``PAGES`` for the HTML) are the access policy; a route that is not in
them (a new one) fails ``test_every_api_route_is_in_the_table`` or
``test_every_page_is_in_the_table`` until it is added there with its roles and given the
matching ``require_role``."""

from __future__ import annotations

import re

import pytest
from fastapi import routing
from fastapi.routing import APIRoute

from console.live import Subscription

PUBLIC = frozenset()
STAFF = frozenset({"agent", "supervisor", "admin"})
DESK = frozenset({"agent", "supervisor"})
REVIEW = frozenset({"supervisor", "admin"})
ADMIN = frozenset({"admin"})

ACCESS: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/api/auth/csrf"): None,  # public
    ("POST", "/api/auth/signin"): None,  # public (CSRF double-submit)
    ("POST", "/api/auth/signout"): STAFF,
    ("GET", "/api/me"): STAFF,
    ("GET", "/api/calls"): STAFF,
    ("GET", "/api/calls/{call_id}"): STAFF,
    ("GET", "/api/calls/{call_id}/recording"): STAFF,
    ("GET", "/api/handoffs"): STAFF,
    ("GET", "/api/handoffs/stream"): STAFF,
    ("GET", "/api/handoffs/{handoff_id}"): STAFF,
    ("POST", "/api/handoffs/{handoff_id}/take"): DESK,
    ("POST", "/api/handoffs/{handoff_id}/wrapup"): DESK,
    ("GET", "/api/users"): ADMIN,
    ("POST", "/api/users"): ADMIN,
    ("PATCH", "/api/users/{name}"): ADMIN,
    ("GET", "/api/kb/collections"): ADMIN,
    ("POST", "/api/kb/documents"): ADMIN,
    ("POST", "/api/kb/reingest"): ADMIN,
    ("GET", "/api/kb/search"): STAFF,
    ("GET", "/api/dashboard"): REVIEW,
}

PAGES: dict[tuple[str, str], frozenset[str] | None] = {
    ("GET", "/signin"): None,  # public
    ("POST", "/signin"): None,  # public (CSRF double-submit)
    ("POST", "/signout"): STAFF,
    ("GET", "/console"): STAFF,
    ("GET", "/console/desk"): DESK,
    ("GET", "/console/desk/{handoff_id}"): DESK,
    ("GET", "/console/calls"): STAFF,
    ("GET", "/console/calls/{call_id}"): STAFF,
    ("GET", "/console/dashboard"): REVIEW,
    ("GET", "/console/dashboard.csv"): REVIEW,
    ("GET", "/console/softphone"): STAFF,
    ("GET", "/console/admin"): ADMIN,
}
"""The HTML pages. Anonymous requests are sent to the sign-in page; a role that may not
open a page gets 403 (an error page)."""

NOT_YET_GUARDED: dict[tuple[str, str], str] = {}
"""Routes outside the console's files that still answer anybody. Shrink this to nothing."""

GUARDED = [(method, path) for (method, path), roles in ACCESS.items() if roles is not None]
GUARDED_PAGES = [(method, path) for (method, path), roles in PAGES.items() if roles is not None]
WHO = [None, "agent", "supervisor", "admin"]


def http_routes(app) -> list:
    """The app's HTTP routes with the paths they answer on (FastAPI 0.16x keeps included
    routers whole and exposes their effective routes through ``iter_route_contexts``)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    routes = list(contexts(app.routes)) if contexts else list(app.routes)
    return [
        r for r in routes if isinstance(getattr(r, "original_route", r), APIRoute) and r.methods
    ]


def api_routes(app) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in http_routes(app)
        if route.path.startswith("/api/")
        for method in route.methods
        if method != "HEAD"
    }


def declared_roles(route) -> frozenset[str] | None:
    """The roles of the ``require_role`` dependency a route has, if it has one."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        roles = getattr(dependant.call, "roles", None)
        if roles is not None:
            return roles
        stack.extend(dependant.dependencies)
    return None


def test_every_api_route_is_in_the_table(console):
    assert api_routes(console.app) == set(ACCESS) | set(NOT_YET_GUARDED)


def test_every_guarded_route_declares_the_roles_of_the_table(console):
    table = {**ACCESS, **PAGES}
    for route in http_routes(console.app):
        for method in route.methods:
            if (method, route.path) in table:
                assert declared_roles(route) == table[(method, route.path)], route.path


def test_every_page_is_in_the_table(console):
    """Every HTML route (outside /api/, the Twilio webhooks and the health check) is a page
    of the table, with its roles."""
    pages = {
        (method, route.path)
        for route in http_routes(console.app)
        if not route.path.startswith(("/api/", "/twilio/", "/health"))
        for method in route.methods
        if method != "HEAD"
    }
    assert pages == set(PAGES)


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "nobody")
@pytest.mark.parametrize("method,path", GUARDED, ids=[f"{m} {p}" for m, p in GUARDED])
def test_each_route_as_each_role(console, method, path, who):
    client = console.client(who)
    app_console = console.app.state.console

    def ended() -> Subscription:  # the stream sends its snapshot, then ends
        subscription = Subscription()
        subscription.queue.put_nowait(None)
        return subscription

    app_console.hub.subscribe = ended
    url = re.sub(r"\{[a-z_]+\}", "nothing-here", path)
    response = client.request(method, url)
    allowed = ACCESS[(method, path)]
    if who is None:
        assert response.status_code == 401, response.text
        assert response.json() == {"detail": "sign in first"}
    elif who in allowed:
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403, response.text


@pytest.mark.parametrize("method,path", [k for k, v in ACCESS.items() if v is None])
def test_public_routes_answer_nobody(console, method, path):
    response = console.client().request(method, path)
    assert response.status_code in (200, 403, 422)  # 403: the sign-in's CSRF check


@pytest.mark.parametrize("who", WHO, ids=lambda w: w or "nobody")
@pytest.mark.parametrize("method,path", GUARDED_PAGES, ids=[f"{m} {p}" for m, p in GUARDED_PAGES])
def test_each_page_as_each_role(console, method, path, who):
    client = console.client(who)
    url = re.sub(r"\{[a-z_]+\}", "nothing-here", path)
    response = client.request(method, url, follow_redirects=False)
    allowed = PAGES[(method, path)]
    if who is None:
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/signin?next=")
    elif who in allowed:
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("text/html")
