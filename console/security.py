"""Passwords, session cookies, CSRF tokens and the sign-in rate limit: the console's
security mechanics, with no FastAPI in them (``console.auth`` applies them to requests).

* Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
  recommendation); a hash made with older parameters is replaced at the next sign-in.
* A session is a cookie signed with the console's secret (itsdangerous, HMAC-SHA1 over a
  timestamped payload): the user's name, the user's session epoch (a sign-out or a new
  password moves it on, which ends every session of that user) and the session's CSRF
  token. Nothing else is kept on the server.
* CSRF: every POST/PUT/PATCH/DELETE must carry the session's token (header
  ``X-CSRF-Token`` or form field ``csrf_token``); before sign-in, a random token in the
  ``sb_csrf`` cookie is double-submitted the same way.
* Sign-in failures are counted per (name, client address) in memory: after
  ``attempts`` failures within ``window_secs`` further tries are refused until the oldest
  failure ages out. One process's memory: behind several workers the limit is per worker.
"""

from __future__ import annotations

import hmac
import math
import secrets
import string
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "sb_session"
CSRF_COOKIE = "sb_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

_hasher = PasswordHasher()
# Verified when the name is unknown, so that a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; takes the same time for a missing user (``None``)."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def generate_password(length: int = 16) -> str:
    """A random password of letters and digits (about 95 bits at 16 characters)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; an absent or empty token never matches."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Session:
    name: str
    epoch: int
    csrf: str


class SessionSigner:
    """Signs and checks session cookies; a cookie older than ``max_age_secs`` is refused."""

    def __init__(self, secret: str, max_age_secs: float) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="switchboard.console.session")
        self.max_age_secs = max_age_secs

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps({"u": session.name, "e": session.epoch, "c": session.csrf})

    def loads(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_secs)
            return Session(name=str(data["u"]), epoch=int(data["e"]), csrf=str(data["c"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None


class SignInLimiter:
    """At most ``attempts`` failed sign-ins per key within ``window_secs``. Thread-safe."""

    def __init__(
        self,
        attempts: int = 5,
        window_secs: float = 300.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        self.attempts = attempts
        self.window_secs = window_secs
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key: tuple[str, str]) -> int | None:
        """Seconds until ``key`` may try again, or ``None`` if it may now."""
        with self._lock:
            failures = self._recent(key)
            if len(failures) < self.attempts:
                return None
            return max(1, math.ceil(failures[0] + self.window_secs - self._clock()))

    def failed(self, key: tuple[str, str]) -> None:
        with self._lock:
            failures = self._recent(key)
            failures.append(self._clock())
            self._failures[key] = failures
            if len(self._failures) > self._max_keys:  # bound memory: forget the stalest
                stalest = min(self._failures, key=lambda k: self._failures[k][-1])
                del self._failures[stalest]

    def succeeded(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._failures.pop(key, None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        cutoff = self._clock() - self.window_secs
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            self._failures.pop(key, None)
        return failures
