"""Signing in and out, sessions, cookies, CSRF and the sign-in rate limit."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
from console_support import PASSWORD, sign_in

from console.security import (
    SESSION_COOKIE,
    Session,
    SignInLimiter,
    hash_password,
    verify_password,
)


def cookies(response) -> dict[str, dict[str, str]]:
    """Set-Cookie headers as {name: {attribute: value}} (flags map to "")."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            attributes = {k.lower(): v for k, v in morsel.items() if v}
            found[name] = {"value": morsel.value, **attributes}
            found[name]["_raw"] = header
    return found


def test_passwords_are_argon2_hashes():
    stored = hash_password("s3cret-enough")
    assert stored.startswith("$argon2id$") and "s3cret-enough" not in stored
    assert verify_password(stored, "s3cret-enough")
    assert not verify_password(stored, "wrong")
    assert not verify_password(None, "anything")  # unknown user
    assert not verify_password("not a hash", "anything")


def test_json_sign_in_me_and_sign_out(console):
    client = console.client()
    response = sign_in(client, "sue")
    assert response.status_code == 200
    me = response.json()
    assert (me["name"], me["role"]) == ("sue", "supervisor") and me["csrf_token"]
    assert client.get("/api/me").json()["name"] == "sue"
    out = client.post("/api/auth/signout")
    assert out.status_code == 204
    assert client.get("/api/me").status_code == 401


def test_a_session_cookie_replayed_after_sign_out_is_refused(console):
    client = console.client("agent")
    stolen = client.cookies.get(SESSION_COOKIE)
    assert client.post("/api/auth/signout").status_code == 204
    replay = console.client()
    replay.cookies.set(SESSION_COOKIE, stolen)
    assert replay.get("/api/me").status_code == 401


def test_names_are_case_insensitive_and_wrong_passwords_fail(console):
    client = console.client()
    assert sign_in(client, "SUE").status_code == 200
    wrong = sign_in(console.client(), "sue", "not the password")
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong name or password"
    unknown = sign_in(console.client(), "nobody", PASSWORD)
    assert unknown.status_code == 401 and unknown.json() == wrong.json()


def test_a_disabled_user_cannot_sign_in_and_their_session_ends(console):
    client = console.client("agent")
    console.store.update_user("ana", disabled=True)
    assert client.get("/api/me").status_code == 401
    assert sign_in(console.client(), "ana").status_code == 401


def test_a_new_password_ends_existing_sessions(console):
    client = console.client("agent")
    console.store.update_user("ana", password_hash=hash_password("another password"))
    assert client.get("/api/me").status_code == 401
    assert sign_in(console.client(), "ana", "another password").status_code == 200


def test_a_tampered_or_foreign_cookie_is_refused(console):
    client = console.client("supervisor")
    cookie = client.cookies.get(SESSION_COOKIE)
    forged = console.client()
    forged.cookies.set(SESSION_COOKIE, cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    assert forged.get("/api/me").status_code == 401
    # Signed with another key: a cookie from another deployment.
    from console.security import SessionSigner

    other = SessionSigner("another secret", 3600).dumps(Session("ada", 0, "token"))
    forged.cookies.set(SESSION_COOKIE, other)
    assert forged.get("/api/me").status_code == 401


def test_an_expired_session_is_refused(console):
    client = console.client("agent")
    console.app.state.console.signer.max_age_secs = -1
    assert client.get("/api/me").status_code == 401


# --- cookies -------------------------------------------------------------------------------


def test_session_cookie_flags_on_plain_http_in_development(console):
    client = console.client()
    set_cookies = cookies(sign_in(client, "sue"))
    session = set_cookies[SESSION_COOKIE]
    assert "httponly" in session["_raw"].lower()
    assert session["samesite"].lower() == "lax"
    assert session["path"] == "/"
    assert int(session["max-age"]) == 12 * 3600
    assert "secure" not in session["_raw"].lower()  # http://localhost keeps working
    csrf = set_cookies["sb_csrf"]
    assert "httponly" not in csrf["_raw"].lower()  # the pages' JavaScript reads it


def test_session_cookie_is_secure_over_https(console):
    client = console.client(base_url="https://console.example")
    session = cookies(sign_in(client, "sue"))[SESSION_COOKIE]
    assert "secure" in session["_raw"].lower() and "httponly" in session["_raw"].lower()


def test_session_cookie_is_secure_in_production_and_a_secret_is_required(make_console, monkeypatch):
    from console.settings import ConsoleSettings, secret_key
    from switchboard.settings import Settings

    production = {"environment": "production", "twilio": {"auth_token": "t" * 32}}
    monkeypatch.delenv("SWITCHBOARD_CONSOLE__SECRET_KEY", raising=False)
    with pytest.raises(ValueError, match="SECRET_KEY is required in production"):
        secret_key(Settings(_env_file=None, **production), ConsoleSettings())
    monkeypatch.setenv("SWITCHBOARD_CONSOLE__SECRET_KEY", "k" * 48)
    console = make_console(**production)
    client = console.client(base_url="https://console.example")
    session = cookies(sign_in(client, "sue"))[SESSION_COOKIE]
    assert "secure" in session["_raw"].lower()
    # Over plain http the browser would not send the Secure CSRF cookie back: refused.
    assert sign_in(console.client(), "sue").status_code == 403


def test_the_development_secret_is_made_once_and_kept(tmp_path):
    from console.settings import SECRET_FILE, ConsoleSettings, secret_key
    from switchboard.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path, environment="development")
    first = secret_key(settings, ConsoleSettings())
    assert len(first) >= 32 and secret_key(settings, ConsoleSettings()) == first
    assert (tmp_path / SECRET_FILE).stat().st_mode & 0o077 == 0


