"""Signing in and out: ``/api/auth/*`` and ``/api/me`` for scripts and pages, and the
plain HTML sign-in form at ``/signin`` (which needs no JavaScript)."""

from __future__ import annotations

import asyncio
import html
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from console.auth import AnyUser, check_anonymous_csrf, get_console
from console.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    SESSION_COOKIE,
    Session,
    hash_password,
    needs_rehash,
    new_csrf_token,
    verify_password,
)
from console.store import UserRecord
from console.views import CsrfOut, MeOut

HOME = "/console"
"""Where the sign-in form goes afterwards when no ``next`` is given."""

router = APIRouter(tags=["auth"])


class SignInIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class TooManyAttempts(HTTPException):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            f"too many failed sign-ins; try again in {retry_after} s",
            headers={"Retry-After": str(retry_after)},
        )


async def _sign_in(request: Request, name: str, password: str) -> tuple[UserRecord, Session]:
    """The user and a new session, or 401/429."""
    console = get_console(request)
    name = name.strip().lower()
    key = (name, request.client.host if request.client else "")
    retry_after = console.limiter.retry_after(key)
    if retry_after is not None:
        raise TooManyAttempts(retry_after)
    user = await asyncio.to_thread(console.store.get_user, name)
    ok = await asyncio.to_thread(verify_password, user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        console.limiter.failed(key)
        raise HTTPException(401, "wrong name or password")
    console.limiter.succeeded(key)
    if needs_rehash(user.password_hash):
        new_hash = await asyncio.to_thread(hash_password, password)
        user = await asyncio.to_thread(console.store.update_user, name, password_hash=new_hash)
    return user, Session(name=user.name, epoch=user.session_epoch, csrf=new_csrf_token())


def _set_session(request: Request, response: Response, session: Session) -> None:
    console = get_console(request)
    secure = console.secure_cookies(request)
    response.set_cookie(
        SESSION_COOKIE,
        console.signer.dumps(session),
        max_age=int(console.signer.max_age_secs),
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    # Readable by the pages' JavaScript, which sends it back as X-CSRF-Token.
    response.set_cookie(CSRF_COOKIE, session.csrf, samesite="lax", secure=secure, path="/")


def _clear_session(request: Request, response: Response) -> None:
    secure = get_console(request).secure_cookies(request)
    for name, http_only in ((SESSION_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=secure, httponly=http_only, samesite="lax")


def _anonymous_token(request: Request, response: Response, token: str | None = None) -> str:
    """The pre-sign-in CSRF token (the cookie's, or a new one), set on ``response``."""
    token = token or request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    secure = get_console(request).secure_cookies(request)
    response.set_cookie(CSRF_COOKIE, token, samesite="lax", secure=secure, path="/")
    return token


@router.get("/api/auth/csrf", response_model=CsrfOut)
async def csrf_token(request: Request, response: Response) -> CsrfOut:
    """A token for the sign-in request (also set as the ``sb_csrf`` cookie). Public."""
    return CsrfOut(csrf_token=_anonymous_token(request, response))


@router.post(
    "/api/auth/signin",
    response_model=MeOut,
    dependencies=[Depends(check_anonymous_csrf)],
    responses={401: {"description": "wrong name or password"}, 429: {"description": "wait"}},
)
async def sign_in(request: Request, response: Response, body: SignInIn) -> MeOut:
    """Sign in; sets the session cookie. Public, but needs the CSRF token of
    ``GET /api/auth/csrf`` in ``X-CSRF-Token``."""
    user, session = await _sign_in(request, body.name, body.password)
    _set_session(request, response, session)
    return MeOut(name=user.name, role=user.role, csrf_token=session.csrf)


@router.post("/api/auth/signout", status_code=204)
async def sign_out(request: Request, user: AnyUser) -> Response:
    """End this user's sessions (every browser: the session epoch moves on)."""
    console = get_console(request)
    await asyncio.to_thread(console.store.update_user, user.name, end_sessions=True)
    response = Response(status_code=204)
    _clear_session(request, response)
    return response


@router.get("/api/me", response_model=MeOut)
async def me(user: AnyUser) -> MeOut:
    return MeOut(name=user.name, role=user.role, csrf_token=user.csrf_token)


# --- the HTML form -------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Switchboard</title>
<style>body{{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}}
label,input,button{{display:block;width:100%;margin:.3rem 0;font-size:1rem}}
input{{padding:.4rem;box-sizing:border-box}}.error{{color:#b00020}}</style></head>
<body><h1>Switchboard</h1>
{error}<form method="post" action="/signin" data-testid="signin-form">
<input type="hidden" name="{field}" value="{token}">
<input type="hidden" name="next" value="{next}">
<label for="name">Name</label><input id="name" name="name" autocomplete="username" required
 autofocus value="{name}">
<label for="password">Password</label><input id="password" name="password" type="password"
 autocomplete="current-password" required>
<button type="submit">Sign in</button></form></body></html>
"""


def _local(next_url: str | None) -> str:
    """``next_url`` if it is a path on this site, else the console's home (no open redirect)."""
    if next_url and next_url.startswith("/") and not next_url.startswith(("//", "/\\")):
        return next_url
    return HOME


def _form_page(
    request: Request, *, next_url: str, name: str = "", error: str = "", status: int = 200
) -> HTMLResponse:
    token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    body = _PAGE.format(
        error=f'<p class="error" role="alert">{html.escape(error)}</p>\n' if error else "",
        field=CSRF_FIELD,
        token=html.escape(token),
        next=html.escape(_local(next_url)),
        name=html.escape(name),
    )
    response = HTMLResponse(body, status_code=status)
    _anonymous_token(request, response, token)
    return response


@router.get("/signin", response_class=HTMLResponse, include_in_schema=False)
async def sign_in_page(request: Request, next: Annotated[str | None, Query()] = None):
    return _form_page(request, next_url=_local(next))


@router.post(
    "/signin",
    response_class=HTMLResponse,
    dependencies=[Depends(check_anonymous_csrf)],
    include_in_schema=False,
)
async def sign_in_form(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str | None, Form()] = None,
):
    try:
        _, session = await _sign_in(request, name, password)
    except HTTPException as e:
        page = _form_page(
            request, next_url=_local(next), name=name, error=str(e.detail), status=e.status_code
        )
        page.headers.update(e.headers or {})
        return page
    response = RedirectResponse(_local(next), status_code=303)
    _set_session(request, response, session)
    return response


@router.post("/signout", include_in_schema=False)
async def sign_out_form(request: Request, user: AnyUser):
    console = get_console(request)
    await asyncio.to_thread(console.store.update_user, user.name, end_sessions=True)
    response = RedirectResponse("/signin", status_code=303)
    _clear_session(request, response)
    return response


def sign_in_redirect(request: Request) -> RedirectResponse:
    """Where an anonymous request for a page goes."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
