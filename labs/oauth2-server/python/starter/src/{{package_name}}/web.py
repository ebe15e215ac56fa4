"""The user-facing pages: sign-in and the session cookie. Plain HTML, no JavaScript."""

from __future__ import annotations

import html
import secrets
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from .passwords import DUMMY_HASH, verify_password
from .services import Services, services

SESSION_COOKIE = "session"
router = APIRouter()


def page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            # The consent page must not be framed by another site (clickjacking).
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": "frame-ancestors 'none'",
        },
    )


def current_user(svc: Services, request: Request) -> tuple[str, float] | None:
    """(sub, auth_time) of the signed-in user, or None."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        return None
    session = svc.store.session(secret)
    if session is None:
        return None
    sub, auth_time, expires_at = session
    if svc.clock.now() >= expires_at:
        return None
    return sub, auth_time


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + ("?" + request.url.query if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def _safe_next(target: str) -> str:
    # Only a path on this server: never "//evil.example" or an absolute URL.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_form(next_url: str, error: str = "") -> str:
    message = f"<p role='alert'>{html.escape(error)}</p>" if error else ""
    return (
        f"{message}<form method='post' action='/login'>"
        f"<input type='hidden' name='next' value='{html.escape(next_url, quote=True)}'>"
        "<label>Username <input name='username' autocomplete='username'></label>"
        "<label>Password <input name='password' type='password'"
        " autocomplete='current-password'></label>"
        "<button type='submit'>Sign in</button></form>"
    )


def consent_page(client_id: str, scopes: list[str], request_id: str) -> HTMLResponse:
    """The consent form: it posts `request_id` and `decision` (allow or deny)."""
    listed = "".join(f"<li>{html.escape(scope)}</li>" for scope in scopes)
    return page(
        "Allow access?",
        f"<p>{html.escape(client_id)} asks for:</p><ul>{listed}</ul>"
        "<form method='post' action='/authorize/decision'>"
        f"<input type='hidden' name='request_id' value='{html.escape(request_id, quote=True)}'>"
        "<button type='submit' name='decision' value='allow'>Allow</button>"
        "<button type='submit' name='decision' value='deny'>Deny</button></form>",
    )


@router.get("/login")
def login_page(next: str = "/") -> HTMLResponse:
    return page("Sign in", _login_form(_safe_next(next)))


@router.post("/login")
def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    next: str = Form("/"),
) -> Response:
    svc = services(request)
    user = svc.store.user_by_name(username)
    ok = verify_password(password, user[1] if user else DUMMY_HASH)
    if user is None or not ok:
        svc.audit.event("login_failed", username=username)
        return page("Sign in", _login_form(_safe_next(next), "Wrong username or password."), 401)
    now = svc.clock.now()
    secret = secrets.token_urlsafe(32)
    svc.store.save_session(secret, user[0], now, now + svc.settings.session_ttl)
    svc.audit.event("login", sub=user[0])
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=svc.settings.issuer.startswith("https://"),
        max_age=svc.settings.session_ttl,
    )
    return response


@router.get("/")
def home() -> HTMLResponse:
    return page("Authorization server", "<p>Nothing to see here.</p>")
