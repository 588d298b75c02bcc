"""Who is asking, and may they: the dependencies every console route uses.

``require_role("supervisor", "admin")`` is a dependency that signs the request in from its
session cookie (401 without a valid one: no cookie, a bad signature, an expired session, a
disabled user, a session ended by sign-out or a new password), checks the CSRF token on
POST/PUT/PATCH/DELETE (403) and then the role (403). It returns the :class:`CurrentUser`.
The aliases below (``AnyUser``, ``Reviewer``, ``DeskUser``, ``Admin``) are what routes take.

Outside ``/api/`` an anonymous request is redirected to the sign-in page instead of getting
a 401, so HTML pages use the same dependencies.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, HTTPException, Request

from console.security import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, same_token

if TYPE_CHECKING:
    from console.web import Console

ROLES = ("agent", "supervisor", "admin")
REVIEWERS = ("supervisor", "admin")
"""Who sees every call."""
DESK = ("agent", "supervisor")
"""Who takes calls and writes wrap-ups."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No valid session: 401 under /api/, a redirect to the sign-in page elsewhere."""


@dataclass(frozen=True)
class CurrentUser:
    name: str
    role: str
    csrf_token: str

    @property
    def sees_all_calls(self) -> bool:
        return self.role in REVIEWERS


def get_console(request: Request) -> Console:
    return request.app.state.console


async def csrf_from(request: Request) -> str | None:
    """The CSRF token a request carries: the header, else a form field."""
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches it for the route
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


async def check_anonymous_csrf(request: Request) -> None:
    """Double-submit check for requests made before sign-in (the sign-in itself): the token
    sent must equal the ``sb_csrf`` cookie."""
    if not same_token(await csrf_from(request), request.cookies.get(CSRF_COOKIE)):
        raise HTTPException(403, "missing or wrong CSRF token (GET /api/auth/csrf first)")


async def current_user(request: Request) -> CurrentUser:
    """The signed-in user, or :class:`SignInRequired`; CSRF checked on unsafe methods."""
    console = get_console(request)
    session = console.signer.loads(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInRequired
    user = await asyncio.to_thread(console.store.get_user, session.name)
    if user is None or user.disabled or user.session_epoch != session.epoch:
        raise SignInRequired
    if request.method not in SAFE_METHODS and not same_token(
        await csrf_from(request), session.csrf
    ):
        raise HTTPException(403, "missing or wrong CSRF token")
    return CurrentUser(name=user.name, role=user.role, csrf_token=session.csrf)


def require_role(*roles: str):
    """A dependency: the signed-in user, who must have one of ``roles`` (403 otherwise)."""
    unknown = set(roles) - set(ROLES)
    if not roles or unknown:
        raise ValueError(f"require_role takes roles from {ROLES}, not {sorted(unknown)}")
    allowed = frozenset(roles)

    async def dependency(user: Annotated[CurrentUser, Depends(current_user)]) -> CurrentUser:
        if user.role not in allowed:
            raise HTTPException(403, f"this needs the role {' or '.join(sorted(allowed))}")
        return user

    dependency.roles = allowed  # type: ignore[attr-defined] - for the route table tests
    return dependency


AnyUser = Annotated[CurrentUser, Depends(require_role(*ROLES))]
Reviewer = Annotated[CurrentUser, Depends(require_role(*REVIEWERS))]
DeskUser = Annotated[CurrentUser, Depends(require_role(*DESK))]
Admin = Annotated[CurrentUser, Depends(require_role("admin"))]
