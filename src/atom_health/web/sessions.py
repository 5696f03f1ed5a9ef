"""Dashboard sign-in: a key, once, for an HttpOnly, SameSite=Strict session cookie.

The browser then sends the cookie with every request, the live event stream included
(``EventSource`` cannot send an ``Authorization`` header).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from atom_health.config.security import Role
from atom_health.web.access import SESSION_PATH, UNAUTHORIZED, Access, AccessError
from atom_health.web.auth import MAX_KEY_LENGTH, SESSION_COOKIE, Principal, cookie_value

SESSION_TAG = "session"


class SignIn(BaseModel):
    key: str = Field(min_length=1, max_length=MAX_KEY_LENGTH, description="An API key")


class SessionInfo(BaseModel):
    ok: bool = True
    auth_required: bool = Field(description="Whether the API needs a key")
    signed_in: bool
    name: str | None = Field(default=None, description="The key's name (never the key)")
    role: Role | None = None


def _access(request: Request) -> Access:
    access: Access = request.app.state.access
    return access


def _info(access: Access, principal: Principal | None) -> SessionInfo:
    return SessionInfo(
        auth_required=access.keys.enabled,
        signed_in=principal is not None,
        name=principal.name if principal else None,
        role=principal.role if principal else None,
    )


async def session(request: Request) -> SessionInfo:
    """Whether the API needs a key, and who this request is signed in as."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return _info(_access(request), principal)


async def sign_in(request: Request, body: SignIn) -> SessionInfo | JSONResponse:
    """Exchange a key for a session cookie (HttpOnly, SameSite=Strict)."""
    access = _access(request)
    principal = access.keys.identify(body.key)
    if principal is None:
        return JSONResponse(UNAUTHORIZED, status_code=401)
    info = _info(access, principal)
    response = JSONResponse(info.model_dump(mode="json"))
    response.set_cookie(
        SESSION_COOKIE,
        access.sessions.open(principal),
        max_age=int(access.sessions.lifetime_seconds),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def sign_out(request: Request) -> SessionInfo | JSONResponse:
    """End this browser's session."""
    access = _access(request)
    token = cookie_value(request.headers.get("cookie", "").encode("latin-1"), SESSION_COOKIE)
    if token:
        access.sessions.close(token)
    response = JSONResponse(_info(access, None).model_dump(mode="json"))
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def add_session_routes(router: APIRouter | FastAPI) -> None:
    refused: dict[int | str, dict[str, object]] = {
        401: {"model": AccessError, "description": "Not a valid key"}
    }
    router.add_api_route(SESSION_PATH, session, response_model=SessionInfo, tags=[SESSION_TAG])
    router.add_api_route(
        SESSION_PATH,
        sign_in,
        methods=["POST"],
        response_model=SessionInfo,
        responses=refused,
        tags=[SESSION_TAG],
    )
    router.add_api_route(
        SESSION_PATH, sign_out, methods=["DELETE"], response_model=SessionInfo, tags=[SESSION_TAG]
    )