# --- CSRF ----------------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
def test_state_changing_calls_need_the_session_csrf_token(console, token):
    client = console.client("supervisor")
    client.headers.pop("X-CSRF-Token")
    headers = {} if token is None else {"X-CSRF-Token": token}
    handoff = console.handoff()
    response = client.post(f"/api/handoffs/{handoff}/take", headers=headers)
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert console.store.get_handoff(handoff).status == "waiting"
    assert client.post("/api/auth/signout", headers=headers).status_code == 403
    assert client.get("/api/me").status_code == 200  # still signed in


def test_the_csrf_token_of_another_session_does_not_work(console):
    mine = console.client("supervisor")
    theirs = console.client("agent")
    mine.headers["X-CSRF-Token"] = theirs.headers["X-CSRF-Token"]
    assert mine.post("/api/auth/signout").status_code == 403


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_sign_in_needs_the_double_submitted_token(console, token):
    client = console.client()
    client.get("/api/auth/csrf")  # sets the sb_csrf cookie
    headers = {} if token is None else {"X-CSRF-Token": token}
    response = client.post("/api/auth/signin", json={"name": "sue", "password": PASSWORD},
                           headers=headers)  # fmt: skip
    assert response.status_code == 403
    assert SESSION_COOKIE not in client.cookies


# --- the HTML form -------------------------------------------------------------------------


def test_sign_in_form_round_trip(console):
    client = console.client(follow_redirects=False)
    page = client.get("/signin", params={"next": "/console/queue"})
    assert page.status_code == 200 and 'name="csrf_token"' in page.text
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"name": "sue", "password": PASSWORD, "csrf_token": token, "next": "/console/queue"}
    done = client.post("/signin", data=form)
    assert done.status_code == 303 and done.headers["location"] == "/console/queue"
    assert client.get("/api/me").status_code == 200
    csrf = client.cookies.get("sb_csrf")
    out = client.post("/signout", data={"csrf_token": csrf})
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert client.get("/api/me").status_code == 401


def test_sign_in_form_errors_and_no_open_redirect(console):
    client = console.client(follow_redirects=False)
    page = client.get("/signin")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    bad = client.post("/signin", data={"name": "sue<b>", "password": "x", "csrf_token": token})
    assert bad.status_code == 401 and "wrong name or password" in bad.text
    assert "sue&lt;b&gt;" in bad.text and "sue<b>" not in bad.text
    form = {"name": "sue", "password": PASSWORD, "csrf_token": token, "next": "//evil.example"}
    done = client.post("/signin", data=form)
    assert done.headers["location"] == "/console"
    no_token = client.post("/signin", data={"name": "sue", "password": PASSWORD})
    assert no_token.status_code == 403


def test_an_anonymous_page_request_is_sent_to_sign_in(console):
    client = console.client(follow_redirects=False)
    response = client.post("/signout")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fsignout"


# --- rate limit ----------------------------------------------------------------------------


def test_five_failures_then_429_with_retry_after(console):
    client = console.client()
    for _ in range(5):
        assert sign_in(client, "sue", "wrong").status_code == 401
    limited = sign_in(client, "sue", PASSWORD)  # even the right password now
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 300
    assert sign_in(client, "ada").status_code == 200  # another name is not limited


def test_the_limit_is_per_name_and_address_and_ages_out():
    now = [1000.0]
    limiter = SignInLimiter(5, 300, clock=lambda: now[0])
    key = ("sue", "10.0.0.1")
    for _ in range(5):
        assert limiter.retry_after(key) is None
        limiter.failed(key)
        now[0] += 1
    assert limiter.retry_after(key) == 295  # now 1005; the first failure ages out at 1300
    assert limiter.retry_after(("sue", "10.0.0.2")) is None
    now[0] = 1300.5
    assert limiter.retry_after(key) is None  # one failure aged out: one more try
    limiter.succeeded(key)
    assert limiter.retry_after(key) is None


def test_the_sign_in_form_shows_the_limit(console):
    client = console.client(follow_redirects=False)
    console.app.state.console.limiter = SignInLimiter(1, 300)
    token = client.get("/signin").text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"name": "sue", "password": "wrong", "csrf_token": token}
    assert client.post("/signin", data=form).status_code == 401
    limited = client.post("/signin", data=form)
    assert limited.status_code == 429 and "Retry-After" in limited.headers
    assert "too many failed sign-ins" in limited.text
